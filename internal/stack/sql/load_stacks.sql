-- Stacks of a bulk load, in input order.
INSERT INTO stack (name, description)
SELECT u.name, u.description
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(name, description, ord)
ORDER BY u.ord
