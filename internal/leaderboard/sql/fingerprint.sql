-- fingerprint says, for each day of [@from, @to), what rollup.sql would read
-- for it: per source, the number of rows and the exclusive or of a hash of
-- each row's columns that the rollup reads (and the row's key, so two equal
-- rows of different jobs or hours cannot cancel out). The hourly pass rolls
-- a day up again only when its fingerprint moved: yesterday's usage and runs
-- rarely change after midnight, and billing rewrites yesterday's lines every
-- hour with the same amounts. The reads are those of rollup.sql, through the
-- same indexes, without its per-job grouping, joins and writes.
WITH s AS (
    SELECT (hour AT TIME ZONE 'UTC')::date AS day, 1 AS src,
           hash_record_extended(row(job_id, hour, requested_core_seconds, used_core_seconds,
                                    requested_memory_byte_seconds, used_memory_byte_seconds), 0) AS h
    FROM job_usage_1h
    WHERE hour >= @from AND hour < @to
    UNION ALL
    SELECT day, 2, hash_record_extended(row(job_id, cluster_id, bu_id, resource, quantity, amount), 0)
    FROM bill_line
    WHERE day >= @from::date AND day < @to::date AND job_id IS NOT NULL
    UNION ALL
    SELECT (ended_at AT TIME ZONE 'UTC')::date, 3, hash_record_extended(row(id, job_id, state, ended_at), 0)
    FROM job_run
    WHERE updated_at >= @from AND ended_at >= @from AND ended_at < @to
      AND state IN ('COMPLETED', 'FAILED', 'ABORTED')
), g AS (
    SELECT day, src, count(*) AS n, bit_xor(h) AS x FROM s GROUP BY day, src
)
SELECT day, string_agg(src || ':' || n || ':' || x, ' ' ORDER BY src) FROM g GROUP BY day
