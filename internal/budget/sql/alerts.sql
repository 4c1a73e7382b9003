-- Budget alerts, newest first, with their webhook delivery and the BU access
-- is decided by. $1 month (NULL: all); access: $2 all, else the owner's BU in
-- $3 (a BU admin's subtree), or the person $4, or the BU $5; filters: $6 BUs
-- (of the owner: the BU or the person's), $7 person, $8 owner kind, $9 alert
-- ids, $10 owning people, $13 owning BUs; $11 limit, $12 offset. The last
-- column is the total.
SELECT a.id, a.budget_id, a.person_id, a.bu_id, a.month, a.kind, a.threshold, a.value, a.amount, a.raised_at,
       w.state, w.attempts, w.last_error, w.next_attempt_at, w.delivered_at,
       coalesce(a.bu_id, p.bu_id, 0), count(*) OVER ()
FROM budget_alert a
LEFT JOIN person p ON p.id = a.person_id
LEFT JOIN budget_webhook w ON w.alert_id = a.id
WHERE ($1::date IS NULL OR a.month = $1)
  AND ($2::boolean OR coalesce(a.bu_id, p.bu_id) = ANY($3::bigint[]) OR a.person_id = $4 OR a.bu_id = $5)
  AND ($6::bigint[] IS NULL OR coalesce(a.bu_id, p.bu_id) = ANY($6))
  AND ($7::bigint IS NULL OR a.person_id = $7)
  AND ($8::text IS NULL OR ($8 = 'PERSON') = (a.person_id IS NOT NULL))
  AND ($9::bigint[] IS NULL OR a.id = ANY($9))
  AND ($10::bigint[] IS NULL OR a.person_id = ANY($10))
  AND ($13::bigint[] IS NULL OR a.bu_id = ANY($13))
ORDER BY a.id DESC
LIMIT $11 OFFSET $12
