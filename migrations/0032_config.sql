-- Configuration as code (internal/configuration, docs/configuration.md): config
-- groups of hosts, every version of every cluster's configuration files, the
-- change proposals and their reviews, the approvals a cluster requires, and the
-- outbox that mirrors each version as a commit into a git remote. PostgreSQL holds
-- every version, so replicas stay stateless and a git remote that is down loses
-- nothing: its versions wait in the outbox.
--
-- Owner: internal/configuration writes every table below; the config_version
-- column of host_component is stamped through internal/inventory (host_component's
-- owner), called by the configuration package and the CONFIG_APPLY executor.
-- Growth: config_group tens per cluster; config_file one row per (version, scope,
-- service, path) — a version is a whole snapshot, so a cluster of 500 files
-- making a change a day adds ~180,000 rows a year, while the contents themselves
-- are deduplicated in config_blob by hash (an unchanged file costs one narrow row);
-- config_change / config_review a few rows per change; config_git_outbox one row
-- per version (kept as the push history).
-- Retention: versions are history (rollback, blame); keep them.

CREATE TABLE config_group (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id  bigint NOT NULL REFERENCES cluster (id),
    name        text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    -- position is the overlay order: the cluster default first, then the host's
    -- groups by ascending position, a later group's file replacing an earlier one.
    position    integer NOT NULL CHECK (position > 0),
    -- rule_kind says how hosts are selected: by rack, by hardware model
    -- (host.model), by machine group (the label of the latest machine-clustering
    -- run) — rule_values lists the accepted values — or by an explicit LIST of
    -- hosts in config_group_host.
    rule_kind   text NOT NULL CHECK (rule_kind IN ('RACK', 'MODEL', 'MACHINE_GROUP', 'LIST')),
    rule_values text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT config_group_name_key UNIQUE (cluster_id, name),
    CONSTRAINT config_group_position_key UNIQUE (cluster_id, position)
);

CREATE TABLE config_group_host (
    group_id  bigint NOT NULL REFERENCES config_group (id) ON DELETE CASCADE,
    host_id   bigint NOT NULL REFERENCES host (id),
    PRIMARY KEY (group_id, host_id)
);
CREATE INDEX config_group_host_host_idx ON config_group_host (host_id);

-- A cluster's policy: how many approvals (by people other than the author) a
-- change needs. No row means 1.
CREATE TABLE config_policy (
    cluster_id          bigint PRIMARY KEY REFERENCES cluster (id),
    required_approvals  integer NOT NULL DEFAULT 1 CHECK (required_approvals BETWEEN 1 AND 10)
);

-- File contents, deduplicated by their SHA-256.
CREATE TABLE config_blob (
    sha256   bytea PRIMARY KEY,
    content  text NOT NULL
);

-- One version of one cluster's whole configuration. Version numbers count from 1
-- per cluster; the highest is the current one.
CREATE TABLE config_version (
    cluster_id   bigint NOT NULL REFERENCES cluster (id),
    version      bigint NOT NULL CHECK (version > 0),
    -- change_id is the approved change this version applied (NULL for a rollback).
    change_id    bigint,
    rollback_of  bigint,
    author_id    bigint REFERENCES person (id),
    author       text NOT NULL,
    message      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, version)
);

-- The files of a version: scope 0 is the cluster default, otherwise a
-- config_group id (no foreign key: a group deleted later leaves its history).
CREATE TABLE config_file (
    cluster_id  bigint NOT NULL,
    version     bigint NOT NULL,
    scope       bigint NOT NULL DEFAULT 0,
    service     text NOT NULL,
    path        text NOT NULL,
    sha256      bytea NOT NULL REFERENCES config_blob (sha256),
    PRIMARY KEY (cluster_id, version, scope, service, path),
    FOREIGN KEY (cluster_id, version) REFERENCES config_version (cluster_id, version)
);

CREATE TABLE config_change (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id      bigint NOT NULL REFERENCES cluster (id),
    -- base_version is the version the change was written against (0: none yet).
    base_version    bigint NOT NULL CHECK (base_version >= 0),
    state           text NOT NULL DEFAULT 'PROPOSED'
                    CHECK (state IN ('PROPOSED', 'APPROVED', 'REJECTED', 'APPLIED')),
    author_id       bigint NOT NULL REFERENCES person (id),
    author          text NOT NULL,
    message         text NOT NULL,
    required_approvals integer NOT NULL,
    -- applied_version is the version the change became.
    applied_version bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX config_change_cluster_idx ON config_change (cluster_id, id DESC);

-- The files a change sets (content) or removes (content NULL).
CREATE TABLE config_change_file (
    change_id  bigint NOT NULL REFERENCES config_change (id) ON DELETE CASCADE,
    scope      bigint NOT NULL DEFAULT 0,
    service    text NOT NULL,
    path       text NOT NULL,
    content    text,
    PRIMARY KEY (change_id, scope, service, path)
);

CREATE TABLE config_review (
    change_id    bigint NOT NULL REFERENCES config_change (id) ON DELETE CASCADE,
    reviewer_id  bigint NOT NULL REFERENCES person (id),
    reviewer     text NOT NULL,
    approve      boolean NOT NULL,
    comment      text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (change_id, reviewer_id)
);

-- The git mirror's outbox: one row per version, pushed in id order. pushed_at
-- stays NULL while the remote is unreachable; the pusher retries.
CREATE TABLE config_git_outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id  bigint NOT NULL,
    version     bigint NOT NULL,
    commit_hash text,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT '',
    pushed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT config_git_outbox_version_key UNIQUE (cluster_id, version),
    FOREIGN KEY (cluster_id, version) REFERENCES config_version (cluster_id, version)
);
CREATE INDEX config_git_outbox_pending_idx ON config_git_outbox (id) WHERE pushed_at IS NULL;

-- The configuration version a component last had written and was restarted
-- with (0: never applied through Tesla). A component below its cluster's
-- current version is stale until CONFIG_APPLY restarts it.
ALTER TABLE host_component ADD COLUMN config_version bigint NOT NULL DEFAULT 0;
