package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/workload"
)

// Who may read a score:
//   - hosts and clusters: anyone signed in, like the host and cluster lists;
//   - jobs: whoever may read the job's runs (workload.CanSeeRuns: operators,
//     its owner, a BU admin of its BU subtree);
//   - people: operators, the person, a BU admin of their BU subtree (as the
//     inventory reads people);
//   - BUs: operators, a BU admin for their subtree, anyone else their own BU
//     (as bills are scoped in internal/cost).
//
// Rankings apply the same rules in SQL on the owner and BU stored with each
// score at its computation (at most one run of the job old).

// Service reads stored health scores, checking the caller.
type Service struct {
	pool db.DBTX
}

// NewService returns a Service reading through pool.
func NewService(pool db.DBTX) *Service { return &Service{pool: pool} }

// Score is a subject's stored score.
type Score struct {
	Level      Level
	SubjectID  int64
	Score      float64
	ComputedAt time.Time
	Components []Component
}

// Grade is the score's grade.
func (s *Score) Grade() string { return Grade(s.Score) }

// Point is a day's score: the last computed that day.
type Point struct {
	Day   time.Time
	Score float64
}

// MaxHistoryDays bounds a history read.
const MaxHistoryDays = 400

// scope is the SQL condition (on health_score's owner_id and bu_id) a caller
// may read at a level, with its arguments; "" reads all.
func scopeOf(p *auth.Principal, level Level) (string, pgx.NamedArgs) {
	if level == Host || level == Cluster || p.Is(auth.Operator) {
		return "", pgx.NamedArgs{}
	}
	args := pgx.NamedArgs{"me": p.PersonID, "my_bu": p.BUID, "subtree": p.BUSubtree}
	switch {
	case level == BU && p.Role == auth.BUAdmin:
		return "bu_id = ANY(@subtree)", args
	case level == BU:
		return "bu_id = @my_bu", args
	case p.Role == auth.BUAdmin:
		return "(owner_id = @me OR bu_id = ANY(@subtree))", args
	}
	return "owner_id = @me", args
}

