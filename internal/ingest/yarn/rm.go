package yarn

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/workload"
)

// Metrics is what the poller keeps of /ws/v1/cluster/metrics.
type Metrics struct {
	AppsPending, AppsRunning     int32
	AllocatedMB, AllocatedVcores float64
	TotalMB, TotalVcores         float64
	ContainersPending            float64
	raw                          json.RawMessage
}

// ParseMetrics reads a /ws/v1/cluster/metrics answer.
func ParseMetrics(body []byte) (*Metrics, error) {
	root, err := parseJSON("cluster metrics", body)
	if err != nil {
		return nil, err
	}
	m := root.get("clusterMetrics")
	if !m.isObject() {
		return nil, m.wrong("an object")
	}
	var r reader
	out := &Metrics{
		AppsPending: int32(r.numOr(m.get("appsPending"), 0)), AppsRunning: int32(r.numOr(m.get("appsRunning"), 0)),
		AllocatedMB: max(r.numOr(m.get("allocatedMB"), 0), 0), AllocatedVcores: max(r.numOr(m.get("allocatedVirtualCores"), 0), 0),
		TotalMB: r.numOr(m.get("totalMB"), 0), TotalVcores: r.numOr(m.get("totalVirtualCores"), 0),
		ContainersPending: r.numOr(m.get("containersPending"), 0),
	}
	if r.err != nil {
		return nil, fmt.Errorf("cluster metrics: %w", r.err)
	}
	raw, err := json.Marshal(m.v)
	if err != nil {
		return nil, fmt.Errorf("cluster metrics: %w", err)
	}
	out.raw = raw
	return out, nil
}

// Queue is one queue of a scheduler answer: its shape and its usage now.
type Queue struct {
	Spec            workload.QueueSpec
	UsedVcores      float64
	UsedMemoryMB    float64
	PendingApps     int32
	RunningApps     int32
	PendingVcores   float64
	PendingMemoryMB float64
	// appsKnown and pendingKnown tell whether the scheduler reported the
	// queue's apps and pending resources itself; a parent that did not gets
	// the sum of its children's.
	appsKnown, pendingKnown bool
	children                []int
}

// Scheduler is a parsed /ws/v1/cluster/scheduler answer: the queues in tree
// order (a parent before its children).
type Scheduler struct {
	Type   string // workload.SchedulerCapacity, SchedulerFair or SchedulerFIFO
	Queues []Queue
}

// ParseScheduler reads a /ws/v1/cluster/scheduler answer of the capacity, fair
// or FIFO scheduler. Queues the FIFO scheduler does not have are made up: it
// is one queue, "root", holding the whole cluster, whose usage is the cluster
// metrics' (m, which may be nil).
func ParseScheduler(body []byte, m *Metrics) (*Scheduler, error) {
	root, err := parseJSON("scheduler", body)
	if err != nil {
		return nil, err
	}
	info := root.get("scheduler").get("schedulerInfo")
	if !info.isObject() {
		return nil, info.wrong("an object")
	}
	typ, err := info.get("type").str()
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s := &Scheduler{}
	switch {
	case typ == "capacityScheduler" || (typ == "" && info.get("queueName").v != nil && info.get("rootQueue").missing()):
		s.Type = workload.SchedulerCapacity
		if _, err := s.capacityQueue(info, ""); err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
	case typ == "fairScheduler" || !info.get("rootQueue").missing():
		s.Type = workload.SchedulerFair
		if _, err := s.fairQueue(info.get("rootQueue")); err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
	case typ == "fifoScheduler":
		s.Type = workload.SchedulerFIFO
		q := Queue{Spec: workload.QueueSpec{Path: "root", SchedulerType: workload.SchedulerFIFO,
			GuaranteedVcores: 1, MaxVcores: 1, GuaranteedMemory: 1, MaxMemory: 1, Weight: 1}}
		if m != nil {
			q.UsedVcores, q.UsedMemoryMB = m.AllocatedVcores, m.AllocatedMB
			q.PendingApps, q.RunningApps = m.AppsPending, m.AppsRunning
		}
		s.Queues = append(s.Queues, q)
	default:
		return nil, fmt.Errorf("scheduler: %w", info.get("type").wrong("capacityScheduler, fairScheduler or fifoScheduler"))
	}
	s.sumUp(0)
	return s, nil
}

