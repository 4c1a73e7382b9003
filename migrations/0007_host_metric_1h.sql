-- 0007 host_metric_1h: each host's samples summed per UTC hour, so the machine
-- analysis compares a host with its cluster peers from one row per peer and
-- hour instead of every raw sample of every peer (20,000 peers x 24 h x 240
-- samples was 3 s a request at 250,000 hosts).
--
-- Sums and counts, not averages, so an average over any run of hours is exact
-- (sum of sums / sum of counts); a count per metric because a metric may be NULL
-- in some samples. Network is kept in bytes per second: the analysis divides by
-- the host's current NIC speed when it reads, as it did over raw samples.
--
-- Rows are derived by the host-hours job (internal/telemetry.RollupHostHours)
-- for complete hours the watermark rollup has marked in host_hour_dirty, and
-- deleted by the retention job with the raw samples they summarise.

CREATE TABLE host_metric_1h (
    host_id       bigint NOT NULL,
    hour          timestamptz NOT NULL,
    samples       integer NOT NULL,
    cpu_sum       double precision NOT NULL DEFAULT 0,
    cpu_n         integer NOT NULL DEFAULT 0,
    mem_sum       double precision NOT NULL DEFAULT 0,
    mem_n         integer NOT NULL DEFAULT 0,
    io_sum        double precision NOT NULL DEFAULT 0,
    io_n          integer NOT NULL DEFAULT 0,
    net_in_sum    double precision NOT NULL DEFAULT 0,
    net_in_n      integer NOT NULL DEFAULT 0,
    net_out_sum   double precision NOT NULL DEFAULT 0,
    net_out_n     integer NOT NULL DEFAULT 0,
    containers_sum double precision NOT NULL DEFAULT 0,
    containers_n  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, hour)
);
-- Rows arrive hour by hour, so the table is physically in hour order and a BRIN
-- index finds the rows retention deletes without scanning the table.
CREATE INDEX host_metric_1h_hour_brin ON host_metric_1h USING brin (hour) WITH (autosummarize = on);

-- Hours whose minutes the watermark rollup has rolled since the host-hours job
-- last derived them: the rollup records the hour of every minute it claims from
-- rollup_dirty, in the transaction that commits the minute's levels, so late
-- samples of an old hour re-derive that hour too.
CREATE TABLE host_hour_dirty (
    hour  timestamptz PRIMARY KEY
);

-- Existing samples: every complete hour, once.
INSERT INTO host_metric_1h (host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
                            net_in_sum, net_in_n, net_out_sum, net_out_n, containers_sum, containers_n)
SELECT host_id, date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*),
       coalesce(sum(cpu_pct::float8), 0), count(cpu_pct), coalesce(sum(mem_pct::float8), 0), count(mem_pct),
       coalesce(sum(disk_io_pct::float8), 0), count(disk_io_pct),
       coalesce(sum(net_in_bps), 0), count(net_in_bps), coalesce(sum(net_out_bps), 0), count(net_out_bps),
       coalesce(sum(containers::float8), 0), count(containers)
FROM host_metric
WHERE ts < date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
GROUP BY 1, 2;
-- The current hour is derived once it is complete.
INSERT INTO host_hour_dirty (hour)
SELECT DISTINCT date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM host_metric
WHERE ts >= date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
