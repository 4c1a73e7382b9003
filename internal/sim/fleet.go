package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/stack"
)

// fleet is the whole inventory of a seed, planned in memory before anything is
// written: a few thousand rows, so planning first keeps the database work to a
// handful of bulk statements and makes the plan easy to test.
type fleet struct {
	now, start time.Time // history is (start, now], start = now - Days
	bus        []buSpec
	people     []personPlan
	packages   []packagePlan
	clusters   []clusterPlan
	hosts      []hostPlan
	components []componentPlan
}

type personPlan struct{ login, name, email, buCode, role string }

// packagePlan is one service package: its registration and the agent's
// templates (operations JSON).
type packagePlan struct {
	input      stack.PackageInput
	operations []byte
}

type clusterPlan struct {
	name, region, kind, status, stack, version, ownerBU, description string
	firstHost, hostCount                                             int // hosts[firstHost : firstHost+hostCount]
	load                                                             *clusterLoad
}

type hostPlan struct {
	cluster                          int
	hostname, rack, ip               string
	cores                            int
	memBytes, diskBytes, nicBps      int64
	os, kernel, model, state, reason string
	lastHeartbeat                    time.Time // zero: never
	sickSince                        time.Time // when the current state began to bend the load
	load                             hostLoad
}

type componentPlan struct {
	host                                         int
	service, component, desired, actual, version string
}

const gib = int64(1) << 30

// planFleet builds the inventory from cfg, which must be validated and defaulted.
// All randomness comes from one PCG seeded from cfg.Seed, drawn in a fixed order.
func planFleet(cfg Config) *fleet {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x7e51a))
	f := &fleet{now: cfg.Now, start: cfg.Now.Add(-time.Duration(cfg.Days) * 24 * time.Hour), bus: buTree}
	f.planPeople(r, cfg.People)
	f.planPackages()
	f.planClusters(r, cfg)
	f.planHosts(r, cfg)
	f.planSickness(r)
	f.planComponents()
	return f
}

func (f *fleet) planPeople(r *rand.Rand, n int) {
	seen := map[string]bool{}
	for _, d := range demoPeople {
		f.people = append(f.people, personPlan{d.login, d.name, d.login + "@tesla.example", d.buCode, d.role})
		seen[d.login] = true
	}
	var subBUs, topBUs []string
	for _, b := range buTree {
		switch {
		case b.parent == "CO":
			topBUs = append(topBUs, b.code)
		case b.parent != "":
			subBUs = append(subBUs, b.code)
		}
	}
	for len(f.people) < n {
		first := firstNames[r.IntN(len(firstNames))]
		last := lastNames[r.IntN(len(lastNames))]
		base := strings.ToLower(first + "." + last)
		login := base
		for i := 2; seen[login]; i++ {
			login = fmt.Sprintf("%s%d", base, i)
		}
		seen[login] = true
		role, bu := roleViewer, subBUs[r.IntN(len(subBUs))]
		switch p := r.Float64(); {
		case p < 0.08:
			role, bu = roleOperator, []string{"PLAT-SRE", "PLAT-COMP", "PLAT-STOR"}[r.IntN(3)]
		case p < 0.15:
			role, bu = roleBUAdmin, topBUs[r.IntN(len(topBUs))]
		case p < 0.25:
			bu = topBUs[r.IntN(len(topBUs))]
		}
		f.people = append(f.people, personPlan{login, first + " " + last, login + "@tesla.example", bu, role})
	}
}

// operationsDoc is the untyped part of a package's operation metadata: the
// commands that start and stop each component. Health check and restart
// policy are typed (stack.Operation).
type operationsDoc struct {
	Components []string `json:"components"`
	Start      string   `json:"start"`
	Stop       string   `json:"stop"`
}

