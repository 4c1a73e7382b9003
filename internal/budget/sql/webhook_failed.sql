-- Record delivery $1's failure at attempt $2: state $3 (PENDING or GAVE_UP),
-- the error $4 and the next attempt $5 ms from now.
UPDATE budget_webhook SET state = $3, last_error = $4, next_attempt_at = now() + $5 * interval '1 millisecond'
WHERE alert_id = $1 AND attempts = $2
