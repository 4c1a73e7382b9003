-- 0012 job analysis: what the job-analysis job (internal/workload, analysis.go)
-- concluded about each job from the window of its last runs (batch) or hours
-- (streaming), so the job-analysis screen ranks and shows jobs without reading
-- runs per request.
--
-- job_finding holds the current findings of a job: every heuristic that had
-- data, NONE included (a screen says "checked, fine"), replaced as a whole each
-- time the job is analysed. job_score holds the job's score and wasted
-- resources, one row per analysed job, with an index per ranking so the
-- "worst jobs" pages seek instead of sorting every job.
--
-- job_analysis_state is the job's progress: runs changed up to done_until are
-- analysed; a run in progress works through the jobs changed in
-- (done_until, pending_until] by job id, committing after_job with each batch,
-- so a run cut short by its timeout resumes where it stopped.

CREATE TABLE job_finding (
    job_id      bigint NOT NULL REFERENCES job (id),
    heuristic   text NOT NULL,
    -- 0 NONE, 1 LOW, 2 MODERATE, 3 SEVERE, 4 CRITICAL (Dr. Elephant's scale).
    severity    smallint NOT NULL CHECK (severity BETWEEN 0 AND 4),
    -- [{"key": "peak memory", "value": 4.1, "unit": "GB"}, ...]
    evidence    jsonb NOT NULL DEFAULT '[]',
    advice      text NOT NULL DEFAULT '',
    analyzed_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, heuristic)
);

CREATE TABLE job_score (
    job_id                    bigint PRIMARY KEY REFERENCES job (id),
    -- Σ severity × tasks over the job's findings (docs/workload.md).
    score                     double precision NOT NULL,
    wasted_core_hours_per_day double precision NOT NULL,
    wasted_gb_hours_per_day   double precision NOT NULL,
    -- The ranking key of "worst by waste": core-hours plus GB-hours converted
    -- to core-hours at the configured GB per core.
    waste                     double precision NOT NULL,
    worst_severity            smallint NOT NULL CHECK (worst_severity BETWEEN 0 AND 4),
    runs_analyzed             integer NOT NULL,
    hours_analyzed            integer NOT NULL,
    analyzed_at               timestamptz NOT NULL
);
CREATE INDEX job_score_score_idx ON job_score (score DESC, job_id DESC);
CREATE INDEX job_score_waste_idx ON job_score (waste DESC, job_id DESC);

-- One row: the job-analysis job's progress.
CREATE TABLE job_analysis_state (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    done_until    timestamptz NOT NULL DEFAULT 'epoch',
    pending_until timestamptz,
    after_job     bigint NOT NULL DEFAULT 0
);
INSERT INTO job_analysis_state DEFAULT VALUES;

-- Which runs changed since the watermark: a range scan instead of a pass over
-- every run. Every writer of job_run sets updated_at = now() (RunUpsert does),
-- which is what makes a changed run visible here. The price: run updates are
-- no longer HOT (an indexed column changes), acceptable at runs' write rates.
CREATE INDEX job_run_updated_idx ON job_run (updated_at, job_id);
