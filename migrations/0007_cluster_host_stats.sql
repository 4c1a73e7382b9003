-- 0007 cluster_host_stats: host counts and capacity per cluster and state, kept
-- current by triggers on host, so the platform totals, the counts per cluster
-- kind and every cluster's counts and capacity read a few hundred rows instead of
-- aggregating every host on every request (GROUP BY state over 200,000 hosts took
-- ~160 ms). Only internal/inventory writes host, and these triggers are how it
-- writes this table: no Go code writes it.
--
-- Rows are never deleted when their count falls to zero (a cluster's hosts keep
-- moving between the same few states); readers simply add zeros. The capacity
-- sums include every state: readers leave decommissioned hosts out of capacity, as
-- they did when they aggregated host themselves.
CREATE TABLE cluster_host_stats (
    cluster_id    bigint NOT NULL REFERENCES cluster (id) ON DELETE CASCADE,
    state         text NOT NULL,
    hosts         bigint NOT NULL,
    cpu_cores     bigint NOT NULL,
    memory_bytes  bigint NOT NULL,
    disk_bytes    bigint NOT NULL,
    nic_bps       bigint NOT NULL,
    PRIMARY KEY (cluster_id, state)
);

-- cluster_host_stats_row follows one host's change of state, cluster or hardware.
-- It runs only for UPDATEs of those columns that change one of them (see the
-- trigger's WHEN), so a heartbeat, which sets last_heartbeat alone, never fires
-- it. The old and the new key are applied in one statement, in key order: two
-- transactions that each change one host lock the counter rows in the same order
-- and cannot deadlock on them. (A transaction that changes many hosts' states one
-- statement at a time while another does the same in a different order could;
-- PostgreSQL then aborts one of them, as for any pair of rows.)
CREATE FUNCTION cluster_host_stats_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cluster_host_stats AS s (cluster_id, state, hosts, cpu_cores, memory_bytes, disk_bytes, nic_bps)
    SELECT d.cluster_id, d.state, sum(d.hosts), sum(d.cpu_cores), sum(d.memory_bytes), sum(d.disk_bytes), sum(d.nic_bps)
    FROM (VALUES
        (OLD.cluster_id, OLD.state, -1, -OLD.cpu_cores::bigint, -OLD.memory_bytes, -OLD.disk_bytes, -OLD.nic_bps),
        (NEW.cluster_id, NEW.state, 1, NEW.cpu_cores::bigint, NEW.memory_bytes, NEW.disk_bytes, NEW.nic_bps)
    ) AS d (cluster_id, state, hosts, cpu_cores, memory_bytes, disk_bytes, nic_bps)
    GROUP BY d.cluster_id, d.state
    ORDER BY d.cluster_id, d.state
    ON CONFLICT (cluster_id, state) DO UPDATE SET
        hosts = s.hosts + EXCLUDED.hosts,
        cpu_cores = s.cpu_cores + EXCLUDED.cpu_cores,
        memory_bytes = s.memory_bytes + EXCLUDED.memory_bytes,
        disk_bytes = s.disk_bytes + EXCLUDED.disk_bytes,
        nic_bps = s.nic_bps + EXCLUDED.nic_bps;
    RETURN NULL;
END $$;

-- cluster_host_stats_rows applies a whole INSERT (or COPY) or DELETE statement at
-- once from its transition table: loading 250,000 hosts costs one aggregate, not
-- 250,000 trigger calls. TRUNCATE empties the table.
CREATE FUNCTION cluster_host_stats_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dir integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM cluster_host_stats;
        RETURN NULL;
    END IF;
    INSERT INTO cluster_host_stats AS s (cluster_id, state, hosts, cpu_cores, memory_bytes, disk_bytes, nic_bps)
    SELECT d.cluster_id, d.state, dir * count(*), dir * sum(d.cpu_cores), dir * sum(d.memory_bytes),
        dir * sum(d.disk_bytes), dir * sum(d.nic_bps)
    FROM changed_rows AS d
    GROUP BY d.cluster_id, d.state
    ORDER BY d.cluster_id, d.state
    ON CONFLICT (cluster_id, state) DO UPDATE SET
        hosts = s.hosts + EXCLUDED.hosts,
        cpu_cores = s.cpu_cores + EXCLUDED.cpu_cores,
        memory_bytes = s.memory_bytes + EXCLUDED.memory_bytes,
        disk_bytes = s.disk_bytes + EXCLUDED.disk_bytes,
        nic_bps = s.nic_bps + EXCLUDED.nic_bps;
    RETURN NULL;
END $$;

CREATE TRIGGER cluster_host_stats_update
    AFTER UPDATE OF state, cluster_id, cpu_cores, memory_bytes, disk_bytes, nic_bps ON host
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.cluster_id IS DISTINCT FROM NEW.cluster_id
        OR OLD.cpu_cores IS DISTINCT FROM NEW.cpu_cores OR OLD.memory_bytes IS DISTINCT FROM NEW.memory_bytes
        OR OLD.disk_bytes IS DISTINCT FROM NEW.disk_bytes OR OLD.nic_bps IS DISTINCT FROM NEW.nic_bps)
    EXECUTE FUNCTION cluster_host_stats_row();
CREATE TRIGGER cluster_host_stats_insert AFTER INSERT ON host
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cluster_host_stats_rows();
CREATE TRIGGER cluster_host_stats_delete AFTER DELETE ON host
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cluster_host_stats_rows();
CREATE TRIGGER cluster_host_stats_truncate AFTER TRUNCATE ON host
    FOR EACH STATEMENT EXECUTE FUNCTION cluster_host_stats_rows();

-- The triggers exist (and CREATE TRIGGER holds its lock on host until this
-- migration commits), so the rows counted here are exactly the rows to start from.
INSERT INTO cluster_host_stats (cluster_id, state, hosts, cpu_cores, memory_bytes, disk_bytes, nic_bps)
SELECT cluster_id, state, count(*), sum(cpu_cores), sum(memory_bytes), sum(disk_bytes), sum(nic_bps)
FROM host GROUP BY cluster_id, state;

-- Search by name is a case-insensitive substring (hostname ILIKE '%x%'), which no
-- b-tree serves: without this index every search read host whole. pg_trgm ships
-- with PostgreSQL (Debian's postgresql-15 package includes the contrib modules)
-- and is a trusted extension, so the database owner may create it without being a
-- superuser. A pattern of fewer than three characters has no trigram to look up;
-- such a search still reads every hostname (docs/scaling.md). Heartbeats never
-- change hostname, so the index costs them nothing.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX host_hostname_trgm_idx ON host USING gin (hostname gin_trgm_ops);
