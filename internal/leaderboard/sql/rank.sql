-- rank writes one metric's rankings of the period at every level: the
-- subjects with a value and at least their level's minimum volume, 1 the best
-- ({best} order), ties to the lower id; with each its rank and the ranked
-- count of the previous period, and the job whose findings say what to do (a
-- job itself; a person's or BU's worst job on the metric, preferring jobs
-- above the job minimum, then the larger). {value} and the orders come from
-- the metric table in compute.go, never from input.
WITH v AS (
    SELECT level, subject_id, person_id, bu_id, volume, {value} AS value
    FROM lb_subject
), ranked AS (
    SELECT level, subject_id, volume, value,
           row_number() OVER (PARTITION BY level ORDER BY value {best}, subject_id) AS rank
    FROM v
    WHERE value IS NOT NULL
      AND volume >= CASE level WHEN 'JOB' THEN @min_job::float8 WHEN 'PERSON' THEN @min_person::float8 ELSE @min_bu::float8 END
), worst AS (
    SELECT DISTINCT ON (k.level, k.subject_id) k.level, k.subject_id, v.subject_id AS job_id
    FROM v
    CROSS JOIN LATERAL (VALUES ('PERSON', v.person_id), ('BU', v.bu_id)) k(level, subject_id)
    WHERE v.level = 'JOB' AND v.value IS NOT NULL AND k.subject_id IS NOT NULL
    ORDER BY k.level, k.subject_id, v.volume >= @min_job::float8 DESC, v.value {worst}, v.volume DESC, v.subject_id
)
INSERT INTO leaderboard_entry (level, metric, unit, start, rank, subject_id, value, volume,
                               previous_rank, previous_count, improve_job_id)
SELECT r.level, @metric, @unit, @start::date, r.rank, r.subject_id, r.value, r.volume,
       p.rank, pp.ranked_count,
       CASE WHEN r.level = 'JOB' THEN r.subject_id ELSE w.job_id END
FROM ranked r
LEFT JOIN leaderboard_entry p
       ON p.level = r.level AND p.unit = @unit AND p.subject_id = r.subject_id AND p.metric = @metric AND p.start = @previous::date
LEFT JOIN leaderboard_period pp
       ON pp.level = r.level AND pp.metric = @metric AND pp.unit = @unit AND pp.start = @previous::date
LEFT JOIN worst w ON w.level = r.level AND w.subject_id = r.subject_id
