// Package model holds the GraphQL types. Every Node type is written by hand here so
// that it can carry the database keys its child resolvers need (hidden from the
// schema); gqlgen generates the rest into models_gen.go.
package model

import (
	"time"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/platform"
)

// BU is a business unit.
type BU struct {
	ID       string
	DBID     int64
	ParentID *int64
	Name     string
	Code     string
	Depth    int
	Active   bool
}

func (BU) IsNode()         {}
func (b BU) GetID() string { return b.ID }

// FromBU maps a domain BU.
func FromBU(b *inventory.BU) *BU {
	return &BU{ID: GlobalID(KindBU, b.ID), DBID: b.ID, ParentID: b.ParentID, Name: b.Name, Code: b.Code, Depth: b.Depth, Active: b.Active}
}

// Person is a portal user or job owner.
type Person struct {
	ID        string
	DBID      int64
	BUID      int64
	Login     string
	Name      string
	Email     string
	Role      Role
	Active    bool
	CreatedAt time.Time
}

func (Person) IsNode()         {}
func (p Person) GetID() string { return p.ID }

// FromPerson maps a domain person.
func FromPerson(p *inventory.Person) *Person {
	return &Person{ID: GlobalID(KindPerson, p.ID), DBID: p.ID, BUID: p.BUID, Login: p.Login, Name: p.Name,
		Email: p.Email, Role: Role(p.Role), Active: p.Active, CreatedAt: p.CreatedAt}
}

// Cluster is a compute cluster.
type Cluster struct {
	ID             string
	DBID           int64
	Name           string
	Region         string
	Kind           ClusterKind
	Status         ClusterStatus
	Description    string
	CreatedAt      time.Time
	StackVersionID *int64
	OwnerBUID      *int64
}

func (Cluster) IsNode()         {}
func (c Cluster) GetID() string { return c.ID }

// FromCluster maps a domain cluster.
func FromCluster(c *inventory.Cluster) *Cluster {
	return &Cluster{ID: GlobalID(KindCluster, c.ID), DBID: c.ID, Name: c.Name, Region: c.Region,
		Kind: ClusterKind(c.Kind), Status: ClusterStatus(c.Status), Description: c.Description,
		CreatedAt: c.CreatedAt, StackVersionID: c.StackVersionID, OwnerBUID: c.OwnerBUID}
}

// Host is one machine.
type Host struct {
	ID               string
	DBID             int64
	ClusterID        int64
	Hostname         string
	Rack             string
	IP               string
	CPUCores         int
	MemoryBytes      float64
	DiskBytes        float64
	NicBitsPerSecond float64
	Os               string
	Kernel           string
	Model            string
	State            HostState
	StateReason      string
	LastHeartbeat    *time.Time
	CreatedAt        time.Time
	Serial           string
	Vendor           string
	Agent            *HostAgent
}

func (Host) IsNode()         {}
func (h Host) GetID() string { return h.ID }

// FromHost maps a domain host.
func FromHost(h *inventory.Host) *Host {
	return &Host{ID: GlobalID(KindHost, h.ID), DBID: h.ID, ClusterID: h.ClusterID, Hostname: h.Hostname,
		Rack: h.Rack, IP: h.IP, CPUCores: h.CPUCores, MemoryBytes: float64(h.MemoryBytes),
		DiskBytes: float64(h.DiskBytes), NicBitsPerSecond: float64(h.NICBps), Os: h.OS, Kernel: h.Kernel,
		Model: h.Model, State: HostState(h.State), StateReason: h.StateReason, LastHeartbeat: h.LastHeartbeat,
		CreatedAt: h.CreatedAt, Serial: h.Serial, Vendor: h.Vendor, Agent: fromHostAgent(h)}
}

// fromHostAgent is what the host's agent reported, nil when none registered.
func fromHostAgent(h *inventory.Host) *HostAgent {
	if h.AgentRegisteredAt == nil {
		return nil
	}
	return &HostAgent{Version: h.AgentVersion, RegisteredAt: *h.AgentRegisteredAt, LastHeartbeat: h.AgentHeartbeatAt}
}

// Stack is a family of stack versions.
type Stack struct {
	ID          string
	DBID        int64
	Name        string
	Description string
}

func (Stack) IsNode()         {}
func (s Stack) GetID() string { return s.ID }

