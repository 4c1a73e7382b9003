-- rank writes one metric's ranking of the period at every level, and its
-- period rows, in one statement; it returns the entries written. The ranking:
-- the subjects with a value and at least their level's minimum volume, 1 the
-- best ({best} order), ties to the lower id. {value} and the orders come from
-- the metric table in compute.go, never from input.
--
-- Each entry carries its rank in the previous period of the unit with that
-- period's ranked count (movement needs no second read) and the job whose
-- findings say what to do (a job itself; a person's or BU's worst job on the
-- metric: its job ranked last, or, with none above the job minimum, its worst
-- job with a value, the larger on a tie; only for those within @keep of
-- either end, the entries a list reads). People and
-- BUs are written whole; jobs only the first and last @keep (no list reads
-- further), with the whole job ranking as the period row's array, which is
-- where the next period reads a job's previous rank from.
--
-- Every part reads lb_subject itself (analysed) rather than a shared CTE of
-- it, and compute.go turns nested-loop and merge joins off for the ranking:
-- with a guessed handful of rows on one side the planner once joined the
-- ranking to the previous one on the level alone, a cross product of
-- 100,000 jobs by 100,000 jobs.
WITH ranked AS (
    SELECT level, subject_id, person_id, bu_id, volume, {value} AS value,
           row_number() OVER (PARTITION BY level ORDER BY {value} {best}, subject_id) AS rank,
           count(*) OVER (PARTITION BY level) AS n
    FROM lb_subject
    WHERE {value} IS NOT NULL
      AND volume >= CASE level WHEN 'JOB' THEN @min_job::float8 WHEN 'PERSON' THEN @min_person::float8 ELSE @min_bu::float8 END
), listed AS (
    -- The people and BUs a list can show (the first and last @keep): only
    -- their entries are read with the advice, so only they need a worst job.
    SELECT level, subject_id FROM ranked
    WHERE level <> 'JOB' AND (rank <= @keep OR rank > n - @keep)
), worst_ranked AS (
    -- A listed person's or BU's worst job among its ranked ones (those above
    -- the job minimum): the one ranked last, found by hashing the ranked jobs
    -- per owner rather than sorting every job (a BU list shows every BU, so
    -- a sort would take all 100,000 jobs on every metric).
    -- The last rank per owner is a hashed max over integers, then the job
    -- at that rank is found by a hash join (an array max is aggregated by
    -- sorting every job of the listed owners).
    SELECT 'PERSON'::text AS level, m.person_id AS subject_id, r.subject_id AS job_id
    FROM (SELECT r.person_id, max(r.rank) AS rank
          FROM ranked r JOIN listed l ON l.level = 'PERSON' AND l.subject_id = r.person_id
          WHERE r.level = 'JOB'
          GROUP BY r.person_id) m
    JOIN ranked r ON r.level = 'JOB' AND r.rank = m.rank
    UNION ALL
    SELECT 'BU', m.bu_id, r.subject_id
    FROM (SELECT r.bu_id, max(r.rank) AS rank
          FROM ranked r JOIN listed l ON l.level = 'BU' AND l.subject_id = r.bu_id
          WHERE r.level = 'JOB'
          GROUP BY r.bu_id) m
    JOIN ranked r ON r.level = 'JOB' AND r.rank = m.rank
), worst AS (
    -- Those with no ranked job: their worst job with a value, the larger first.
    SELECT level, subject_id, job_id FROM worst_ranked
    UNION ALL
    (SELECT DISTINCT ON (s.person_id) 'PERSON'::text, s.person_id, s.subject_id
     FROM lb_subject s
     JOIN listed l ON l.level = 'PERSON' AND l.subject_id = s.person_id
     WHERE s.level = 'JOB' AND {value} IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM worst_ranked w WHERE w.level = 'PERSON' AND w.subject_id = s.person_id)
     ORDER BY s.person_id, {value} {worst}, s.volume DESC, s.subject_id)
    UNION ALL
    (SELECT DISTINCT ON (s.bu_id) 'BU', s.bu_id, s.subject_id
     FROM lb_subject s
     JOIN listed l ON l.level = 'BU' AND l.subject_id = s.bu_id
     WHERE s.level = 'JOB' AND {value} IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM worst_ranked w WHERE w.level = 'BU' AND w.subject_id = s.bu_id)
     ORDER BY s.bu_id, {value} {worst}, s.volume DESC, s.subject_id)
), prev_period AS (
    SELECT level, ranked_count, ranking
    FROM leaderboard_period
    WHERE level = ANY(@levels) AND metric = @metric AND unit = @unit AND start = @previous::date
), previous AS (
    -- The previous ranking: a job level's array when it has one, else the
    -- stored entries (people, BUs, and periods from before the array).
    SELECT 'JOB'::text AS level, r.subject_id, r.rank::int AS rank
    FROM prev_period pp, unnest(pp.ranking) WITH ORDINALITY r(subject_id, rank)
    WHERE pp.level = 'JOB'
    UNION ALL
    SELECT e.level, e.subject_id, e.rank
    FROM leaderboard_entry e
    WHERE e.level = ANY(@levels) AND e.metric = @metric AND e.unit = @unit AND e.start = @previous::date
      AND NOT EXISTS (SELECT 1 FROM prev_period pp WHERE pp.level = e.level AND pp.ranking IS NOT NULL)
), entries AS (
    INSERT INTO leaderboard_entry (level, metric, unit, start, rank, subject_id, value, volume,
                                   previous_rank, previous_count, improve_job_id)
    SELECT r.level, @metric, @unit, @start::date, r.rank, r.subject_id, r.value, r.volume,
           p.rank, pp.ranked_count,
           CASE WHEN r.level = 'JOB' THEN r.subject_id ELSE w.job_id END
    FROM ranked r
    LEFT JOIN previous p ON p.level = r.level AND p.subject_id = r.subject_id
    LEFT JOIN prev_period pp ON pp.level = r.level
    LEFT JOIN worst w ON w.level = r.level AND w.subject_id = r.subject_id
    WHERE r.level <> 'JOB' OR r.rank <= @keep OR r.rank > r.n - @keep
    RETURNING 1
), periods AS (
    INSERT INTO leaderboard_period (level, metric, unit, start, period_end, computed_at, ranked_count, median, min_volume, ranking)
    -- The median is read off the ranks (the ranking is ordered by value,
    -- so the middle one or two ranks hold it) rather than sorting the values
    -- again: percentile_cont's interpolation between two middle values.
    SELECT l.level, @metric, @unit, @start::date, @end::date, now(), count(r.rank),
           avg(r.value) FILTER (WHERE r.rank IN ((r.n + 1) / 2, (r.n + 2) / 2)), l.min_volume,
           CASE WHEN l.level = 'JOB' THEN coalesce(array_agg(r.subject_id ORDER BY r.rank) FILTER (WHERE r.rank IS NOT NULL), '{}') END
    FROM (VALUES ('JOB', @min_job::float8), ('PERSON', @min_person::float8), ('BU', @min_bu::float8)) l(level, min_volume)
    LEFT JOIN ranked r ON r.level = l.level
    GROUP BY l.level, l.min_volume
    RETURNING 1
)
SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM periods)
