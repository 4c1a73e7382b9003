package sim

import "time"

// This file holds the fixed vocabulary of the simulated fleet: the BU tree, names,
// stacks and packages, cluster templates, regions and hardware generations. It is
// data, not logic, and it is compiled in so a seed never depends on files beside
// the binary.

// The demo logins the application relies on (demo tokens, screenshots, the e2e
// suite). They exist whatever the size of the fleet.
const (
	// DemoAdminLogin is an ADMIN in the Platform BU.
	DemoAdminLogin = "admin"
	// DemoOperatorLogin is an OPERATOR in the Platform BU.
	DemoOperatorLogin = "ops"
	// DemoBULeadLogin is the BU_ADMIN of the Ads BU, which has sub-BUs and owns
	// clusters of every kind, so BU-scoped views have something to show.
	DemoBULeadLogin = "bu-lead"
	// DemoViewerLogin is a VIEWER in Ads Ranking, a sub-BU of Ads, so the BU lead
	// can see them and they cannot see the BU lead's wider view.
	DemoViewerLogin = "viewer"
)

// The roles of person.role, spelled as the schema's CHECK constraint spells them.
const (
	roleViewer   = "VIEWER"
	roleBUAdmin  = "BU_ADMIN"
	roleOperator = "OPERATOR"
	roleAdmin    = "ADMIN"
)

// DemoLogins returns the fixed demo logins with their roles (login → role), so the
// application can create demo tokens for them without repeating the list.
func DemoLogins() map[string]string {
	return map[string]string{
		DemoAdminLogin:    roleAdmin,
		DemoOperatorLogin: roleOperator,
		DemoBULeadLogin:   roleBUAdmin,
		DemoViewerLogin:   roleViewer,
	}
}

// demoPeople lists the demo logins in insertion order with their names and BUs
// (map iteration order would make the seed non-deterministic).
var demoPeople = []struct{ login, name, buCode, role string }{
	{DemoAdminLogin, "Ada Admin", "PLAT", roleAdmin},
	{DemoOperatorLogin, "Oscar Ops", "PLAT", roleOperator},
	{DemoBULeadLogin, "Li Na (Ads lead)", "ADS", roleBUAdmin},
	{DemoViewerLogin, "Victor Viewer", "ADS-RANK", roleViewer},
}

type buSpec struct {
	code, name, parent string
}

// buTree is the company: a root, five BUs and their sub-BUs, parents first.
var buTree = []buSpec{
	{"CO", "Company", ""},
	{"ADS", "Ads", "CO"},
	{"SRCH", "Search", "CO"},
	{"MAPS", "Maps", "CO"},
	{"COM", "Commerce", "CO"},
	{"PLAT", "Platform", "CO"},
	{"ADS-RANK", "Ads Ranking", "ADS"},
	{"ADS-DLV", "Ads Delivery", "ADS"},
	{"ADS-MEAS", "Ads Measurement", "ADS"},
	{"SRCH-WEB", "Web Search", "SRCH"},
	{"SRCH-QU", "Query Understanding", "SRCH"},
	{"SRCH-IDX", "Indexing", "SRCH"},
	{"MAPS-NAV", "Navigation", "MAPS"},
	{"MAPS-GEO", "Geo Data", "MAPS"},
	{"COM-PAY", "Payments", "COM"},
	{"COM-REC", "Recommendations", "COM"},
	{"COM-MKT", "Marketplace", "COM"},
	{"PLAT-COMP", "Compute Platform", "PLAT"},
	{"PLAT-STOR", "Storage Platform", "PLAT"},
	{"PLAT-SRE", "Site Reliability", "PLAT"},
}

