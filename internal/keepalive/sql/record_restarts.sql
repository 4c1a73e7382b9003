-- Records a pass's restarts in one statement.
INSERT INTO component_restart (host_id, service, component, at, reason, outcome, detail)
SELECT u.host_id, u.service, u.component, $1, u.reason, u.outcome, u.detail
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
    AS u (host_id, service, component, reason, outcome, detail)