// share turns a percentage into a fraction 0..1; absent or NaN is def.
func share(r *reader, n node, def float64) float64 {
	f, ok := r.num(n)
	if !ok {
		return def
	}
	return math.Min(math.Max(f/100, 0), 1)
}

func (s *Scheduler) capacityQueue(n node, parent string) (int, error) {
	var r reader
	name := r.str(n.get("queueName"))
	path := r.str(n.get("queuePath"))
	if path == "" {
		path = name
		if parent != "" {
			path = parent + "." + name
		}
	}
	if path == "" {
		return 0, n.get("queueName").wrong("a queue name")
	}
	q := Queue{Spec: workload.QueueSpec{Path: path, SchedulerType: workload.SchedulerCapacity, Weight: 1}}
	// Absolute shares are of the whole cluster, which is what queue.guaranteed_*
	// holds; the root reports only its relative capacity (100).
	if parent == "" {
		q.Spec.GuaranteedVcores = share(&r, n.get("capacity"), 1)
		q.Spec.MaxVcores = share(&r, n.get("maxCapacity"), 1)
	} else {
		q.Spec.GuaranteedVcores = share(&r, n.get("absoluteCapacity"), 0)
		q.Spec.MaxVcores = share(&r, n.get("absoluteMaxCapacity"), 1)
	}
	q.Spec.MaxVcores = math.Max(q.Spec.MaxVcores, q.Spec.GuaranteedVcores)
	q.Spec.GuaranteedMemory, q.Spec.MaxMemory = q.Spec.GuaranteedVcores, q.Spec.MaxVcores
	if w, ok := r.num(n.get("weight")); ok && w > 0 {
		// Weight mode; elsewhere the RM reports -1.
		q.Spec.Weight = w
	}
	if used := n.get("resourcesUsed"); used.isObject() {
		q.UsedMemoryMB, q.UsedVcores = r.numOr(used.get("memory"), 0), r.numOr(used.get("vCores"), 0)
	} else if mb, vc, ok := parseResourceString(n.get("usedResources")); ok {
		q.UsedMemoryMB, q.UsedVcores = mb, vc
	}
	if p, ok := r.num(n.get("numPendingApplications")); ok {
		q.PendingApps, q.appsKnown = int32(p), true
		q.RunningApps = int32(r.numOr(n.get("numActiveApplications"), 0))
	}
	parts, err := n.get("resources").get("resourceUsagesByPartition").list()
	if err != nil {
		return 0, err
	}
	for _, p := range parts {
		// The default partition ("") is the cluster's ordinary nodes; labelled
		// partitions are separate pools the queue model does not hold.
		if r.str(p.get("partitionName")) != "" {
			continue
		}
		if pend := p.get("pending"); pend.isObject() {
			q.PendingMemoryMB, q.PendingVcores = r.numOr(pend.get("memory"), 0), r.numOr(pend.get("vCores"), 0)
			q.pendingKnown = true
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	idx := len(s.Queues)
	s.Queues = append(s.Queues, q)
	children, err := n.get("queues").wrapped("queue")
	if err != nil {
		return 0, err
	}
	for _, c := range children {
		ci, err := s.capacityQueue(c, path)
		if err != nil {
			return 0, err
		}
		s.Queues[idx].children = append(s.Queues[idx].children, ci)
	}
	return idx, nil
}

func (s *Scheduler) fairQueue(n node) (int, error) {
	var r reader
	path := r.str(n.get("queueName"))
	if path == "" {
		return 0, n.get("queueName").wrong("a queue name")
	}
	res := func(n node) (mb, vc float64, ok bool) {
		if !n.isObject() {
			return 0, 0, false
		}
		return r.numOr(n.get("memory"), 0), r.numOr(n.get("vCores"), 0), true
	}
	frac := func(v, total, def float64) float64 {
		if total <= 0 {
			return def
		}
		return math.Min(math.Max(v/total, 0), 1)
	}
	q := Queue{Spec: workload.QueueSpec{Path: path, SchedulerType: workload.SchedulerFair, Weight: 1}}
	cmb, cvc, _ := res(n.get("clusterResources"))
	minMB, minVC, _ := res(n.get("minResources"))
	q.Spec.GuaranteedMemory, q.Spec.GuaranteedVcores = frac(minMB, cmb, 0), frac(minVC, cvc, 0)
	q.Spec.MaxMemory, q.Spec.MaxVcores = 1, 1
	if maxMB, maxVC, ok := res(n.get("maxResources")); ok {
		q.Spec.MaxMemory, q.Spec.MaxVcores = frac(maxMB, cmb, 1), frac(maxVC, cvc, 1)
	}
	q.Spec.MaxMemory = math.Max(q.Spec.MaxMemory, q.Spec.GuaranteedMemory)
	q.Spec.MaxVcores = math.Max(q.Spec.MaxVcores, q.Spec.GuaranteedVcores)
	if w, ok := r.num(n.get("weight")); ok && w >= 0 {
		q.Spec.Weight = w
	}
	q.UsedMemoryMB, q.UsedVcores, _ = res(n.get("usedResources"))
	if p, ok := r.num(n.get("numPendingApps")); ok {
		q.PendingApps, q.appsKnown = int32(p), true
		q.RunningApps = int32(r.numOr(n.get("numActiveApps"), 0))
	}
	// Pending is what the queue wants beyond what it holds.
	if dmb, dvc, ok := res(n.get("demandResources")); ok {
		q.PendingMemoryMB, q.PendingVcores = math.Max(dmb-q.UsedMemoryMB, 0), math.Max(dvc-q.UsedVcores, 0)
		q.pendingKnown = true
	}
	if r.err != nil {
		return 0, r.err
	}
	idx := len(s.Queues)
	s.Queues = append(s.Queues, q)
	children, err := n.get("childQueues").wrapped("queue")
	if err != nil {
		return 0, err
	}
	for _, c := range children {
		ci, err := s.fairQueue(c)
		if err != nil {
			return 0, err
		}
		s.Queues[idx].children = append(s.Queues[idx].children, ci)
	}
	return idx, nil
}

// sumUp gives parents that did not report their apps or pending resources the
// sums of their children's.
func (s *Scheduler) sumUp(i int) {
	if i >= len(s.Queues) {
		return
	}
	q := &s.Queues[i]
	var pa, ra int32
	var pv, pm float64
	for _, c := range q.children {
		s.sumUp(c)
		cq := s.Queues[c]
		pa, ra, pv, pm = pa+cq.PendingApps, ra+cq.RunningApps, pv+cq.PendingVcores, pm+cq.PendingMemoryMB
	}
	if len(q.children) == 0 {
		return
	}
	if !q.appsKnown {
		q.PendingApps, q.RunningApps = pa, ra
	}
	if !q.pendingKnown {
		q.PendingVcores, q.PendingMemoryMB = pv, pm
	}
}

var resourceString = regexp.MustCompile(`memory:\s*(-?\d+).*?vCores:\s*(-?\d+)`)

// parseResourceString reads the older "<memory:1024, vCores:1>" form.
func parseResourceString(n node) (mb, vc float64, ok bool) {
	s, _ := n.v.(string)
	m := resourceString.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	mb, _ = strconv.ParseFloat(m[1], 64)
	vc, _ = strconv.ParseFloat(m[2], 64)
	return max(mb, 0), max(vc, 0), true
}

// App is one application of /ws/v1/cluster/apps.
type App struct {
	ID, User, Name, Queue, Type string
	// State is YARN's (NEW … RUNNING, FINISHED, FAILED, KILLED), FinalStatus
	// what the application reported (UNDEFINED, SUCCEEDED, FAILED, KILLED).
	State, FinalStatus string
	// Submitted is startedTime, which YARN sets when the application is
	// submitted; Launched is launchTime (Hadoop 3.1+), when its master started;
	// Finished is finishedTime. Zero when not reported (YARN sends 0).
	Submitted, Launched, Finished time.Time
	// AllocatedMB and AllocatedVcores are what the running containers hold
	// now; -1 (finished applications) and absent are 0.
	AllocatedMB, AllocatedVcores float64
	// MemorySeconds (MB-seconds) and VcoreSeconds: what the application's
	// containers held over its life.
	MemorySeconds, VcoreSeconds float64
	HaveSeconds                 bool
	// Attempts is read from the master container's id in amContainerLogs
	// (container_[e<epoch>_]<cluster>_<app>_<attempt>_<container>), 0 when
	// unknown.
	Attempts int32
}

// Problem is an application that could not be read, left out of a poll.
type Problem struct {
	Path, AppID, Message string
}

func (p Problem) String() string {
	if p.AppID != "" {
		return fmt.Sprintf("%s (%s): %s", p.Path, p.AppID, p.Message)
	}
	return p.Path + ": " + p.Message
}

// ParseApps reads a /ws/v1/cluster/apps answer. An application with a wrong
// field is left out and reported in problems; the others are kept. Only an
// answer that is not JSON, or whose apps are not a list, is an error.
func ParseApps(body []byte) (apps []App, problems []Problem, err error) {
	root, err := parseJSON("apps", body)
	if err != nil {
		return nil, nil, err
	}
	list, err := root.get("apps").wrapped("app")
	if err != nil {
		return nil, nil, fmt.Errorf("apps: %w", err)
	}
	apps = make([]App, 0, len(list))
	for _, n := range list {
		a, err := parseApp(n)
		if err != nil {
			p := Problem{Path: n.path, AppID: a.ID, Message: err.Error()}
			if fe, ok := err.(*FieldError); ok {
				p.Path, p.Message = fe.Path, fe.Message
			}
			problems = append(problems, p)
			continue
		}
		apps = append(apps, a)
	}
	return apps, problems, nil
}

var attemptInContainer = regexp.MustCompile(`container_(?:e\d+_)?\d+_\d+_(\d+)_\d+`)

func parseApp(n node) (App, error) {
	if !n.isObject() {
		return App{}, n.wrong("an application object")
	}
	var r reader
	a := App{ID: r.str(n.get("id")), User: r.str(n.get("user")), Name: r.str(n.get("name")),
		Queue: r.str(n.get("queue")), Type: r.str(n.get("applicationType")),
		State: strings.ToUpper(r.str(n.get("state"))), FinalStatus: strings.ToUpper(r.str(n.get("finalStatus")))}
	ms := func(f node) time.Time {
		v, ok := r.num(f)
		if !ok || v <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(int64(v)).UTC()
	}
	a.Submitted, a.Launched, a.Finished = ms(n.get("startedTime")), ms(n.get("launchTime")), ms(n.get("finishedTime"))
	a.AllocatedMB = max(r.numOr(n.get("allocatedMB"), 0), 0)
	a.AllocatedVcores = max(r.numOr(n.get("allocatedVCores"), 0), 0)
	mem, okM := r.num(n.get("memorySeconds"))
	vc, okV := r.num(n.get("vcoreSeconds"))
	a.MemorySeconds, a.VcoreSeconds, a.HaveSeconds = max(mem, 0), max(vc, 0), okM || okV
	if m := attemptInContainer.FindStringSubmatch(r.str(n.get("amContainerLogs"))); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil && v > 0 {
			a.Attempts = int32(v)
		}
	}
	if r.err != nil {
		return a, r.err
	}
	switch {
	case a.ID == "":
		return a, n.get("id").wrong("an application id")
	case a.State == "":
		return a, n.get("state").wrong("an application state")
	}
	return a, nil
}