// Names for generated people: the fleet runs in China and the US, so the staff is
// a mix of pinyin and English names.
var (
	firstNames = []string{
		"Wei", "Fang", "Jing", "Lei", "Min", "Yan", "Jun", "Hui", "Xin", "Tao",
		"Yu", "Qiang", "Li", "Hao", "Ying", "Bo", "Chen", "Mei", "Peng", "Rui",
		"James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Emily",
		"Daniel", "Laura", "Kevin", "Anna", "Priya", "Arjun", "Sofia", "Lucas",
	}
	lastNames = []string{
		"Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
		"Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo",
		"Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
		"Anderson", "Thomas", "Moore", "Martin", "Patel", "Kumar", "Silva", "Kim",
	}
)

// Cluster kinds as the schema spells them.
const (
	kindStreaming = "STREAMING"
	kindBatch     = "BATCH"
	kindOnline    = "ONLINE"
)

// regionUTCOffset gives the local time the diurnal load follows. Daylight saving
// is ignored: a fixed offset keeps the model a pure function of time.
var regionUTCOffset = map[string]time.Duration{
	"cn-north": 8 * time.Hour,
	"cn-east":  8 * time.Hour,
	"us-west":  -8 * time.Hour,
}

// RegionUTCOffset returns the fixed offset from UTC of a simulated region's local
// time (zero for an unknown region), so tests and analyses can tell night from day
// the way the simulator does.
func RegionUTCOffset(region string) time.Duration { return regionUTCOffset[region] }

// regionOctet keeps each region's addresses in its own 10.x/8 slice.
var regionOctet = map[string]int{"cn-north": 16, "cn-east": 64, "us-west": 128}

type clusterTemplate struct {
	tag, ownerBU, region, stack, version string
}

// clusterTemplates are cycled through for the clusters of each kind; the first of
// each list is used even in the smallest fleet. Some clusters run an older stack
// version so that upgrades have somewhere to go.
var clusterTemplates = map[string][]clusterTemplate{
	kindStreaming: {
		{"rt-ads", "ADS", "cn-north", "RTP", "1.5"},
		{"rt-search", "SRCH", "cn-east", "RTP", "1.5"},
		{"rt-maps", "MAPS-NAV", "cn-north", "RTP", "1.4"},
		{"rt-com", "COM-REC", "us-west", "RTP", "1.5"},
	},
	kindBatch: {
		{"batch-wh", "PLAT-COMP", "cn-north", "TDP", "3.3.0"},
		{"batch-wh", "PLAT-COMP", "cn-east", "TDP", "3.2.0"},
		{"batch-ads", "ADS-RANK", "cn-north", "TDP", "3.3.0"},
		{"batch-search", "SRCH-IDX", "cn-east", "TDP", "3.1.0"},
		{"batch-com", "COM", "us-west", "TDP", "3.2.0"},
	},
	kindOnline: {
		{"online-search", "SRCH-WEB", "cn-east", "TDP", "3.3.0"},
		{"online-ads", "ADS-DLV", "cn-north", "TDP", "3.2.0"},
		{"online-maps", "MAPS-GEO", "us-west", "TDP", "3.2.0"},
	},
}

// Named load roles. They are keyed by cluster name (not position) so the live
// ticker, which only sees the database, derives the same load model as the seed.
var (
	// hotClusters run near full at their peak, so watermarks and forecasts have a
	// cluster worth warning about.
	hotClusters = map[string]bool{"batch-wh-01": true}
	// trendingClusters grow slowly day after day (percentage points per day), so
	// fill-date forecasts have a slope to find. The hot cluster grows a little
	// too: a forecast flags a cluster over its threshold only while its peaks are
	// not falling, and a flat one is as likely to fit a slope just below zero.
	trendingClusters = map[string]float64{"rt-ads-01": 1.6, "online-search-01": 1.2, "batch-wh-01": 0.5}
)

// kindHostWeight spreads hosts unevenly: batch clusters are big, online ones small.
var kindHostWeight = map[string]float64{kindBatch: 3.2, kindStreaming: 1.3, kindOnline: 0.8}

