package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
)

// Cluster is a compute cluster of one kind (STREAMING, BATCH or ONLINE).
type Cluster struct {
	ID             int64
	Name           string
	Region         string
	Kind           string
	Status         string
	StackVersionID *int64
	OwnerBUID      *int64
	Description    string
	CreatedAt      time.Time
}

func (c *Cluster) dests() []any {
	return []any{&c.ID, &c.Name, &c.Region, &c.Kind, &c.Status, &c.StackVersionID, &c.OwnerBUID, &c.Description, &c.CreatedAt}
}

const clusterColumns = `c.id, c.name, c.region, c.kind, c.status, c.stack_version_id, c.owner_bu_id, c.description, c.created_at`

// ClusterFilter narrows ListClusters.
type ClusterFilter struct {
	Kind      string
	Status    string
	Region    string
	OwnerBUID *int64
	Search    string
}

// Order is a whitelisted ordering: the SQL comes from a fixed map, never from input.
type Order struct {
	Field string
	Desc  bool
}

var clusterOrders = map[string]string{
	"NAME": "c.name", "KIND": "c.kind", "REGION": "c.region", "CREATED_AT": "c.created_at",
}

func orderSQL(orders map[string]string, o Order, def, tiebreak string) (string, error) {
	col := def
	if o.Field != "" {
		var ok bool
		if col, ok = orders[o.Field]; !ok {
			return "", fault.Field("orderBy.field", "cannot order by %q", o.Field)
		}
	}
	dir := " ASC"
	if o.Desc {
		dir = " DESC"
	}
	return col + dir + ", " + tiebreak + dir, nil
}

// ListClusters lists clusters; every role may see the platform's clusters.
func (s *Service) ListClusters(ctx context.Context, f ClusterFilter, o Order, args page.Args) (page.Page[*Cluster], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Cluster]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[*Cluster]{}, err
	}
	order, err := orderSQL(clusterOrders, o, "c.name", "c.id")
	if err != nil {
		return page.Page[*Cluster]{}, err
	}
	c := newConds()
	if f.Kind != "" {
		c.add(`c.kind = @kind`, "kind", f.Kind)
	}
	if f.Status != "" {
		c.add(`c.status = @status`, "status", f.Status)
	}
	if f.Region != "" {
		c.add(`c.region = @region`, "region", f.Region)
	}
	if f.OwnerBUID != nil {
		c.add(`c.owner_bu_id = @owner`, "owner", *f.OwnerBUID)
	}
	if f.Search != "" {
		c.add(`c.name ILIKE @search`, "search", likePattern(f.Search))
	}
	pages, err := queryPages[Cluster](ctx, s.dbtx, pagedSpec{
		Columns: clusterColumns, From: `cluster c`, Where: c.where(), Partition: "0", Order: order, Args: c.args,
	}, w, []int64{0})
	if err != nil {
		return page.Page[*Cluster]{}, fmt.Errorf("error listing clusters: %w", err)
	}
	return single(pages), nil
}

func clusterFromRow(r *dbsqlc.Cluster) *Cluster {
	return &Cluster{ID: r.ID, Name: r.Name, Region: r.Region, Kind: r.Kind, Status: r.Status, StackVersionID: r.StackVersionID,
		OwnerBUID: r.OwnerBuID, Description: r.Description, CreatedAt: r.CreatedAt}
}

// ClustersByIDs loads clusters by id.
func (s *Service) ClustersByIDs(ctx context.Context, ids []int64) (map[int64]*Cluster, error) {
	return byIDs(ctx, "clusters", func() ([]*dbsqlc.Cluster, error) { return queries.ClustersByIDs(ctx, s.dbtx, ids) },
		clusterFromRow, func(c *Cluster) int64 { return c.ID })
}

// ClusterByName loads one cluster by name.
func (s *Service) ClusterByName(ctx context.Context, name string) (*Cluster, error) {
	return lookupOne(ctx, fmt.Sprintf("cluster %q", name), func() (*dbsqlc.Cluster, error) { return queries.ClusterByName(ctx, s.dbtx, name) },
		clusterFromRow)
}

