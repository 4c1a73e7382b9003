-- 0009 host_metric_1h: each host's samples summed per UTC hour, with running
-- totals, so the machine analysis compares a host with its cluster peers from
-- two rows per peer whatever the window, instead of every raw sample of every
-- peer (20,000 peers x 24 h x 240 samples was 3 s a request at 250,000 hosts).
--
-- Sums and counts, not averages, so an average over any run of hours is exact
-- (sum of sums / sum of counts); a count per metric because a metric may be NULL
-- in some samples. Network is kept in bytes per second: the analysis divides by
-- the host's current NIC speed when it reads, as it did over raw samples.
--
-- cum_* are running totals: a row's cum_x is the sum of x over the host's rows
-- up to and including this hour. A host's total over hours [a, b) is then the
-- cum_x of its last row before b minus (cum_x - x) of its first row from a: two
-- index probes per host. Deleting old rows (retention) keeps this true for the
-- rows left, since only differences between a host's rows are ever read.
--
-- Rows are derived by the host-hours job (internal/telemetry.RollupHostHours)
-- for complete hours the watermark rollup has marked in host_hour_dirty, and
-- deleted by the retention job with the raw samples they summarise.

CREATE TABLE host_metric_1h (
    host_id         bigint NOT NULL,
    hour            timestamptz NOT NULL,
    samples         integer NOT NULL DEFAULT 0,
    cpu_sum         double precision NOT NULL DEFAULT 0,
    cpu_n           integer NOT NULL DEFAULT 0,
    mem_sum         double precision NOT NULL DEFAULT 0,
    mem_n           integer NOT NULL DEFAULT 0,
    io_sum          double precision NOT NULL DEFAULT 0,
    io_n            integer NOT NULL DEFAULT 0,
    net_in_sum      double precision NOT NULL DEFAULT 0,
    net_in_n        integer NOT NULL DEFAULT 0,
    net_out_sum     double precision NOT NULL DEFAULT 0,
    net_out_n       integer NOT NULL DEFAULT 0,
    containers_sum  double precision NOT NULL DEFAULT 0,
    containers_n    integer NOT NULL DEFAULT 0,
    cum_samples         bigint NOT NULL DEFAULT 0,
    cum_cpu_sum         double precision NOT NULL DEFAULT 0,
    cum_cpu_n           bigint NOT NULL DEFAULT 0,
    cum_mem_sum         double precision NOT NULL DEFAULT 0,
    cum_mem_n           bigint NOT NULL DEFAULT 0,
    cum_io_sum          double precision NOT NULL DEFAULT 0,
    cum_io_n            bigint NOT NULL DEFAULT 0,
    cum_net_in_sum      double precision NOT NULL DEFAULT 0,
    cum_net_in_n        bigint NOT NULL DEFAULT 0,
    cum_net_out_sum     double precision NOT NULL DEFAULT 0,
    cum_net_out_n       bigint NOT NULL DEFAULT 0,
    cum_containers_sum  double precision NOT NULL DEFAULT 0,
    cum_containers_n    bigint NOT NULL DEFAULT 0,
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

-- Existing samples: every complete hour, once, with its running totals.
INSERT INTO host_metric_1h
SELECT host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
       net_in_sum, net_in_n, net_out_sum, net_out_n, containers_sum, containers_n,
       sum(samples) OVER w, sum(cpu_sum) OVER w, sum(cpu_n) OVER w, sum(mem_sum) OVER w, sum(mem_n) OVER w,
       sum(io_sum) OVER w, sum(io_n) OVER w, sum(net_in_sum) OVER w, sum(net_in_n) OVER w,
       sum(net_out_sum) OVER w, sum(net_out_n) OVER w, sum(containers_sum) OVER w, sum(containers_n) OVER w
FROM (
    SELECT host_id, date_bin('1 hour', ts, '2000-01-01 00:00:00+00') AS hour, count(*)::integer AS samples,
           coalesce(sum(cpu_pct::float8), 0) AS cpu_sum, count(cpu_pct)::integer AS cpu_n,
           coalesce(sum(mem_pct::float8), 0) AS mem_sum, count(mem_pct)::integer AS mem_n,
           coalesce(sum(disk_io_pct::float8), 0) AS io_sum, count(disk_io_pct)::integer AS io_n,
           coalesce(sum(net_in_bps), 0) AS net_in_sum, count(net_in_bps)::integer AS net_in_n,
           coalesce(sum(net_out_bps), 0) AS net_out_sum, count(net_out_bps)::integer AS net_out_n,
           coalesce(sum(containers::float8), 0) AS containers_sum, count(containers)::integer AS containers_n
    FROM host_metric
    WHERE ts < date_bin('1 hour', now(), '2000-01-01 00:00:00+00')
    GROUP BY 1, 2
) s
WINDOW w AS (PARTITION BY host_id ORDER BY hour);
-- The current hour is derived once it is complete.
INSERT INTO host_hour_dirty (hour)
SELECT DISTINCT date_bin('1 hour', ts, '2000-01-01 00:00:00+00') FROM host_metric
WHERE ts >= date_bin('1 hour', now(), '2000-01-01 00:00:00+00');
