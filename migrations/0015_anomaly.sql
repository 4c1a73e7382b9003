-- 0015 anomaly episodes: what the anomaly detector found, as episodes (a host's
-- metric behaving abnormally from a start to an end) rather than one row per
-- anomalous point, so a flapping metric is one thing to look at and to
-- acknowledge. Also the detectors' state, so scoring continues across restarts
-- and replicas without relearning each series.
--
-- Owned by internal/anomaly.

CREATE TABLE anomaly_episode (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id          bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    -- The host's cluster when the episode opened (a cluster's analysis and the
    -- listing's filter read it without joining host).
    cluster_id       bigint NOT NULL,
    metric           text NOT NULL CHECK (metric IN ('CPU', 'MEMORY', 'DISK_IO', 'NET_IN', 'NET_OUT', 'CONTAINERS')),
    -- SELF: against the host's own history; PEER: against its peers (same
    -- cluster and machine group) at the same moment.
    kind             text NOT NULL CHECK (kind IN ('SELF', 'PEER')),
    status           text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')),
    severity         text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    started_at       timestamptz NOT NULL,
    -- The last anomalous point; the episode resolves once the metric has been
    -- normal for a quiet period after it.
    last_seen_at     timestamptz NOT NULL,
    ended_at         timestamptz,
    points           integer NOT NULL DEFAULT 1,
    peak_score       real NOT NULL,
    peak_at          timestamptz NOT NULL,
    peak_value       double precision,
    -- What the detector expected at the peak.
    baseline         double precision,
    acknowledged_by  bigint REFERENCES person (id),
    acknowledged_at  timestamptz,
    note             text NOT NULL DEFAULT '',
    CHECK (ended_at IS NULL OR status = 'RESOLVED')
);
-- At most one unresolved episode per host, metric and kind: new anomalous
-- points extend it.
CREATE UNIQUE INDEX anomaly_episode_open_key ON anomaly_episode (host_id, metric, kind) WHERE status <> 'RESOLVED';
-- The listing, newest first (keyset (started_at, id)), alone or by cluster.
CREATE INDEX anomaly_episode_started_idx ON anomaly_episode (started_at DESC, id DESC);
CREATE INDEX anomaly_episode_cluster_idx ON anomaly_episode (cluster_id, started_at DESC, id DESC);
CREATE INDEX anomaly_episode_host_idx ON anomaly_episode (host_id, started_at DESC, id DESC);
-- Open episodes (to resolve, to show on screens): few, found without a scan.
CREATE INDEX anomaly_episode_unresolved_idx ON anomaly_episode (last_seen_at) WHERE status <> 'RESOLVED';

-- Each series' detector state (internal/anomaly serialises it), and the time of
-- the last sample scored, so each sample is scored once.
CREATE TABLE anomaly_state (
    host_id     bigint NOT NULL,
    metric      text NOT NULL,
    scored_at   timestamptz NOT NULL,
    state       bytea NOT NULL,
    PRIMARY KEY (host_id, metric)
);
