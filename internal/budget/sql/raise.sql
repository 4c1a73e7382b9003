-- Raise alerts, once per owner, month, kind and threshold: a threshold
-- already raised is skipped by the unique constraint. Returns those raised.
INSERT INTO budget_alert (budget_id, person_id, bu_id, month, kind, threshold, value, amount)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[], $5::text[], $6::integer[], $7::numeric[], $8::numeric[])
ON CONFLICT ON CONSTRAINT budget_alert_once DO NOTHING
RETURNING id, budget_id, kind, threshold, value, amount, raised_at
