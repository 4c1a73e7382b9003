-- 0024 health scores: the latest 0–100 score of every host, cluster, job,
-- person and BU with its weighted components and the reason for every lost
-- point, and a daily history (the last score of each day), both written by the
-- `health` job (internal/health, docs/health.md) so that pages, rankings and
-- the leaderboards read stored scores instead of scoring the fleet per request.
--
-- Owned by internal/health.

-- When each level was last scored: a run rewrites only the scores that
-- changed, so a score's computedAt is its level's last run.
CREATE TABLE health_run (
    level        text PRIMARY KEY CHECK (level IN ('HOST', 'CLUSTER', 'JOB', 'PERSON', 'BU')),
    computed_at  timestamptz NOT NULL,
    scored       integer NOT NULL
);
-- A row per level from the start, so a run always has one to lock.
INSERT INTO health_run (level, computed_at, scored)
SELECT l, 'epoch', 0 FROM unnest(ARRAY['HOST', 'CLUSTER', 'JOB', 'PERSON', 'BU']) l;

-- One row per subject and level. cluster_id, bu_id and owner_id are the
-- subject's place as the job saw it (a host's cluster; a job's cluster,
-- effective BU and owner; a person's BU; a BU itself; a cluster's owner BU):
-- they filter a ranking and decide who may read it without joining the
-- inventory. worst and reason are the component that lost the most points and
-- why, for a ranking's rows.
CREATE TABLE health_score (
    level        text NOT NULL CHECK (level IN ('HOST', 'CLUSTER', 'JOB', 'PERSON', 'BU')),
    subject_id   bigint NOT NULL,
    score        double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    -- The components that lost points or carry a note, by name:
    -- {"state": {"score": 50, "reason": "host is DEGRADED"}}; the others kept
    -- all their points. Weights are not stored: they are weights.go's.
    components   jsonb NOT NULL,
    -- A 64-bit FNV-1a hash of the components as the job encodes them: a run
    -- compares it, not the JSON, to find the scores that changed.
    components_hash bigint NOT NULL,
    -- The run that last changed the row (an unchanged score is not rewritten).
    computed_at  timestamptz NOT NULL,
    cluster_id   bigint,
    bu_id        bigint,
    owner_id     bigint,
    worst        text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    PRIMARY KEY (level, subject_id)
) WITH (fillfactor = 70);
-- Rankings, worst or best first, over a level, a cluster's hosts or jobs, a BU
-- subtree's subjects, or a viewer's own: each an index range read in order.
CREATE INDEX health_score_rank_idx ON health_score (level, score, subject_id);
CREATE INDEX health_score_cluster_idx ON health_score (level, cluster_id, score, subject_id) WHERE cluster_id IS NOT NULL;
CREATE INDEX health_score_bu_idx ON health_score (level, bu_id, score, subject_id) WHERE bu_id IS NOT NULL;
CREATE INDEX health_score_owner_idx ON health_score (level, owner_id, score, subject_id) WHERE owner_id IS NOT NULL;

-- The last score of each UTC day. Retention (docs/health.md): 90 days for
-- hosts and jobs, 400 for clusters, people and BUs; the job deletes older days
-- through the day index.
CREATE TABLE health_history (
    level       text NOT NULL CHECK (level IN ('HOST', 'CLUSTER', 'JOB', 'PERSON', 'BU')),
    subject_id  bigint NOT NULL,
    day         date NOT NULL,
    score       double precision NOT NULL CHECK (score BETWEEN 0 AND 100),
    PRIMARY KEY (level, subject_id, day)
) WITH (fillfactor = 80);
CREATE INDEX health_history_day_idx ON health_history (level, day);
