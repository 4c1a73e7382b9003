// Package stack holds Aquila's stack management: service packages (version
// information apart from dependency and operation information, both typed),
// stack versions (sets of service versions, possibly partial) and the pure
// functions the upgrade planner uses: Resolve, StartOrder and StopOrder.
//
// It alone writes stack, stack_version, service_package,
// service_package_dependency and stack_version_package (migration 0026).
// Mutations need OPERATOR or ADMIN and are audited; reads need any principal.
package stack

import (
	"time"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db"
)

// SourceKind says where a package's bits come from.
type SourceKind string

// The source kinds.
const (
	SourceRPM         SourceKind = "RPM"
	SourceTar         SourceKind = "TAR"
	SourceGit         SourceKind = "GIT"
	SourceObjectStore SourceKind = "OBJECT_STORE"
)

// HealthKind says how a service's health is checked.
type HealthKind string

// The health check kinds.
const (
	HealthHTTP    HealthKind = "HTTP"
	HealthTCP     HealthKind = "TCP"
	HealthCommand HealthKind = "COMMAND"
)

// RestartPolicy says when a failed service is restarted.
type RestartPolicy string

// The restart policies.
const (
	RestartAlways    RestartPolicy = "ALWAYS"
	RestartOnFailure RestartPolicy = "ON_FAILURE"
	RestartNever     RestartPolicy = "NEVER"
)

// Source is where a package is fetched from: a URL (RPM, TAR, OBJECT_STORE) or
// a git repository URL and ref (GIT).
type Source struct {
	Kind SourceKind `json:"kind"`
	URI  string     `json:"uri"`
	Ref  string     `json:"ref,omitempty"`
}

// VersionInfo is a package's identity: what is installed.
type VersionInfo struct {
	Version  string `json:"version"`
	Build    string `json:"build,omitempty"`
	Checksum string `json:"checksum"`
	Source   Source `json:"source"`
}

// Dependency is one depends-on of a package: a service and the versions of it
// that will do.
type Dependency struct {
	Service    string `json:"service"`
	Constraint string `json:"constraint"`
}

// HealthCheck says how to tell that a started service is healthy.
type HealthCheck struct {
	Kind    HealthKind    `json:"kind"`
	Target  string        `json:"target"`
	Timeout time.Duration `json:"timeout"`
}

// Restart is a package's restart policy.
type Restart struct {
	Policy      RestartPolicy `json:"policy"`
	MaxRestarts int           `json:"maxRestarts"`
}

// Operation is a package's dependency and operation information: how it is
// placed among the others and run.
type Operation struct {
	DependsOn []Dependency `json:"dependsOn"`
	// StartOrder and StopOrder break ties among services the dependencies do not
	// order: lower first.
	StartOrder int          `json:"startOrder"`
	StopOrder  int          `json:"stopOrder"`
	Health     *HealthCheck `json:"health,omitempty"`
	Restart    Restart      `json:"restart"`
}

// Package is one registered version of a service's package.
type Package struct {
	ID           int64
	Service      string
	Info         VersionInfo
	Ops          Operation
	RegisteredAt time.Time
}

// Label names the package in messages: "HDFS 3.3.6".
func (p *Package) Label() string { return p.Service + " " + p.Info.Version }

// Version is one stack version: a set of service packages, one per service. A
// partial version upgrades only the services it contains.
type Version struct {
	ID         int64
	StackID    int64
	Stack      string
	Version    string
	Partial    bool
	Notes      string
	ReleasedAt time.Time
	// Packages are the version's packages by service name.
	Packages []*Package
}

// Service registers packages and stack versions and reads them back.
type Service struct {
	dbtx  db.DBTX
	audit *audit.Log
}

// NewService returns a Service on dbtx (a pool, or a transaction in tests),
// auditing its mutations in log.
func NewService(dbtx db.DBTX, log *audit.Log) *Service { return &Service{dbtx: dbtx, audit: log} }
