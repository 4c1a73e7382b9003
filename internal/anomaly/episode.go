package anomaly

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/page"
)

// ChannelAnomaly carries the id of each episode as it opens (anomalyRaised).
const ChannelAnomaly = "tesla_anomaly"

// Metrics are the host metrics scored, as anomaly_episode.metric names them.
var Metrics = []string{"CPU", "MEMORY", "DISK_IO", "NET_IN", "NET_OUT", "CONTAINERS"}

// The kinds of episode: against the host's own history, or against its peers
// at the same moment.
const (
	KindSelf = "SELF"
	KindPeer = "PEER"
)

// The statuses of an episode.
const (
	StatusOpen         = "OPEN"
	StatusAcknowledged = "ACKNOWLEDGED"
	StatusResolved     = "RESOLVED"
)

// The severities of an episode, lowest first.
var Severities = []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}

// EpisodeConfig sets how points become episodes. The zero value is the default
// for every field.
type EpisodeConfig struct {
	// QuietFor is how long a metric must stay normal after its last anomalous
	// point before the episode resolves (default 10 minutes): long enough that
	// a metric flapping around its threshold stays one episode.
	QuietFor time.Duration
	// Medium, High and Critical are the peak scores (0..1) from which an
	// episode is that severe (defaults 0.6, 0.8, 0.95: with the detector's
	// score of a quarter of -log10 p, 2.4, 3.2 and 3.8 decades of surprise);
	// below Medium (down to the alert threshold) it is LOW.
	Medium, High, Critical float64
}

func (c EpisodeConfig) withDefaults() EpisodeConfig {
	c.QuietFor = cmp.Or(c.QuietFor, 10*time.Minute)
	c.Medium = cmp.Or(c.Medium, 0.6)
	c.High = cmp.Or(c.High, 0.8)
	c.Critical = cmp.Or(c.Critical, 0.95)
	return c
}

// SeverityOf is the severity of an episode whose peak score is score (c with
// its defaults applied, as NewEpisodes keeps it).
func (c EpisodeConfig) SeverityOf(score float64) string {
	switch {
	case score >= c.Critical:
		return "CRITICAL"
	case score >= c.High:
		return "HIGH"
	case score >= c.Medium:
		return "MEDIUM"
	}
	return "LOW"
}

// Alert is one anomalous point: a host's metric at a time, its value, what the
// detector expected, and its score (0..1).
type Alert struct {
	HostID   int64
	Metric   string
	Kind     string
	At       time.Time
	Value    float64
	Baseline float64
	Score    float64
	// Open says the point may open an episode (the detector alerted); a point
	// that only scores high (during the detector's quiet period after its
	// alert) extends an open episode but opens none.
	Open bool
}

// Episode is a stored episode.
type Episode struct {
	ID             int64
	HostID         int64
	ClusterID      int64
	Metric         string
	Kind           string
	Status         string
	Severity       string
	StartedAt      time.Time
	LastSeenAt     time.Time
	EndedAt        *time.Time
	Points         int
	PeakScore      float64
	PeakAt         time.Time
	PeakValue      *float64
	Baseline       *float64
	AcknowledgedBy *int64
	AcknowledgedAt *time.Time
	Note           string
}

// Episodes is the only writer of anomaly_episode: it turns alerts into
// episodes, resolves quiet ones, and serves them to the API.
type Episodes struct {
	pool  *pgxpool.Pool
	audit *audit.Log
	cfg   EpisodeConfig
}

// NewEpisodes returns the episode service over pool, auditing
// acknowledgements in log.
func NewEpisodes(pool *pgxpool.Pool, log *audit.Log, cfg EpisodeConfig) *Episodes {
	return &Episodes{pool: pool, audit: log, cfg: cfg.withDefaults()}
}

// alertKey is what identifies an unresolved episode.
type alertKey struct {
	host         int64
	metric, kind string
}

// span is the alerts of one key in a batch, folded.
type span struct {
	first, last time.Time
	peak        Alert
	points      int
	opens       bool
}

