-- One budget row by id, with its access BU and owner name (as in_force.sql).
SELECT b.id, b.person_id, b.bu_id, b.valid_from, b.amount, b.thresholds, b.webhook_url, b.updated_at, b.updated_by,
       coalesce(b.bu_id, p.bu_id, 0), coalesce(p.name, u.name, '')
FROM budget b
LEFT JOIN person p ON p.id = b.person_id
LEFT JOIN bu u ON u.id = b.bu_id
WHERE b.id = $1
