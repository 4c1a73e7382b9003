package sim

import "cmp"

// Machine profiles. Within a cluster, hosts do different work: a Spark
// executor box burns CPU, a DataNode moves disk, a RegionServer holds a cache, a
// Kafka broker moves network, a spare stands by. Each seeded host has one
// profile, drawn from its name and the seed in proportions that depend on the
// cluster's kind; the profile sets the host's levels, how far it swings over the
// day (its peakiness) and its containers, while the cluster's kind sets when in
// the day it swings. The clustering analysis is measured on these profiles
// (docs/clustering.md), so they must stay far apart in its features.

// Profile is a host's machine profile.
type Profile string

// The machine profiles, in the order of profileSpecs.
const (
	ProfileCompute Profile = "COMPUTE" // CPU-bound executors: high, peaky CPU; many containers following the load
	ProfileMemory  Profile = "MEMORY"  // caches and state stores: memory near full, moderate CPU
	ProfileStorage Profile = "STORAGE" // disk-bound data nodes: high IO
	ProfileGateway Profile = "GATEWAY" // brokers and proxies: a large share of the NIC
	ProfileIdle    Profile = "IDLE"    // standby and spare hosts: next to nothing
)

// Profiles lists every profile.
var Profiles = []Profile{ProfileCompute, ProfileMemory, ProfileStorage, ProfileGateway, ProfileIdle}

const (
	profCompute uint8 = iota
	profMemory
	profStorage
	profGateway
	profIdle
)

// profileSpec is a profile's load: each metric at the trough (lo) and peak (hi)
// of the cluster's daily shape. CPU, memory and IO in percent, network in as a
// fraction of the NIC, containers as a count.
type profileSpec struct {
	cpuLo, cpuHi float64
	memLo, memHi float64
	ioLo, ioHi   float64
	netLo, netHi float64
	ctLo, ctHi   float64
}

// profileSpecs are far apart on at least two features each (mean and p95 of one
// metric), so a host's profile is what the clustering sees first; a compute
// host's CPU range is its cluster's (clusterLoad.cpuLow/cpuHigh), so a hot
// cluster's executors run hotter.
var profileSpecs = [...]profileSpec{
	profCompute: {cpuLo: 25, cpuHi: 85, memLo: 45, memHi: 62, ioLo: 8, ioHi: 22, netLo: 0.03, netHi: 0.10, ctLo: 10, ctHi: 30},
	profMemory:  {cpuLo: 12, cpuHi: 30, memLo: 84, memHi: 92, ioLo: 4, ioHi: 10, netLo: 0.06, netHi: 0.16, ctLo: 3, ctHi: 3},
	profStorage: {cpuLo: 10, cpuHi: 25, memLo: 38, memHi: 48, ioLo: 45, ioHi: 80, netLo: 0.08, netHi: 0.22, ctLo: 2, ctHi: 2},
	profGateway: {cpuLo: 15, cpuHi: 35, memLo: 24, memHi: 34, ioLo: 2, ioHi: 5, netLo: 0.30, netHi: 0.72, ctLo: 6, ctHi: 6},
	profIdle:    {cpuLo: 2, cpuHi: 4, memLo: 10, memHi: 13, ioLo: 0.5, ioHi: 2, netLo: 0.002, netHi: 0.005, ctLo: 0, ctHi: 0},
}

// Each kind's share of hosts per profile (profileSpecs order): batch clusters
// are mostly executors and data nodes, streaming ones state stores, executors
// and brokers, online ones caches and data nodes. A hot cluster is an executor
// farm.
var (
	batchMix     = [5]float64{0.40, 0.10, 0.30, 0.08, 0.12}
	streamingMix = [5]float64{0.25, 0.40, 0.05, 0.25, 0.05}
	onlineMix    = [5]float64{0.05, 0.40, 0.25, 0.20, 0.10}
	hotMix       = [5]float64{1, 0, 0, 0, 0}
)

// profileOf draws a host's profile from its key (hash2(seed, host name's
// key), the hostLoad's key): the same host gets the same profile in the seed,
// the Ticker and HostProfile.
func profileOf(key uint64, kind string, hot bool) uint8 {
	mix := &onlineMix
	switch {
	case hot:
		mix = &hotMix
	case kind == kindBatch:
		mix = &batchMix
	case kind == kindStreaming:
		mix = &streamingMix
	}
	u := unit(hash2(channelKey(key, chProfile), 0))
	for i, w := range mix {
		if u < w {
			return uint8(i)
		}
		u -= w
	}
	return profIdle
}

// HostProfile is the machine profile of a demo host, recomputed from the seed
// and the host's cluster (name and kind) and hostname as the seed drew it: the
// ground truth the clustering analysis is measured against, kept out of the
// database because a real fleet has no such column. A zero seed is the
// default one, as in Config.
func HostProfile(seed uint64, cluster, kind, hostname string) Profile {
	seed = cmp.Or(seed, DefaultSeed)
	return Profiles[profileOf(hash2(seed, stringKey(hostname)), kind, hotClusters[cluster])]
}