// Apply stores a batch of alerts in q (a transaction of the caller's): each
// extends the unresolved episode of its host, metric and kind, or, when it may
// (Open), opens one. It returns the
// ids of the episodes opened, which it also announces on ChannelAnomaly. Bad
// alerts (unknown metric or kind, NaN score) are refused whole: they are the
// scorer's bug, not input.
func (s *Episodes) Apply(ctx context.Context, q db.DBTX, alerts []Alert) ([]int64, error) {
	if len(alerts) == 0 {
		return nil, nil
	}
	spans := map[alertKey]*span{}
	var order []alertKey
	for i, a := range alerts {
		if !slices.Contains(Metrics, a.Metric) || (a.Kind != KindSelf && a.Kind != KindPeer) || !(a.Score >= 0 && a.Score <= 1) {
			return nil, fmt.Errorf("alert %d: metric %q, kind %q, score %v out of range", i, a.Metric, a.Kind, a.Score)
		}
		k := alertKey{a.HostID, a.Metric, a.Kind}
		sp := spans[k]
		if sp == nil {
			sp = &span{first: a.At, last: a.At, peak: a}
			spans[k] = sp
			order = append(order, k)
		}
		sp.points++
		sp.opens = sp.opens || a.Open
		if a.At.Before(sp.first) {
			sp.first = a.At
		}
		if a.At.After(sp.last) {
			sp.last = a.At
		}
		if a.Score > sp.peak.Score {
			sp.peak = a
		}
	}
	n := len(order)
	hosts, points := make([]int64, n), make([]int32, n)
	metrics, kinds, sevs := make([]string, n), make([]string, n), make([]string, n)
	firsts, lasts, peakAts := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
	scores, values, baselines := make([]float64, n), make([]float64, n), make([]float64, n)
	opens := make([]bool, n)
	for i, k := range order {
		sp := spans[k]
		opens[i] = sp.opens
		hosts[i], metrics[i], kinds[i], points[i] = k.host, k.metric, k.kind, int32(sp.points)
		firsts[i], lasts[i], peakAts[i] = sp.first, sp.last, sp.peak.At
		scores[i], values[i], baselines[i] = sp.peak.Score, sp.peak.Value, sp.peak.Baseline
		sevs[i] = s.cfg.SeverityOf(sp.peak.Score)
	}
	// Extend what is open, then open the rest; the unique index on unresolved
	// episodes keeps a concurrent scorer from opening a second one.
	rows, err := q.Query(ctx, `
		WITH a AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[],
			                     $6::timestamptz[], $7::float8[], $8::float8[], $9::float8[], $10::text[], $11::int[], $12::bool[])
			       AS a (host_id, metric, kind, first_at, last_at, peak_at, score, value, baseline, severity, points, opens)
		), ext AS (
			UPDATE anomaly_episode e
			SET last_seen_at = greatest(e.last_seen_at, a.last_at),
			    points = e.points + a.points,
			    peak_score = greatest(e.peak_score, a.score::real),
			    peak_at = CASE WHEN a.score > e.peak_score THEN a.peak_at ELSE e.peak_at END,
			    peak_value = CASE WHEN a.score > e.peak_score THEN a.value ELSE e.peak_value END,
			    baseline = CASE WHEN a.score > e.peak_score THEN a.baseline ELSE e.baseline END,
			    severity = CASE WHEN a.score > e.peak_score THEN a.severity ELSE e.severity END
			FROM a
			WHERE e.host_id = a.host_id AND e.metric = a.metric AND e.kind = a.kind AND e.status <> 'RESOLVED'
			RETURNING e.host_id, e.metric, e.kind
		)
		INSERT INTO anomaly_episode (host_id, cluster_id, metric, kind, severity, started_at, last_seen_at, points,
		                             peak_score, peak_at, peak_value, baseline)
		SELECT a.host_id, h.cluster_id, a.metric, a.kind, a.severity, a.first_at, a.last_at, a.points,
		       a.score, a.peak_at, a.value, a.baseline
		FROM a JOIN host h ON h.id = a.host_id
		WHERE a.opens
		  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.host_id = a.host_id AND ext.metric = a.metric AND ext.kind = a.kind)
		ON CONFLICT (host_id, metric, kind) WHERE status <> 'RESOLVED' DO NOTHING
		RETURNING id`,
		hosts, metrics, kinds, firsts, lasts, peakAts, scores, values, baselines, sevs, points, opens)
	if err != nil {
		return nil, fmt.Errorf("error storing anomaly episodes: %w", err)
	}
	opened, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error storing anomaly episodes: %w", err)
	}
	for _, id := range opened {
		if err := notify.Notify(ctx, q, ChannelAnomaly, strconv.FormatInt(id, 10)); err != nil {
			return nil, err
		}
	}
	return opened, nil
}

// ResolveQuiet resolves every unresolved episode whose last anomalous point is
// at least QuietFor before now: its metric has been normal since (or its host
// silent, which the heartbeat checks report). It returns how many it resolved.
// Acknowledged episodes resolve too: acknowledging says someone is on it, not
// that it should stay open.
func (s *Episodes) ResolveQuiet(ctx context.Context, q db.DBTX, now time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `
		UPDATE anomaly_episode SET status = 'RESOLVED', ended_at = last_seen_at
		WHERE status <> 'RESOLVED' AND last_seen_at <= $1`, now.Add(-s.cfg.QuietFor))
	if err != nil {
		return 0, fmt.Errorf("error resolving quiet anomaly episodes: %w", err)
	}
	return tag.RowsAffected(), nil
}

