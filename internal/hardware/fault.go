package hardware

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/hardware/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
)

// MaxReports bounds the faults of one request.
const MaxReports = 1000

// ReportError is why one report of a batch was refused.
type ReportError struct {
	Index int    `json:"index"`
	Field string `json:"field"`
	Error string `json:"error"`
}

// ReportResult says what a batch of reports did.
type ReportResult struct {
	Faults     []*Fault
	Accepted   int
	Duplicates int
	Errors     []ReportError
}

// ReportFaults stores faults reported by a person or an external tool
// (GraphQL reportHardwareFault) or a machine (POST /api/v1/hardware/faults).
// It needs OPERATOR, or an ingest credential (surface ingest); a credential
// bound to a host may report only that host's faults. Reports with bad fields
// or an unknown host are refused one by one (Errors, by index) and the valid
// ones are stored; the whole batch is audited as one action. Reports without a
// source take person for people's sessions and unrestricted tokens and agent
// for host-bound credentials.
func (s *Service) ReportFaults(ctx context.Context, surface auth.Surface, reports []Report) (ReportResult, error) {
	res := ReportResult{Errors: []ReportError{}}
	if len(reports) > MaxReports {
		return res, fault.Field("faults", "at most %d faults per request, got %d", MaxReports, len(reports))
	}
	target := fmt.Sprintf("faults:%d", len(reports))
	err := s.audit.Do(ctx, "reportHardwareFault", target, reports, func(tx pgx.Tx) error {
		p, err := requireReporter(ctx, surface)
		if err != nil {
			return err
		}
		good, err := s.resolveReports(ctx, tx, p, reports, &res)
		if err != nil {
			return err
		}
		// A host agent's credential belongs to no person: its faults are
		// reported by the machine (source agent), with no reporter to name.
		var by *int64
		if p.PersonID != 0 {
			by = &p.PersonID
		}
		rec, err := RecordFaults(ctx, tx, good, by)
		if err != nil {
			return err
		}
		res.Faults, res.Accepted, res.Duplicates = rec.Faults, len(rec.Faults), rec.Duplicates
		sortErrors(res.Errors)
		return nil
	})
	if err == nil && res.Accepted > 0 {
		s.cache.clear()
	}
	return res, err
}

// requireReporter checks who may report faults on surface: on the ingest
// surface anything auth.RequireIngest lets in (an ingest-scoped token, a host's
// own credential, OPERATOR+); on GraphQL, OPERATOR or higher.
func requireReporter(ctx context.Context, surface auth.Surface) (*auth.Principal, error) {
	if surface == auth.SurfaceIngest {
		return auth.RequireIngest(ctx, "reporting hardware faults")
	}
	return auth.RequireRole(ctx, auth.Operator, "reporting a hardware fault")
}

