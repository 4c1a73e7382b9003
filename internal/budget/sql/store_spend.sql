-- Store each owner's spend of month $1 and its forecast end of month as of
-- this evaluation; owners without a budget in force any more are dropped.
WITH rows AS (
    SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::numeric[], $5::numeric[]) AS r(person_id, bu_id, spend, end_of_month)
), gone AS (
    DELETE FROM budget_spend s WHERE s.month = $1
      AND NOT EXISTS (SELECT 1 FROM rows r WHERE r.person_id IS NOT DISTINCT FROM s.person_id AND r.bu_id IS NOT DISTINCT FROM s.bu_id)
)
INSERT INTO budget_spend (month, person_id, bu_id, spend, end_of_month, evaluated_at)
SELECT $1, person_id, bu_id, spend, end_of_month, now() FROM rows
ON CONFLICT ON CONSTRAINT budget_spend_owner DO UPDATE
SET spend = EXCLUDED.spend, end_of_month = EXCLUDED.end_of_month, evaluated_at = EXCLUDED.evaluated_at
