package yarn

import (
	"crypto/sha1"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/teslaops/tesla/internal/workload"
)

// How applications become jobs and runs (docs/workload.md, "YARN
// ResourceManager"):
//
//   - a job is what recurs: namespace "yarn:<cluster>", name
//     "<user>/<application name>" with the parts that change from run to run
//     (dates, application ids, UUIDs, long numbers) replaced by placeholders,
//     so "daily_clicks 2024-05-01" and "daily_clicks 2024-05-02" are one job;
//   - a run is one application: its UUID is derived from the cluster and the
//     application id (UUID version 5), so every poll finds the same run.

// Namespace is the job namespace of a cluster's applications.
func Namespace(cluster string) string { return "yarn:" + cluster }

var nameNormalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`application_\d+_\d+`), "{app}"},
	{regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "{uuid}"},
	// 2024-05-01, 2024_05_01, 2024/05/01, optionally with a time; 20240501
	// and 2024050112 (hourly partitions).
	{regexp.MustCompile(`(19|20)\d\d[-_/](0[1-9]|1[0-2])[-_/](0[1-9]|[12]\d|3[01])([T _-]?\d\d[:_-]?\d\d([:_-]?\d\d)?(\.\d+)?Z?)?`), "{date}"},
	{regexp.MustCompile(`(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(\d\d(\d\d(\d\d)?)?)?\b`), "{date}"},
}

// longNumber is an epoch time or a generated numeric id.
var longNumber = regexp.MustCompile(`\d{6,}`)

// hexID is a generated hexadecimal id (a git hash, a session id); it must hold
// a digit, so words such as "deadbeefcafe" stay.
var hexID = regexp.MustCompile(`(?i)\b[0-9a-f]{12,}\b`)

var spaces = regexp.MustCompile(`\s+`)

// maxName bounds a job name: Hive and Spark SQL applications are often named
// by their whole query.
const maxName = 200

// JobName is the job an application belongs to.
func JobName(user, appName string) string {
	n := appName
	for _, r := range nameNormalisers {
		n = r.re.ReplaceAllString(n, r.with)
	}
	n = hexID.ReplaceAllStringFunc(n, func(s string) string {
		if strings.ContainsAny(s, "0123456789") && strings.ContainsAny(s, "abcdefABCDEF") {
			return "{id}"
		}
		return s
	})
	n = longNumber.ReplaceAllString(n, "{n}")
	n = strings.TrimSpace(spaces.ReplaceAllString(n, " "))
	if n == "" {
		n = "(unnamed)"
	}
	if user == "" {
		user = "(unknown)"
	}
	name := user + "/" + n
	if len(name) > maxName {
		// Cut at a rune boundary.
		name = strings.ToValidUTF8(name[:maxName], "")
	}
	return name
}

// runNamespace is the UUID namespace of YARN run UUIDs (a fixed random UUID).
var runNamespace = [16]byte{0x5b, 0x0e, 0x63, 0x2a, 0x8f, 0x41, 0x4c, 0x7d, 0x9e, 0x13, 0x2b, 0xd4, 0x61, 0x0a, 0x77, 0xc5}

// RunUUID is the run UUID of an application of a cluster: a name-based UUID
// (version 5), stable across polls and distinct across clusters.
func RunUUID(cluster, appID string) pgtype.UUID {
	h := sha1.New()
	h.Write(runNamespace[:])
	h.Write([]byte(cluster + "/" + appID))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return pgtype.UUID{Bytes: u, Valid: true}
}

// runEvent turns an application into the run event that brings its run to the
// state the ResourceManager reports:
//
//   - NEW, NEW_SAVING, SUBMITTED, ACCEPTED: waiting in the queue, an event
//     with no state (the run is created as OTHER) at the submit time;
//   - RUNNING: RUNNING at launchTime, else at the submit time;
//   - FINISHED with finalStatus SUCCEEDED or UNDEFINED: COMPLETED; FINISHED
//     with FAILED, or state FAILED: FAILED; KILLED either way: ABORTED — at
//     finishedTime, carrying the start when the application ran (it launched,
//     or held resources), so the run has a start time.
func runEvent(a *App, jobID int64, run pgtype.UUID, now time.Time) workload.RunEvent {
	at := func(t time.Time) time.Time {
		if t.IsZero() {
			return now
		}
		return t
	}
	start := a.Launched
	if start.IsZero() {
		start = a.Submitted
	}
	ev := func(state string, t time.Time) workload.RunEvent {
		return workload.RunEvent{JobID: jobID, RunUUID: run, State: state, Time: at(t)}
	}
	terminal := ""
	switch a.State {
	case "NEW", "NEW_SAVING", "SUBMITTED", "ACCEPTED":
		return ev("", a.Submitted)
	case "RUNNING":
		return ev("RUNNING", start)
	case "FINISHED":
		switch a.FinalStatus {
		case "FAILED":
			terminal = "FAILED"
		case "KILLED":
			terminal = "ABORTED"
		default:
			terminal = "COMPLETED"
		}
	case "FAILED":
		terminal = "FAILED"
	case "KILLED":
		terminal = "ABORTED"
	default:
		return ev("", a.Submitted)
	}
	end := ev(terminal, a.Finished)
	if !a.Launched.IsZero() || a.VcoreSeconds > 0 || a.MemorySeconds > 0 {
		s := at(start)
		end.StartedAt = &s
	}
	return end
}

// mebibyte converts YARN's MB (MiB) to bytes.
const mebibyte = 1 << 20

// runStats is what an application says about its run beside its state. The
// ResourceManager reports allocation, not use: memorySeconds and vcoreSeconds
// are what the containers held, i.e. what the application asked for and got,
// so they are the run's requested totals; used totals stay unknown (they come
// from sources that measure the containers).
func runStats(a *App, jobID, runID int64) workload.RunStats {
	s := workload.RunStats{JobID: jobID, RunID: runID}
	if !a.Submitted.IsZero() {
		t := a.Submitted
		s.QueuedAt = &t
	}
	if a.Attempts > 0 {
		n := a.Attempts
		s.Attempts = &n
	}
	if a.HaveSeconds {
		cs, mbs := a.VcoreSeconds, a.MemorySeconds*mebibyte
		s.RequestedCoreSeconds, s.RequestedMemoryByteSeconds = &cs, &mbs
	}
	if a.AllocatedMB > 0 {
		peak := int64(a.AllocatedMB * mebibyte)
		s.PeakMemoryBytes = &peak
	}
	if !a.Launched.IsZero() && !a.Submitted.IsZero() && !a.Launched.Before(a.Submitted) {
		w := a.Launched.Sub(a.Submitted).Seconds()
		s.QueueWaitSeconds = &w
	}
	return s
}
