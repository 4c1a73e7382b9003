package inventory

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// The input rules of the administration API and the inventory file, in one place
// so `tesla import inventory` refuses exactly what the mutations refuse.

var (
	codeRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	loginRe    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	hostnameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)
	clusterRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
)

// ClusterKinds are the kinds a cluster may have.
var ClusterKinds = []string{"STREAMING", "BATCH", "ONLINE"}

// CheckBUCode refuses a BU code that is not 1–32 letters, digits, '-' or '_'.
func CheckBUCode(field, code string) error {
	if !codeRe.MatchString(code) {
		return fault.Field(field, "a BU code is 1 to 32 letters, digits, '-' or '_', starting with a letter or digit; got %q", code)
	}
	return nil
}

// CheckName refuses an empty name or one longer than max characters.
func CheckName(field, name string, max int) error {
	if strings.TrimSpace(name) == "" {
		return fault.Field(field, "a name is required")
	}
	if len([]rune(name)) > max {
		return fault.Field(field, "a name is limited to %d characters", max)
	}
	return nil
}

// CheckLogin refuses a login that is not 1–64 lowercase letters, digits, '.', '_' or '-'.
func CheckLogin(field, login string) error {
	if !loginRe.MatchString(login) {
		return fault.Field(field, "a login is 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", login)
	}
	return nil
}

// CheckEmail refuses an email address without an '@' (empty is allowed).
func CheckEmail(field, email string) error {
	if email == "" {
		return nil
	}
	if len(email) > 254 || !strings.Contains(email, "@") || strings.ContainsAny(email, " \t\n") {
		return fault.Field(field, "%q is not an email address", email)
	}
	return nil
}

// CheckRole refuses an unknown role.
func CheckRole(field string, r auth.Role) error {
	if !r.Valid() {
		return fault.Field(field, "unknown role %q (known: VIEWER, BU_ADMIN, OPERATOR, ADMIN)", r)
	}
	return nil
}

// CheckClusterName refuses a cluster name that is not 1–100 letters, digits, '.', '_' or '-'.
func CheckClusterName(field, name string) error {
	if !clusterRe.MatchString(name) {
		return fault.Field(field, "a cluster name is 1 to 100 letters, digits, '.', '_' or '-'; got %q", name)
	}
	return nil
}

// CheckClusterKind refuses a kind that is not STREAMING, BATCH or ONLINE.
func CheckClusterKind(field, kind string) error {
	for _, k := range ClusterKinds {
		if k == kind {
			return nil
		}
	}
	return fault.Field(field, "unknown cluster kind %q (known: %s)", kind, strings.Join(ClusterKinds, ", "))
}

// CheckHostname refuses a hostname that is not 1–253 letters, digits, '.', '_' or '-'.
func CheckHostname(field, name string) error {
	if !hostnameRe.MatchString(name) {
		return fault.Field(field, "a hostname is 1 to 253 letters, digits, '.', '_' or '-'; got %q", name)
	}
	return nil
}

// HostFacts are a host's hardware and software facts; nil leaves a fact as it is
// (or unknown, 0 or empty, for a new host).
type HostFacts struct {
	Rack        *string `json:"rack,omitempty"`
	IP          *string `json:"ip,omitempty"`
	CPUCores    *int64  `json:"cpuCores,omitempty"`
	MemoryBytes *int64  `json:"memoryBytes,omitempty"`
	DiskBytes   *int64  `json:"diskBytes,omitempty"`
	NICBps      *int64  `json:"nicBitsPerSecond,omitempty"`
	OS          *string `json:"os,omitempty"`
	Kernel      *string `json:"kernel,omitempty"`
	Model       *string `json:"model,omitempty"`
}

// Check refuses negative sizes and overlong text; field prefixes the field
// names (e.g. "input.hosts.3").
func (f HostFacts) Check(field string) error {
	nums := []struct {
		name string
		v    *int64
		max  int64
	}{
		{"cpuCores", f.CPUCores, 1 << 20}, {"memoryBytes", f.MemoryBytes, 1 << 62},
		{"diskBytes", f.DiskBytes, 1 << 62}, {"nicBitsPerSecond", f.NICBps, 1 << 62},
	}
	for _, n := range nums {
		if n.v != nil && (*n.v < 0 || *n.v > n.max) {
			return fault.Field(field+"."+n.name, "%s must be between 0 (unknown) and %d, got %d", n.name, n.max, *n.v)
		}
	}
	texts := []struct {
		name string
		v    *string
	}{{"rack", f.Rack}, {"ip", f.IP}, {"os", f.OS}, {"kernel", f.Kernel}, {"model", f.Model}}
	for _, t := range texts {
		if t.v != nil && len(*t.v) > 200 {
			return fault.Field(field+"."+t.name, "%s is limited to 200 characters", t.name)
		}
	}
	return nil
}

// Apply returns h's facts with f's given ones written over them, and the names
// of the facts that change.
func (f HostFacts) Apply(h *Host) (out Host, changed []FieldChange) {
	out = *h
	str := func(name string, dst *string, v *string) {
		if v != nil && *dst != *v {
			changed = append(changed, FieldChange{Field: name, From: *dst, To: *v})
			*dst = *v
		}
	}
	num := func(name string, dst *int64, v *int64) {
		if v != nil && *dst != *v {
			changed = append(changed, FieldChange{Field: name, From: fmt.Sprint(*dst), To: fmt.Sprint(*v)})
			*dst = *v
		}
	}
	cores := int64(out.CPUCores)
	str("rack", &out.Rack, f.Rack)
	str("ip", &out.IP, f.IP)
	num("cpuCores", &cores, f.CPUCores)
	out.CPUCores = int(cores)
	num("memoryBytes", &out.MemoryBytes, f.MemoryBytes)
	num("diskBytes", &out.DiskBytes, f.DiskBytes)
	num("nicBitsPerSecond", &out.NICBps, f.NICBps)
	str("os", &out.OS, f.OS)
	str("kernel", &out.Kernel, f.Kernel)
	str("model", &out.Model, f.Model)
	return out, changed
}

// FieldChange is one field a change sets, with its value before and after.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// uniqueConflict turns a unique violation into a Conflict naming field; other
// errors are wrapped with what.
func uniqueConflict(err error, field, format string, args ...any) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &fault.Error{Kind: fault.Conflict, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	return err
}

// notFoundField is a NotFound error naming the input field that referred to the
// missing thing, so it reaches the client as a userError on that field.
func notFoundField(field, format string, args ...any) error {
	return &fault.Error{Kind: fault.NotFound, Field: field, Message: fmt.Sprintf(format, args...)}
}
