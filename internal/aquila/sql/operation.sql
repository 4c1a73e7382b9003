-- One operation by id.
SELECT id, kind, cluster_id, state, params, requested_by, reason, failure_budget, max_out_of_service_pct,
       current_stage, rolling_back, tasks_total, tasks_succeeded, tasks_failed, tasks_skipped, error,
       created_at, started_at, ended_at, updated_at
FROM operation
WHERE id = $1
