-- rollup_minutes recomputes the 1-minute levels of every cluster and of the
-- platform (cluster_id 0) for the minutes in [$1, $2), in one pass over the raw
-- samples of that range:
--   1. per host and minute, the mean of each metric (a host may report every 10 s);
--   2. per cluster and minute, and for the platform (GROUPING SETS), the sums, the
--      p95 and max of host utilisation and the reporting hosts, one column set per
--      dimension: aggregating wide and unpivoting the ~hundred result rows is
--      several times faster than sorting a row per host and dimension;
--   3. upsert into watermark_1m, skipping rows whose values did not change;
--   4. delete levels of re-rolled minutes that no longer have hosts (a host moved
--      to another cluster); only for minutes that still have samples, so a minute
--      whose raw partition retention dropped keeps its levels;
--   5. advance watermark_latest to each cluster's newest minute in the range (the
--      rollup claims only complete minutes, so every minute here is final).
-- QUEUE_SLOTS (docs/workload.md) comes from queue_usage in the same pass: used =
-- the root queues' used vcores, capacity = the cluster's cores that minute,
-- p95/max = the other queues' use of their maximum share, hosts = queues seen.
-- It returns the number of levels computed, written and removed, the clusters
-- whose levels changed and the hours (UTC) that must be re-derived.
-- Means are sum/count over float8: avg() keeps a sum of squares it never needs,
-- and avg over integers would go through numeric.
WITH per_host AS (
    SELECT h.cluster_id, p.minute, p.cpu, p.mem, p.io, p.net_in, p.net_out, p.containers,
           h.cpu_cores::float8 AS cores,
           h.memory_bytes::float8 AS mem_bytes,
           nullif(h.nic_bps, 0)::float8 AS nic,
           greatest(h.cpu_cores / 2.0, 1)::float8 AS slots
    FROM (
        SELECT m.host_id, date_trunc('minute', m.ts) AS minute,
               sum(m.cpu_pct::float8) / count(m.cpu_pct) / 100 AS cpu,
               sum(m.mem_pct::float8) / count(m.mem_pct) / 100 AS mem,
               sum(m.disk_io_pct::float8) / count(m.disk_io_pct) / 100 AS io,
               sum(m.net_in_bps) / count(m.net_in_bps) AS net_in,
               sum(m.net_out_bps) / count(m.net_out_bps) AS net_out,
               sum(m.containers::float8) / count(m.containers) AS containers
        FROM host_metric m
        WHERE m.ts >= $1 AND m.ts < $2
        GROUP BY 1, 2
    ) p
    JOIN host h ON h.id = p.host_id
), agg AS (
    SELECT coalesce(cluster_id, 0) AS cluster_id, minute,
           sum(cpu * cores) AS cpu_used, sum(cores) FILTER (WHERE cpu IS NOT NULL) AS cpu_cap,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY cpu) AS cpu_p95, max(cpu) AS cpu_max, count(cpu) AS cpu_hosts,
           sum(mem * mem_bytes) AS mem_used, sum(mem_bytes) FILTER (WHERE mem IS NOT NULL) AS mem_cap,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY mem) AS mem_p95, max(mem) AS mem_max, count(mem) AS mem_hosts,
           sum(io * 100) AS io_used, 100.0::float8 * count(io) AS io_cap,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY io) AS io_p95, max(io) AS io_max, count(io) AS io_hosts,
           sum(net_in) AS in_used, sum(nic) FILTER (WHERE net_in IS NOT NULL) AS in_cap,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY net_in / nic) AS in_p95, max(net_in / nic) AS in_max, count(net_in) AS in_hosts,
           sum(net_out) AS out_used, sum(nic) FILTER (WHERE net_out IS NOT NULL) AS out_cap,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY net_out / nic) AS out_p95, max(net_out / nic) AS out_max, count(net_out) AS out_hosts,
           sum(containers) AS ct_used, sum(slots) FILTER (WHERE containers IS NOT NULL) AS ct_cap,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY containers / slots) AS ct_p95, max(containers / slots) AS ct_max, count(containers) AS ct_hosts
    FROM per_host
    GROUP BY GROUPING SETS ((cluster_id, minute), (minute))
), per_queue AS (
    -- QUEUE_SLOTS from the queue snapshots of the same minutes: per queue and
    -- minute, the mean used vcores of its snapshots.
    SELECT q.cluster_id, date_trunc('minute', u.ts) AS minute, q.parent_id IS NULL AS root, q.max_vcores,
           sum(u.used_vcores) / count(*) AS used
    FROM queue_usage u
    JOIN queue q ON q.id = u.queue_id
    WHERE u.ts >= $1 AND u.ts < $2
    GROUP BY q.id, q.cluster_id, q.parent_id, q.max_vcores, 2
), queue_rows AS (
    -- The cluster's vcores are its CPU capacity of the minute (YARN offers a
    -- vcore per core), carried on one row per cluster so the platform's sum
    -- counts each cluster once; util is a queue's use of its maximum share.
    SELECT pq.*,
           CASE WHEN row_number() OVER (PARTITION BY pq.cluster_id, pq.minute ORDER BY pq.root DESC) = 1
                THEN coalesce(a.cpu_cap, 0) ELSE 0 END AS cap,
           pq.used / nullif(pq.max_vcores * a.cpu_cap, 0) AS util
    FROM per_queue pq
    LEFT JOIN agg a ON a.cluster_id = pq.cluster_id AND a.minute = pq.minute
), queue_agg AS (
    SELECT coalesce(cluster_id, 0) AS cluster_id, minute,
           coalesce(sum(used) FILTER (WHERE root), 0) AS used, sum(cap) AS capacity,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY util) FILTER (WHERE NOT root) AS p95,
           max(util) FILTER (WHERE NOT root) AS max, count(*) AS queues
    FROM queue_rows
    GROUP BY GROUPING SETS ((cluster_id, minute), (minute))
), res AS (
    SELECT cluster_id, minute AS ts, 'QUEUE_SLOTS' AS dimension, used, capacity,
           p95::real AS p95, max::real AS max, queues::integer AS hosts
    FROM queue_agg
    UNION ALL
    SELECT a.cluster_id, a.minute AS ts, d.dimension, d.used, coalesce(d.capacity, 0) AS capacity,
           d.p95::real AS p95, d.max::real AS max, d.hosts::integer AS hosts
    FROM agg a
    CROSS JOIN LATERAL (VALUES
        ('CPU', a.cpu_used, a.cpu_cap, a.cpu_p95, a.cpu_max, a.cpu_hosts),
        ('MEMORY', a.mem_used, a.mem_cap, a.mem_p95, a.mem_max, a.mem_hosts),
        ('DISK_IO', a.io_used, a.io_cap, a.io_p95, a.io_max, a.io_hosts),
        ('NET_IN', a.in_used, a.in_cap, a.in_p95, a.in_max, a.in_hosts),
        ('NET_OUT', a.out_used, a.out_cap, a.out_p95, a.out_max, a.out_hosts),
        ('CONTAINERS', a.ct_used, a.ct_cap, a.ct_p95, a.ct_max, a.ct_hosts)
    ) AS d (dimension, used, capacity, p95, max, hosts)
    WHERE d.hosts > 0
), up AS (
    INSERT INTO watermark_1m AS w (cluster_id, ts, used, capacity, p95, max, hosts, dimension)
    SELECT cluster_id, ts, used, capacity, p95, max, hosts, dimension FROM res
    ON CONFLICT (cluster_id, dimension, ts) DO UPDATE
        SET used = EXCLUDED.used, capacity = EXCLUDED.capacity, p95 = EXCLUDED.p95,
            max = EXCLUDED.max, hosts = EXCLUDED.hosts
        WHERE (w.used, w.capacity, w.p95, w.max, w.hosts)
              IS DISTINCT FROM (EXCLUDED.used, EXCLUDED.capacity, EXCLUDED.p95, EXCLUDED.max, EXCLUDED.hosts)
    RETURNING w.cluster_id, w.ts
), gone AS (
    DELETE FROM watermark_1m w
    WHERE w.ts >= $1 AND w.ts < $2
      AND w.ts IN (SELECT ts FROM res)
      AND NOT EXISTS (SELECT 1 FROM res r
                      WHERE r.cluster_id = w.cluster_id AND r.dimension = w.dimension AND r.ts = w.ts)
    RETURNING w.cluster_id, w.ts
), latest AS (
    INSERT INTO watermark_latest AS l (cluster_id, dimension, ts, used, capacity, p95, max, hosts, updated_at)
    SELECT DISTINCT ON (cluster_id, dimension) cluster_id, dimension, ts, used, capacity, p95, max, hosts, now()
    FROM res
    ORDER BY cluster_id, dimension, ts DESC
    ON CONFLICT (cluster_id, dimension) DO UPDATE
        SET ts = EXCLUDED.ts, used = EXCLUDED.used, capacity = EXCLUDED.capacity, p95 = EXCLUDED.p95,
            max = EXCLUDED.max, hosts = EXCLUDED.hosts, updated_at = EXCLUDED.updated_at
        WHERE EXCLUDED.ts >= l.ts
          AND (l.ts, l.used, l.capacity, l.p95, l.max, l.hosts)
              IS DISTINCT FROM (EXCLUDED.ts, EXCLUDED.used, EXCLUDED.capacity, EXCLUDED.p95, EXCLUDED.max, EXCLUDED.hosts)
    RETURNING l.cluster_id
), changed AS (
    SELECT cluster_id, ts FROM up
    UNION ALL
    SELECT cluster_id, ts FROM gone
)
SELECT (SELECT count(*) FROM res) AS levels,
       (SELECT count(*) FROM up) AS written,
       (SELECT count(*) FROM gone) AS removed,
       coalesce((SELECT array_agg(DISTINCT c.cluster_id)
                 FROM (SELECT cluster_id FROM changed UNION ALL SELECT cluster_id FROM latest) c), '{}') AS clusters,
       coalesce((SELECT array_agg(DISTINCT date_trunc('hour', ts)) FROM changed), '{}') AS hours