// Hardware. The dominant generation mirrors the Alibaba 2018 cluster trace
// (machine_meta.csv: all 4,034 machines have 96 cores and memory normalised to
// 100; 292 distinct first-level failure domains, i.e. about 14 machines per
// domain, which is where hostsPerRack comes from). Older generations (32, 48 and
// 64 cores) and big-memory online nodes are mixed in so machine analysis and
// clustering have variety; sizes are typical of 2U servers of those years.
const hostsPerRack = 14

type hardwareGen struct {
	name      string
	cores     int
	memGiB    []int64 // one is chosen per rack
	model     string
	diskTB    map[string]float64 // per cluster kind, decimal TB
	nicGbps   []int64            // one is chosen per rack
	os        []osRelease        // one is chosen per rack
	kindShare map[string]float64 // share of racks per cluster kind
}

type osRelease struct{ os, kernel string }

var (
	osAliOS  = osRelease{"AliOS 7.2", "4.19.91-27.al7.x86_64"}
	osRocky  = osRelease{"Rocky 8.8", "4.18.0-477.27.1.el8_8.x86_64"}
	osCentOS = osRelease{"CentOS 7.9", "3.10.0-1160.102.1.el7.x86_64"}
	osOld    = osRelease{"CentOS 7.6", "3.10.0-957.27.2.el7.x86_64"}
)

var hardwareGens = []hardwareGen{
	{
		name: "g6-96c", cores: 96, memGiB: []int64{384, 512}, model: "Inspur NF5280M6",
		diskTB:    map[string]float64{kindBatch: 48, kindStreaming: 7.68, kindOnline: 15.36},
		nicGbps:   []int64{25, 25, 100},
		os:        []osRelease{osAliOS, osAliOS, osRocky},
		kindShare: map[string]float64{kindBatch: 0.60, kindStreaming: 0.70, kindOnline: 0.45},
	},
	{
		name: "g6-96c-bigmem", cores: 96, memGiB: []int64{768, 1024}, model: "Inspur NF8260M6",
		diskTB:    map[string]float64{kindBatch: 24, kindStreaming: 7.68, kindOnline: 30.72},
		nicGbps:   []int64{100},
		os:        []osRelease{osAliOS, osRocky},
		kindShare: map[string]float64{kindOnline: 0.35},
	},
	{
		name: "g5-64c", cores: 64, memGiB: []int64{256}, model: "Huawei FusionServer 2288H V5",
		diskTB:    map[string]float64{kindBatch: 24, kindStreaming: 3.84, kindOnline: 7.68},
		nicGbps:   []int64{25},
		os:        []osRelease{osAliOS, osCentOS},
		kindShare: map[string]float64{kindBatch: 0.18, kindStreaming: 0.20, kindOnline: 0.20},
	},
	{
		name: "g4-48c", cores: 48, memGiB: []int64{192, 256}, model: "Dell PowerEdge R740xd",
		diskTB:    map[string]float64{kindBatch: 16, kindStreaming: 4, kindOnline: 8},
		nicGbps:   []int64{10, 25},
		os:        []osRelease{osCentOS, osCentOS, osOld},
		kindShare: map[string]float64{kindBatch: 0.14, kindStreaming: 0.10},
	},
	{
		name: "g3-32c", cores: 32, memGiB: []int64{128}, model: "Dell PowerEdge R730xd",
		diskTB:    map[string]float64{kindBatch: 12, kindStreaming: 4, kindOnline: 4},
		nicGbps:   []int64{10},
		os:        []osRelease{osOld, osCentOS},
		kindShare: map[string]float64{kindBatch: 0.08},
	},
}

// Host states as the schema spells them.
const (
	stateOnline         = "ONLINE"
	stateDegraded       = "DEGRADED"
	stateOffline        = "OFFLINE"
	stateMaintenance    = "MAINTENANCE"
	stateDecommissioned = "DECOMMISSIONED"
	stateRepairing      = "REPAIRING"
)