// ClustersByOwnerBU groups clusters by owning BU.
func (s *Service) ClustersByOwnerBU(ctx context.Context, bus []int64) (map[int64][]*Cluster, error) {
	return groupedBy(ctx, "clusters of BUs", func() ([]*dbsqlc.Cluster, error) { return queries.ClustersByOwnerBU(ctx, s.dbtx, bus) },
		clusterFromRow, func(c *Cluster) int64 { return *c.OwnerBUID })
}

// ClustersByStackVersion groups clusters by the stack version they run.
func (s *Service) ClustersByStackVersion(ctx context.Context, versions []int64) (map[int64][]*Cluster, error) {
	return groupedBy(ctx, "clusters of stack versions", func() ([]*dbsqlc.Cluster, error) { return queries.ClustersByStackVersion(ctx, s.dbtx, versions) },
		clusterFromRow, func(c *Cluster) int64 { return *c.StackVersionID })
}

// HostCounts counts hosts by state.
type HostCounts struct {
	Total, Online, Degraded, Offline, Maintenance, Decommissioned, Repairing int
}

func (h *HostCounts) add(state string, n int) {
	h.Total += n
	switch state {
	case "ONLINE":
		h.Online += n
	case "DEGRADED":
		h.Degraded += n
	case "OFFLINE":
		h.Offline += n
	case "MAINTENANCE":
		h.Maintenance += n
	case "DECOMMISSIONED":
		h.Decommissioned += n
	case "REPAIRING":
		h.Repairing += n
	}
}

// Capacity is the physical capacity of a set of hosts.
type Capacity struct {
	CPUCores    int64
	MemoryBytes int64
	DiskBytes   int64
	NICBps      int64
}

// ClusterStats are the per-cluster aggregates shown beside every cluster.
type ClusterStats struct {
	Counts   HostCounts
	Capacity Capacity
}

// add accounts for n hosts in state with capacity c; decommissioned hosts count
// but add no capacity.
func (st *ClusterStats) add(state string, n int, c Capacity) {
	st.Counts.add(state, n)
	if state == "DECOMMISSIONED" {
		return
	}
	st.Capacity.CPUCores += c.CPUCores
	st.Capacity.MemoryBytes += c.MemoryBytes
	st.Capacity.DiskBytes += c.DiskBytes
	st.Capacity.NICBps += c.NICBps
}

// StatsByCluster returns the host counts by state and the capacity of hosts that
// are not decommissioned, for each cluster, in one query. It reads
// cluster_host_stats, which triggers on host keep current (migration 0007), so the
// cost is a few rows per cluster however many hosts the clusters have.
func (s *Service) StatsByCluster(ctx context.Context, clusters []int64) (map[int64]*ClusterStats, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.HostStatsByCluster(ctx, s.dbtx, clusters)
	if err != nil {
		return nil, fmt.Errorf("error aggregating hosts: %w", err)
	}
	out := make(map[int64]*ClusterStats, len(clusters))
	for _, id := range clusters {
		out[id] = &ClusterStats{}
	}
	for _, r := range rows {
		out[r.ClusterID].add(r.State, int(r.Hosts),
			Capacity{CPUCores: r.CpuCores, MemoryBytes: r.MemoryBytes, DiskBytes: r.DiskBytes, NICBps: r.NicBps})
	}
	return out, nil
}

// KindCount is the number of clusters and hosts of one cluster kind.
type KindCount struct {
	Kind     string
	Clusters int
	Hosts    int
}

// AllClusters returns every cluster, by name: the platform views list all
// clusters (a few hundred at most), not a page of them.
func (s *Service) AllClusters(ctx context.Context) ([]*Cluster, error) {
	return lookup(ctx, "clusters", func() ([]*dbsqlc.Cluster, error) { return queries.ClustersAll(ctx, s.dbtx) }, clusterFromRow)
}

// SetClusterStackVersion records the stack version a cluster runs (nil: none
// known), in q: the operation engine calls it in the transaction that ends an
// upgrade (the target) or its rollback (the previous version).
func SetClusterStackVersion(ctx context.Context, q db.DBTX, cluster int64, version *int64) error {
	if _, err := q.Exec(ctx, `UPDATE cluster SET stack_version_id = $2 WHERE id = $1`, cluster, version); err != nil {
		return fmt.Errorf("error setting the stack version of cluster %d: %w", cluster, err)
	}
	return nil
}
