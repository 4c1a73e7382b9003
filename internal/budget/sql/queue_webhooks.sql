-- Queue the webhook deliveries of alerts just raised: alert ids $1, URLs $2,
-- JSON payloads $3.
INSERT INTO budget_webhook (alert_id, url, payload)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]::jsonb[])