// sickStates are the states a seeded host can be in besides ONLINE, with their
// rates per host of the fleet and the reasons a host in that state gives. Every
// one appears at least once in fleets of 50 hosts or more, so small test fleets
// still exercise them. DEGRADED comes first: the Ticker takes its reasons.
var sickStates = []struct {
	state   string
	rate    float64
	reasons []string
}{
	{stateDegraded, 0.006, []string{
		"disk /data07 reallocated sector count rising (SMART 5)",
		"ECC correctable memory errors above threshold on DIMM B2",
		"NIC eth1 link flapping (12 resets in 1h)",
		"kernel soft lockups on CPU 41; load average 190",
		"disk /data03 latency p99 above 800 ms",
	}},
	{stateOffline, 0.003, []string{
		"no heartbeat: host unreachable (power supply failure suspected)",
		"no heartbeat: kernel panic, console shows MCE",
		"no heartbeat: top-of-rack switch port down",
	}},
	{stateRepairing, 0.003, []string{
		"replacing failed disk /data11 (DAM ticket DAM-%05d)",
		"motherboard replacement scheduled (DAM ticket DAM-%05d)",
		"replacing DIMM A4 after uncorrectable error (DAM ticket DAM-%05d)",
	}},
	{stateMaintenance, 0.004, []string{
		"kernel upgrade to 4.19.91-28.al7",
		"BIOS and BMC firmware update",
		"rack power maintenance window",
	}},
	{stateDecommissioned, 0.002, []string{
		"retired: end of hardware life",
		"retired: moved out of the cluster after scale-in",
	}},
}

// Stacks and service packages. Version information is kept apart from
// dependencies and operations, as Aquila's stack management wants.
type packageSpec struct {
	service, version, source string
	dependsOn                []dependency
}

type dependency struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

type stackSpec struct {
	name, description string
	versions          []stackVersionSpec
}

type stackVersionSpec struct {
	version, notes string
	ageDays        int
	packages       map[string]string // service → package version
}

// The source kind of each service: Hadoop-family services ship as RPMs, streaming
// engines as tarballs, Presto is built from git, Spark and HBase builds live in
// object storage.
var serviceSource = map[string]string{
	"ZOOKEEPER": "RPM", "HDFS": "RPM", "YARN": "RPM", "HIVE": "RPM",
	"KAFKA": "TAR", "FLINK": "TAR",
	"PRESTO": "GIT",
	"SPARK":  "OBJECT_STORE", "HBASE": "OBJECT_STORE",
}

// serviceOrder fixes the order packages are inserted in.
var serviceOrder = []string{"ZOOKEEPER", "HDFS", "YARN", "HIVE", "SPARK", "HBASE", "PRESTO", "KAFKA", "FLINK"}

var packageVersions = map[string][]string{
	"ZOOKEEPER": {"3.5.9", "3.6.4", "3.8.3"},
	"HDFS":      {"3.2.4", "3.3.4", "3.3.6"},
	"YARN":      {"3.2.4", "3.3.4", "3.3.6"},
	"HIVE":      {"3.1.2", "3.1.3", "4.0.0"},
	"SPARK":     {"3.1.3", "3.3.2", "3.5.1"},
	"HBASE":     {"2.4.17", "2.5.8"},
	"PRESTO":    {"0.280", "0.282", "0.286"},
	// Kafka 3.7.0 and Flink 1.18.1 are in no stack yet: packages can be added
	// before a stack version uses them.
	"KAFKA": {"2.8.2", "3.4.1", "3.6.1", "3.7.0"},
	"FLINK": {"1.15.4", "1.17.2", "1.18.1"},
}

