package sim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// The demo workload: YARN queues on every BATCH cluster, the jobs that run in
// them (daily ETL chains fed by streaming ingestion, read across BUs), their
// runs, hourly usage, queue snapshots and lineage. ONLINE clusters serve
// (HBase), and STREAMING clusters run Flink outside YARN, so neither has queues;
// the streaming jobs modelled here are Spark Structured Streaming applications
// that hold containers in their BU's streaming queue of a batch cluster.
//
// Like the load model, every run is a pure function of (seed, job, nominal
// start): the seed writes the runs of the history, and the live Ticker, which
// rebuilds the jobs from the database, computes the same runs from then on
// without keeping state.

// Pathologies of the demo jobs that analysis is meant to find.
const (
	// PathologyMemoryOverprovisioned: the job requests eight times the memory
	// its containers ever use at their peak.
	PathologyMemoryOverprovisioned = "MEMORY_OVERPROVISIONED"
	// PathologyTaskSkew: the slowest task runs 20–40 times as long as the
	// median one (a hot key).
	PathologyTaskSkew = "TASK_SKEW"
	// PathologyChronicRetries: every run needs 2–4 attempts and about 40% of
	// runs fail anyway.
	PathologyChronicRetries = "CHRONIC_RETRIES"
	// PathologyLongQueueWait: runs wait 40–90 minutes in their queue, against
	// seconds to a few minutes for the other jobs.
	PathologyLongQueueWait = "LONG_QUEUE_WAIT"
	// PathologyRuntimeRegression: runs of the last quarter of the seeded
	// history, at most its last 8 hours (RegressionStart), and every live run
	// after it take 2–3 times as long as before.
	PathologyRuntimeRegression = "RUNTIME_REGRESSION"
)

// PathologicalJob names a demo job seeded with a known problem.
type PathologicalJob struct {
	Namespace, Name string
	Pathology       string
	Description     string
}

// pathologyNamespace is the cluster that holds the pathological jobs: the
// first batch cluster, which every fleet has (kindCounts gives one batch
// cluster whatever the size).
const pathologyNamespace = "batch-wh-01"

var pathologicalJobs = []struct {
	bu, name, pathology, description string
}{
	{"ADS", "ads.ctr_feature_backfill", PathologyMemoryOverprovisioned,
		"requests 8× the memory its containers peak at (requested memory = 8 × peak; used ≈ 10% of requested)"},
	{"SRCH", "srch.build_query_index", PathologyTaskSkew,
		"a hot partition: the longest task takes 20–40× the median task (task_seconds_max ≫ task_seconds_p50)"},
	{"COM", "com.reconcile_payments", PathologyChronicRetries,
		"every run takes 2–4 attempts and about 40% of runs end FAILED"},
	{"MAPS", "maps.rebuild_tiles", PathologyLongQueueWait,
		"waits 40–90 minutes in root.maps.adhoc before it starts (others wait seconds to minutes)"},
	{"PLAT", "plat.compact_audit_logs", PathologyRuntimeRegression,
		"runs of the last quarter of the history (at most its last 8 hours) take 2–3× as long as the job's earlier runs"},
}

// PathologicalJobs lists the demo jobs seeded with a known problem, so tests of
// the analyses can check they are found. Every demo fleet has them, on the
// first batch cluster; all run hourly, so a one-day history holds enough runs.
func PathologicalJobs() []PathologicalJob {
	out := make([]PathologicalJob, len(pathologicalJobs))
	for i, p := range pathologicalJobs {
		out[i] = PathologicalJob{pathologyNamespace, p.name, p.pathology, p.description}
	}
	return out
}

func pathologyOf(namespace, name string) string {
	if namespace != pathologyNamespace {
		return ""
	}
	for _, p := range pathologicalJobs {
		if p.name == name {
			return p.pathology
		}
	}
	return ""
}

// topBUs are the BUs that get a queue on every batch cluster, and the data each
// works on (the entities of its pipelines).
var topBUs = []string{"ADS", "SRCH", "MAPS", "COM", "PLAT"}

