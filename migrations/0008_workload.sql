-- 0008 workload: queues, jobs, runs and hourly usage (internal/workload), and
-- datasets and lineage (internal/lineage).
--
-- Growth. queue_usage, job_run, job_usage_1h, run_io and lineage_event grow
-- without bound. None is partitioned yet, but each keeps to the rule of
-- docs/scaling.md: every primary key and unique constraint includes the column a
-- later partitioning would use (job_id for runs, usage and run io, hashed; the
-- timestamp for snapshots, hourly rows and events), so partitioning is a
-- migration of storage, not of keys. Keyset paging reads them through
-- (key, ts/id) indexes.

-- Queues: one tree per cluster. path is the full dotted name YARN reports
-- ("root.etl.daily"); shares are fractions 0..1 of the cluster.
CREATE TABLE queue (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id        bigint NOT NULL REFERENCES cluster (id),
    parent_id         bigint REFERENCES queue (id),
    name              text NOT NULL,
    path              text NOT NULL,
    scheduler_type    text NOT NULL DEFAULT 'CAPACITY'
                      CHECK (scheduler_type IN ('CAPACITY', 'FAIR', 'FIFO')),
    guaranteed_vcores double precision NOT NULL DEFAULT 0 CHECK (guaranteed_vcores BETWEEN 0 AND 1),
    max_vcores        double precision NOT NULL DEFAULT 1 CHECK (max_vcores BETWEEN 0 AND 1),
    guaranteed_memory double precision NOT NULL DEFAULT 0 CHECK (guaranteed_memory BETWEEN 0 AND 1),
    max_memory        double precision NOT NULL DEFAULT 1 CHECK (max_memory BETWEEN 0 AND 1),
    weight            double precision NOT NULL DEFAULT 1 CHECK (weight >= 0),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queue_path_key UNIQUE (cluster_id, path),
    CONSTRAINT queue_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id),
    CONSTRAINT queue_guarantee_within_max CHECK (guaranteed_vcores <= max_vcores AND guaranteed_memory <= max_memory)
);
CREATE INDEX queue_parent_idx ON queue (parent_id);

-- Queue usage snapshots, as a poller sees them.
CREATE TABLE queue_usage (
    queue_id             bigint NOT NULL REFERENCES queue (id),
    ts                   timestamptz NOT NULL,
    used_vcores          double precision NOT NULL DEFAULT 0,
    used_memory_bytes    bigint NOT NULL DEFAULT 0,
    pending_apps         integer NOT NULL DEFAULT 0,
    running_apps         integer NOT NULL DEFAULT 0,
    pending_vcores       double precision NOT NULL DEFAULT 0,
    pending_memory_bytes bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, ts)
);

-- Which person and BU own the jobs of a namespace that arrive without an owner
-- (OpenLineage carries none): a new job takes its owner and BU from here.
CREATE TABLE job_namespace_owner (
    namespace   text PRIMARY KEY,
    owner_id    bigint REFERENCES person (id),
    bu_id       bigint REFERENCES bu (id),
    CONSTRAINT job_namespace_owner_some CHECK (owner_id IS NOT NULL OR bu_id IS NOT NULL)
);

-- Jobs, by natural key (namespace, name): OpenLineage's job identity, and for
-- YARN applications the cluster's namespace. owner_id is NULL while nobody is
-- known to own the job (see docs/workload.md, "Owners"); bu_id is set only when
-- the BU differs from the owner's, so the effective BU is
-- coalesce(job.bu_id, owner.bu_id).
CREATE TABLE job (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace   text NOT NULL,
    name        text NOT NULL,
    owner_id    bigint REFERENCES person (id),
    bu_id       bigint REFERENCES bu (id),
    cluster_id  bigint REFERENCES cluster (id),
    queue_id    bigint REFERENCES queue (id),
    kind        text NOT NULL DEFAULT 'BATCH' CHECK (kind IN ('BATCH', 'STREAMING')),
    priority    text NOT NULL DEFAULT 'P2' CHECK (priority IN ('P0', 'P1', 'P2', 'P3', 'P4')),
    schedule    text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_natural_key UNIQUE (namespace, name)
);
CREATE INDEX job_owner_idx ON job (owner_id, id);
CREATE INDEX job_bu_idx ON job (bu_id, id);
CREATE INDEX job_cluster_idx ON job (cluster_id, id);
CREATE INDEX job_queue_idx ON job (queue_id, id);

