package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// PackageInput registers one service package: its version information apart
// from its dependency and operation information. The audit log keeps it whole
// (it holds no secret).
type PackageInput struct {
	Service string      `json:"service"`
	Info    VersionInfo `json:"info"`
	Ops     Operation   `json:"ops"`
}

// Limits of a package's fields.
const (
	maxDependencies = 64
	maxOrder        = 10000
	maxRestarts     = 100
	maxTextLength   = 2000
	minTimeout      = time.Second
	maxTimeout      = 10 * time.Minute
)

var (
	serviceRE  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	buildRE    = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$`)
	checksumRE = regexp.MustCompile(`^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$`)
	gitRefRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$`)
)

// tarSuffixes are the archive names a TAR source may end with.
var tarSuffixes = []string{".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2", ".tar.zst"}

// objectStoreSchemes are the object stores a package may be fetched from.
var objectStoreSchemes = map[string]bool{"s3": true, "s3a": true, "gs": true, "oss": true, "abfs": true, "abfss": true, "https": true}

// gitSchemes are the transports a GIT source may use.
var gitSchemes = map[string]bool{"https": true, "ssh": true, "git": true, "git+https": true, "git+ssh": true}

// normalize upper-cases service names (the inventory spells them so:
// host_component.service) and applies the defaults: restart ON_FAILURE with 3
// restarts, "*" for an empty constraint.
func (in *PackageInput) normalize() {
	in.Service = strings.ToUpper(strings.TrimSpace(in.Service))
	in.Info.Version = strings.TrimSpace(in.Info.Version)
	in.Info.Checksum = strings.ToLower(strings.TrimSpace(in.Info.Checksum))
	in.Info.Source.Kind = SourceKind(strings.ToUpper(string(in.Info.Source.Kind)))
	for i := range in.Ops.DependsOn {
		d := &in.Ops.DependsOn[i]
		d.Service = strings.ToUpper(strings.TrimSpace(d.Service))
		if d.Constraint = strings.TrimSpace(d.Constraint); d.Constraint == "" {
			d.Constraint = "*"
		}
	}
	if in.Ops.Restart.Policy == "" {
		in.Ops.Restart.Policy = RestartOnFailure
		if in.Ops.Restart.MaxRestarts == 0 {
			in.Ops.Restart.MaxRestarts = 3
		}
	}
}

// Validate normalizes in and checks every field, naming the first at fault
// (e.g. "input.info.checksum").
func (in *PackageInput) Validate() error {
	in.normalize()
	if !serviceRE.MatchString(in.Service) {
		return fault.Field("input.service", "service must be a name such as HDFS (letters, digits, _; up to 64), not %q", in.Service)
	}
	v, err := ParseSemVer(in.Info.Version)
	if err != nil {
		return fault.Field("input.info.version", "version: %v", err)
	}
	in.Info.Version = v.String()
	if in.Info.Build != "" && !buildRE.MatchString(in.Info.Build) {
		return fault.Field("input.info.build", "build must be letters, digits and . _ + - (up to 64), not %q", in.Info.Build)
	}
	if !checksumRE.MatchString(in.Info.Checksum) {
		return fault.Field("input.info.checksum", "checksum must be sha256:<64 hex digits> or sha512:<128 hex digits>")
	}
	if err := checkSource(in.Info.Source); err != nil {
		return err
	}
	if len(in.Ops.DependsOn) > maxDependencies {
		return fault.Field("input.ops.dependsOn", "at most %d dependencies", maxDependencies)
	}
	seen := map[string]bool{}
	for i, d := range in.Ops.DependsOn {
		field := fmt.Sprintf("input.ops.dependsOn[%d]", i)
		switch {
		case !serviceRE.MatchString(d.Service):
			return fault.Field(field+".service", "service must be a name such as ZOOKEEPER, not %q", d.Service)
		case d.Service == in.Service:
			return fault.Field(field+".service", "%s cannot depend on itself", in.Service)
		case seen[d.Service]:
			return fault.Field(field+".service", "%s is listed twice", d.Service)
		}
		seen[d.Service] = true
		if _, err := ParseConstraint(d.Constraint); err != nil {
			return fault.Field(field+".constraint", "constraint: %v", err)
		}
	}
	if in.Ops.StartOrder < 0 || in.Ops.StartOrder > maxOrder {
		return fault.Field("input.ops.startOrder", "start order must be within 0..%d", maxOrder)
	}
	if in.Ops.StopOrder < 0 || in.Ops.StopOrder > maxOrder {
		return fault.Field("input.ops.stopOrder", "stop order must be within 0..%d", maxOrder)
	}
	if h := in.Ops.Health; h != nil {
		if err := checkHealth(h); err != nil {
			return err
		}
	}
	switch r := in.Ops.Restart; {
	case r.Policy != RestartAlways && r.Policy != RestartOnFailure && r.Policy != RestartNever:
		return fault.Field("input.ops.restart.policy", "restart policy must be ALWAYS, ON_FAILURE or NEVER, not %q", r.Policy)
	case r.MaxRestarts < 0 || r.MaxRestarts > maxRestarts:
		return fault.Field("input.ops.restart.maxRestarts", "max restarts must be within 0..%d", maxRestarts)
	case r.Policy == RestartNever && r.MaxRestarts != 0:
		return fault.Field("input.ops.restart.maxRestarts", "a NEVER policy restarts nothing: max restarts must be 0")
	}
	return nil
}