var buEntities = map[string][]string{
	"ADS":  {"clicks", "impressions", "conversions", "bids"},
	"SRCH": {"queries", "sessions", "documents", "crawl"},
	"MAPS": {"trips", "tiles", "pois", "traffic"},
	"COM":  {"orders", "payments", "carts", "reviews"},
	"PLAT": {"audit_logs", "hdfs_usage", "yarn_apps", "alerts"},
}

// leafQueues are the leaves under each BU's queue, with their part of the
// BU's guaranteed vcores and memory.
var leafQueues = []struct {
	name          string
	vcores, memor float64
}{{"etl", 0.6, 0.55}, {"adhoc", 0.15, 0.2}, {"streaming", 0.25, 0.25}}

// buParent maps each BU of buTree to its parent.
var buParent = func() map[string]string {
	m := map[string]string{}
	for _, b := range buTree {
		m[b.code] = b.parent
	}
	return m
}()

// topBU returns the BU under the company root that code belongs to.
func topBU(code string) string {
	for buParent[code] != "CO" && buParent[code] != "" {
		code = buParent[code]
	}
	return code
}

// queueSpecs is the capacity-scheduler tree of a batch cluster owned by
// ownerBU: root, a queue per top BU (the owner's with the biggest guarantee;
// each may grow to 2.5× its guarantee), and three leaves under each.
func queueSpecs(ownerBU string) []workload.QueueSpec {
	owner := topBU(ownerBU)
	specs := []workload.QueueSpec{{Path: "root", SchedulerType: workload.SchedulerCapacity,
		GuaranteedVcores: 1, MaxVcores: 1, GuaranteedMemory: 1, MaxMemory: 1, Weight: 1}}
	for _, bu := range topBUs {
		g := 0.16
		if bu == owner {
			g = 0.36
		}
		mx := math.Min(1, g*2.5)
		path := "root." + strings.ToLower(bu)
		specs = append(specs, workload.QueueSpec{Path: path, SchedulerType: workload.SchedulerCapacity,
			GuaranteedVcores: g, MaxVcores: mx, GuaranteedMemory: g, MaxMemory: mx, Weight: g * 10})
		for _, l := range leafQueues {
			specs = append(specs, workload.QueueSpec{Path: path + "." + l.name, SchedulerType: workload.SchedulerCapacity,
				GuaranteedVcores: g * l.vcores, MaxVcores: mx, GuaranteedMemory: g * l.memor, MaxMemory: mx,
				Weight: g * l.vcores * 10})
		}
	}
	return specs
}

// dsRef names a dataset.
type dsRef struct{ namespace, name string }

// plannedJob is a job of the plan, before it has an id.
type plannedJob struct {
	cluster     int // index in fleet.clusters
	name        string
	owner       int // index in fleet.people
	kind        string
	priority    string
	schedule    string
	queue       string
	description string
	inputs      []dsRef
	outputs     []dsRef
}

// jobsPerCluster scales the workload with the cluster: about one job per 12
// hosts, at least a pipeline per BU, at most 300 (a 20,000-host cluster runs
// far more applications, but as many repeats of the same shapes).
func jobsPerCluster(hosts int) int { return min(300, max(25, hosts/12)) }

