-- A cluster's operations, newest first, before id $2 (keyset), at most $3.
SELECT id, kind, cluster_id, state, params, requested_by, reason, failure_budget, max_out_of_service_pct,
       current_stage, rolling_back, tasks_total, tasks_succeeded, tasks_failed, tasks_skipped, error,
       created_at, started_at, ended_at, updated_at
FROM operation
WHERE cluster_id = $1 AND id < $2
ORDER BY id DESC
LIMIT $3