func (f *fleet) planPackages() {
	for _, svc := range serviceOrder {
		unitName := serviceUnit[svc]
		for _, v := range packageVersions[svc] {
			kind := serviceSource[svc]
			var uri, ref string
			switch kind {
			case "RPM":
				uri = fmt.Sprintf("https://repo.tesla.example/rpm/el7/x86_64/%s-%s-1.el7.x86_64.rpm", unitName, v)
			case "TAR":
				if svc == "KAFKA" {
					uri = fmt.Sprintf("https://archive.apache.org/dist/kafka/%s/kafka_2.13-%s.tgz", v, v)
				} else {
					uri = fmt.Sprintf("https://archive.apache.org/dist/flink/flink-%s/flink-%s-bin-scala_2.12.tgz", v, v)
				}
			case "GIT":
				uri, ref = fmt.Sprintf("git+https://git.tesla.example/bigdata/%s.git", unitName), "release-"+v
			default:
				uri = fmt.Sprintf("s3://tesla-packages/%s/%s/%s-%s-bin-tesla.tgz", unitName, v, unitName, v)
			}
			deps := make([]stack.Dependency, 0, len(serviceDependsOn[svc]))
			for _, d := range serviceDependsOn[svc] {
				if d.Version == "=same" {
					d.Version = "=" + v
				}
				deps = append(deps, stack.Dependency{Service: d.Service, Constraint: d.Version})
			}
			opJSON, _ := json.Marshal(operationsDoc{
				Components: serviceComponents[svc],
				Start:      fmt.Sprintf("systemctl start %s@{component}", unitName),
				Stop:       fmt.Sprintf("systemctl stop %s@{component}", unitName),
			})
			sum := sha256.Sum256([]byte(svc + "/" + v))
			f.packages = append(f.packages, packagePlan{input: stack.PackageInput{
				Service: svc,
				Info: stack.VersionInfo{Version: v, Checksum: "sha256:" + hex.EncodeToString(sum[:]),
					Source: stack.Source{Kind: stack.SourceKind(kind), URI: uri, Ref: ref}},
				Ops: stack.Operation{DependsOn: deps,
					Health: &stack.HealthCheck{Kind: stack.HealthCommand, Timeout: 10 * time.Second,
						Target: fmt.Sprintf("systemctl is-active --quiet %s@{component}", unitName)},
					Restart: stack.Restart{Policy: stack.RestartOnFailure, MaxRestarts: 3}},
			}, operations: opJSON})
		}
	}
}

// kindCounts splits n clusters over the kinds in the default 4:5:3 proportion
// (streaming:batch:online), every kind present from three clusters up.
func kindCounts(n int) (streaming, batch, online int) {
	switch n {
	case 1:
		return 0, 1, 0
	case 2:
		return 1, 1, 0
	}
	streaming = max(1, int(math.Round(float64(n)*4/12)))
	online = max(1, int(math.Round(float64(n)*3/12)))
	return streaming, n - streaming - online, online
}

var kindDescription = map[string]string{
	kindStreaming: "Real-time cluster (Flink on Kafka)",
	kindBatch:     "Batch cluster (HDFS, YARN, Spark, Hive)",
	kindOnline:    "Online serving cluster (HBase on HDFS)",
}

func (f *fleet) planClusters(r *rand.Rand, cfg Config) {
	s, b, o := kindCounts(cfg.Clusters)
	tagCount := map[string]int{}
	for _, kc := range []struct {
		kind string
		n    int
	}{{kindStreaming, s}, {kindBatch, b}, {kindOnline, o}} {
		tmpls := clusterTemplates[kc.kind]
		for i := range kc.n {
			t := tmpls[i%len(tmpls)]
			tagCount[t.tag]++
			name := fmt.Sprintf("%s-%02d", t.tag, tagCount[t.tag])
			f.clusters = append(f.clusters, clusterPlan{
				name: name, region: t.region, kind: kc.kind, status: "ACTIVE",
				stack: t.stack, version: t.version, ownerBU: t.ownerBU,
				description: fmt.Sprintf("%s in %s, owned by %s.", kindDescription[kc.kind], t.region, t.ownerBU),
				load:        newClusterLoad(cfg.Seed, name, kc.kind, t.region, t.stack+"/"+t.version, f.start),
			})
		}
	}
	// Spread hosts unevenly: a weight per cluster from its kind, a random factor,
	// and more for the hot cluster; at least one host each, the rest by largest
	// remainder so the total is exact.
	weights := make([]float64, len(f.clusters))
	var sum float64
	for i, c := range f.clusters {
		w := kindHostWeight[c.kind] * (0.75 + 0.5*r.Float64())
		if hotClusters[c.name] {
			w *= 1.4
		}
		weights[i], sum = w, sum+w
	}
	spare := cfg.Hosts - len(f.clusters)
	// The giant cluster, when asked for, is taken out of the spread first.
	giant := -1
	if cfg.Largest > 0 {
		giant = f.giantCluster()
		sum -= weights[giant]
		weights[giant] = 0
		spare -= cfg.Largest - 1
	}
	counts := make([]int, len(f.clusters))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(f.clusters))
	given := 0
	for i, w := range weights {
		if i == giant {
			counts[i] = cfg.Largest
			continue
		}
		share := w / sum * float64(spare)
		counts[i] = 1 + int(share)
		given += int(share)
		rems[i] = rem{i, share - math.Floor(share)}
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		switch {
		case a.r > b.r:
			return -1
		case a.r < b.r:
			return 1
		}
		return 0
	})
	for k := 0; given < spare; k++ {
		if i := rems[k%len(rems)].i; i != giant {
			counts[i]++
			given++
		}
	}
	first := 0
	for i := range f.clusters {
		f.clusters[i].firstHost, f.clusters[i].hostCount = first, counts[i]
		first += counts[i]
	}
}

