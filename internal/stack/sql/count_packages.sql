-- How many packages a listing holds (of one service when $1 is set).
SELECT count(*) FROM service_package WHERE $1::text IS NULL OR service = $1
