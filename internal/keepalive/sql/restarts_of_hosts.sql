-- The newest restarts of each host, at most $2 a host.
SELECT id, host_id, service, component, at, reason, outcome, detail FROM (
    SELECT r.*, row_number() OVER (PARTITION BY r.host_id ORDER BY r.at DESC, r.id DESC) AS n
    FROM component_restart r WHERE r.host_id = ANY($1)
) x WHERE n <= $2
ORDER BY host_id, at DESC, id DESC
