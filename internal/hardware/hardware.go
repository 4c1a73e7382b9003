// Package hardware is Tesla's DAM: hardware faults of hosts (reported by an
// importer, a host's agent, a person or an external tool), the repair tickets
// that take a faulty host out of service and bring it back or retire it, each
// host's lifecycle (in service since, warranty, generation), and the failure
// rates computed from them: faults per 100 machine-years by model, age and
// cluster, with exact Poisson confidence intervals, and the hosts to replace
// next (docs/hardware.md).
//
// The package owns hardware_fault, repair_ticket, repair_ticket_event and
// host_lifecycle, and the figures precomputed from them (hardware_reliability,
// hardware_replacement, hardware_figures_state: see Refresh). The host and its state stay the inventory's: the repair
// workflow moves a host through inventory.Service.SetHostRepairState, so the
// change is audited and announced like any other.
//
// Access: every signed-in role reads; reporting a fault needs OPERATOR (or an
// ingest credential, which a host's own credential may use for its host only);
// tickets and lifecycles need OPERATOR; every change is audited.
package hardware

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/hardware/dbsqlc"
	"github.com/teslaops/tesla/internal/inventory"
)

// queries are the package's static SQL (dbsqlc/*.sql), compiled by sqlc.
var queries = dbsqlc.New()

// Components are the parts of a machine a fault is reported against.
var Components = []string{"DISK", "MEMORY", "NIC", "CPU", "PSU", "BOARD"}

// Severities, lowest first.
var Severities = []string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Sources of a fault: an importer, a host's agent, a person, an external tool
// through the API, the simulated demo fleet.
const (
	SourceImport = "import"
	SourceAgent  = "agent"
	SourcePerson = "person"
	SourceAPI    = "api"
	SourceSim    = "sim"
)

// Ticket states: OPEN → IN_REPAIR → RESOLVED | REPLACED (REPLACED also straight
// from OPEN, for a host not worth repairing).
const (
	StateOpen     = "OPEN"
	StateInRepair = "IN_REPAIR"
	StateResolved = "RESOLVED"
	StateReplaced = "REPLACED"
)

// transitions are the legal ticket moves.
var transitions = map[string][]string{
	StateOpen:     {StateInRepair, StateReplaced},
	StateInRepair: {StateResolved, StateReplaced},
}

// Service is the access-checked entry point to faults, tickets, lifecycles and
// reliability figures.
type Service struct {
	dbtx   db.DBTX
	audit  *audit.Log
	logger *slog.Logger
	now    func() time.Time
	cache  *resultCache
	// exposureTable, when set, holds the hosts' exposure already computed
	// (Refresh's temporary table).
	exposureTable string
}

// NewService returns a Service over dbtx (a pool or a transaction), auditing
// with log.
func NewService(dbtx db.DBTX, log *audit.Log, logger *slog.Logger) *Service {
	return &Service{dbtx: dbtx, audit: log, logger: logger, now: time.Now, cache: newResultCache()}
}

// inventoryOn returns the inventory service over tx, auditing in tx, so a
// host's state changes in the same transaction as the ticket.
func (s *Service) inventoryOn(tx db.DBTX) *inventory.Service {
	return inventory.NewService(tx, audit.New(tx, s.logger))
}

// Fault is one hardware fault of a host.
type Fault struct {
	ID         int64
	HostID     int64
	Component  string
	Kind       string
	Severity   string
	DetectedAt time.Time
	Source     string
	SourceRef  string
	Detail     string
	Status     string
	TicketID   *int64
	ReportedBy *int64
	CreatedAt  time.Time
}

func faultFromRow(r *dbsqlc.HardwareFault) *Fault {
	f := &Fault{ID: r.ID, HostID: r.HostID, Component: r.Component, Kind: r.Kind, Severity: r.Severity, DetectedAt: r.DetectedAt,
		Source: r.Source, Detail: r.Detail, Status: r.Status, TicketID: r.TicketID, ReportedBy: r.ReportedBy, CreatedAt: r.CreatedAt}
	if r.SourceRef != nil {
		f.SourceRef = *r.SourceRef
	}
	return f
}

