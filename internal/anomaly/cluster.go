package anomaly

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/auth"
)

// MetricSummary is one metric's anomalies in a cluster.
type MetricSummary struct {
	Metric string
	// Hosts counts hosts with an unresolved episode of the metric.
	Hosts int
	// Worst is the highest severity among them; Since the earliest start.
	Worst string
	Since time.Time
}

// Onset is a correlated onset: several hosts' episodes of one metric starting
// within OnsetWindow of each other, the signature of a shared cause.
type Onset struct {
	Metric string
	Start  time.Time
	End    time.Time
	Hosts  []int64
	// Scope says what the hosts share: "RACK" (Rack names it), "VERSION"
	// (Component and Version name the software they all run and most of the
	// cluster does not: a rollout), "CLUSTER" (most of the cluster at once) or
	// "HOSTS" (nothing the inventory knows).
	Scope              string
	Rack               string
	Component, Version string
}

// ClusterAnalysis summarises a cluster's anomalies.
type ClusterAnalysis struct {
	ClusterID int64
	// Window is how far back onsets are looked for.
	Window time.Duration
	// Unresolved counts unresolved episodes; Hosts the hosts they are on, of
	// ClusterHosts in the cluster.
	Unresolved, Hosts, ClusterHosts int
	Metrics                         []MetricSummary
	Onsets                          []Onset
}

// OnsetWindow is how close together episode starts must be to count as one
// onset, and MinOnsetHosts how many hosts make one.
const (
	OnsetWindow   = 5 * time.Minute
	MinOnsetHosts = 3
)

// maxAnalysed bounds the episodes one analysis reads (newest first).
const maxAnalysed = 5000

// Cluster analyses a cluster's episodes over the window: which metrics and
// hosts, since when, and onsets shared by several hosts. Every signed-in role
// may read it.
func (s *Episodes) Cluster(ctx context.Context, clusterID int64, window time.Duration, now time.Time) (*ClusterAnalysis, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	out := &ClusterAnalysis{ClusterID: clusterID, Window: window}
	since := now.Add(-window)
	type row struct {
		host           int64
		metric, status string
		severity       string
		start          time.Time
		rack           string
		versions       []string
		unresolved     bool
	}
	rows, err := s.pool.Query(ctx, `
		SELECT e.host_id, e.metric, e.status, e.severity, e.started_at, h.rack,
		       coalesce((SELECT array_agg(c.component || ' ' || c.version ORDER BY c.component)
		                 FROM host_component c WHERE c.host_id = e.host_id), '{}')
		FROM anomaly_episode e JOIN host h ON h.id = e.host_id
		WHERE e.cluster_id = $1 AND (e.status <> 'RESOLVED' OR e.started_at >= $2)
		ORDER BY e.started_at DESC LIMIT $3`, clusterID, since, maxAnalysed)
	if err != nil {
		return nil, fmt.Errorf("error analysing anomalies of cluster %d: %w", clusterID, err)
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.host, &r.metric, &r.status, &r.severity, &r.start, &r.rack, &r.versions); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error analysing anomalies of cluster %d: %w", clusterID, err)
		}
		r.unresolved = r.status != StatusResolved
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error analysing anomalies of cluster %d: %w", clusterID, err)
	}
	// The cluster's make-up: hosts, racks and software versions, to tell a
	// rack or a rollout from chance.
	versionHosts := map[string]int{}
	vrows, err := s.pool.Query(ctx, `
		SELECT (SELECT count(*) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'),
		       c.component || ' ' || c.version, count(DISTINCT c.host_id)
		FROM host h JOIN host_component c ON c.host_id = h.id
		WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED' GROUP BY 2`, clusterID)
	if err != nil {
		return nil, fmt.Errorf("error reading cluster %d's versions: %w", clusterID, err)
	}
	for vrows.Next() {
		var v string
		var n int
		if err := vrows.Scan(&out.ClusterHosts, &v, &n); err != nil {
			vrows.Close()
			return nil, err
		}
		versionHosts[v] = n
	}
	if err := vrows.Err(); err != nil {
		return nil, err
	}
	if out.ClusterHosts == 0 {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'`,
			clusterID).Scan(&out.ClusterHosts); err != nil {
			return nil, err
		}
	}

	hosts := map[int64]bool{}
	byMetric := map[string]*MetricSummary{}
	metricHosts := map[string]map[int64]bool{}
	for _, r := range list {
		if !r.unresolved {
			continue
		}
		out.Unresolved++
		hosts[r.host] = true
		m := byMetric[r.metric]
		if m == nil {
			m = &MetricSummary{Metric: r.metric, Worst: r.severity, Since: r.start}
			byMetric[r.metric] = m
			metricHosts[r.metric] = map[int64]bool{}
		}
		metricHosts[r.metric][r.host] = true
		if slices.Index(Severities, r.severity) > slices.Index(Severities, m.Worst) {
			m.Worst = r.severity
		}
		if r.start.Before(m.Since) {
			m.Since = r.start
		}
	}
	out.Hosts = len(hosts)
	for metric, m := range byMetric {
		m.Hosts = len(metricHosts[metric])
		out.Metrics = append(out.Metrics, *m)
	}
	slices.SortFunc(out.Metrics, func(a, b MetricSummary) int {
		if c := slices.Index(Severities, b.Worst) - slices.Index(Severities, a.Worst); c != 0 {
			return c
		}
		if c := b.Hosts - a.Hosts; c != 0 {
			return c
		}
		return strings.Compare(a.Metric, b.Metric)
	})

	// Onsets: per metric, episodes in start order, grouped while each start is
	// within OnsetWindow of the group's first.
	perMetric := map[string][]row{}
	for _, r := range list {
		if !r.start.Before(since) {
			perMetric[r.metric] = append(perMetric[r.metric], r)
		}
	}
	for metric, rs := range perMetric {
		slices.SortFunc(rs, func(a, b row) int { return a.start.Compare(b.start) })
		for i := 0; i < len(rs); {
			j := i
			seen := map[int64]bool{}
			var group []row
			for j < len(rs) && rs[j].start.Sub(rs[i].start) <= OnsetWindow {
				if !seen[rs[j].host] {
					seen[rs[j].host] = true
					group = append(group, rs[j])
				}
				j++
			}
			if len(group) >= MinOnsetHosts {
				out.Onsets = append(out.Onsets, describeOnset(metric, group[0].start, rs[j-1].start, group,
					func(r row) (int64, string, []string) { return r.host, r.rack, r.versions }, out.ClusterHosts, versionHosts))
			}
			i = j
		}
	}
	slices.SortFunc(out.Onsets, func(a, b Onset) int { return b.Start.Compare(a.Start) })
	return out, nil
}

