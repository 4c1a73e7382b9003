-- Raises one alert per component whose budget ran out; a component with an
-- open alert keeps it (keepalive_alert_open_key), so flapping raises one.
INSERT INTO keepalive_alert (host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message)
SELECT u.host_id, u.cluster_id, u.service, u.component, $1, u.restarts, $2, u.message
FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::int[], $8::text[])
    AS u (host_id, cluster_id, service, component, restarts, message)
ON CONFLICT (host_id, service, component) WHERE resolved_at IS NULL DO NOTHING
RETURNING id, host_id
