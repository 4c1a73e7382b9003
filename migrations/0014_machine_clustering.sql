-- 0014 machine clustering: each run of the machine-clustering analysis (the
-- groups it found, how well separated, how k was chosen) and where it put every
-- host (its group, its place on the 2-D distribution chart, whether it is an
-- outlier). Runs are kept whole so a screen always reads one consistent run and
-- the next run can keep group labels stable by matching its centroids to the
-- last run's; the job keeps the newest few and deletes the rest.
--
-- Owned by internal/clustering.

CREATE TABLE clustering_run (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    -- The window of hourly sums the features were computed from.
    window_from   timestamptz NOT NULL,
    window_to     timestamptz NOT NULL,
    features      text[] NOT NULL,
    k             integer NOT NULL CHECK (k > 0),
    -- The silhouette of the kept k (-1..1) and of every candidate, by k.
    quality       double precision NOT NULL,
    silhouettes   jsonb NOT NULL,
    hosts         integer NOT NULL,
    outliers      integer NOT NULL,
    -- Share of the variance on each axis of the projection.
    explained     double precision[] NOT NULL,
    iterations    integer NOT NULL,
    seed          bigint NOT NULL,
    duration_ms   integer NOT NULL,
    -- [{label, centroid: [...], z: [...], description, hosts}], centroids in
    -- the features' own units, z in robust standard deviations.
    groups        jsonb NOT NULL
);
CREATE INDEX clustering_run_computed_idx ON clustering_run (computed_at DESC, id DESC);

CREATE TABLE clustering_assignment (
    run_id    bigint NOT NULL REFERENCES clustering_run (id) ON DELETE CASCADE,
    -- No foreign key, as for host_metric_1h: 200,000 rows go in with COPY each
    -- run, and readers join host, so a deleted host drops out of every read.
    host_id   bigint NOT NULL,
    label     integer NOT NULL,
    x         real NOT NULL,
    y         real NOT NULL,
    -- Distance to the group's centroid in robust standard deviations.
    distance  real NOT NULL,
    outlier   boolean NOT NULL,
    -- The host's place in a random order of the run's hosts: a chart's sample of
    -- n hosts is the outliers and then the first n by rank, read from an index
    -- instead of sorting the fleet on every request.
    rank      integer NOT NULL,
    PRIMARY KEY (run_id, host_id)
);
CREATE INDEX clustering_assignment_sample_idx ON clustering_assignment (run_id, outlier DESC, rank);
-- A host's group in the latest run (peer analysis, host pages).
CREATE INDEX clustering_assignment_host_idx ON clustering_assignment (host_id);
