package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hardwareFile keeps the fault counters already reported, so a restart does
// not report old errors again (the server would count them as duplicates
// anyway: source_ref is the idempotency key).
const hardwareFile = "hardware.json"

// HardwareWatcher reads the host's hardware error counters — kernel EDAC
// memory controllers and, where smartctl is installed, SMART — and turns
// their increases into fault reports.
type HardwareWatcher struct {
	paths    Paths
	stateDir string
	logger   *slog.Logger
	smartctl string
	// bootID tells this boot's EDAC counters (which restart at zero) from
	// the previous boot's in source references.
	bootID string
	// reported are the counter values already reported, by key.
	reported map[string]int64
	said     map[string]bool
}

// NewHardwareWatcher returns a watcher; it loads the counters reported
// before from stateDir.
func NewHardwareWatcher(paths Paths, stateDir string, logger *slog.Logger) *HardwareWatcher {
	w := &HardwareWatcher{paths: paths.withDefaults(), stateDir: stateDir, logger: logger, reported: map[string]int64{}, said: map[string]bool{}}
	if p, err := exec.LookPath("smartctl"); err == nil {
		w.smartctl = p
	}
	if b, err := os.ReadFile(filepath.Join(w.paths.Proc, "sys", "kernel", "random", "boot_id")); err == nil {
		id := strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
		w.bootID = id[:min(8, len(id))]
	}
	if b, err := os.ReadFile(filepath.Join(stateDir, hardwareFile)); err == nil {
		_ = json.Unmarshal(b, &w.reported)
	}
	return w
}

func (w *HardwareWatcher) sayOnce(key, msg string, args ...any) {
	if w.said[key] {
		return
	}
	w.said[key] = true
	w.logger.Info(msg, args...)
}

// counter is one error counter read from the host.
type counter struct {
	key       string // state key and source_ref stem
	value     int64
	component string
	kind      string
	severity  string
	what      string
}

// Scan reads the counters and returns a fault for each that rose since it
// was last reported, with the keys to Commit once the server took them.
func (w *HardwareWatcher) Scan(ctx context.Context, now time.Time) ([]Fault, map[string]int64) {
	counters := append(w.edac(), w.smart(ctx)...)
	var faults []Fault
	next := map[string]int64{}
	for _, c := range counters {
		last := w.reported[c.key]
		if c.value < last {
			// The counter restarted (a reboot, a replaced disk): a new base.
			last = 0
		}
		if c.value <= last {
			continue
		}
		next[c.key] = c.value
		faults = append(faults, Fault{Component: c.component, Kind: c.kind, Severity: c.severity,
			DetectedAt: now.UTC().Format(time.RFC3339), Source: "agent", SourceRef: c.key + ":" + strconv.FormatInt(c.value, 10),
			Detail: fmt.Sprintf("%s rose from %d to %d", c.what, last, c.value)})
	}
	return faults, next
}

// Commit records counters as reported.
func (w *HardwareWatcher) Commit(values map[string]int64) error {
	if len(values) == 0 {
		return nil
	}
	for k, v := range values {
		w.reported[k] = v
	}
	b, err := json.Marshal(w.reported)
	if err != nil {
		return err
	}
	tmp := filepath.Join(w.stateDir, hardwareFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("error saving reported hardware counters: %w", err)
	}
	return os.Rename(tmp, filepath.Join(w.stateDir, hardwareFile))
}

