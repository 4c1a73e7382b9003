-- Store each owner's spend of month $1 and its forecast end of month as of
-- this evaluation, writing only what changed (a steady run rewrites
-- nothing); owners without a budget in force any more are dropped. Keys
-- are compared through coalesce so the anti-join can hash.
WITH rows AS (
    SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::numeric[], $5::numeric[]) AS r(person_id, bu_id, spend, end_of_month)
), gone AS (
    DELETE FROM budget_spend s WHERE s.month = $1
      AND NOT EXISTS (SELECT 1 FROM rows r
                      WHERE coalesce(r.person_id, 0) = coalesce(s.person_id, 0) AND coalesce(r.bu_id, 0) = coalesce(s.bu_id, 0))
)
INSERT INTO budget_spend (month, person_id, bu_id, spend, end_of_month)
SELECT $1, person_id, bu_id, spend, end_of_month FROM rows
ON CONFLICT ON CONSTRAINT budget_spend_owner DO UPDATE
SET spend = EXCLUDED.spend, end_of_month = EXCLUDED.end_of_month, updated_at = now()
WHERE budget_spend.spend <> EXCLUDED.spend OR budget_spend.end_of_month <> EXCLUDED.end_of_month
