-- The budgets in force in month $1: each owner's row with the latest
-- valid_from not after it, with the BU access is decided by (the BU, or the
-- person's BU) and the owner's name. Optional filters: $2 BUs (budgets of
-- those BUs and of their people), $3 person budgets of these people only,
-- $4 the owner kind, $5 BU budgets of these BUs only.
SELECT b.id, b.person_id, b.bu_id, b.valid_from, b.amount, b.thresholds, b.webhook_url, b.updated_at, b.updated_by,
       coalesce(b.bu_id, p.bu_id, 0), coalesce(p.name, u.name, '')
FROM (SELECT DISTINCT ON (person_id, bu_id) * FROM budget
      WHERE valid_from <= $1
        AND ($3::bigint[] IS NULL OR person_id = ANY($3))
        AND ($5::bigint[] IS NULL OR bu_id = ANY($5))
      ORDER BY person_id, bu_id, valid_from DESC) b
LEFT JOIN person p ON p.id = b.person_id
LEFT JOIN bu u ON u.id = b.bu_id
WHERE ($2::bigint[] IS NULL OR coalesce(b.bu_id, p.bu_id) = ANY($2))
  AND ($4::text IS NULL OR ($4 = 'PERSON') = (b.person_id IS NOT NULL))