// resolveReports validates reports, finds their hosts and checks that the
// credential may speak for each; the refused ones go to res.Errors.
func (s *Service) resolveReports(ctx context.Context, tx db.DBTX, p *auth.Principal, reports []Report, res *ReportResult) ([]Report, error) {
	now := s.now()
	var names []string
	for i := range reports {
		r := &reports[i]
		r.Hostname = strings.TrimSpace(r.Hostname)
		if r.HostID == 0 && r.Hostname == "" && p.HostID != 0 {
			r.HostID = p.HostID
		}
		if r.HostID == 0 && r.Hostname != "" {
			names = append(names, r.Hostname)
		}
	}
	byName := map[string]int64{}
	if len(names) > 0 {
		rows, err := queries.HostIDsByName(ctx, tx, names)
		if err != nil {
			return nil, fmt.Errorf("error loading hosts: %w", err)
		}
		for _, h := range rows {
			byName[h.Hostname] = h.ID
		}
	}
	var good []Report
	var index []int // good[k] is reports[index[k]]
	for i := range reports {
		r := reports[i]
		refuse := func(field, msg string) {
			res.Errors = append(res.Errors, ReportError{Index: i, Field: field, Error: msg})
		}
		if r.Source == "" {
			r.Source = SourcePerson
			if p.HostID != 0 {
				r.Source = SourceAgent
			}
		}
		if r.Source != SourceAgent && r.Source != SourcePerson && r.Source != SourceAPI {
			refuse("source", fmt.Sprintf("source %q must be agent, person or api", r.Source))
			continue
		}
		if err := r.Validate("", now); err != nil {
			fe, _ := fault.As(err)
			refuse(fe.Field, fe.Message)
			continue
		}
		if r.HostID == 0 {
			if r.Hostname == "" {
				refuse("hostname", "hostname is required")
				continue
			}
			id, ok := byName[r.Hostname]
			if !ok {
				refuse("hostname", fmt.Sprintf("no host is named %q", r.Hostname))
				continue
			}
			r.HostID = id
		}
		if !p.MayActForHost(r.HostID) {
			refuse("hostname", fmt.Sprintf("this credential speaks for its own host only, not for %s", hostLabel(r)))
			continue
		}
		good = append(good, r)
		index = append(index, i)
	}
	if len(good) > 0 {
		ids := make([]int64, 0, len(good))
		for _, r := range good {
			ids = append(ids, r.HostID)
		}
		// Hosts given by id (GraphQL) must exist; by name they were found above.
		exists := map[int64]bool{}
		rows, err := tx.Query(ctx, `SELECT id FROM host WHERE id = ANY($1)`, ids)
		if err != nil {
			return nil, fmt.Errorf("error loading hosts: %w", err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, fmt.Errorf("error loading hosts: %w", err)
		}
		for _, id := range got {
			exists[id] = true
		}
		kept := good[:0]
		for k, r := range good {
			if !exists[r.HostID] {
				res.Errors = append(res.Errors, ReportError{Index: index[k], Field: "hostId", Error: fmt.Sprintf("host %d does not exist", r.HostID)})
				continue
			}
			kept = append(kept, r)
		}
		good = kept
	}
	return good, nil
}

func hostLabel(r Report) string {
	if r.Hostname != "" {
		return fmt.Sprintf("host %q", r.Hostname)
	}
	return fmt.Sprintf("host %d", r.HostID)
}

// FaultFilter narrows a fault listing; empty fields do not restrict.
type FaultFilter struct {
	HostID      *int64
	ClusterID   *int64
	Components  []string
	Statuses    []string
	MinSeverity string
	Sources     []string
	Since       *time.Time
	Until       *time.Time
}

// faultKeyset orders faults newest first.
var faultKeyset = page.Keyset{Tag: "faults/DETECTED/DESC", Desc: true,
	Cols: []page.Col{{Expr: "f.detected_at", Type: "timestamptz"}, {Expr: "f.id", Type: "bigint"}}}

const faultColumns = `f.id, f.host_id, f.component, f.kind, f.severity, f.detected_at, f.source, f.source_ref, f.detail,
	f.status, f.ticket_id, f.reported_by, f.created_at`

// ListFaults lists faults newest first with keyset cursors; any signed-in role.
func (s *Service) ListFaults(ctx context.Context, f FaultFilter, args page.Args) (page.Page[*Fault], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Fault]{}, err
	}
	seek, err := args.Seek(faultKeyset)
	if err != nil {
		return page.Page[*Fault]{}, err
	}
	var conds []string
	cargs := pgx.NamedArgs{}
	add := func(cond, name string, v any) {
		conds = append(conds, cond)
		cargs[name] = v
	}
	if f.HostID != nil {
		add(`f.host_id = @host`, "host", *f.HostID)
	}
	if f.ClusterID != nil {
		add(`f.host_id IN (SELECT id FROM host WHERE cluster_id = @cluster)`, "cluster", *f.ClusterID)
	}
	if len(f.Components) > 0 {
		add(`f.component = ANY(@components)`, "components", f.Components)
	}
	if len(f.Statuses) > 0 {
		add(`f.status = ANY(@statuses)`, "statuses", f.Statuses)
	}
	if f.MinSeverity != "" {
		add(`f.severity = ANY(@severities)`, "severities", atLeast(f.MinSeverity))
	}
	if len(f.Sources) > 0 {
		add(`f.source = ANY(@sources)`, "sources", f.Sources)
	}
	if f.Since != nil {
		add(`f.detected_at >= @since`, "since", *f.Since)
	}
	if f.Until != nil {
		add(`f.detected_at < @until`, "until", *f.Until)
	}
	filtered := len(conds) > 0
	where := strings.Join(append(conds, "true"), " AND ")
	sk := seek.Where("_k")
	rargs := maps.Clone(cargs)
	maps.Copy(rargs, sk.Args)
	rows, err := s.dbtx.Query(ctx, `SELECT `+faultColumns+`, `+seek.Select()+` FROM hardware_fault f WHERE `+where+
		` AND `+sk.SQL+` `+seek.OrderLimit(), rargs)
	if err != nil {
		return page.Page[*Fault]{}, fmt.Errorf("error listing hardware faults: %w", err)
	}
	var keys [][]string
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Fault, error) {
		var row dbsqlc.HardwareFault
		key := make([]string, 2)
		err := r.Scan(&row.ID, &row.HostID, &row.Component, &row.Kind, &row.Severity, &row.DetectedAt, &row.Source, &row.SourceRef,
			&row.Detail, &row.Status, &row.TicketID, &row.ReportedBy, &row.CreatedAt, &key[0], &key[1])
		keys = append(keys, key)
		return faultFromRow(&row), err
	})
	if err != nil {
		return page.Page[*Fault]{}, fmt.Errorf("error listing hardware faults: %w", err)
	}
	var total page.Total
	if seek.Complete(len(items)) {
		total.N = len(items)
	} else if seek.NeedsCount(len(items)) {
		total, err = page.CountTotal(ctx, s.dbtx, "hardware_fault", filtered, func() (int, error) {
			var n int
			err := s.dbtx.QueryRow(ctx, `SELECT count(*) FROM hardware_fault f WHERE `+where, cargs).Scan(&n)
			return n, err
		})
		if err != nil {
			return page.Page[*Fault]{}, fmt.Errorf("error counting hardware faults: %w", err)
		}
	}
	return page.KeysetPage(seek, items, keys, total), nil
}