// Report is one fault as a reporter describes it; Hostname or HostID names the
// host.
type Report struct {
	HostID     int64     `json:"hostId,omitempty"`
	Hostname   string    `json:"hostname,omitempty"`
	Component  string    `json:"component"`
	Kind       string    `json:"kind"`
	Severity   string    `json:"severity"`
	DetectedAt time.Time `json:"detectedAt"`
	Source     string    `json:"source"`
	SourceRef  string    `json:"sourceRef,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

var kindPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

// maxDetail bounds a fault's free text.
const maxDetail = 2000

// maxFuture is how far ahead of the server's clock a detection time may be
// (clocks drift; a fault from next year is a mistake).
const maxFuture = 5 * time.Minute

// Validate checks a report's fields and normalises them (upper-case enums,
// trimmed text); prefix names the fields in errors ("input", "faults.3").
// The host is checked elsewhere.
func (r *Report) Validate(prefix string, now time.Time) error {
	field := func(n string) string {
		if prefix == "" {
			return n
		}
		return prefix + "." + n
	}
	r.Component = strings.ToUpper(strings.TrimSpace(r.Component))
	r.Severity = strings.ToUpper(strings.TrimSpace(r.Severity))
	r.Kind = strings.ToUpper(strings.TrimSpace(r.Kind))
	r.SourceRef = strings.TrimSpace(r.SourceRef)
	r.Detail = strings.TrimSpace(r.Detail)
	switch {
	case !slices.Contains(Components, r.Component):
		return fault.Field(field("component"), "component %q is not one of %s", r.Component, strings.Join(Components, ", "))
	case !kindPattern.MatchString(r.Kind):
		return fault.Field(field("kind"), "kind %q must be 1 to 64 upper-case letters, digits or '_', starting with a letter (e.g. EDAC_UE)", r.Kind)
	case !slices.Contains(Severities, r.Severity):
		return fault.Field(field("severity"), "severity %q is not one of %s", r.Severity, strings.Join(Severities, ", "))
	case r.DetectedAt.IsZero():
		return fault.Field(field("detectedAt"), "detection time is required")
	case r.DetectedAt.After(now.Add(maxFuture)):
		return fault.Field(field("detectedAt"), "detection time %s is in the future", r.DetectedAt.UTC().Format(time.RFC3339))
	case len(r.SourceRef) > 200:
		return fault.Field(field("sourceRef"), "source reference is limited to 200 characters")
	case len(r.Detail) > maxDetail:
		return fault.Field(field("detail"), "detail is limited to %d characters", maxDetail)
	}
	r.DetectedAt = r.DetectedAt.UTC()
	return nil
}

// Recorded says what storing reports did.
type Recorded struct {
	// Faults are the faults newly stored, in no particular order.
	Faults []*Fault
	// Duplicates counts reports already stored (same host, source and reference).
	Duplicates int
}

// RecordFaults stores validated reports whose HostID is set, each at most once
// per (host, source, source reference); a fault of a host under repair joins
// its ticket. It checks nothing and audits nothing: it serves the importers and
// the demo seed directly, and the access-checked paths (Service.ReportFaults,
// the HTTP endpoint) after their checks.
func RecordFaults(ctx context.Context, dbtx db.DBTX, reports []Report, reportedBy *int64) (Recorded, error) {
	if len(reports) == 0 {
		return Recorded{}, nil
	}
	n := len(reports)
	p := &dbsqlc.FaultsInsertParams{ReportedBy: reportedBy, HostIds: make([]int64, n), Components: make([]string, n),
		Kinds: make([]string, n), Severities: make([]string, n), Detected: make([]time.Time, n), Sources: make([]string, n),
		SourceRefs: make([]string, n), Details: make([]string, n)}
	for i, r := range reports {
		p.HostIds[i], p.Components[i], p.Kinds[i], p.Severities[i] = r.HostID, r.Component, r.Kind, r.Severity
		p.Detected[i], p.Sources[i], p.SourceRefs[i], p.Details[i] = r.DetectedAt, r.Source, r.SourceRef, r.Detail
	}
	rows, err := queries.FaultsInsert(ctx, dbtx, p)
	if err != nil {
		return Recorded{}, fmt.Errorf("error storing hardware faults: %w", db.Interpret(err, "hardware fault"))
	}
	if len(rows) > 0 {
		if err := markChanged(ctx, dbtx); err != nil {
			return Recorded{}, err
		}
	}
	out := Recorded{Faults: make([]*Fault, len(rows))}
	for i, r := range rows {
		out.Faults[i] = faultFromRow(r)
	}
	// Within one batch a repeated key is stored once too.
	out.Duplicates = n - len(rows)
	return out, nil
}
