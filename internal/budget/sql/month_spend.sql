-- The stored spend of month $1 of the owners $2 (people) and $3 (BUs),
-- joined rather than tested with = ANY per row (thousands of ids).
SELECT s.person_id, s.bu_id, s.spend FROM budget_spend s
JOIN unnest($2::bigint[]) p(id) ON s.person_id = p.id
WHERE s.month = $1
UNION ALL
SELECT s.person_id, s.bu_id, s.spend FROM budget_spend s
JOIN unnest($3::bigint[]) b(id) ON s.bu_id = b.id
WHERE s.month = $1