// atLeast returns the severities from s up.
func atLeast(s string) []string {
	for i, v := range Severities {
		if v == s {
			return Severities[i:]
		}
	}
	return nil
}

// HostFaultsLimit is how many of a host's newest faults Host.faults shows; the
// whole history pages through ListFaults.
const HostFaultsLimit = 50

// FaultsOfHosts returns each host's newest faults (at most HostFaultsLimit), for
// a dataloader.
func (s *Service) FaultsOfHosts(ctx context.Context, hosts []int64) (map[int64][]*Fault, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.FaultsOfHosts(ctx, s.dbtx, &dbsqlc.FaultsOfHostsParams{HostIds: hosts, Max: HostFaultsLimit})
	if err != nil {
		return nil, fmt.Errorf("error loading hardware faults: %w", err)
	}
	out := map[int64][]*Fault{}
	for _, r := range rows {
		out[r.HostID] = append(out[r.HostID], faultFromRow(r))
	}
	return out, nil
}

// FaultsOfTickets returns each ticket's faults, newest first, for a dataloader.
func (s *Service) FaultsOfTickets(ctx context.Context, tickets []int64) (map[int64][]*Fault, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.FaultsOfTickets(ctx, s.dbtx, tickets)
	if err != nil {
		return nil, fmt.Errorf("error loading hardware faults: %w", err)
	}
	out := map[int64][]*Fault{}
	for _, r := range rows {
		out[*r.TicketID] = append(out[*r.TicketID], faultFromRow(r))
	}
	return out, nil
}

// FaultByID loads one fault.
func (s *Service) FaultByID(ctx context.Context, id int64) (*Fault, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.FaultsByIDs(ctx, s.dbtx, []int64{id})
	if err != nil {
		return nil, fmt.Errorf("error loading hardware fault %d: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, db.Interpret(pgx.ErrNoRows, "hardware fault")
	}
	return faultFromRow(rows[0]), nil
}

// sortErrors orders report errors by index.
func sortErrors(es []ReportError) {
	slices.SortFunc(es, func(a, b ReportError) int { return cmp.Compare(a.Index, b.Index) })
}

// ReportFault stores one fault reported through GraphQL (OPERATOR), see
// ReportFaults. It returns the fault, or with duplicate true the one stored
// earlier under the same host, source and reference; a bad field is an error
// naming input.<field>.
func (s *Service) ReportFault(ctx context.Context, r Report) (f *Fault, duplicate bool, err error) {
	if r.DetectedAt.IsZero() {
		r.DetectedAt = s.now()
	}
	res, err := s.ReportFaults(ctx, auth.SurfaceGraphQL, []Report{r})
	if err != nil {
		return nil, false, err
	}
	if len(res.Errors) > 0 {
		e := res.Errors[0]
		return nil, false, fault.Field("input."+e.Field, "%s", e.Error)
	}
	if len(res.Faults) == 1 {
		return res.Faults[0], false, nil
	}
	var row dbsqlc.HardwareFault
	err = s.dbtx.QueryRow(ctx, `SELECT `+faultColumns+` FROM hardware_fault f WHERE host_id = $1 AND source = $2 AND source_ref = $3`,
		r.HostID, cmp.Or(r.Source, SourcePerson), strings.TrimSpace(r.SourceRef)).Scan(&row.ID, &row.HostID, &row.Component, &row.Kind,
		&row.Severity, &row.DetectedAt, &row.Source, &row.SourceRef, &row.Detail, &row.Status, &row.TicketID, &row.ReportedBy, &row.CreatedAt)
	if err != nil {
		return nil, true, fmt.Errorf("error loading hardware fault: %w", err)
	}
	return faultFromRow(&row), true, nil
}
