package graph

import (
	"math"
	"strings"
	"time"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/hardware"
)

func hardwareFaultModel(f *hardware.Fault) *model.HardwareFault {
	out := &model.HardwareFault{ID: model.GlobalID(model.KindHardwareFault, f.ID), DBID: f.ID, HostID: f.HostID, TicketID: f.TicketID,
		ReportedByID: f.ReportedBy, Component: model.HardwareComponent(f.Component), Kind: f.Kind, Severity: model.FaultSeverity(f.Severity),
		DetectedAt: f.DetectedAt, Source: model.FaultSource(strings.ToUpper(f.Source)), Detail: f.Detail,
		Status: model.RepairState(f.Status), CreatedAt: f.CreatedAt}
	if f.SourceRef != "" {
		out.SourceRef = &f.SourceRef
	}
	return out
}

func repairTicketModel(t *hardware.Ticket) *model.RepairTicket {
	out := &model.RepairTicket{ID: model.GlobalID(model.KindRepairTicket, t.ID), DBID: t.ID, HostID: t.HostID, OpenedByID: t.OpenedBy,
		AssigneeID: t.AssigneeID, State: model.RepairState(t.State), OpenedAt: t.OpenedAt, UpdatedAt: t.UpdatedAt, ClosedAt: t.ClosedAt,
		HostStateBefore: t.HostStateBefore, NextStates: []model.RepairState{}}
	for _, s := range hardware.NextStates(t.State) {
		out.NextStates = append(out.NextStates, model.RepairState(s))
	}
	return out
}

func ticketEventModel(e *hardware.TicketEvent) *model.RepairTicketEvent {
	return &model.RepairTicketEvent{PersonID: e.PersonID, At: e.At, Actor: e.Actor, FromState: e.FromState,
		ToState: model.RepairState(e.ToState), Note: e.Note}
}

func lifecycleModel(l *hardware.Lifecycle, now time.Time) *model.HostLifecycle {
	if l == nil {
		return nil
	}
	return &model.HostLifecycle{InServiceAt: l.InServiceAt, AgeYears: l.AgeYears(now), TrackedSince: l.TrackedSince,
		TrackedUntil: l.TrackedUntil, WarrantyEnd: l.WarrantyEnd, OutOfWarranty: l.WarrantyEnd != nil && l.WarrantyEnd.Before(now),
		Generation: l.Generation, Source: l.Source, UpdatedAt: l.UpdatedAt}
}

func reliabilityModel(r hardware.Rate) *model.ReliabilityGroup {
	out := &model.ReliabilityGroup{Key: r.Key, Label: r.Label, Hosts: r.Hosts, MachineYears: r.MachineYears, Faults: r.Faults,
		RatePer100MachineYears: r.PerHundred, Lower: r.Lower}
	if !math.IsInf(r.Upper, 1) {
		u := r.Upper
		out.Upper = &u
	}
	return out
}

func candidateModel(c hardware.Candidate) *model.ReplacementCandidate {
	return &model.ReplacementCandidate{HostID: c.HostID, Model: c.Model, ModelRate: c.ModelRate, AgeYears: c.AgeYears,
		AgeFactor: c.AgeFactor, WarrantyEnd: c.WarrantyEnd, OutOfWarranty: c.OutOfWarranty, RecentFaults: c.RecentFaults,
		Faults: c.Faults, Score: c.Score}
}

func faultFilter(f *model.HardwareFaultFilter) (hardware.FaultFilter, error) {
	var out hardware.FaultFilter
	if f == nil {
		return out, nil
	}
	var err error
	if out.HostID, err = model.ParseOptionalID("filter.hostId", f.HostID, model.KindHost); err != nil {
		return out, err
	}
	if out.ClusterID, err = model.ParseOptionalID("filter.clusterId", f.ClusterID, model.KindCluster); err != nil {
		return out, err
	}
	for _, c := range f.Components {
		out.Components = append(out.Components, string(c))
	}
	for _, s := range f.Statuses {
		out.Statuses = append(out.Statuses, string(s))
	}
	for _, s := range f.Sources {
		out.Sources = append(out.Sources, strings.ToLower(string(s)))
	}
	if f.MinSeverity != nil {
		out.MinSeverity = string(*f.MinSeverity)
	}
	out.Since, out.Until = f.Since, f.Until
	return out, nil
}

func ticketFilter(f *model.RepairTicketFilter) (hardware.TicketFilter, error) {
	var out hardware.TicketFilter
	if f == nil {
		return out, nil
	}
	var err error
	if out.HostID, err = model.ParseOptionalID("filter.hostId", f.HostID, model.KindHost); err != nil {
		return out, err
	}
	if out.ClusterID, err = model.ParseOptionalID("filter.clusterId", f.ClusterID, model.KindCluster); err != nil {
		return out, err
	}
	for _, s := range f.States {
		out.States = append(out.States, string(s))
	}
	return out, nil
}

func openTicketInput(in model.OpenRepairTicketInput) (hardware.OpenTicketInput, error) {
	var out hardware.OpenTicketInput
	var err error
	if out.HostID, err = model.ParseID("input.hostId", in.HostID, model.KindHost); err != nil {
		return out, err
	}
	if out.FaultIDs, err = parseIDs("input.faultIds", in.FaultIds, model.KindHardwareFault); err != nil {
		return out, err
	}
	if out.AssigneeID, err = model.ParseOptionalID("input.assigneeId", in.AssigneeID, model.KindPerson); err != nil {
		return out, err
	}
	out.Note = deref(in.Note)
	return out, nil
}
