-- Claim up to $1 due deliveries: count the attempt and move the next one
-- past the request timeout ($2 ms, a lease), so another replica's run skips
-- them (SKIP LOCKED now, the lease after commit) while this one posts.
UPDATE budget_webhook w SET attempts = w.attempts + 1,
       next_attempt_at = now() + $2 * interval '1 millisecond'
FROM (SELECT alert_id FROM budget_webhook
      WHERE state = 'PENDING' AND next_attempt_at <= now()
      ORDER BY next_attempt_at LIMIT $1
      FOR UPDATE SKIP LOCKED) due
WHERE w.alert_id = due.alert_id
RETURNING w.alert_id, w.url, w.payload::text, w.attempts
