package model

import (
	"time"

	"github.com/teslaops/tesla/internal/healing"
	"github.com/teslaops/tesla/internal/keepalive"
)

// The global id kinds of healing attempts and keep-alive alerts.
const (
	KindHealingAttempt = "HealingAttempt"
	KindKeepAliveAlert = "KeepAliveAlert"
)

// HealingAttempt is one host's healing; host, cluster, operation and ticket
// are resolved from the ids.
type HealingAttempt struct {
	ID          string
	DBID        int64
	StartedAt   time.Time
	HostDBID    int64
	Hostname    string
	ClusterID   int64
	Signals     []SickSignal
	Detail      string
	Repair      string
	State       HealingState
	OperationID *int64
	TicketID    *int64
	Reason      string
	EndedAt     *time.Time
}

func sickSignals(ss []string) []SickSignal {
	out := make([]SickSignal, len(ss))
	for i, s := range ss {
		out[i] = SickSignal(s)
	}
	return out
}

// FromHealingAttempt maps an attempt.
func FromHealingAttempt(a *healing.Attempt) *HealingAttempt {
	return &HealingAttempt{ID: GlobalID(KindHealingAttempt, a.ID), DBID: a.ID, StartedAt: a.StartedAt, HostDBID: a.HostID,
		Hostname: a.Hostname, ClusterID: a.ClusterID, Signals: sickSignals(a.Signals), Detail: a.Detail, Repair: a.Repair,
		State: HealingState(a.State), OperationID: a.OperationID, TicketID: a.TicketID, Reason: a.Reason, EndedAt: a.EndedAt}
}

// HealingWait is a sick host waiting; host and cluster are resolved.
type HealingWait struct {
	HostDBID  int64
	Hostname  string
	ClusterID int64
	Signals   []SickSignal
	Reason    string
	Since     time.Time
	UpdatedAt time.Time
}

// FromHealingWait maps a waiting host.
func FromHealingWait(w *healing.Waiting) *HealingWait {
	return &HealingWait{HostDBID: w.HostID, Hostname: w.Hostname, ClusterID: w.ClusterID, Signals: sickSignals(w.Signals),
		Reason: w.Reason, Since: w.Since, UpdatedAt: w.UpdatedAt}
}

// HealingPolicy is a cluster's healing policy; cluster is resolved.
type HealingPolicy struct {
	ClusterID        int64
	Enabled          bool
	MaxAtOnce        int
	MaxAtOncePercent int
	MaxPerDay        int
	AllowReboot      bool
	AnomalySeverity  string
	SickFor          Duration
	Own              []string
	UpdatedBy        *string
}

// FromHealingPolicy maps a policy.
func FromHealingPolicy(p *healing.ClusterPolicy) *HealingPolicy {
	out := &HealingPolicy{ClusterID: p.ClusterID, Enabled: p.Enabled, MaxAtOnce: p.MaxAtOnce, MaxAtOncePercent: p.MaxAtOncePct,
		MaxPerDay: p.MaxPerDay, AllowReboot: p.AllowReboot, AnomalySeverity: p.AnomalySeverity, SickFor: Duration(p.SickFor),
		Own: []string{}}
	for _, o := range []struct {
		name string
		set  bool
	}{{"enabled", p.Own.Enabled != nil}, {"maxAtOnce", p.Own.MaxAtOnce != nil}, {"maxAtOncePercent", p.Own.MaxAtOncePct != nil},
		{"maxPerDay", p.Own.MaxPerDay != nil}, {"allowReboot", p.Own.AllowReboot != nil}} {
		if o.set {
			out.Own = append(out.Own, o.name)
		}
	}
	if p.UpdatedBy != "" {
		out.UpdatedBy = &p.UpdatedBy
	}
	return out
}

// KeepAliveAlert is a keep-alive alert; host and cluster are resolved.
type KeepAliveAlert struct {
	ID         string
	DBID       int64
	HostDBID   int64
	ClusterID  int64
	Service    string
	Component  string
	RaisedAt   time.Time
	Restarts   int
	Window     Duration
	Message    string
	ResolvedAt *time.Time
}

// FromKeepAliveAlert maps an alert.
func FromKeepAliveAlert(a *keepalive.Alert) *KeepAliveAlert {
	return &KeepAliveAlert{ID: GlobalID(KindKeepAliveAlert, a.ID), DBID: a.ID, HostDBID: a.HostID, ClusterID: a.ClusterID,
		Service: a.Service, Component: a.Component, RaisedAt: a.RaisedAt, Restarts: a.Restarts,
		Window: Duration(time.Duration(a.WindowSeconds) * time.Second), Message: a.Message, ResolvedAt: a.ResolvedAt}
}