func checkSource(s Source) error {
	if len(s.URI) > maxTextLength {
		return fault.Field("input.info.source.uri", "source URI is longer than %d characters", maxTextLength)
	}
	u, err := url.Parse(s.URI)
	if s.URI == "" || err != nil || u.Scheme == "" || u.Host == "" {
		return fault.Field("input.info.source.uri", "source URI must be an absolute URL with a host, not %q", s.URI)
	}
	if s.Kind != SourceGit && s.Ref != "" {
		return fault.Field("input.info.source.ref", "only a GIT source has a ref")
	}
	httpURL := u.Scheme == "https" || u.Scheme == "http"
	switch s.Kind {
	case SourceRPM:
		if !httpURL || !strings.HasSuffix(u.Path, ".rpm") {
			return fault.Field("input.info.source.uri", "an RPM source is an http(s) URL of a .rpm file, not %q", s.URI)
		}
	case SourceTar:
		if !httpURL || !hasAnySuffix(u.Path, tarSuffixes) {
			return fault.Field("input.info.source.uri", "a TAR source is an http(s) URL of a %s file, not %q", strings.Join(tarSuffixes, ", "), s.URI)
		}
	case SourceObjectStore:
		if !objectStoreSchemes[u.Scheme] || strings.Trim(u.Path, "/") == "" {
			return fault.Field("input.info.source.uri", "an OBJECT_STORE source is s3://, gs://, oss://, abfs:// or https:// with a bucket and key, not %q", s.URI)
		}
	case SourceGit:
		if !gitSchemes[u.Scheme] || u.Fragment != "" {
			return fault.Field("input.info.source.uri", "a GIT source is an https://, ssh:// or git:// repository URL (the ref goes in ref), not %q", s.URI)
		}
		if !gitRefRE.MatchString(s.Ref) || strings.Contains(s.Ref, "..") {
			return fault.Field("input.info.source.ref", "a GIT source needs a ref (branch, tag or commit), not %q", s.Ref)
		}
	default:
		return fault.Field("input.info.source.kind", "source kind must be RPM, TAR, GIT or OBJECT_STORE, not %q", s.Kind)
	}
	return nil
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func checkHealth(h *HealthCheck) error {
	switch h.Kind {
	case HealthHTTP:
		// An absolute URL, or ":port/path" probed on each host.
		target := h.Target
		if strings.HasPrefix(target, ":") {
			target = "http://host" + target
		}
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fault.Field("input.ops.health.target", "an HTTP check's target is a URL or :port/path, not %q", h.Target)
		}
	case HealthTCP:
		// "host:port", or ":port" on each host.
		_, port, err := net.SplitHostPort(h.Target)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return fault.Field("input.ops.health.target", "a TCP check's target is host:port or :port, not %q", h.Target)
		}
	case HealthCommand:
		if strings.TrimSpace(h.Target) == "" || len(h.Target) > maxTextLength || strings.ContainsAny(h.Target, "\n\r\x00") {
			return fault.Field("input.ops.health.target", "a COMMAND check's target is one command line of up to %d characters", maxTextLength)
		}
	default:
		return fault.Field("input.ops.health.kind", "health check kind must be HTTP, TCP or COMMAND, not %q", h.Kind)
	}
	if h.Timeout < minTimeout || h.Timeout > maxTimeout {
		return fault.Field("input.ops.health.timeout", "health check timeout must be within %s..%s", minTimeout, maxTimeout)
	}
	return nil
}

