-- 0001 foundation: the organisation (BUs, people, tokens, sessions, audit log), the
-- Aquila inventory (clusters, hosts, stacks, packages, host components) and raw host
-- telemetry. Everything later builds on these tables, so names and keys follow
-- DESIGN.md closely: bigint identities everywhere, text enums guarded by CHECK
-- constraints (cheaper to extend than PostgreSQL enum types), timestamptz in UTC.

CREATE TABLE bu (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   bigint REFERENCES bu (id),
    name        text NOT NULL,
    code        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bu_code_key UNIQUE (code),
    CONSTRAINT bu_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX bu_parent_idx ON bu (parent_id);

CREATE TABLE person (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    login       text NOT NULL,
    name        text NOT NULL,
    email       text NOT NULL DEFAULT '',
    bu_id       bigint NOT NULL REFERENCES bu (id),
    role        text NOT NULL DEFAULT 'VIEWER'
                CHECK (role IN ('VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN')),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT person_login_key UNIQUE (login)
);
CREATE INDEX person_bu_idx ON person (bu_id);

-- Tokens are stored only as SHA-256 hashes; the prefix lets a person recognise a
-- token in listings without it being usable.
CREATE TABLE api_token (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id     bigint NOT NULL REFERENCES person (id),
    name          text NOT NULL DEFAULT '',
    prefix        text NOT NULL,
    token_hash    bytea NOT NULL,
    role          text NOT NULL
                  CHECK (role IN ('VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN')),
    scopes        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    CONSTRAINT api_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_token_person_idx ON api_token (person_id);

-- Web sessions: the cookie carries a random id whose hash is stored here, with the
-- CSRF token the browser must echo on every cookie-authenticated mutation.
CREATE TABLE web_session (
    id_hash      bytea PRIMARY KEY,
    person_id    bigint NOT NULL REFERENCES person (id),
    token_id     bigint REFERENCES api_token (id),
    role         text NOT NULL
                 CHECK (role IN ('VIEWER', 'BU_ADMIN', 'OPERATOR', 'ADMIN')),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX web_session_expires_idx ON web_session (expires_at);

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    person_id   bigint REFERENCES person (id),
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    input       jsonb NOT NULL DEFAULT '{}',
    outcome     text NOT NULL CHECK (outcome IN ('OK', 'DENIED', 'FAILED')),
    error       text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_person_idx ON audit_log (person_id, at DESC);

-- Stacks: a stack version is a set of service versions; service packages keep the
-- version information apart from dependency and operation information so that a
-- stack can be upgraded one service at a time.
CREATE TABLE stack (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    CONSTRAINT stack_name_key UNIQUE (name)
);

CREATE TABLE stack_version (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stack_id    bigint NOT NULL REFERENCES stack (id),
    version     text NOT NULL,
    released_at timestamptz NOT NULL DEFAULT now(),
    notes       text NOT NULL DEFAULT '',
    CONSTRAINT stack_version_key UNIQUE (stack_id, version)
);

CREATE TABLE service_package (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service      text NOT NULL,
    version      text NOT NULL,
    source_kind  text NOT NULL CHECK (source_kind IN ('RPM', 'TAR', 'GIT', 'OBJECT_STORE')),
    source_uri   text NOT NULL,
    checksum     text NOT NULL DEFAULT '',
    -- dependency and operation metadata live apart from the version identity
    depends_on   jsonb NOT NULL DEFAULT '[]',
    operations   jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT service_package_key UNIQUE (service, version)
);

CREATE TABLE stack_version_package (
    stack_version_id   bigint NOT NULL REFERENCES stack_version (id),
    service_package_id bigint NOT NULL REFERENCES service_package (id),
    PRIMARY KEY (stack_version_id, service_package_id)
);

CREATE TABLE cluster (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name              text NOT NULL,
    region            text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('STREAMING', 'BATCH', 'ONLINE')),
    status            text NOT NULL DEFAULT 'ACTIVE'
                      CHECK (status IN ('ACTIVE', 'UPGRADING', 'DEGRADED', 'MAINTENANCE', 'RETIRED')),
    stack_version_id  bigint REFERENCES stack_version (id),
    owner_bu_id       bigint REFERENCES bu (id),
    description       text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cluster_name_key UNIQUE (name)
);

CREATE TABLE host (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id      bigint NOT NULL REFERENCES cluster (id),
    hostname        text NOT NULL,
    rack            text NOT NULL DEFAULT '',
    ip              text NOT NULL DEFAULT '',
    cpu_cores       integer NOT NULL CHECK (cpu_cores > 0),
    memory_bytes    bigint NOT NULL CHECK (memory_bytes > 0),
    disk_bytes      bigint NOT NULL CHECK (disk_bytes >= 0),
    nic_bps         bigint NOT NULL CHECK (nic_bps >= 0),
    os              text NOT NULL DEFAULT '',
    kernel          text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    state           text NOT NULL DEFAULT 'ONLINE'
                    CHECK (state IN ('ONLINE', 'DEGRADED', 'OFFLINE', 'MAINTENANCE', 'DECOMMISSIONED', 'REPAIRING')),
    state_reason    text NOT NULL DEFAULT '',
    scrape_url      text,
    last_heartbeat  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT host_hostname_key UNIQUE (hostname)
);
CREATE INDEX host_cluster_idx ON host (cluster_id, hostname);
CREATE INDEX host_cluster_state_idx ON host (cluster_id, state);

CREATE TABLE host_component (
    host_id            bigint NOT NULL REFERENCES host (id),
    service            text NOT NULL,
    component          text NOT NULL,
    desired_state      text NOT NULL DEFAULT 'STARTED'
                       CHECK (desired_state IN ('STARTED', 'STOPPED', 'INSTALLED')),
    actual_state       text NOT NULL DEFAULT 'STARTED'
                       CHECK (actual_state IN ('STARTED', 'STOPPED', 'INSTALLED', 'FAILED', 'UNKNOWN')),
    version            text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, service, component)
);

-- One wide row per host per sample time. Partitioned by day so retention drops whole
-- partitions; the primary key includes the partition key and the (future)
-- distribution key host_id, so re-sending a sample is a no-op.
CREATE TABLE host_metric (
    host_id        bigint NOT NULL,
    ts             timestamptz NOT NULL,
    cpu_pct        real,
    mem_pct        real,
    disk_io_pct    real,
    net_in_bps     double precision,
    net_out_bps    double precision,
    containers     integer,
    PRIMARY KEY (host_id, ts)
) PARTITION BY RANGE (ts);

-- ensure_host_metric_partitions creates the daily partitions covering [from, to).
-- It is idempotent and safe to call concurrently from several replicas.
CREATE FUNCTION ensure_host_metric_partitions(from_day date, to_day date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date := from_day;
    created integer := 0;
    part text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('host_metric_partitions'));
    WHILE d < to_day LOOP
        part := format('host_metric_%s', to_char(d, 'YYYYMMDD'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF host_metric FOR VALUES FROM (%L) TO (%L)',
                part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END $$;