const episodeColumns = `e.id, e.host_id, e.cluster_id, e.metric, e.kind, e.status, e.severity, e.started_at, e.last_seen_at,
	e.ended_at, e.points, e.peak_score, e.peak_at, e.peak_value, e.baseline, e.acknowledged_by, e.acknowledged_at, e.note`

func scanEpisodes(rows pgx.Rows) ([]*Episode, error) {
	defer rows.Close()
	var out []*Episode
	for rows.Next() {
		e, err := scanOne(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Acknowledge marks an open episode as seen by an operator, with an optional
// note, audited. An episode already acknowledged or resolved is refused with
// the reason.
func (s *Episodes) Acknowledge(ctx context.Context, id int64, note string) (*Episode, error) {
	if len(note) > 2000 {
		return nil, fault.Field("input.note", "a note has at most 2000 characters")
	}
	var out *Episode
	err := s.audit.Do(ctx, "acknowledgeAnomaly", "anomaly:"+strconv.FormatInt(id, 10), map[string]any{"note": note}, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "acknowledging an anomaly")
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+episodeColumns+` FROM anomaly_episode e WHERE e.id = $1 FOR UPDATE`, id)
		if err != nil {
			return fmt.Errorf("error loading anomaly %d: %w", id, err)
		}
		found, err := scanEpisodes(rows)
		if err != nil {
			return fmt.Errorf("error loading anomaly %d: %w", id, err)
		}
		if len(found) == 0 {
			return fault.NotFoundf("no anomaly with id %d", id)
		}
		switch found[0].Status {
		case StatusResolved:
			return fault.New(fault.Conflict, "the anomaly is already resolved: its metric has been normal since %s",
				found[0].LastSeenAt.UTC().Format(time.RFC3339))
		case StatusAcknowledged:
			return fault.New(fault.Conflict, "the anomaly is already acknowledged")
		}
		rows, err = tx.Query(ctx, `UPDATE anomaly_episode e SET status = 'ACKNOWLEDGED', acknowledged_by = $2,
			acknowledged_at = now(), note = $3 WHERE e.id = $1 RETURNING `+episodeColumns, id, p.PersonID, note)
		if err != nil {
			return fmt.Errorf("error acknowledging anomaly %d: %w", id, err)
		}
		found, err = scanEpisodes(rows)
		if err != nil || len(found) == 0 {
			return fmt.Errorf("error acknowledging anomaly %d: %w", id, err)
		}
		out = found[0]
		return nil
	})
	return out, err
}

// Filter selects episodes; empty fields do not restrict.
type Filter struct {
	Statuses    []string
	MinSeverity string
	ClusterID   *int64
	HostID      *int64
	Metric      string
	Kind        string
	// Since keeps episodes that were unresolved at or after it.
	Since *time.Time
}

var episodeKeyset = page.Keyset{Tag: "anomalies/STARTED/DESC", Desc: true,
	Cols: []page.Col{{Expr: "e.started_at", Type: "timestamptz"}, {Expr: "e.id", Type: "bigint"}}}