// describeOnset says what the hosts of an onset share: a rack (at least 80% of
// them in one), a software version most of them run and most of the cluster
// does not (a rollout), most of the cluster, or nothing known.
func describeOnset[R any](metric string, start, end time.Time, group []R, facts func(R) (int64, string, []string),
	clusterHosts int, versionHosts map[string]int) Onset {
	o := Onset{Metric: metric, Start: start, End: end, Scope: "HOSTS"}
	racks := map[string]int{}
	versions := map[string]int{}
	for _, r := range group {
		h, rack, vs := facts(r)
		o.Hosts = append(o.Hosts, h)
		if rack != "" {
			racks[rack]++
		}
		for _, v := range vs {
			versions[v]++
		}
	}
	n := len(group)
	for rack, c := range racks {
		if float64(c) >= 0.8*float64(n) {
			o.Scope, o.Rack = "RACK", rack
			return o
		}
	}
	bestV, bestShare := "", 0.0
	for v, c := range versions {
		inCluster := versionHosts[v]
		if float64(c) < 0.8*float64(n) || clusterHosts == 0 || float64(inCluster) > 0.5*float64(clusterHosts) {
			continue
		}
		if share := float64(c) / float64(max(inCluster, 1)); share > bestShare {
			bestV, bestShare = v, share
		}
	}
	if bestV != "" {
		o.Scope = "VERSION"
		for i := range bestV {
			if bestV[i] == ' ' {
				o.Component, o.Version = bestV[:i], bestV[i+1:]
				break
			}
		}
		return o
	}
	if clusterHosts > 0 && float64(n) >= 0.5*float64(clusterHosts) {
		o.Scope = "CLUSTER"
	}
	return o
}
