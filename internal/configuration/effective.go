package configuration

import (
	"cmp"
	"crypto/sha256"
	"slices"
	"strings"
)

// RuleKind says how a config group selects its hosts.
type RuleKind string

// The rule kinds.
const (
	// ByRack selects hosts whose rack is one of the group's values.
	ByRack RuleKind = "RACK"
	// ByModel selects hosts whose hardware model (host.model) is one of them.
	ByModel RuleKind = "MODEL"
	// ByMachineGroup selects hosts whose label in the latest machine-clustering
	// run is one of them (as decimal text).
	ByMachineGroup RuleKind = "MACHINE_GROUP"
	// ByList selects the hosts listed in the group.
	ByList RuleKind = "LIST"
)

// Valid reports whether k is a known rule kind.
func (k RuleKind) Valid() bool {
	switch k {
	case ByRack, ByModel, ByMachineGroup, ByList:
		return true
	}
	return false
}

// Group is a config group: a set of a cluster's hosts whose files overlay
// the cluster default. Position orders the overlay.
type Group struct {
	ID        int64
	ClusterID int64
	Name      string
	Position  int
	Rule      RuleKind
	// Values are the racks, models or machine-group labels (not for LIST).
	Values []string
	// Hosts are the listed hosts (LIST only).
	Hosts []int64
}

// HostAttrs is what group rules look at on a host.
type HostAttrs struct {
	ID           int64
	Rack         string
	Model        string
	MachineGroup string
}

// DefaultScope is the scope of the cluster default's files; a group's files
// have the group's id as scope.
const DefaultScope int64 = 0

// FileRef is one file of a version: where it applies, what it is, and its
// content's hash (the content itself lives in config_blob).
type FileRef struct {
	Scope   int64
	Service string
	Path    string
	SHA     [sha256.Size]byte
}

// Effective is the effective configuration of a cluster's hosts. Hosts that
// match the same groups share a profile, so a 20,000-host cluster with a
// handful of distinct group combinations holds a handful of file lists.
type Effective struct {
	// Profiles are the distinct effective file lists, each sorted by service
	// and path; every entry is the winning file (its Scope says who won).
	Profiles [][]FileRef
	// Groups are, per profile, the ids of the matching groups in overlay
	// order.
	Groups [][]int64
	// HostProfile maps a host to its profile's index.
	HostProfile map[int64]int
}

// Files returns a host's effective files (nil for a host not in the set).
func (e *Effective) Files(host int64) []FileRef {
	i, ok := e.HostProfile[host]
	if !ok {
		return nil
	}
	return e.Profiles[i]
}

// Service returns a host's effective files of one service.
func (e *Effective) Service(host int64, service string) []FileRef {
	var out []FileRef
	for _, f := range e.Files(host) {
		if f.Service == service {
			out = append(out, f)
		}
	}
	return out
}

// ComputeEffective overlays, for every host, the cluster default's files by
// the files of the groups the host belongs to, in ascending group position:
// a file (service and path) set by a later group replaces the same file of
// an earlier group or of the default, whole. Group membership is decided
// once per host and group (a map lookup), and each distinct combination of
// groups is overlaid once, so the cost is hosts × groups lookups plus
// combinations × files.
func ComputeEffective(hosts []HostAttrs, groups []Group, files []FileRef) *Effective {
	gs := slices.Clone(groups)
	slices.SortFunc(gs, func(a, b Group) int { return cmp.Compare(a.Position, b.Position) })
	type matcher struct {
		values map[string]struct{}
		hosts  map[int64]struct{}
	}
	ms := make([]matcher, len(gs))
	for i, g := range gs {
		if g.Rule == ByList {
			ms[i].hosts = make(map[int64]struct{}, len(g.Hosts))
			for _, h := range g.Hosts {
				ms[i].hosts[h] = struct{}{}
			}
			continue
		}
		ms[i].values = make(map[string]struct{}, len(g.Values))
		for _, v := range g.Values {
			ms[i].values[v] = struct{}{}
		}
	}
	byScope := map[int64][]FileRef{}
	for _, f := range files {
		byScope[f.Scope] = append(byScope[f.Scope], f)
	}
	type fileKey struct{ service, path string }
	overlay := func(members []int) ([]FileRef, []int64) {
		win := map[fileKey]FileRef{}
		for _, f := range byScope[DefaultScope] {
			win[fileKey{f.Service, f.Path}] = f
		}
		ids := make([]int64, 0, len(members))
		for _, gi := range members {
			ids = append(ids, gs[gi].ID)
			for _, f := range byScope[gs[gi].ID] {
				win[fileKey{f.Service, f.Path}] = f
			}
		}
		out := make([]FileRef, 0, len(win))
		for _, f := range win {
			out = append(out, f)
		}
		slices.SortFunc(out, func(a, b FileRef) int {
			return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Path, b.Path))
		})
		return out, ids
	}
	e := &Effective{HostProfile: make(map[int64]int, len(hosts))}
	profileOf := map[string]int{}
	members := make([]int, 0, len(gs))
	key := make([]byte, 0, (len(gs)+7)/8)
	for _, h := range hosts {
		members = members[:0]
		key = key[:0]
		var bits byte
		for i, g := range gs {
			var in bool
			switch g.Rule {
			case ByList:
				_, in = ms[i].hosts[h.ID]
			case ByRack:
				_, in = ms[i].values[h.Rack]
			case ByModel:
				_, in = ms[i].values[h.Model]
			case ByMachineGroup:
				_, in = ms[i].values[h.MachineGroup]
			}
			if in {
				members = append(members, i)
				bits |= 1 << (i % 8)
			}
			if i%8 == 7 {
				key = append(key, bits)
				bits = 0
			}
		}
		key = append(key, bits)
		p, ok := profileOf[string(key)]
		if !ok {
			fs, ids := overlay(members)
			p = len(e.Profiles)
			e.Profiles = append(e.Profiles, fs)
			e.Groups = append(e.Groups, ids)
			profileOf[string(key)] = p
		}
		e.HostProfile[h.ID] = p
	}
	return e
}