// edac reads the corrected and uncorrected error counts of each memory
// controller.
func (w *HardwareWatcher) edac() []counter {
	dir := filepath.Join(w.paths.Sys, "devices", "system", "edac", "mc")
	mcs, err := filepath.Glob(filepath.Join(dir, "mc[0-9]*"))
	if err != nil || len(mcs) == 0 {
		w.sayOnce("edac", "no EDAC memory controllers to read: memory errors are not watched (no ECC, or the EDAC driver is not loaded)", "path", dir)
		return nil
	}
	slices.Sort(mcs)
	var out []counter
	for _, mc := range mcs {
		name := filepath.Base(mc)
		for _, k := range []struct{ file, kind, severity, short string }{
			{"ce_count", "EDAC_CE", "LOW", "ce"}, {"ue_count", "EDAC_UE", "CRITICAL", "ue"},
		} {
			v, err := readInt(filepath.Join(mc, k.file))
			if err != nil {
				w.sayOnce("edac:"+name+k.file, "an EDAC counter is not readable", "path", filepath.Join(mc, k.file), "error", err)
				continue
			}
			key := "edac:" + name + ":" + k.short
			if w.bootID != "" {
				key = "edac:" + w.bootID + ":" + name + ":" + k.short
			}
			out = append(out, counter{key: key, value: v, component: "MEMORY", kind: k.kind, severity: k.severity,
				what: "memory controller " + name + " " + k.file})
		}
	}
	return out
}

// smartReport is the part of `smartctl -j -H -A` the agent reads.
type smartReport struct {
	SerialNumber string `json:"serial_number"`
	SmartStatus  *struct {
		Passed bool `json:"passed"`
	} `json:"smart_status"`
	ATA struct {
		Table []struct {
			ID  int `json:"id"`
			Raw struct {
				Value int64 `json:"value"`
			} `json:"raw"`
		} `json:"table"`
	} `json:"ata_smart_attributes"`
	NVMe *struct {
		MediaErrors int64 `json:"media_errors"`
	} `json:"nvme_smart_health_information_log"`
}

// smart reads the SMART health of each disk: a failed overall assessment,
// reallocated sectors (ATA attribute 5) and media errors (NVMe).
func (w *HardwareWatcher) smart(ctx context.Context) []counter {
	if w.smartctl == "" {
		w.sayOnce("smartctl", "smartctl is not installed: disk health (SMART) is not watched (apt install smartmontools)")
		return nil
	}
	var out []counter
	for _, d := range Disks(w.paths) {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		b, err := exec.CommandContext(cctx, w.smartctl, "-j", "-H", "-A", "/dev/"+d.Name).Output()
		cancel()
		var r smartReport
		if jerr := json.Unmarshal(b, &r); jerr != nil || (r.SmartStatus == nil && len(r.ATA.Table) == 0 && r.NVMe == nil) {
			// smartctl's exit status is a bit mask of findings; only an answer
			// without SMART data means the disk cannot be read.
			w.sayOnce("smart:"+d.Name, "SMART is not readable for a disk (needs root, or the device has no SMART)", "disk", d.Name, "error", err)
			continue
		}
		out = append(out, smartCounters(d.Name, r)...)
	}
	return out
}

// smartCounters turns one disk's report into counters keyed by the disk's
// serial (which survives renaming), else its device name.
func smartCounters(dev string, r smartReport) []counter {
	id := strings.TrimSpace(r.SerialNumber)
	if id == "" {
		id = dev
	}
	var out []counter
	if r.SmartStatus != nil && !r.SmartStatus.Passed {
		out = append(out, counter{key: "smart:" + id + ":health", value: 1, component: "DISK", kind: "SMART_FAILED",
			severity: "HIGH", what: "disk " + dev + " SMART overall assessment failed; failures"})
	}
	for _, a := range r.ATA.Table {
		if a.ID == 5 {
			out = append(out, counter{key: "smart:" + id + ":reallocated", value: a.Raw.Value, component: "DISK",
				kind: "SMART_REALLOCATED", severity: "MEDIUM", what: "disk " + dev + " reallocated sectors"})
		}
	}
	if r.NVMe != nil {
		out = append(out, counter{key: "smart:" + id + ":media_errors", value: r.NVMe.MediaErrors, component: "DISK",
			kind: "SMART_MEDIA_ERRORS", severity: "MEDIUM", what: "disk " + dev + " NVMe media errors"})
	}
	return out
}