// serviceDependsOn gives each service's dependencies; "=" pins the same version
// family (YARN ships with HDFS).
var serviceDependsOn = map[string][]dependency{
	"ZOOKEEPER": {},
	"HDFS":      {{"ZOOKEEPER", ">=3.5"}},
	"YARN":      {{"HDFS", "=same"}, {"ZOOKEEPER", ">=3.5"}},
	"HIVE":      {{"HDFS", ">=3.2"}, {"YARN", ">=3.2"}},
	"SPARK":     {{"YARN", ">=3.2"}, {"HIVE", ">=3.1"}},
	"HBASE":     {{"HDFS", ">=3.2"}, {"ZOOKEEPER", ">=3.5"}},
	"PRESTO":    {{"HIVE", ">=3.1"}},
	"KAFKA":     {{"ZOOKEEPER", ">=3.6"}},
	"FLINK":     {{"ZOOKEEPER", ">=3.5"}, {"KAFKA", ">=2.8"}},
}

// serviceUnit is the systemd unit (or script) stem the operations call.
var serviceUnit = map[string]string{
	"ZOOKEEPER": "zookeeper-server", "HDFS": "hadoop-hdfs", "YARN": "hadoop-yarn",
	"HIVE": "hive", "SPARK": "spark", "HBASE": "hbase", "PRESTO": "presto",
	"KAFKA": "kafka", "FLINK": "flink",
}

// serviceComponents are the components a package provides, for its operations.
var serviceComponents = map[string][]string{
	"ZOOKEEPER": {"ZOOKEEPER_SERVER"},
	"HDFS":      {"NAMENODE", "JOURNALNODE", "DATANODE"},
	"YARN":      {"RESOURCEMANAGER", "NODEMANAGER"},
	"HIVE":      {"HIVE_METASTORE", "HIVESERVER2"},
	"SPARK":     {"SPARK_HISTORY_SERVER", "SPARK_CLIENT"},
	"HBASE":     {"HBASE_MASTER", "REGIONSERVER"},
	"PRESTO":    {"PRESTO_COORDINATOR", "PRESTO_WORKER"},
	"KAFKA":     {"KAFKA_BROKER"},
	"FLINK":     {"JOBMANAGER", "TASKMANAGER"},
}

var stackSpecs = []stackSpec{
	{
		name:        "TDP",
		description: "Tesla Data Platform: the Hadoop-family batch and online storage stack",
		versions: []stackVersionSpec{
			{"3.1.0", "Long-term support line; Hive 3.1.2 and Spark 3.1.", 540, map[string]string{
				"ZOOKEEPER": "3.5.9", "HDFS": "3.2.4", "YARN": "3.2.4", "HIVE": "3.1.2",
				"SPARK": "3.1.3", "HBASE": "2.4.17", "PRESTO": "0.280"}},
			{"3.2.0", "Hadoop 3.3 with erasure coding defaults; Spark 3.3.", 300, map[string]string{
				"ZOOKEEPER": "3.6.4", "HDFS": "3.3.4", "YARN": "3.3.4", "HIVE": "3.1.3",
				"SPARK": "3.3.2", "HBASE": "2.4.17", "PRESTO": "0.282"}},
			{"3.3.0", "Current: Hive 4, Spark 3.5, HBase 2.5.", 90, map[string]string{
				"ZOOKEEPER": "3.8.3", "HDFS": "3.3.6", "YARN": "3.3.6", "HIVE": "4.0.0",
				"SPARK": "3.5.1", "HBASE": "2.5.8", "PRESTO": "0.286"}},
		},
	},
	{
		name:        "RTP",
		description: "Real-Time Platform: Kafka and Flink for streaming jobs",
		versions: []stackVersionSpec{
			{"1.4", "Flink 1.15 on Kafka 2.8.", 400, map[string]string{
				"ZOOKEEPER": "3.6.4", "KAFKA": "2.8.2", "FLINK": "1.15.4"}},
			{"1.5", "Current: Flink 1.17 with unaligned checkpoints, Kafka 3.6.", 120, map[string]string{
				"ZOOKEEPER": "3.8.3", "KAFKA": "3.6.1", "FLINK": "1.17.2"}},
		},
	},
}
