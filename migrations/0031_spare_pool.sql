-- Spare pool, scale-out / decommission policy and auto scale-out proposals
-- (docs/aquila.md, "Spare pool", "Scale-out", "Decommission", "Auto scale-out").
--
-- A machine has one id for life: host.id. While it serves a cluster it is a live
-- `host` row (host.cluster_id stays NOT NULL). While it serves no cluster it is a
-- `spare_host` row with the SAME id: a machine registered into the pool gets its id
-- from host's identity sequence, and scale-out inserts (first admission) or revives
-- (a returning machine) the host row under that id, so telemetry, credentials,
-- agent tasks and operation history keyed by host id stay the machine's. A machine
-- returned to the pool keeps its host row as DECOMMISSIONED in the last cluster it
-- served (the history's anchor: every foreign key to host stays valid) and gains a
-- spare_host row; a retired one keeps only the DECOMMISSIONED row.
--
-- Owners: internal/inventory writes spare_host, cluster_service_quorum, the new
-- cluster policy columns and host.held_by_operation; internal/aquila writes
-- scaleout_proposal.
-- Growth: spare_host holds the pool (a few percent of the fleet: ~5,000 rows at
-- 250,000 hosts); cluster_service_quorum a few rows per cluster; scaleout_proposal
-- at most one OPEN row per cluster, refreshed in place, plus the decided ones (a
-- few a day fleet-wide at most; history, kept).

-- The pool: facts of registered machines that serve no cluster.
CREATE TABLE spare_host (
    -- id is the machine's host id (host's identity sequence), kept across moves.
    id             bigint PRIMARY KEY DEFAULT nextval(pg_get_serial_sequence('host', 'id')),
    hostname       text NOT NULL,
    pool           text NOT NULL DEFAULT 'default',
    region         text NOT NULL,
    rack           text NOT NULL DEFAULT '',
    ip             text NOT NULL DEFAULT '',
    cpu_cores      integer NOT NULL CHECK (cpu_cores > 0),
    memory_bytes   bigint NOT NULL CHECK (memory_bytes > 0),
    disk_bytes     bigint NOT NULL CHECK (disk_bytes >= 0),
    nic_bps        bigint NOT NULL CHECK (nic_bps >= 0),
    os             text NOT NULL DEFAULT '',
    kernel         text NOT NULL DEFAULT '',
    model          text NOT NULL DEFAULT '',
    -- READY machines may be taken by a scale-out; MAINTENANCE and REPAIRING are skipped.
    state          text NOT NULL DEFAULT 'READY' CHECK (state IN ('READY', 'MAINTENANCE', 'REPAIRING')),
    state_reason   text NOT NULL DEFAULT '',
    -- last_cluster_id is the cluster the machine served last (NULL: never served).
    last_cluster_id bigint REFERENCES cluster (id),
    since          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT spare_host_hostname_key UNIQUE (hostname)
);
-- Scale-out picks READY machines of a region, matching hardware first.
CREATE INDEX spare_host_pick_idx ON spare_host (region, state, cpu_cores, memory_bytes, hostname);
CREATE INDEX spare_host_pool_idx ON spare_host (pool, hostname);

-- A hostname names one machine across the pool and the clusters: the same id
-- may hold the same name in both tables (a machine back in the pool keeps its
-- DECOMMISSIONED host row), a different id may not.
CREATE FUNCTION spare_hostname_unique() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'spare_host' THEN
        IF EXISTS (SELECT 1 FROM host WHERE hostname = NEW.hostname AND id <> NEW.id) THEN
            RAISE EXCEPTION 'hostname % is already a host', NEW.hostname
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'spare_host_hostname_key';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM spare_host WHERE hostname = NEW.hostname AND id <> NEW.id) THEN
        RAISE EXCEPTION 'hostname % is already in the spare pool', NEW.hostname
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'host_hostname_key';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER spare_host_hostname_unique BEFORE INSERT OR UPDATE OF hostname ON spare_host
    FOR EACH ROW EXECUTE FUNCTION spare_hostname_unique();
CREATE TRIGGER host_hostname_unique_in_pool BEFORE INSERT OR UPDATE OF hostname ON host
    FOR EACH ROW EXECUTE FUNCTION spare_hostname_unique();

-- held_by_operation: the operation that put the host in MAINTENANCE (a
-- scale-out admitting it, a decommission draining it). The engine skips tasks
-- on MAINTENANCE hosts except those of the operation holding them.
ALTER TABLE host ADD COLUMN held_by_operation bigint;

-- A host leaving MAINTENANCE (by any writer: an operator, the repair workflow,
-- heartbeats) is no longer held; an operator putting a held host in
-- MAINTENANCE takes it over (inventory.SetHostState clears the hold).
CREATE FUNCTION host_hold_released() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state <> 'MAINTENANCE' THEN
        NEW.held_by_operation := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER host_hold_released BEFORE UPDATE OF state ON host
    FOR EACH ROW WHEN (OLD.held_by_operation IS NOT NULL AND NEW.state <> 'MAINTENANCE')
    EXECUTE FUNCTION host_hold_released();

-- Cluster policy: what a decommission must leave, and auto scale-out.
ALTER TABLE cluster
    ADD COLUMN min_hosts integer NOT NULL DEFAULT 0 CHECK (min_hosts >= 0),
    ADD COLUMN min_cores integer NOT NULL DEFAULT 0 CHECK (min_cores >= 0),
    ADD COLUMN autoscale_mode text NOT NULL DEFAULT 'OFF' CHECK (autoscale_mode IN ('OFF', 'PROPOSE', 'AUTO')),
    ADD COLUMN autoscale_max_hosts integer NOT NULL DEFAULT 20 CHECK (autoscale_max_hosts BETWEEN 1 AND 5000);

-- A service's quorum on a cluster: a decommission may not leave fewer hosts
-- with the service's components STARTED.
CREATE TABLE cluster_service_quorum (
    cluster_id   bigint NOT NULL REFERENCES cluster (id),
    service      text NOT NULL,
    min_started  integer NOT NULL CHECK (min_started > 0),
    PRIMARY KEY (cluster_id, service)
);

-- Auto scale-out proposals (internal/aquila, jobs/autoscale.go).
CREATE TABLE scaleout_proposal (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_id       bigint NOT NULL REFERENCES cluster (id),
    state            text NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'ACCEPTED', 'DISMISSED', 'EXPIRED')),
    hosts            integer NOT NULL CHECK (hosts > 0),
    -- suggested_hosts: pool machines the scale-out would take (ids of spare_host).
    suggested_hosts  bigint[] NOT NULL DEFAULT '{}',
    -- figures: aquila.ProposalFigures as JSON (threshold, forecast peak, horizon…).
    figures          jsonb NOT NULL,
    reason           text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    decided_by       text,
    decided_at       timestamptz,
    decision_reason  text NOT NULL DEFAULT '',
    operation_id     bigint REFERENCES operation (id)
);
CREATE UNIQUE INDEX scaleout_proposal_one_open ON scaleout_proposal (cluster_id) WHERE state = 'OPEN';
CREATE INDEX scaleout_proposal_state_idx ON scaleout_proposal (state, id DESC);
CREATE INDEX scaleout_proposal_cluster_idx ON scaleout_proposal (cluster_id, id DESC);
