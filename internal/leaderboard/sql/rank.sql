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
    (SELECT DISTINCT ON (person_id) 'PERSON' AS level, person_id AS subject_id, subject_id AS job_id
     FROM v
     WHERE level = 'JOB' AND value IS NOT NULL AND person_id IS NOT NULL
     ORDER BY person_id, volume >= @min_job::float8 DESC, value {worst}, volume DESC, subject_id)
    UNION ALL
    (SELECT DISTINCT ON (bu_id) 'BU', bu_id, subject_id
     FROM v
     WHERE level = 'JOB' AND value IS NOT NULL AND bu_id IS NOT NULL
     ORDER BY bu_id, volume >= @min_job::float8 DESC, value {worst}, volume DESC, subject_id)
), previous AS (
    -- The previous period's ranking of the metric: a range of the key.
    SELECT level, subject_id, rank
    FROM leaderboard_entry
    WHERE level = ANY(@levels) AND metric = @metric AND unit = @unit AND start = @previous::date
)
INSERT INTO leaderboard_entry (level, metric, unit, start, rank, subject_id, value, volume,
                               previous_rank, previous_count, improve_job_id)
SELECT r.level, @metric, @unit, @start::date, r.rank, r.subject_id, r.value, r.volume,
       p.rank, pp.ranked_count,
       CASE WHEN r.level = 'JOB' THEN r.subject_id ELSE w.job_id END
FROM ranked r
LEFT JOIN previous p ON p.level = r.level AND p.subject_id = r.subject_id
LEFT JOIN leaderboard_period pp
       ON pp.level = r.level AND pp.metric = @metric AND pp.unit = @unit AND pp.start = @previous::date
LEFT JOIN worst w ON w.level = r.level AND w.subject_id = r.subject_id