// List returns episodes newest first, a keyset page at a time (forward). Every
// signed-in role may read them: they are about machines, platform data like the
// inventory.
func (s *Episodes) List(ctx context.Context, f Filter, args page.Args) (page.Page[*Episode], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Episode]{}, err
	}
	if args.Last != nil || args.Before != nil {
		return page.Page[*Episode]{}, fault.Field("last", "anomalies page forward only: use first and after")
	}
	seek, err := args.Seek(episodeKeyset)
	if err != nil {
		return page.Page[*Episode]{}, err
	}
	where, named, err := f.where()
	if err != nil {
		return page.Page[*Episode]{}, err
	}
	cond := seek.Where("k")
	for k, v := range cond.Args {
		named[k] = v
	}
	sql := `SELECT ` + episodeColumns + `, ` + seek.Select() + ` FROM anomaly_episode e WHERE ` + where +
		` AND ` + cond.SQL + ` ` + seek.OrderLimit()
	rows, err := s.pool.Query(ctx, sql, named)
	if err != nil {
		return page.Page[*Episode]{}, fmt.Errorf("error listing anomalies: %w", err)
	}
	var k0, k1 string
	var keys [][]string
	items, err := scanEpisodesKeyed(rows, &k0, &k1, &keys)
	if err != nil {
		return page.Page[*Episode]{}, fmt.Errorf("error listing anomalies: %w", err)
	}
	var total page.Total
	if seek.NeedsCount(len(items)) {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM anomaly_episode e WHERE `+where, named).Scan(&total.N); err != nil {
			return page.Page[*Episode]{}, fmt.Errorf("error counting anomalies: %w", err)
		}
	} else if !seek.NoTotal {
		total.N = len(items)
	}
	return page.KeysetPage(seek, items, keys, total), nil
}

func scanEpisodesKeyed(rows pgx.Rows, k0, k1 *string, keys *[][]string) ([]*Episode, error) {
	var out []*Episode
	defer rows.Close()
	for rows.Next() {
		got, err := scanOne(rows, k0, k1)
		if err != nil {
			return nil, err
		}
		out = append(out, got)
		*keys = append(*keys, []string{*k0, *k1})
	}
	return out, rows.Err()
}

func scanOne(rows pgx.Rows, extra ...any) (*Episode, error) {
	e := &Episode{}
	var peak float32
	dest := append([]any{&e.ID, &e.HostID, &e.ClusterID, &e.Metric, &e.Kind, &e.Status, &e.Severity, &e.StartedAt,
		&e.LastSeenAt, &e.EndedAt, &e.Points, &peak, &e.PeakAt, &e.PeakValue, &e.Baseline, &e.AcknowledgedBy,
		&e.AcknowledgedAt, &e.Note}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	e.PeakScore = float64(peak)
	e.StartedAt, e.LastSeenAt, e.PeakAt = e.StartedAt.UTC(), e.LastSeenAt.UTC(), e.PeakAt.UTC()
	return e, nil
}

// where builds the filter's condition with named arguments: values are always
// parameters.
func (f Filter) where() (string, pgx.NamedArgs, error) {
	cond := "true"
	args := pgx.NamedArgs{}
	for _, st := range f.Statuses {
		if !slices.Contains([]string{StatusOpen, StatusAcknowledged, StatusResolved}, st) {
			return "", nil, fault.Field("filter.statuses", "unknown status %q", st)
		}
	}
	if len(f.Statuses) > 0 {
		cond += " AND e.status = ANY(@statuses)"
		args["statuses"] = f.Statuses
	}
	if f.MinSeverity != "" {
		i := slices.Index(Severities, f.MinSeverity)
		if i < 0 {
			return "", nil, fault.Field("filter.minSeverity", "unknown severity %q", f.MinSeverity)
		}
		cond += " AND e.severity = ANY(@severities)"
		args["severities"] = Severities[i:]
	}
	if f.ClusterID != nil {
		cond += " AND e.cluster_id = @cluster"
		args["cluster"] = *f.ClusterID
	}
	if f.HostID != nil {
		cond += " AND e.host_id = @host"
		args["host"] = *f.HostID
	}
	if f.Metric != "" {
		if !slices.Contains(Metrics, f.Metric) {
			return "", nil, fault.Field("filter.metric", "unknown metric %q", f.Metric)
		}
		cond += " AND e.metric = @metric"
		args["metric"] = f.Metric
	}
	if f.Kind != "" {
		cond += " AND e.kind = @kind"
		args["kind"] = f.Kind
	}
	if f.Since != nil {
		cond += " AND coalesce(e.ended_at, 'infinity') >= @since"
		args["since"] = *f.Since
	}
	return cond, args, nil
}

// ByIDs returns episodes by id (for the subscription and node lookups).
func (s *Episodes) ByIDs(ctx context.Context, ids []int64) (map[int64]*Episode, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+episodeColumns+` FROM anomaly_episode e WHERE e.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading anomalies: %w", err)
	}
	list, err := scanEpisodes(rows)
	if err != nil {
		return nil, fmt.Errorf("error loading anomalies: %w", err)
	}
	out := make(map[int64]*Episode, len(list))
	for _, e := range list {
		out[e.ID] = e
	}
	return out, nil
}

// Unresolved returns the unresolved episodes of hosts (for host pages and the
// machine analysis' findings), most severe first.
func (s *Episodes) Unresolved(ctx context.Context, hostIDs []int64) (map[int64][]*Episode, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+episodeColumns+` FROM anomaly_episode e
		WHERE e.host_id = ANY($1) AND e.status <> 'RESOLVED'
		ORDER BY array_position(ARRAY['CRITICAL','HIGH','MEDIUM','LOW'], e.severity), e.started_at`, hostIDs)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts' anomalies: %w", err)
	}
	list, err := scanEpisodes(rows)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts' anomalies: %w", err)
	}
	out := map[int64][]*Episode{}
	for _, e := range list {
		out[e.HostID] = append(out[e.HostID], e)
	}
	return out, nil
}