// giantCluster is the cluster that Config.Largest sizes: the first batch
// cluster (batch clusters are the big ones), else the first cluster.
func (f *fleet) giantCluster() int {
	for i, c := range f.clusters {
		if c.kind == kindBatch {
			return i
		}
	}
	return 0
}

// pickGen chooses a hardware generation for a rack of a cluster of this kind.
func pickGen(r *rand.Rand, kind string) *hardwareGen {
	var total float64
	for i := range hardwareGens {
		total += hardwareGens[i].kindShare[kind]
	}
	x := r.Float64() * total
	for i := range hardwareGens {
		x -= hardwareGens[i].kindShare[kind]
		if x < 0 {
			return &hardwareGens[i]
		}
	}
	return &hardwareGens[0]
}

func (f *fleet) planHosts(r *rand.Rand, cfg Config) {
	rackSeq := map[string]int{} // per availability zone
	for ci := range f.clusters {
		c := &f.clusters[ci]
		zone := fmt.Sprintf("%s-%c", c.region, 'a'+rune(ci%3))
		octet2 := regionOctet[c.region] + ci%48
		var gen *hardwareGen
		var memGiB, nicGbps int64
		var osr osRelease
		var rackLabel string
		for n := range c.hostCount {
			rackNo, inRack := n/hostsPerRack+1, n%hostsPerRack
			if inRack == 0 {
				// Racks are bought and built together: one generation, memory
				// size, NIC and OS image per rack.
				gen = pickGen(r, c.kind)
				memGiB = gen.memGiB[r.IntN(len(gen.memGiB))]
				nicGbps = gen.nicGbps[r.IntN(len(gen.nicGbps))]
				osr = gen.os[r.IntN(len(gen.os))]
				rackSeq[zone]++
				rackLabel = fmt.Sprintf("%s-r%03d", zone, rackSeq[zone])
			}
			hostname := fmt.Sprintf("%s-r%02d-n%03d", c.name, rackNo, n+1)
			nic := nicGbps * 1_000_000_000
			h := hostPlan{
				cluster:   ci,
				hostname:  hostname,
				rack:      rackLabel,
				ip:        fmt.Sprintf("10.%d.%d.%d", octet2, rackNo%256, inRack+11),
				cores:     gen.cores,
				memBytes:  memGiB * gib,
				diskBytes: int64(gen.diskTB[c.kind] * 1e12),
				nicBps:    nic,
				os:        osr.os,
				kernel:    osr.kernel,
				model:     gen.model,
				state:     stateOnline,
				// Heartbeats arrive every few seconds; the last one is just before now.
				lastHeartbeat: f.now.Add(-time.Duration(r.IntN(30)) * time.Second),
				load:          newHostLoad(cfg.Seed, hostname, gen.cores, nic, c.load),
			}
			f.hosts = append(f.hosts, h)
		}
	}
}

// planSickness makes a few hosts sick, never the first three of a cluster (they
// hold ZooKeeper and the masters, and a demo fleet with a dead quorum is not the
// story to tell), and marks the cluster with the most trouble DEGRADED.
func (f *fleet) planSickness(r *rand.Rand) {
	var candidates []int
	for _, c := range f.clusters {
		for i := 3; i < c.hostCount; i++ {
			candidates = append(candidates, c.firstHost+i)
		}
	}
	r.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	history := f.now.Sub(f.start)
	// between returns a duration in [lo, hi), both capped to 80% of the history so
	// a sick host still has healthy history before its trouble began.
	between := func(lo, hi time.Duration) time.Duration {
		hi = min(hi, history*8/10)
		lo = min(lo, hi/2)
		return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
	}
	total := len(f.hosts)
	budget := total / 10
	next := 0
	trouble := make([]int, len(f.clusters))
	for _, s := range sickStates {
		n := int(math.Round(s.rate * float64(total)))
		if n == 0 && total >= 50 {
			n = 1
		}
		for range n {
			if next >= len(candidates) || budget == 0 {
				return
			}
			h := &f.hosts[candidates[next]]
			next++
			budget--
			h.state = s.state
			h.reason = s.reasons[r.IntN(len(s.reasons))]
			if strings.Contains(h.reason, "%05d") {
				h.reason = fmt.Sprintf(h.reason, 10000+r.IntN(90000))
			}
			switch s.state {
			case stateDegraded:
				h.sickSince = f.now.Add(-between(30*time.Minute, 30*time.Hour))
				trouble[h.cluster]++
			case stateMaintenance:
				h.sickSince = f.now.Add(-between(time.Hour, 8*time.Hour))
			case stateRepairing:
				h.sickSince = f.now.Add(-between(4*time.Hour, 48*time.Hour))
			case stateOffline:
				h.lastHeartbeat = f.now.Add(-between(20*time.Minute, 60*time.Hour)).Truncate(time.Second)
				h.sickSince = h.lastHeartbeat
				trouble[h.cluster]++
			case stateDecommissioned:
				h.lastHeartbeat = f.start.Add(-time.Duration(24+r.IntN(24*30)) * time.Hour)
				h.sickSince = h.lastHeartbeat
			}
		}
	}
	if len(f.clusters) >= 4 {
		worst := 0
		for i, n := range trouble {
			if n > trouble[worst] {
				worst = i
			}
		}
		if trouble[worst] > 0 {
			f.clusters[worst].status = "DEGRADED"
		}
	}
}

