-- Stack versions of a bulk load (full ones), in input order.
INSERT INTO stack_version (stack_id, version, released_at, notes)
SELECT s.id, u.version, u.released_at, u.notes
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])
     WITH ORDINALITY AS u(stack, version, released_at, notes, ord)
JOIN stack s ON s.name = u.stack
ORDER BY u.ord
