-- sums derives the precomputed bill sums of day $1 from its bill lines.
INSERT INTO bill_bu_day (day, bu_id, resource, quantity, amount)
SELECT day, bu_id, resource, sum(quantity), sum(amount)
FROM bill_line WHERE day = $1::date
GROUP BY day, bu_id, resource;

INSERT INTO bill_cluster_day (day, cluster_id, bu_id, resource, quantity, amount)
SELECT day, cluster_id, bu_id, resource, sum(quantity), sum(amount)
FROM bill_line WHERE day = $1::date
GROUP BY day, cluster_id, bu_id, resource;

INSERT INTO bill_person_day (day, person_id, bu_id, resource, quantity, amount)
SELECT day, person_id, bu_id, resource, sum(quantity), sum(amount)
FROM bill_line WHERE day = $1::date AND person_id IS NOT NULL
GROUP BY day, person_id, bu_id, resource;
