-- 0018 host agent: what `tesla agent` needs on the server side. Enrollment tokens
-- (api_token rows with scope "enroll" bound to one cluster), host credentials
-- (one live secret per host, held by its agent), the facts an agent reports
-- about its machine, and the mark the simulator puts on the clusters it invents
-- so it never writes into real ones.

-- An enrollment token registers hosts into exactly one cluster, and always
-- expires: a leaked one must not enrol machines forever. Written by
-- internal/auth (InsertToken) like every token.
ALTER TABLE api_token ADD COLUMN cluster_id bigint REFERENCES cluster (id);
ALTER TABLE api_token ADD CONSTRAINT api_token_enroll_cluster
    CHECK ((cluster_id IS NOT NULL) = ('enroll' = ANY (scopes)));
ALTER TABLE api_token ADD CONSTRAINT api_token_enroll_expires
    CHECK (NOT ('enroll' = ANY (scopes)) OR expires_at IS NOT NULL);
CREATE INDEX api_token_cluster_idx ON api_token (cluster_id) WHERE cluster_id IS NOT NULL;

-- A host credential belongs to a machine, not to a person: deactivating whoever
-- enrolled the host leaves its agent reporting (enrolled_by says which token
-- did, for the record). Stored as a SHA-256 hash like tokens. At most one is
-- live per host: registering again revokes the previous one, and a
-- DECOMMISSIONED host's credential stops working (internal/auth checks the
-- host's state at every use). Written by internal/auth only.
CREATE TABLE host_credential (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id      bigint NOT NULL REFERENCES host (id),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL,
    enrolled_by  bigint REFERENCES api_token (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CONSTRAINT host_credential_hash_key UNIQUE (secret_hash)
);
CREATE UNIQUE INDEX host_credential_live_idx ON host_credential (host_id) WHERE revoked_at IS NULL;

-- What an agent reports about its machine (internal/inventory writes them, as
-- every host column). serial identifies a machine across renames and
-- reinstalls; empty when DMI does not say. agent_heartbeat_at is the agent's
-- own last heartbeat, apart from last_heartbeat, which every source of life
-- (samples, scrapes, the agent) moves. None of these is indexed but serial, so
-- heartbeats stay HOT updates (see 0006).
ALTER TABLE host
    ADD COLUMN serial               text NOT NULL DEFAULT '',
    ADD COLUMN vendor               text NOT NULL DEFAULT '',
    ADD COLUMN disks                jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN agent_version        text NOT NULL DEFAULT '',
    ADD COLUMN agent_registered_at  timestamptz,
    ADD COLUMN agent_heartbeat_at   timestamptz;
CREATE UNIQUE INDEX host_serial_key ON host (serial) WHERE serial <> '';

-- The simulator (internal/sim) writes samples, heartbeats, state changes and
-- workload only into clusters marked simulated, which only its seed creates.
-- Existing demo databases: the seed wrote every cluster with a stack version, an
-- owner BU and a description of its own fixed form ("Batch cluster (HDFS, YARN,
-- Spark, Hive) in cn-north, owned by ADS."); importers (ClusterEnsure) and
-- people write neither that form nor, for importers, a stack version. Those
-- clusters, and only those, are the simulator's.
ALTER TABLE cluster ADD COLUMN simulated boolean NOT NULL DEFAULT false;
UPDATE cluster SET simulated = true
WHERE stack_version_id IS NOT NULL AND owner_bu_id IS NOT NULL
    AND description ~ '^(Real-time cluster \(Flink on Kafka\)|Batch cluster \(HDFS, YARN, Spark, Hive\)|Online serving cluster \(HBase on HDFS\)) in [^ ]+, owned by [^ ]+\.$';
