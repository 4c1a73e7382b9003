package agentapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// Long-poll bounds of GET /api/v1/agents/tasks.
const (
	defaultPollWait = 30 * time.Second
	maxPollTasks    = 10
)

// hostPrincipal authenticates a request with a host credential, as the
// heartbeat does, writing the refusal itself.
func (h *Handler) hostPrincipal(w http.ResponseWriter, r *http.Request) (*auth.Principal, bool) {
	p, ok := h.identify(w, r, auth.SurfaceAgent)
	if !ok {
		return nil, false
	}
	if p.HostID == 0 {
		h.fail(w, r, fault.Forbiddenf("agent tasks need a host credential, which POST /api/v1/agents/register issues"))
		return nil, false
	}
	return p, true
}

// pollTasks is GET /api/v1/agents/tasks?wait=30s&max=1: the host's next
// queued tasks, claimed for it (200 {"tasks": [...]}), or 204 when none came
// within the wait.
func (h *Handler) pollTasks(w http.ResponseWriter, r *http.Request) {
	p, ok := h.hostPrincipal(w, r)
	if !ok {
		return
	}
	ctx := auth.WithPrincipal(r.Context(), p)
	wait := defaultPollWait
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > h.tasks.cfg.MaxWait {
			h.fail(w, r, fault.Field("wait", "wait %q must be a duration from 0s to %s (e.g. 30s)", v, h.tasks.cfg.MaxWait))
			return
		}
		wait = d
	}
	limit := 1
	if v := r.URL.Query().Get("max"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPollTasks {
			h.fail(w, r, fault.Field("max", "max %q must be a number from 1 to %d", v, maxPollTasks))
			return
		}
		limit = n
	}
	tasks, err := h.tasks.Poll(ctx, p.HostID, limit, wait)
	if err != nil {
		if ctx.Err() != nil {
			return // the agent hung up
		}
		h.fail(w, r, err)
		return
	}
	if len(tasks) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, t := range tasks {
		h.logger.InfoContext(ctx, "agent task claimed", "task", t.ID, "host", p.Name, "action", t.Spec.Action, "service", t.Spec.Service)
	}
	writeJSON(w, http.StatusOK, agenttask.Poll{Tasks: tasks})
}

// reportTask is POST /api/v1/agents/tasks/{id}/report.
func (h *Handler) reportTask(w http.ResponseWriter, r *http.Request) {
	p, ok := h.hostPrincipal(w, r)
	if !ok {
		return
	}
	ctx := auth.WithPrincipal(r.Context(), p)
	id, err := parseTaskID(r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var rep agenttask.Report
	if err := decode(w, r, &rep); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := validateReport(&rep); err != nil {
		h.fail(w, r, err)
		return
	}
	ans, err := h.tasks.report(ctx, p.HostID, id, rep)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if agenttask.Final(rep.State) {
		h.logger.InfoContext(ctx, "agent task finished", "task", id, "host", p.Name, "state", ans.State, "error", rep.Error)
	}
	writeJSON(w, http.StatusOK, ans)
}

// reportStates are the states an agent may report.
var reportStates = []string{agenttask.StateRunning, agenttask.StateSucceeded, agenttask.StateFailed}

var stepStates = []string{agenttask.StepRunning, agenttask.StepOK, agenttask.StepSkipped, agenttask.StepFailed}

// validateReport checks a report, naming the field at fault. Long outputs
// are truncated later, not refused: the agent's words are kept, bounded.
func validateReport(rep *agenttask.Report) error {
	if !slices.Contains(reportStates, rep.State) {
		return fault.Field("state", "state %q: use %s", rep.State, strings.Join(reportStates, ", "))
	}
	if len(rep.Steps) > 1000 {
		return fault.Field("steps", "at most 1000 steps, got %d", len(rep.Steps))
	}
	for i, s := range rep.Steps {
		field := "steps[" + strconv.Itoa(i) + "]"
		switch {
		case s.Name == "":
			return fault.Field(field+".name", "name is required")
		case !slices.Contains(stepStates, s.State):
			return fault.Field(field+".state", "state %q: use %s", s.State, strings.Join(stepStates, ", "))
		}
	}
	if rep.State == agenttask.StateFailed && rep.Error == "" {
		return fault.Field("error", "a FAILED report says why in error")
	}
	return nil
}