// roles returns the components host n of a cluster of this kind and size runs.
// Big clusters keep their masters off the workers; small ones co-locate.
func roles(kind string, n, size int) [][2]string {
	var out [][2]string
	add := func(svc, comp string) { out = append(out, [2]string{svc, comp}) }
	switch kind {
	case kindBatch:
		if n < 3 {
			add("ZOOKEEPER", "ZOOKEEPER_SERVER")
			add("HDFS", "JOURNALNODE")
		}
		if n < 2 {
			add("HDFS", "NAMENODE")
		}
		if n == 2 || n == 3 {
			add("YARN", "RESOURCEMANAGER")
		}
		if n == 4 {
			add("HIVE", "HIVE_METASTORE")
			add("HIVE", "HIVESERVER2")
		}
		if n == 5 {
			add("SPARK", "SPARK_HISTORY_SERVER")
			add("PRESTO", "PRESTO_COORDINATOR")
		}
		if size < 20 || n >= 6 {
			add("HDFS", "DATANODE")
			add("YARN", "NODEMANAGER")
			add("SPARK", "SPARK_CLIENT")
			if n%10 == 7 {
				add("PRESTO", "PRESTO_WORKER")
			}
		}
	case kindStreaming:
		if n < 3 {
			add("ZOOKEEPER", "ZOOKEEPER_SERVER")
		}
		if n < 2 {
			add("FLINK", "JOBMANAGER")
		}
		if n%4 == 1 || (size < 12 && n < 3) {
			add("KAFKA", "KAFKA_BROKER")
		}
		if size < 20 || n >= 2 {
			add("FLINK", "TASKMANAGER")
		}
	default: // kindOnline
		if n < 3 {
			add("ZOOKEEPER", "ZOOKEEPER_SERVER")
		}
		if n < 2 {
			add("HBASE", "HBASE_MASTER")
			add("HDFS", "NAMENODE")
		}
		if size < 20 || n >= 3 {
			add("HDFS", "DATANODE")
			add("HBASE", "REGIONSERVER")
		}
	}
	return out
}

// workerComponents are the ones a sick host's trouble shows up in first.
var workerComponents = map[string]bool{"DATANODE": true, "TASKMANAGER": true, "REGIONSERVER": true, "NODEMANAGER": true}

func (f *fleet) planComponents() {
	for _, c := range f.clusters {
		versions := stackPackages(c.stack, c.version)
		for n := range c.hostCount {
			hi := c.firstHost + n
			h := &f.hosts[hi]
			comps := roles(c.kind, n, c.hostCount)
			failed := -1
			if h.state == stateDegraded {
				failed = len(comps) - 1
				for i, rc := range comps {
					if workerComponents[rc[1]] {
						failed = i
						break
					}
				}
			}
			for i, rc := range comps {
				desired, actual := "STARTED", "STARTED"
				switch h.state {
				case stateOffline:
					actual = "UNKNOWN"
				case stateMaintenance, stateRepairing:
					desired, actual = "STOPPED", "STOPPED"
				case stateDecommissioned:
					desired, actual = "INSTALLED", "INSTALLED"
				}
				if i == failed {
					actual = "FAILED"
				}
				f.components = append(f.components, componentPlan{
					host: hi, service: rc[0], component: rc[1],
					desired: desired, actual: actual, version: versions[rc[0]],
				})
			}
		}
	}
}

// stackPackages returns service → package version of one stack version.
func stackPackages(stack, version string) map[string]string {
	for _, s := range stackSpecs {
		if s.name != stack {
			continue
		}
		for _, v := range s.versions {
			if v.version == version {
				return v.packages
			}
		}
	}
	return nil
}
