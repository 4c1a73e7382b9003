-- Record delivery $1's success, if it is still at the attempt $2 claimed.
UPDATE budget_webhook SET state = 'DELIVERED', delivered_at = now(), last_error = NULL
WHERE alert_id = $1 AND attempts = $2