-- Runs of jobs (JobRun). run_uuid is OpenLineage's runId or a YARN application
-- id made into a UUID; unique per job so the key holds job_id (the future hash
-- partition key). Times are NULL until known: a COMPLETE may arrive before its
-- START. Resource totals: core-seconds and memory byte-seconds requested vs used.
CREATE TABLE job_run (
    id                            bigint GENERATED ALWAYS AS IDENTITY,
    job_id                        bigint NOT NULL REFERENCES job (id),
    run_uuid                      uuid NOT NULL,
    state                         text NOT NULL DEFAULT 'RUNNING'
                                  CHECK (state IN ('RUNNING', 'COMPLETED', 'FAILED', 'ABORTED', 'OTHER')),
    -- state_at is the event time that set state; a terminal state is only
    -- replaced by a later terminal event, never by a late START or RUNNING.
    state_at                      timestamptz,
    queued_at                     timestamptz,
    started_at                    timestamptz,
    ended_at                      timestamptz,
    nominal_start                 timestamptz,
    nominal_end                   timestamptz,
    attempts                      integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    requested_core_seconds        double precision,
    used_core_seconds             double precision,
    requested_memory_byte_seconds double precision,
    used_memory_byte_seconds      double precision,
    peak_memory_bytes             bigint,
    queue_wait_seconds            double precision,
    task_count                    integer,
    task_seconds_min              double precision,
    task_seconds_p50              double precision,
    task_seconds_max              double precision,
    parent_run_uuid               uuid,
    created_at                    timestamptz NOT NULL DEFAULT now(),
    updated_at                    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, id),
    CONSTRAINT job_run_uuid_key UNIQUE (job_id, run_uuid)
);
-- A job's runs newest first (keyset on started_at, id), and a run by id or by
-- OpenLineage runId across jobs.
CREATE INDEX job_run_job_started_idx ON job_run (job_id, started_at DESC, id DESC);
CREATE INDEX job_run_id_idx ON job_run (id);
CREATE INDEX job_run_uuid_idx ON job_run (run_uuid);

-- Hourly usage per job, batch and streaming alike: a streaming job never ends,
-- so billing and analysis read hours, not runs.
CREATE TABLE job_usage_1h (
    job_id                        bigint NOT NULL REFERENCES job (id),
    hour                          timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
    runs                          integer NOT NULL DEFAULT 0,
    requested_core_seconds        double precision NOT NULL DEFAULT 0,
    used_core_seconds             double precision NOT NULL DEFAULT 0,
    requested_memory_byte_seconds double precision NOT NULL DEFAULT 0,
    used_memory_byte_seconds      double precision NOT NULL DEFAULT 0,
    peak_memory_bytes             bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (job_id, hour)
);
CREATE INDEX job_usage_1h_hour_idx ON job_usage_1h (hour, job_id);

-- Datasets by OpenLineage's natural key. facets holds the latest valid dataset
-- facets seen.
CREATE TABLE dataset (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace   text NOT NULL,
    name        text NOT NULL,
    facets      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dataset_natural_key UNIQUE (namespace, name)
);

-- The lineage graph: a job READs or WRITEs a dataset. One row per (job, dataset,
-- direction) however many runs did it, so a walk's cost does not grow with
-- history. The primary key serves job -> datasets, lineage_edge_dataset_idx
-- dataset -> jobs: a walk in either direction is an index seek per frontier.
CREATE TABLE lineage_edge (
    job_id      bigint NOT NULL REFERENCES job (id),
    dataset_id  bigint NOT NULL REFERENCES dataset (id),
    direction   text NOT NULL CHECK (direction IN ('READ', 'WRITE')),
    first_seen  timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, direction, dataset_id)
);
CREATE INDEX lineage_edge_dataset_idx ON lineage_edge (dataset_id, direction, job_id);

-- What each run read and wrote, with the dataset version or partition when the
-- event said: which run produced a dataset version is a seek on
-- run_io_version_idx.
CREATE TABLE run_io (
    job_id      bigint NOT NULL,
    run_id      bigint NOT NULL,
    dataset_id  bigint NOT NULL REFERENCES dataset (id),
    direction   text NOT NULL CHECK (direction IN ('READ', 'WRITE')),
    version     text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL,
    PRIMARY KEY (job_id, run_id, dataset_id, direction),
    FOREIGN KEY (job_id, run_id) REFERENCES job_run (job_id, id)
);
CREATE INDEX run_io_version_idx ON run_io (dataset_id, direction, version, at DESC);

-- OpenLineage run events already applied, for idempotency by runId + eventType
-- + eventTime: a repeated event is recognised here and changes nothing.
-- problems lists the facets reported as invalid (their lineage was kept).
CREATE TABLE lineage_event (
    run_uuid    uuid NOT NULL,
    event_type  text NOT NULL,
    event_time  timestamptz NOT NULL,
    job_id      bigint NOT NULL REFERENCES job (id),
    received_at timestamptz NOT NULL DEFAULT now(),
    problems    jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (run_uuid, event_type, event_time)
);
CREATE INDEX lineage_event_job_idx ON lineage_event (job_id, event_time);
