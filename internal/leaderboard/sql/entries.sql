-- entries reads the first @first entries of a ranking from its best end (the
-- red list, ascending) or its worst end (the black list, descending): a range of
-- the primary key (the red list ranks @lo = 1..@hi, the better half; the
-- black list the rest), with each entry's name, context (a job's owner, a person's
-- BU) and the advice of the worst finding of its improve job (job_finding's
-- key, a few rows per job; read-only, owned by internal/workload).
SELECT e.rank, e.subject_id, e.value, e.volume, e.previous_rank, e.previous_count, e.improve_job_id,
       coalesce(j.namespace || '/' || j.name, p.name, b.name, '') AS name,
       CASE e.level WHEN 'JOB' THEN jo.name WHEN 'PERSON' THEN pb.name END AS context,
       coalesce(ij.namespace || '/' || ij.name, '') AS improve_job_name,
       coalesce(f.advice, '') AS advice
FROM leaderboard_entry e
LEFT JOIN job j ON e.level = 'JOB' AND j.id = e.subject_id
LEFT JOIN person jo ON jo.id = j.owner_id
LEFT JOIN person p ON e.level = 'PERSON' AND p.id = e.subject_id
LEFT JOIN bu pb ON pb.id = p.bu_id
LEFT JOIN bu b ON e.level = 'BU' AND b.id = e.subject_id
LEFT JOIN job ij ON ij.id = e.improve_job_id
LEFT JOIN LATERAL (
    SELECT advice FROM job_finding
    WHERE job_id = e.improve_job_id AND severity > 0 AND advice <> ''
    ORDER BY severity DESC, heuristic
    LIMIT 1
) f ON true
WHERE e.level = @level AND e.metric = @metric AND e.unit = @unit AND e.start = @start::date
  AND e.rank BETWEEN @lo AND @hi
ORDER BY e.rank {order}
LIMIT @first