// planWorkload lays out the jobs of every batch cluster: pipelines of an
// ingestion (streaming), an hourly clean-up, a daily aggregate and a daily
// report, each read by a job of another BU; every fourth pipeline's clean-up
// also reads its own aggregate (a cycle); and the pathological jobs on the
// first batch cluster. Owners are the seeded people of the pipeline's BU.
func planWorkload(f *fleet, seed uint64) []plannedJob {
	byBU := map[string][]int{}
	for i, p := range f.people {
		bu := topBU(p.buCode)
		byBU[bu] = append(byBU[bu], i)
	}
	var staffed []string
	for _, bu := range topBUs {
		if len(byBU[bu]) > 0 {
			staffed = append(staffed, bu)
		}
	}
	pick := func(bu string, salt string) int {
		ps := byBU[bu]
		return ps[hash2(seed, stringKey(salt))%uint64(len(ps))]
	}
	var jobs []plannedJob
	for ci, c := range f.clusters {
		if c.kind != kindBatch {
			continue
		}
		kafka := "kafka://" + c.region // the region's streaming clusters carry the topics
		hive := "hive://" + c.name
		owner := topBU(c.ownerBU)
		// The owner's BU first and twice as often as the others.
		var seq []string
		if len(byBU[owner]) > 0 {
			seq = append(seq, owner)
		}
		for _, bu := range staffed {
			if bu != owner {
				seq = append(seq, bu)
			}
		}
		if len(byBU[owner]) > 0 {
			seq = append(seq, owner)
		}
		pipelines := (jobsPerCluster(c.hostCount) + 4) / 5
		used := map[string]int{}
		for k := range pipelines {
			bu := seq[k%len(seq)]
			n := used[bu]
			used[bu]++
			ents := buEntities[bu]
			ent := ents[n%len(ents)]
			if n >= len(ents) {
				ent = fmt.Sprintf("%s_%d", ent, n/len(ents)+1)
			}
			reader := seq[(k+1)%len(seq)]
			for i := 1; reader == bu && i < len(staffed); i++ {
				reader = staffed[(indexOf(staffed, bu)+i)%len(staffed)]
			}
			b, r := strings.ToLower(bu), strings.ToLower(reader)
			topic := dsRef{kafka, b + "." + ent}
			raw := dsRef{hive, b + "_raw." + ent}
			clean := dsRef{hive, b + "_clean." + ent}
			agg := dsRef{hive, b + "_agg." + ent + "_daily"}
			report := dsRef{hive, b + "_report." + ent}
			mart := dsRef{hive, r + "_mart." + b + "_" + ent}
			salt := func(s string) string { return c.name + "/" + b + "." + s + "_" + ent }
			h := hash2(seed, stringKey(salt("pipeline")))
			// Local 01:00–03:59 for the daily jobs, in UTC as the schedules are.
			local := func(hour, minute int) string {
				off := int(regionUTCOffset[c.region] / time.Hour)
				return fmt.Sprintf("%d %d * * *", minute, ((hour-off)%24+24)%24)
			}
			m := int(h % 40)
			cleanIn := []dsRef{raw}
			if k%4 == 0 {
				cleanIn = append(cleanIn, agg) // yesterday's aggregate as the dedup baseline: a cycle
			}
			prio := func(base int, s string) string {
				p := base + int(hash2(h, stringKey(s))%3) - 1
				return fmt.Sprintf("P%d", min(4, max(1, p)))
			}
			reportPrio := prio(1, "report")
			if k == 0 {
				reportPrio = "P0" // one business-critical report per cluster
			}
			jobs = append(jobs,
				plannedJob{ci, b + ".ingest_" + ent, pick(bu, salt("ingest")), "STREAMING", prio(1, "ingest"), "",
					"root." + b + ".streaming", fmt.Sprintf("Streams %s events from Kafka into %s.", ent, raw.name),
					[]dsRef{topic}, []dsRef{raw}},
				plannedJob{ci, b + ".clean_" + ent, pick(bu, salt("clean")), "BATCH", prio(2, "clean"),
					fmt.Sprintf("%d * * * *", 5+m), "root." + b + ".etl",
					fmt.Sprintf("Hourly de-duplication and validation of %s into %s.", raw.name, clean.name),
					cleanIn, []dsRef{clean}},
				plannedJob{ci, b + ".agg_" + ent + "_daily", pick(bu, salt("agg")), "BATCH", prio(2, "agg"),
					local(1, m), "root." + b + ".etl", fmt.Sprintf("Daily aggregates of %s.", clean.name),
					[]dsRef{clean}, []dsRef{agg}},
				plannedJob{ci, b + ".report_" + ent, pick(bu, salt("report")), "BATCH", reportPrio,
					local(3, m), "root." + b + ".etl", fmt.Sprintf("Daily %s report tables.", ent),
					[]dsRef{agg}, []dsRef{report}},
				plannedJob{ci, r + ".use_" + b + "_" + ent, pick(reader, salt("use")), "BATCH", prio(3, "use"),
					local(5, m), "root." + r + ".adhoc",
					fmt.Sprintf("%s's mart built from %s's %s report.", reader, bu, ent),
					[]dsRef{report}, []dsRef{mart}},
			)
		}
		if c.name != pathologyNamespace {
			continue
		}
		for i, p := range pathologicalJobs {
			bu := p.bu
			if len(byBU[bu]) == 0 {
				bu = staffed[0]
			}
			ow := pick(bu, p.name)
			if bu == "ADS" {
				// The demo viewer owns the memory hog, so their own view has a finding.
				for pi, pp := range f.people {
					if pp.login == DemoViewerLogin {
						ow = pi
					}
				}
			}
			b := strings.ToLower(bu)
			ent := buEntities[bu][i%4]
			jobs = append(jobs, plannedJob{ci, p.name, ow, "BATCH", "P2", fmt.Sprintf("%d * * * *", 10+7*i),
				"root." + b + ".adhoc", "Demo job with a known problem: " + p.description,
				[]dsRef{{hive, b + "_clean." + ent}}, []dsRef{{hive, b + "_scratch." + strings.TrimPrefix(p.name, b+".")}}})
		}
	}
	return jobs
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// demoJob is a job as the run model needs it. The seed builds it from the
// plan, the Ticker from the database; both then size it with sizeJobs.
type demoJob struct {
	id                  int64
	namespace, name     string
	kind, schedule      string
	queueID             int64
	queueKey            string // cluster id and queue path
	region              string // of its cluster, for the streaming jobs' daily rhythm
	inputs, outputs     []dsRef
	period, offset      time.Duration // batch: nominal starts at k*period + offset
	pathology           string
	key                 uint64
	containers, vcores  int
	memPerContainer     int64
	baseSeconds         float64
	cpuEff, memEff      float64
	peakFrac            float64
	tasksPerContainer   int
	waitSeconds         float64 // median queue wait
	weight              float64 // relative size, before sizing
	streamStartedBefore time.Duration
}

// parseSchedule reads the two cron shapes the demo uses: "M * * * *" (hourly)
// and "M H * * *" (daily, UTC).
func parseSchedule(s string) (period, offset time.Duration, ok bool) {
	f := strings.Fields(s)
	if len(f) != 5 || f[2] != "*" || f[3] != "*" || f[4] != "*" {
		return 0, 0, false
	}
	m, err := strconv.Atoi(f[0])
	if err != nil || m < 0 || m > 59 {
		return 0, 0, false
	}
	if f[1] == "*" {
		return time.Hour, time.Duration(m) * time.Minute, true
	}
	h, err := strconv.Atoi(f[1])
	if err != nil || h < 0 || h > 23 {
		return 0, 0, false
	}
	return 24 * time.Hour, time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// newDemoJob derives a job's profile from the seed and its name; it returns
// false for a job the model cannot drive (a schedule it does not read).
func newDemoJob(seed uint64, id int64, namespace, name, kind, schedule string, queueID int64, queueKey, region string) (*demoJob, bool) {
	j := &demoJob{id: id, namespace: namespace, name: name, kind: kind, schedule: schedule, queueID: queueID,
		queueKey: queueKey, region: region, pathology: pathologyOf(namespace, name)}
	j.key = hash2(seed, stringKey(namespace+"/"+name))
	u := func(ch uint64) float64 { return unit(hash2(j.key, ch)) }
	if kind == "STREAMING" {
		j.streamStartedBefore = time.Duration(1+int(u(1)*20)) * 24 * time.Hour
	} else {
		var ok bool
		if j.period, j.offset, ok = parseSchedule(schedule); !ok {
			return nil, false
		}
	}
	j.vcores = []int{1, 2, 2, 4}[int(u(2)*4)]
	j.memPerContainer = int64(j.vcores) * []int64{2, 3, 4, 6}[int(u(3)*4)] * gib
	switch j.period {
	case time.Hour:
		j.baseSeconds = 360 + u(4)*1200 // 6–26 minutes
	default:
		j.baseSeconds = 900 + u(4)*6300 // 15–120 minutes
	}
	j.cpuEff = 0.35 + 0.5*u(5)
	j.memEff = 0.35 + 0.4*u(6)
	j.peakFrac = math.Min(0.98, j.memEff+0.1+0.15*u(7))
	j.tasksPerContainer = 2 + int(u(8)*8)
	j.waitSeconds = 5 + 60*u(9)
	j.weight = math.Exp(1.2 * (u(10) - 0.5) * 2) // lognormal-ish spread of sizes, ~0.3–3.3
	if j.pathology == PathologyMemoryOverprovisioned {
		j.memPerContainer = int64(j.vcores) * 16 * gib
		j.memEff, j.peakFrac = 0.1, 0.125
	}
	return j, true
}

// sizeJobs gives each job its containers: the jobs of a queue together hold
// about half of the queue's guaranteed vcores on average (more at night, when
// the daily jobs run), in proportion to their weights. Jobs are taken in name
// order so the seed and the Ticker size them alike.
func sizeJobs(jobs []*demoJob, guaranteedVcores map[string]float64) {
	byQueue := map[string][]*demoJob{}
	for _, j := range jobs {
		byQueue[j.queueKey] = append(byQueue[j.queueKey], j)
	}
	for q, js := range byQueue {
		sort.Slice(js, func(a, b int) bool { return js[a].namespace+"/"+js[a].name < js[b].namespace+"/"+js[b].name })
		var demand float64
		for _, j := range js {
			duty := 1.0
			if j.period > 0 {
				duty = math.Min(1, j.baseSeconds/j.period.Seconds())
			}
			demand += j.weight * float64(j.vcores) * duty
		}
		k := 0.5 * guaranteedVcores[q] / math.Max(demand, 1e-9)
		for _, j := range js {
			j.containers = min(2000, max(1, int(math.Round(j.weight*k))))
		}
	}
}

// demoRun is one run of a batch job, whole.
type demoRun struct {
	job                    *demoJob
	uuid                   pgtype.UUID
	nominal                time.Time
	queued, started, ended time.Time
	attempts               int32
	failed                 bool
	wait                   float64
	totals                 workload.RunTotals
	allocVcores            float64
	allocMemory            int64
}

// runUUID is a run's deterministic id (a version-4-shaped UUID).
func runUUID(key uint64, nominal int64) pgtype.UUID {
	a, b := hash2(key, uint64(nominal)), hash2(key^0x5bd1e995, uint64(nominal))
	var u pgtype.UUID
	for i := range 8 {
		u.Bytes[i], u.Bytes[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
	}
	u.Bytes[6] = u.Bytes[6]&0x0f | 0x40
	u.Bytes[8] = u.Bytes[8]&0x3f | 0x80
	u.Valid = true
	return u
}

// run computes the run of j nominally starting at n. Runs nominally starting
// at or after regressedFrom are slower for the regression pathology (a zero
// time: all of them).
func (j *demoJob) run(n time.Time, regressedFrom time.Time) demoRun {
	rk := hash2(j.key, uint64(n.Unix()))
	u := func(ch uint64) float64 { return unit(hash2(rk, ch)) }
	r := demoRun{job: j, uuid: runUUID(j.key, n.Unix()), nominal: n, attempts: 1}
	r.queued = n.Add(time.Duration(5+u(1)*55) * time.Second)
	r.wait = j.waitSeconds * math.Exp(0.8*(u(2)-0.5)*2)
	if j.pathology == PathologyLongQueueWait {
		r.wait = 2400 + 3000*u(2)
	}
	r.started = r.queued.Add(time.Duration(r.wait * float64(time.Second)))
	dur := j.baseSeconds * math.Exp(0.15*(u(3)-0.5)*2)
	if j.pathology == PathologyRuntimeRegression && !n.Before(regressedFrom) {
		dur *= 2 + u(4)
	}
	switch {
	case j.pathology == PathologyChronicRetries:
		r.attempts = 2 + int32(u(5)*3)
		r.failed = u(6) < 0.4
	case u(5) < 0.04:
		r.attempts = 2
	}
	if u(6) < 0.02 {
		r.failed = true
	}
	dur *= 1 + 0.5*float64(r.attempts-1) // the failed attempts' time
	if r.failed {
		dur *= 0.3 + 0.6*u(7)
	}
	r.ended = r.started.Add(time.Duration(dur * float64(time.Second)))
	c := float64(j.containers)
	r.allocVcores = c * float64(j.vcores)
	r.allocMemory = int64(j.containers) * j.memPerContainer
	tasks := int32(math.Max(1, c*float64(j.tasksPerContainer)*(0.9+0.2*u(8))))
	p50 := dur / float64(j.tasksPerContainer) * (0.5 + 0.3*u(9))
	maxRatio := 1.5 + 2*u(10)
	if j.pathology == PathologyTaskSkew {
		maxRatio = 20 + 20*u(10)
	}
	cpuEff := math.Max(0.05, j.cpuEff+0.1*(u(11)-0.5))
	memEff := math.Max(0.02, j.memEff*(0.95+0.1*u(12)))
	r.totals = workload.RunTotals{
		RequestedCoreSeconds:       r.allocVcores * dur,
		UsedCoreSeconds:            r.allocVcores * dur * cpuEff,
		RequestedMemoryByteSeconds: float64(r.allocMemory) * dur,
		UsedMemoryByteSeconds:      float64(r.allocMemory) * dur * memEff,
		PeakMemoryBytes:            int64(float64(r.allocMemory) * j.peakFrac),
		TaskCount:                  tasks,
		TaskSecondsMin:             p50 * (0.2 + 0.3*u(13)),
		TaskSecondsP50:             p50,
		TaskSecondsMax:             p50 * maxRatio,
	}
	return r
}

// nominalStarts returns the nominal starts of j in [from, to); none for a
// streaming job.
func (j *demoJob) nominalStarts(from, to time.Time) []time.Time {
	if j.period == 0 {
		return nil
	}
	p, o := int64(j.period/time.Second), int64(j.offset/time.Second)
	k := floorDiv(from.Unix()-o+p-1, p)
	var out []time.Time
	for t := k*p + o; t < to.Unix(); t += p {
		out = append(out, time.Unix(t, 0).UTC())
	}
	return out
}

// lookback bounds how long before its end a run may have started nominally:
// the longest wait, submit delay and run the model produces, with room.
func (j *demoJob) lookback() time.Duration {
	return time.Duration(j.baseSeconds*1.2*3*2.5)*time.Second + 2*time.Hour
}

// record is r as a resource manager would report it at now: RUNNING with no
// totals until it ends.
func (r *demoRun) record(now time.Time) workload.RunRecord {
	rec := workload.RunRecord{JobID: r.job.id, RunUUID: r.uuid, State: "RUNNING", StateAt: r.started,
		QueuedAt: r.queued, StartedAt: r.started, NominalStart: r.nominal, NominalEnd: r.nominal.Add(r.job.period),
		Attempts: r.attempts, QueueWaitSeconds: r.wait}
	if !r.ended.After(now) {
		end := r.ended
		rec.EndedAt, rec.StateAt, rec.State = &end, end, "COMPLETED"
		if r.failed {
			rec.State = "FAILED"
		}
		t := r.totals
		rec.Totals = &t
	}
	return rec
}

// io is what r read and wrote as of now: its inputs once started, its outputs
// once it completed; versions are the data hour or day it processed.
func (r *demoRun) io(runID int64, now time.Time) lineage.RunIO {
	layout, data := "2006-01-02T15", r.nominal.Add(-time.Hour)
	if r.job.period >= 24*time.Hour {
		layout, data = "2006-01-02", r.nominal.Add(-24*time.Hour)
	}
	version := data.Format(layout)
	out := lineage.RunIO{JobID: r.job.id, RunID: runID, At: r.started}
	for _, d := range r.job.inputs {
		out.Inputs = append(out.Inputs, lineage.DatasetRef{Namespace: d.namespace, Name: d.name, Version: version})
	}
	if !r.ended.After(now) {
		out.At = r.ended
		if !r.failed {
			for _, d := range r.job.outputs {
				size, rows := d.size(out.At)
				out.Outputs = append(out.Outputs, lineage.DatasetRef{Namespace: d.namespace, Name: d.name, Version: version,
					SizeBytes: &size, RowCount: &rows})
			}
		}
	}
	return out
}

// streamRun is a streaming job's one long run: started days before the history,
// still running.
func (j *demoJob) streamRun(before time.Time) workload.RunRecord {
	start := before.Add(-j.streamStartedBefore).Truncate(time.Minute)
	return workload.RunRecord{JobID: j.id, RunUUID: runUUID(j.key, 0), State: "RUNNING", StateAt: start,
		QueuedAt: start.Add(-30 * time.Second), StartedAt: start, NominalStart: start, NominalEnd: start,
		Attempts: 1, QueueWaitSeconds: 30}
}

func (j *demoJob) streamIO(runID int64, at time.Time) lineage.RunIO {
	out := lineage.RunIO{JobID: j.id, RunID: runID, At: at}
	for _, d := range j.inputs {
		out.Inputs = append(out.Inputs, lineage.DatasetRef{Namespace: d.namespace, Name: d.name})
	}
	for _, d := range j.outputs {
		size, rows := d.size(at)
		out.Outputs = append(out.Outputs, lineage.DatasetRef{Namespace: d.namespace, Name: d.name, SizeBytes: &size, RowCount: &rows})
	}
	return out
}

// sizeEpoch is when the demo's datasets had their base size.
var sizeEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// size is what a write of d at t reports in OpenLineage outputStatistics:
// a base size drawn from the dataset's name between 20 GB and about 20 TB
// (log-uniform, so most are small and a few dominate), growing 0.2% a day,
// and a row every 500 bytes. Deterministic, so re-seeding writes the same.
func (d dsRef) size(t time.Time) (bytes, rows int64) {
	k := stringKey(d.namespace + "/" + d.name)
	base := 20e9 * math.Pow(1000, unit(hash2(k, 0x5173)))
	days := t.Sub(sizeEpoch).Hours() / 24
	bytes = int64(base * (1 + 0.002*max(days, 0)))
	return bytes, bytes / 500
}

// streamLevel is how busy a streaming job is at t (0.5–1.2), following
// traffic in local time as the streaming clusters' load does.
func (j *demoJob) streamLevel(t time.Time) float64 {
	local := t.Unix() + int64(regionUTCOffset[j.region]/time.Second)
	return 0.5 + 0.7*shapeAt(&trafficShape, float64(((local%86400)+86400)%86400)/3600)
}

// usageAcc sums hourly usage per job and hour.
type usageAcc map[usageKey]*workload.UsageHour

type usageKey struct {
	job  int64
	hour int64
}

func (a usageAcc) row(job int64, hour time.Time) *workload.UsageHour {
	k := usageKey{job, hour.Unix()}
	u, ok := a[k]
	if !ok {
		u = &workload.UsageHour{JobID: job, Hour: hour}
		a[k] = u
	}
	return u
}

// addRun spreads r's totals over the hours it ran in [from, to), in
// proportion to the time in each; it counts the run in the hour it started.
func (a usageAcc) addRun(r *demoRun, from, to time.Time) {
	if !r.started.Before(to) {
		return
	}
	if !r.started.Before(from) {
		a.row(r.job.id, r.started.Truncate(time.Hour)).Runs++
	}
	total := r.ended.Sub(r.started).Seconds()
	if total <= 0 {
		return
	}
	lo, hi := maxTime(r.started, from), minTime(r.ended, to)
	for h := lo.Truncate(time.Hour); h.Before(hi); h = h.Add(time.Hour) {
		s, e := maxTime(lo, h), minTime(hi, h.Add(time.Hour))
		if !s.Before(e) {
			continue
		}
		f := e.Sub(s).Seconds() / total
		u := a.row(r.job.id, h)
		u.RequestedCoreSeconds += r.totals.RequestedCoreSeconds * f
		u.UsedCoreSeconds += r.totals.UsedCoreSeconds * f
		u.RequestedMemoryByteSeconds += r.totals.RequestedMemoryByteSeconds * f
		u.UsedMemoryByteSeconds += r.totals.UsedMemoryByteSeconds * f
		u.PeakMemoryBytes = max(u.PeakMemoryBytes, r.totals.PeakMemoryBytes)
	}
}

// addStream adds a streaming job's usage over [from, to) within one hour.
func (a usageAcc) addStream(j *demoJob, from, to time.Time) {
	secs := to.Sub(from).Seconds()
	if secs <= 0 {
		return
	}
	lvl := j.streamLevel(from.Add(to.Sub(from) / 2))
	vc := float64(j.containers * j.vcores)
	mem := float64(int64(j.containers) * j.memPerContainer)
	u := a.row(j.id, from.Truncate(time.Hour))
	u.RequestedCoreSeconds += vc * secs
	u.UsedCoreSeconds += vc * secs * math.Min(0.98, j.cpuEff*lvl)
	u.RequestedMemoryByteSeconds += mem * secs
	u.UsedMemoryByteSeconds += mem * secs * math.Min(0.98, j.memEff*(0.8+0.2*lvl))
	u.PeakMemoryBytes = max(u.PeakMemoryBytes, int64(mem*math.Min(1, j.peakFrac*(0.8+0.2*lvl))))
}

func (a usageAcc) rows() []workload.UsageHour {
	out := make([]workload.UsageHour, 0, len(a))
	for _, u := range a {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].JobID != out[j].JobID {
			return out[i].JobID < out[j].JobID
		}
		return out[i].Hour.Before(out[j].Hour)
	})
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// queueAcc sums what runs hold and wait for per queue at snapshot times.
type queueAcc struct {
	parents map[int64]int64 // queue → parent (0 for root)
	at      map[queueAt]*workload.QueueSample
}

type queueAt struct {
	queue int64
	ts    int64
}

func newQueueAcc(parents map[int64]int64) *queueAcc {
	return &queueAcc{parents: parents, at: map[queueAt]*workload.QueueSample{}}
}

// add counts an application in queue q and its ancestors at ts: running, or
// pending when it is still waiting for its containers.
func (a *queueAcc) add(q int64, ts time.Time, vcores float64, memory int64, running bool) {
	for depth := 0; q != 0 && depth < 16; depth++ {
		k := queueAt{q, ts.Unix()}
		s, ok := a.at[k]
		if !ok {
			s = &workload.QueueSample{QueueID: q, TS: ts}
			a.at[k] = s
		}
		if running {
			s.RunningApps++
			s.UsedVcores += vcores
			s.UsedMemoryBytes += memory
		} else {
			s.PendingApps++
			s.PendingVcores += vcores
			s.PendingMemoryBytes += memory
		}
		q = a.parents[q]
	}
}

// addRun counts r at each snapshot time of the grid (first + k*step, up to
// last) it was queued or running at.
func (a *queueAcc) addRun(r *demoRun, first, last time.Time, step time.Duration) {
	t := first
	if r.queued.After(first) {
		t = first.Add((r.queued.Sub(first) + step - 1) / step * step)
	}
	for ; !t.After(last) && t.Before(r.ended); t = t.Add(step) {
		a.add(r.job.queueID, t, r.allocVcores, r.allocMemory, !t.Before(r.started))
	}
}

// samples returns every snapshot, with an empty one for each queue and time
// that saw nothing, so idle queues read as idle rather than unknown.
func (a *queueAcc) samples(times []time.Time) []workload.QueueSample {
	ids := make([]int64, 0, len(a.parents))
	for q := range a.parents {
		ids = append(ids, q)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]workload.QueueSample, 0, len(ids)*len(times))
	for _, q := range ids {
		for _, ts := range times {
			if s, ok := a.at[queueAt{q, ts.Unix()}]; ok {
				out = append(out, *s)
			} else {
				out = append(out, workload.QueueSample{QueueID: q, TS: ts})
			}
		}
	}
	return out
}
