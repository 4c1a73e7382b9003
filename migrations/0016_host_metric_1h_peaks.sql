-- 0016 host_metric_1h peaks: each host's hour also keeps the 95th percentile
-- and the maximum of each metric over the hour's samples, beside the sums, so
-- an hour's worst moments come from the hourly rows, never from raw samples
-- (the sums give its mean; these give how peaky it was within the hour).
--
-- Not cumulated (percentiles do not add up), and NULL for hours derived before
-- this migration until the host-hours job derives them again (readers fall back
-- to the hour's mean). Written by internal/telemetry (RollupHostHours) with the
-- sums.

ALTER TABLE host_metric_1h
    ADD COLUMN cpu_p95        real,
    ADD COLUMN cpu_max        real,
    ADD COLUMN mem_p95        real,
    ADD COLUMN mem_max        real,
    ADD COLUMN io_p95         real,
    ADD COLUMN io_max         real,
    ADD COLUMN net_in_p95     double precision,
    ADD COLUMN net_in_max     double precision,
    ADD COLUMN net_out_p95    double precision,
    ADD COLUMN net_out_max    double precision,
    ADD COLUMN containers_p95 real,
    ADD COLUMN containers_max real;