// RegisterServicePackage validates and registers a package. It needs OPERATOR
// or ADMIN; a (service, version) already registered is a CONFLICT. Packages
// are immutable once registered: a fix is a new version (or build).
func (s *Service) RegisterServicePackage(ctx context.Context, in PackageInput) (*Package, error) {
	var out *Package
	in.normalize()
	target := "service package " + in.Service + " " + in.Info.Version
	err := s.audit.Do(ctx, "registerServicePackage", target, &in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "registering a service package"); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		ids, err := insertPackages(ctx, tx, []*PackageInput{&in}, nil)
		if err != nil {
			return err
		}
		pkgs, err := packagesByIDs(ctx, tx, ids)
		if err != nil {
			return err
		}
		out = pkgs[ids[0]]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertPackages writes validated packages, registered at (now when nil),
// returning their ids in order; one already registered is a CONFLICT naming it.
func insertPackages(ctx context.Context, tx pgx.Tx, ins []*PackageInput, at *time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(ins))
	for _, in := range ins {
		var hKind, hTarget *string
		var hTimeout *int32
		if h := in.Ops.Health; h != nil {
			k, t, ms := string(h.Kind), h.Target, int32(h.Timeout/time.Millisecond)
			hKind, hTarget, hTimeout = &k, &t, &ms
		}
		var id int64
		err := tx.QueryRow(ctx, sqlInsertPackage, pgx.StrictNamedArgs{
			"service": in.Service, "version": in.Info.Version, "build": in.Info.Build, "checksum": in.Info.Checksum,
			"source_kind": string(in.Info.Source.Kind), "source_uri": in.Info.Source.URI, "source_ref": in.Info.Source.Ref,
			"start_order": in.Ops.StartOrder, "stop_order": in.Ops.StopOrder,
			"health_kind": hKind, "health_target": hTarget, "health_timeout_ms": hTimeout,
			"restart_policy": string(in.Ops.Restart.Policy), "max_restarts": in.Ops.Restart.MaxRestarts,
			"registered_at": at,
		}).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fault.New(fault.Conflict, "service package %s %s is already registered", in.Service, in.Info.Version)
		}
		if err != nil {
			return nil, fmt.Errorf("error registering service package %s %s: %w", in.Service, in.Info.Version, err)
		}
		svcs, cons := make([]string, len(in.Ops.DependsOn)), make([]string, len(in.Ops.DependsOn))
		for i, d := range in.Ops.DependsOn {
			svcs[i], cons[i] = d.Service, d.Constraint
		}
		if len(svcs) > 0 {
			if _, err := tx.Exec(ctx, sqlInsertDependencies, id, svcs, cons); err != nil {
				return nil, fmt.Errorf("error registering dependencies of %s %s: %w", in.Service, in.Info.Version, err)
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}
