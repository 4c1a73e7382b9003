-- A BU and every BU below it (the inventory's tree, read-only).
WITH RECURSIVE t(id) AS (
    SELECT id FROM bu WHERE id = $1
    UNION ALL SELECT b.id FROM bu b JOIN t ON b.parent_id = t.id)
SELECT id FROM t
