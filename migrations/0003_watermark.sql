-- 0003 watermark: cluster water levels precomputed from raw samples, so that no
-- dashboard request ever scans host_metric. The rollup job turns the minutes marked
-- in rollup_dirty into 1-minute levels per cluster and for the whole platform
-- (cluster_id 0), then re-derives the hours and days those minutes belong to; the
-- forecast job fits the trend of daily peaks. Each step has its own narrow table
-- keyed (cluster_id, dimension, ts), so a series is one index range scan, and
-- watermark_latest keeps one row per cluster and dimension so the platform heat
-- table reads a few hundred rows instead of searching for every cluster's newest
-- minute. cluster_id carries no foreign key: 0 is the platform, and a retired
-- cluster's history must outlive its inventory row.

-- Utilisation thresholds per cluster kind (and one for the platform as a whole),
-- in a table so operators can tune them without a release. Status is OK below 85%
-- of the threshold, WARN up to it, CRITICAL above.
CREATE TABLE watermark_threshold (
    kind        text PRIMARY KEY CHECK (kind IN ('STREAMING', 'BATCH', 'ONLINE', 'PLATFORM')),
    threshold   double precision NOT NULL CHECK (threshold > 0 AND threshold <= 1),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO watermark_threshold (kind, threshold) VALUES
    ('STREAMING', 0.60), -- latency-sensitive: keep headroom for bursts and catch-up
    ('BATCH', 0.85),     -- throughput: full is the point, queues absorb peaks
    ('ONLINE', 0.70),    -- stability: room to lose a rack
    ('PLATFORM', 0.80);

-- One row per cluster (0 = platform), dimension and minute. used and capacity are in
-- the dimension's unit; p95 and max are of host utilisation (0..1) across the hosts
-- that reported in the minute; hosts counts them. Columns are ordered widest first
-- so rows pack without alignment padding: this table holds ~50M rows at 200 clusters.
CREATE TABLE watermark_1m (
    cluster_id  bigint NOT NULL,
    ts          timestamptz NOT NULL,
    used        double precision NOT NULL,
    capacity    double precision NOT NULL,
    p95         real,
    max         real,
    hosts       integer NOT NULL,
    dimension   text NOT NULL CHECK (dimension IN ('CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS')),
    PRIMARY KEY (cluster_id, dimension, ts)
);
-- Rows arrive in time order, so a BRIN index finds a time range (the hours to
-- re-derive, the minutes to expire) for almost nothing in space and write cost.
CREATE INDEX watermark_1m_ts_brin ON watermark_1m USING brin (ts) WITH (pages_per_range = 16, autosummarize = on);

-- Hours and days derived from the minutes: used and capacity are means over the
-- minutes present, utilization is the mean of minute utilisation and peak its
-- maximum (forecasts fit daily peaks), p95/max/hosts are the maxima over the
-- minutes. minutes (and hours, for days) say how complete the step is.
CREATE TABLE watermark_1h (
    cluster_id   bigint NOT NULL,
    ts           timestamptz NOT NULL,
    used         double precision NOT NULL,
    capacity     double precision NOT NULL,
    utilization  double precision NOT NULL,
    peak         double precision NOT NULL,
    p95          real,
    max          real,
    hosts        integer NOT NULL,
    minutes      integer NOT NULL,
    dimension    text NOT NULL CHECK (dimension IN ('CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS')),
    PRIMARY KEY (cluster_id, dimension, ts)
);
CREATE INDEX watermark_1h_ts_brin ON watermark_1h USING brin (ts) WITH (autosummarize = on);

CREATE TABLE watermark_1d (
    cluster_id   bigint NOT NULL,
    ts           timestamptz NOT NULL,
    used         double precision NOT NULL,
    capacity     double precision NOT NULL,
    utilization  double precision NOT NULL,
    peak         double precision NOT NULL,
    p95          real,
    max          real,
    hosts        integer NOT NULL,
    minutes      integer NOT NULL,
    hours        integer NOT NULL,
    dimension    text NOT NULL CHECK (dimension IN ('CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS')),
    PRIMARY KEY (cluster_id, dimension, ts)
);
CREATE INDEX watermark_1d_ts_brin ON watermark_1d USING brin (ts) WITH (autosummarize = on);

-- The latest complete minute per cluster and dimension, kept by the rollup, so
-- "now" for every cluster is a primary-key lookup.
CREATE TABLE watermark_latest (
    cluster_id  bigint NOT NULL,
    dimension   text NOT NULL CHECK (dimension IN ('CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS')),
    ts          timestamptz NOT NULL,
    used        double precision NOT NULL,
    capacity    double precision NOT NULL,
    p95         real,
    max         real,
    hosts       integer NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, dimension)
);

-- The latest forecast per cluster and dimension (the forecast job replaces them).
CREATE TABLE watermark_forecast (
    cluster_id          bigint NOT NULL,
    dimension           text NOT NULL CHECK (dimension IN ('CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS', 'QUEUE_SLOTS')),
    method              text NOT NULL,
    threshold           double precision NOT NULL,
    days_of_history     integer NOT NULL,
    current_peak        double precision,
    slope_per_day       double precision,
    slope_low           double precision,
    slope_high          double precision,
    crosses_at          timestamptz,
    crosses_at_earliest timestamptz,
    crosses_at_latest   timestamptz,
    projection          jsonb NOT NULL DEFAULT '[]',
    computed_at         timestamptz NOT NULL,
    PRIMARY KEY (cluster_id, dimension)
);
CREATE INDEX watermark_forecast_crosses_idx ON watermark_forecast (crosses_at) WHERE crosses_at IS NOT NULL;

-- Minutes the rollup has taken out of rollup_dirty but not yet committed levels
-- for. Claiming happens in a short transaction that waits for in-flight writers
-- (see internal/watermark/rollup.go); if the rollup then fails or the process
-- dies, the claimed minutes stay here and the next run picks them up.
CREATE TABLE rollup_claim (
    minute      timestamptz PRIMARY KEY,
    claimed_at  timestamptz NOT NULL DEFAULT now()
);

-- The rollup reads host_metric one minute range at a time, but its primary key
-- leads with host_id: without this, every run would scan a whole day partition.
-- Samples arrive in time order, so BRIN costs next to nothing on ingestion.
CREATE INDEX host_metric_ts_brin ON host_metric USING brin (ts) WITH (pages_per_range = 32, autosummarize = on);
