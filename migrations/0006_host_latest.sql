-- 0006 host_latest: each host's newest sample in a table of its own, one row per
-- host, upserted by the telemetry writers in the same transaction as the samples.
-- Reading "the latest metrics" of a page of hosts was a backward index step per
-- host into host_metric's newest partitions (and, before that, DISTINCT ON over
-- raw samples): at 250,000 hosts with the ticker writing, that is the slowest
-- part of a host list. Now it is a primary-key lookup. A row only ever moves
-- forward in time: a late or re-sent sample never replaces a newer one.
--
-- fillfactor 50 leaves room on each page so the upsert of every host's row on
-- every tick is a HOT update (no indexed column changes), which keeps the table
-- and its index from bloating at one update per host every few seconds.

CREATE TABLE host_latest (
    host_id        bigint PRIMARY KEY,
    ts             timestamptz NOT NULL,
    cpu_pct        real,
    mem_pct        real,
    disk_io_pct    real,
    net_in_bps     double precision,
    net_out_bps    double precision,
    containers     integer
) WITH (fillfactor = 50);

-- Existing samples: one backward step of host_metric's primary key per host.
INSERT INTO host_latest (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
SELECT m.host_id, m.ts, m.cpu_pct, m.mem_pct, m.disk_io_pct, m.net_in_bps, m.net_out_bps, m.containers
FROM host h
CROSS JOIN LATERAL (SELECT * FROM host_metric WHERE host_id = h.id ORDER BY ts DESC LIMIT 1) m;

-- Heartbeats update every reporting host's row once a minute or more. None of
-- host's indexes covers last_heartbeat, so with free room on the page each such
-- update is HOT (no index entries, no page split); at the default fillfactor of
-- 100 every one of them rewrote five index entries, seconds per tick at 250,000
-- hosts. New pages (a seed, an import) keep 20% free; existing ones get it as
-- they are rewritten.
ALTER TABLE host SET (fillfactor = 80);
