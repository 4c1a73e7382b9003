package model

import (
	"sync"
	"time"

	"github.com/teslaops/tesla/internal/configuration"
)

// Global id kinds of configuration changes and config groups.
const (
	KindConfigChange = "ConfigChange"
	KindConfigGroup  = "ConfigGroup"
)

// ClusterConfig is a cluster's configuration; its lists are resolved from
// ClusterID.
type ClusterConfig struct {
	ClusterID         int64
	Version           int
	RequiredApprovals int
}

// FromConfigSummary maps a cluster's configuration summary.
func FromConfigSummary(s *configuration.Summary) *ClusterConfig {
	return &ClusterConfig{ClusterID: s.ClusterID, Version: int(s.Version), RequiredApprovals: s.RequiredApprovals}
}

// ConfigGroup is a config group; the hosts a LIST group names are resolved
// from HostIDs (a page of them: a group lists up to 5,000), HostCount counts
// them all.
type ConfigGroup struct {
	ID        string
	Name      string
	Position  int
	Rule      ConfigGroupRule
	Values    []string
	HostIDs   []int64
	HostCount int
}

// FromConfigGroup maps a config group.
func FromConfigGroup(g *configuration.Group) *ConfigGroup {
	values := g.Values
	if values == nil {
		values = []string{}
	}
	return &ConfigGroup{ID: GlobalID(KindConfigGroup, g.ID), Name: g.Name, Position: g.Position, Rule: ConfigGroupRule(g.Rule),
		Values: values, HostIDs: g.Hosts, HostCount: len(g.Hosts)}
}

// ConfigVersion is a version of a cluster's configuration; its change and
// files are resolved from ClusterID, ChangeID and Version.
type ConfigVersion struct {
	ClusterID  int64
	ChangeID   *int64
	Version    int
	Author     string
	Message    string
	CreatedAt  time.Time
	RollbackOf *int
}

// FromConfigVersion maps a version.
func FromConfigVersion(v *configuration.Version) *ConfigVersion {
	out := &ConfigVersion{ClusterID: v.ClusterID, ChangeID: v.ChangeID, Version: int(v.Version), Author: v.Author,
		Message: v.Message, CreatedAt: v.CreatedAt}
	if v.RollbackOf != nil {
		n := int(*v.RollbackOf)
		out.RollbackOf = &n
	}
	return out
}

// ConfigChange is a proposed change; cluster, canApprove, and its files,
// reviews and diffs are resolved (a listing reads changes without them: they
// are read per change only when asked for).
type ConfigChange struct {
	ID                string
	DBID              int64
	ClusterID         int64
	AuthorID          int64
	BaseVersion       int
	State             ConfigChangeState
	Author            string
	Message           string
	RequiredApprovals int
	Approvals         int
	AppliedVersion    *int
	CreatedAt         time.Time
	// Whole is the change read whole (files, reviews, diffs): given when it
	// was read so, else read once on the first of those fields asked (they
	// resolve concurrently; a diff is computed per read).
	Whole *WholeChange
}

// WholeChange reads a change whole at most once.
type WholeChange struct {
	once   sync.Once
	change *configuration.Change
	err    error
}

// Get returns the change, reading it with read the first time.
func (w *WholeChange) Get(read func() (*configuration.Change, error)) (*configuration.Change, error) {
	w.once.Do(func() {
		if w.change == nil {
			w.change, w.err = read()
		}
	})
	return w.change, w.err
}

func (ConfigChange) IsNode()         {}
func (c ConfigChange) GetID() string { return c.ID }

// FromConfigChange maps a change; whole says it was read with its files,
// reviews and diffs.
func FromConfigChange(ch *configuration.Change, whole bool) *ConfigChange {
	out := &ConfigChange{ID: GlobalID(KindConfigChange, ch.ID), DBID: ch.ID, ClusterID: ch.ClusterID, AuthorID: ch.AuthorID,
		BaseVersion: int(ch.BaseVersion), State: ConfigChangeState(ch.State), Author: ch.Author, Message: ch.Message,
		RequiredApprovals: ch.RequiredApprovals, Approvals: ch.Approvals, CreatedAt: ch.CreatedAt}
	if ch.AppliedVersion != nil {
		n := int(*ch.AppliedVersion)
		out.AppliedVersion = &n
	}
	out.Whole = &WholeChange{}
	if whole {
		out.Whole.change = ch
	}
	return out
}

// FromConfigFileChanges maps a change's files.
func FromConfigFileChanges(fs []configuration.FileChange) []*ConfigFileChange {
	out := make([]*ConfigFileChange, len(fs))
	for i, f := range fs {
		out[i] = &ConfigFileChange{Group: optional(f.Group), Service: f.Service, Path: f.Path, Content: f.Content}
	}
	return out
}

// FromConfigReviews maps a change's reviews.
func FromConfigReviews(rs []configuration.Review) []*ConfigReview {
	out := make([]*ConfigReview, len(rs))
	for i, r := range rs {
		out[i] = &ConfigReview{Reviewer: r.Reviewer, Approve: r.Approve, Comment: r.Comment, At: r.At}
	}
	return out
}

// FromConfigDiffs maps file diffs.
func FromConfigDiffs(ds []configuration.FileDiff) []*ConfigFileDiff {
	out := make([]*ConfigFileDiff, len(ds))
	for i, d := range ds {
		out[i] = &ConfigFileDiff{Group: optional(d.Group), Service: d.Service, Path: d.Path, Diff: d.Diff}
	}
	return out
}

// FromConfigFiles maps a version's files.
func FromConfigFiles(fs []configuration.File) []*ConfigFile {
	out := make([]*ConfigFile, len(fs))
	for i, f := range fs {
		out[i] = &ConfigFile{Group: optional(f.Group), Service: f.Service, Path: f.Path, Content: f.Content}
	}
	return out
}

// StaleConfigComponent is a service behind the current version; host is
// resolved from HostDBID.
type StaleConfigComponent struct {
	HostDBID      int64
	Hostname      string
	Service       string
	ConfigVersion int
}

// optional is nil for "" (the cluster default's group).
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