// ScoresOf returns the stored scores at level of the subjects of ids the
// caller may read; subjects never scored, or hidden from the caller, have no
// entry. For dataloaders.
func (s *Service) ScoresOf(ctx context.Context, level Level, ids []int64) (map[int64]*Score, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	where := []string{"level = @level", "subject_id = ANY(@ids)"}
	cond, args := scopeOf(p, level)
	if level == Job {
		// Jobs follow their runs' rule on the job as it is now.
		jobs, err := workload.LoadJobs(ctx, s.pool, ids)
		if err != nil {
			return nil, err
		}
		ids = ids[:0:0]
		for id, j := range jobs {
			if workload.CanSeeRuns(p, j) {
				ids = append(ids, id)
			}
		}
		cond = ""
	}
	if cond != "" {
		where = append(where, cond)
	}
	args["level"], args["ids"] = string(level), ids
	rows, err := s.pool.Query(ctx, `SELECT subject_id, score, greatest(computed_at, (SELECT computed_at FROM health_run WHERE level = @level)), components
		FROM health_score WHERE `+strings.Join(where, " AND "), args)
	if err != nil {
		return nil, fmt.Errorf("error loading health scores: %w", err)
	}
	out := map[int64]*Score{}
	var sc Score
	var comps []byte
	_, err = pgx.ForEachRow(rows, []any{&sc.SubjectID, &sc.Score, &sc.ComputedAt, &comps}, func() error {
		v := sc
		v.Level, v.ComputedAt = level, v.ComputedAt.UTC()
		var err error
		if v.Components, err = decodeComponents(level, comps); err != nil {
			return err
		}
		out[v.SubjectID] = &v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading health scores: %w", err)
	}
	return out, nil
}

// History returns the daily scores at level of the subjects of ids over the
// last days days (1..MaxHistoryDays, today included), oldest first. The
// subjects are those whose scores ScoresOf returned to the caller, which
// checked them; History checks only that the caller is signed in.
func (s *Service) History(ctx context.Context, level Level, ids []int64, days int, now time.Time) (map[int64][]Point, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if days < 1 || days > MaxHistoryDays {
		return nil, fault.Field("days", "days must be between 1 and %d", MaxHistoryDays)
	}
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1-days)
	rows, err := s.pool.Query(ctx, `SELECT subject_id, day, score FROM health_history
		WHERE level = $1 AND subject_id = ANY($2) AND day >= $3::date ORDER BY subject_id, day`, string(level), ids, from)
	if err != nil {
		return nil, fmt.Errorf("error loading health history: %w", err)
	}
	out := map[int64][]Point{}
	var id int64
	var pt Point
	_, err = pgx.ForEachRow(rows, []any{&id, &pt.Day, &pt.Score}, func() error {
		pt.Day = pt.Day.UTC()
		out[id] = append(out[id], pt)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading health history: %w", err)
	}
	return out, nil
}

// RankingQuery asks for a ranking.
type RankingQuery struct {
	Level Level
	// Desc ranks the best first (default: the worst first).
	Desc bool
	// ClusterID narrows to a cluster's hosts or jobs; BUID to the subjects of
	// a BU subtree (jobs, people and BUs by their BU, clusters by their owner).
	ClusterID, BUID *int64
	// First is how many (1..MaxRanking).
	First int
}

// MaxRanking bounds a ranking.
const MaxRanking = 100

// Entry is one subject of a ranking.
type Entry struct {
	Rank      int
	SubjectID int64
	Name      string
	Score     float64
	// Worst is the component that lost the most points and Reason why; empty
	// for a perfect score.
	Worst, Reason string
}

// names are the statements that name a ranking's subjects.
var names = map[Level]string{
	Host:    `SELECT hostname FROM host WHERE id = s.subject_id`,
	Cluster: `SELECT name FROM cluster WHERE id = s.subject_id`,
	Job:     `SELECT namespace || '/' || name FROM job WHERE id = s.subject_id`,
	Person:  `SELECT name FROM person WHERE id = s.subject_id`,
	BU:      `SELECT name FROM bu WHERE id = s.subject_id`,
}

// Ranking returns the subjects of a level by score, worst first unless
// q.Desc, among those the caller may read (see the rules above). A BU filter
// outside what the caller may read is refused rather than answered empty.
func (s *Service) Ranking(ctx context.Context, q RankingQuery) ([]*Entry, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if q.First < 1 || q.First > MaxRanking {
		return nil, fault.Field("first", "first must be between 1 and %d", MaxRanking)
	}
	if _, ok := names[q.Level]; !ok {
		return nil, fault.Field("level", "unknown level %q: use HOST, CLUSTER, JOB, PERSON or BU", q.Level)
	}
	if q.ClusterID != nil && q.Level != Host && q.Level != Job {
		return nil, fault.Field("cluster", "cluster narrows HOST and JOB rankings only")
	}
	if q.BUID != nil && q.Level == Host {
		return nil, fault.Field("bu", "bu narrows CLUSTER, JOB, PERSON and BU rankings, not HOST: narrow hosts by cluster")
	}
	cond, args := scopeOf(p, q.Level)
	where := []string{"s.level = @level"}
	if cond != "" {
		where = append(where, cond)
	}
	args["level"] = string(q.Level)
	if q.ClusterID != nil {
		where, args["cluster"] = append(where, "s.cluster_id = @cluster"), *q.ClusterID
	}
	if q.BUID != nil {
		if !p.Is(auth.Operator) && q.Level != Cluster {
			if p.Role == auth.BUAdmin && !p.InBUSubtree(*q.BUID) {
				return nil, fault.Forbiddenf("you may rank your BU subtree only; BU %d is outside it", *q.BUID)
			}
			if p.Role != auth.BUAdmin && *q.BUID != p.BUID {
				return nil, fault.Forbiddenf("you may rank within your own BU only; BU %d is not yours", *q.BUID)
			}
		}
		where, args["bu"] = append(where, `s.bu_id IN (WITH RECURSIVE t AS (SELECT id FROM bu WHERE id = @bu
			UNION ALL SELECT b.id FROM bu b JOIN t ON b.parent_id = t.id) SELECT id FROM t)`), *q.BUID
	}
	order := "s.score, s.subject_id"
	if q.Desc {
		order = "s.score DESC, s.subject_id DESC"
	}
	args["first"] = q.First
	sql := fmt.Sprintf(`SELECT s.subject_id, s.score, s.worst, s.reason, coalesce((%s), '')
		FROM (SELECT s.subject_id, s.score, s.worst, s.reason FROM health_score s WHERE %s ORDER BY %s LIMIT @first) s
		ORDER BY %s`, names[q.Level], strings.Join(where, " AND "), order, order)
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("error loading health ranking: %w", err)
	}
	var out []*Entry
	var e Entry
	_, err = pgx.ForEachRow(rows, []any{&e.SubjectID, &e.Score, &e.Worst, &e.Reason, &e.Name}, func() error {
		v := e
		v.Rank = len(out) + 1
		out = append(out, &v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading health ranking: %w", err)
	}
	if out == nil {
		out = []*Entry{}
	}
	return out, nil
}

// Scores returns every stored score of a level by subject id, unchecked: for
// other packages' scheduled jobs (the leaderboards), which apply their own
// access rules to what they publish. Never call it on a caller's behalf.
func (s *Service) Scores(ctx context.Context, level Level) (map[int64]float64, error) {
	rows, err := s.pool.Query(ctx, `SELECT subject_id, score FROM health_score WHERE level = $1`, string(level))
	if err != nil {
		return nil, fmt.Errorf("error loading %s health scores: %w", level, err)
	}
	out := map[int64]float64{}
	var id int64
	var v float64
	_, err = pgx.ForEachRow(rows, []any{&id, &v}, func() error { out[id] = v; return nil })
	if err != nil {
		return nil, fmt.Errorf("error loading %s health scores: %w", level, err)
	}
	return out, nil
}
