-- storage returns, for the jobs $2 that wrote sized datasets (lineage's
-- StoredBytesByJob), their cluster and their owner of day $1 (recorded by
-- owners.sql); writers without a cluster are left out (not priced).
SELECT j.id, j.cluster_id, o.person_id, o.bu_id
FROM job j
LEFT JOIN cost_job_owner_day o ON o.day = $1::date AND o.job_id = j.id
WHERE j.id = ANY($2::bigint[]) AND j.cluster_id IS NOT NULL