// FromStack maps a domain stack.
func FromStack(s *inventory.Stack) *Stack {
	return &Stack{ID: GlobalID(KindStack, s.ID), DBID: s.ID, Name: s.Name, Description: s.Description}
}

// StackVersion is one release of a stack.
type StackVersion struct {
	ID         string
	DBID       int64
	StackID    int64
	Version    string
	ReleasedAt time.Time
	Notes      string
}

func (StackVersion) IsNode()         {}
func (v StackVersion) GetID() string { return v.ID }

// FromStackVersion maps a domain stack version.
func FromStackVersion(v *inventory.StackVersion) *StackVersion {
	return &StackVersion{ID: GlobalID(KindStackVersion, v.ID), DBID: v.ID, StackID: v.StackID,
		Version: v.Version, ReleasedAt: v.ReleasedAt, Notes: v.Notes}
}

// ServicePackage is one version of a service package.
type ServicePackage struct {
	ID         string
	DBID       int64
	Service    string
	Version    string
	SourceKind PackageSource
	SourceURI  string
	Checksum   string
	DependsOn  JSON
	Operations JSON
}

func (ServicePackage) IsNode()         {}
func (p ServicePackage) GetID() string { return p.ID }

// FromServicePackage maps a domain package.
func FromServicePackage(p *inventory.ServicePackage) *ServicePackage {
	return &ServicePackage{ID: GlobalID(KindServicePackage, p.ID), DBID: p.ID, Service: p.Service,
		Version: p.Version, SourceKind: PackageSource(p.SourceKind), SourceURI: p.SourceURI,
		Checksum: p.Checksum, DependsOn: JSON(p.DependsOn), Operations: JSON(p.Operations)}
}

// AuditEntry is one audit log row.
type AuditEntry struct {
	ID       string
	DBID     int64
	At       time.Time
	Actor    string
	PersonID *int64
	Action   string
	Target   string
	Input    JSON
	Outcome  AuditOutcome
	Error    string
}

func (AuditEntry) IsNode()         {}
func (a AuditEntry) GetID() string { return a.ID }

// FromAuditEntry maps an audit entry.
func FromAuditEntry(e *audit.Entry) *AuditEntry {
	return &AuditEntry{ID: GlobalID(KindAuditEntry, e.ID), DBID: e.ID, At: e.At, Actor: e.Actor,
		PersonID: e.PersonID, Action: e.Action, Target: e.Target, Input: JSON(e.Input),
		Outcome: AuditOutcome(e.Outcome), Error: e.Error}
}

// APIToken is a stored API token (never its secret).
type APIToken struct {
	ID         string
	DBID       int64
	PersonID   int64
	Name       string
	Prefix     string
	Role       Role
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	Scopes     []string
	ClusterID  int64
}

func (APIToken) IsNode()         {}
func (t APIToken) GetID() string { return t.ID }

// FromAPIToken maps a token.
func FromAPIToken(t auth.Token) *APIToken {
	return &APIToken{ID: GlobalID(KindAPIToken, t.ID), DBID: t.ID, PersonID: t.PersonID, Name: t.Name,
		Prefix: t.Prefix, Role: Role(t.Role), CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt, Scopes: t.Scopes, ClusterID: t.ClusterID}
}

// Platform is a view of the whole platform: every field has a resolver that asks
// the view, which computes each figure only when a field needs it, once per view
// (one per query, or one per pulse beat shared by every subscriber).
type Platform struct {
	View *platform.View
}

// ClusterWatermark is a cluster's current levels; the cluster itself is loaded
// through a dataloader.
type ClusterWatermark struct {
	ClusterID int64
	Levels    []*WatermarkLevel
	Worst     *WatermarkLevel
}

// ClusterRisk is a cluster over or heading for a threshold.
type ClusterRisk struct {
	ClusterID       int64
	Dimension       WatermarkDimension
	Utilization     float64
	Threshold       float64
	CrossesAt       *time.Time
	DaysToThreshold *float64
	Reason          string
}

// SchedulerJob is a scheduled job with its latest runs; older runs resolve on
// demand.
type SchedulerJob struct {
	Name        string
	Description string
	Interval    Duration
	Timeout     Duration
	LastRun     *SchedulerRun
	LastSuccess *SchedulerRun
}
