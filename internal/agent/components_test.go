package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestComponentStatesFromProcesses(t *testing.T) {
	p := fixtureHost(t)
	c := NewComponentChecker(p.Proc)
	c.systemctl = "" // the fixture host has no systemd
	got := c.Check(context.Background(), []ComponentSpec{
		{Service: "hdfs", Component: "DATANODE", Process: `proc_datanode\b`},
		{Service: "yarn", Component: "NODEMANAGER", Process: "proc_nodemanager"},
		{Service: "hdfs", Component: "JOURNALNODE", Process: "proc_(journal"},
		{Service: "kafka", Component: "BROKER", Unit: "kafka.service"},
		{Service: "x", Component: "Y"},
	})
	require.Equal(t, []ComponentState{
		{Service: "hdfs", Component: "DATANODE", State: StateStarted, Detail: "pid 4242"},
		{Service: "yarn", Component: "NODEMANAGER", State: StateStopped, Detail: "no process matches proc_nodemanager"},
		{Service: "hdfs", Component: "JOURNALNODE", State: StateUnknown, Detail: "bad process pattern \"proc_(journal\": error parsing regexp: missing closing ): `proc_(journal`"},
		{Service: "kafka", Component: "BROKER", State: StateUnknown, Detail: "no systemd to check unit kafka.service"},
		{Service: "x", Component: "Y", State: StateUnknown, Detail: "no check configured for this component's package"},
	}, got)
}

func TestComponentStatesFromSystemdUnits(t *testing.T) {
	p := fixtureHost(t)
	// A stand-in systemctl answering as systemd does.
	bin := filepath.Join(t.TempDir(), "systemctl")
	require.NoError(t, os.WriteFile(bin, []byte(`#!/bin/sh
case "$3" in
  a.service) echo active; exit 0;;
  f.service) echo failed; exit 3;;
  *) echo inactive; exit 3;;
esac
`), 0o755))
	c := NewComponentChecker(p.Proc)
	c.systemctl = bin
	got := c.Check(context.Background(), []ComponentSpec{
		{Service: "s", Component: "A", Unit: "a.service"},
		{Service: "s", Component: "F", Unit: "f.service"},
		{Service: "s", Component: "I", Unit: "i.service"},
		// Started by hand, outside its unit: the process is what runs.
		{Service: "hdfs", Component: "DATANODE", Unit: "i.service", Process: "proc_datanode"},
	})
	require.Equal(t, []string{StateStarted, StateFailed, StateStopped, StateStarted},
		[]string{got[0].State, got[1].State, got[2].State, got[3].State})
	require.Equal(t, "unit f.service failed", got[1].Detail)
	require.Equal(t, "pid 4242 (not under unit i.service)", got[3].Detail)
}

func TestHardwareFaultsOnRisingCounters(t *testing.T) {
	p := fixtureHost(t)
	state := t.TempDir()
	w := NewHardwareWatcher(p, state, discardLogger())
	w.smartctl = ""
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	faults, values := w.Scan(context.Background(), now)
	require.Equal(t, []Fault{{Component: "MEMORY", Kind: "EDAC_CE", Severity: "LOW", DetectedAt: "2026-11-30T12:00:00Z",
		Source: "agent", SourceRef: "edac:0f1e2d3c:mc0:ce:3", Detail: "memory controller mc0 ce_count rose from 0 to 3"}}, faults)
	// Not yet committed (the server did not answer): reported again.
	again, _ := w.Scan(context.Background(), now)
	require.Equal(t, faults, again)
	require.NoError(t, w.Commit(values))

	// A restart remembers what was reported; only rises are new faults.
	w = NewHardwareWatcher(p, state, discardLogger())
	w.smartctl = ""
	none, _ := w.Scan(context.Background(), now)
	require.Empty(t, none)
	require.NoError(t, os.WriteFile(filepath.Join(p.Sys, "devices/system/edac/mc/mc1/ue_count"), []byte("1\n"), 0o644))
	faults, _ = w.Scan(context.Background(), now)
	require.Len(t, faults, 1)
	require.Equal(t, "EDAC_UE", faults[0].Kind)
	require.Equal(t, "CRITICAL", faults[0].Severity)
	require.Equal(t, "edac:0f1e2d3c:mc1:ue:1", faults[0].SourceRef)
}

func TestSmartCounters(t *testing.T) {
	var r smartReport
	r.SerialNumber = "WD-123"
	r.SmartStatus = &struct {
		Passed bool `json:"passed"`
	}{Passed: false}
	r.ATA.Table = append(r.ATA.Table, struct {
		ID  int `json:"id"`
		Raw struct {
			Value int64 `json:"value"`
		} `json:"raw"`
	}{ID: 5})
	r.ATA.Table[0].Raw.Value = 12
	got := smartCounters("sda", r)
	require.Len(t, got, 2)
	require.Equal(t, "smart:WD-123:health", got[0].key)
	require.Equal(t, "SMART_FAILED", got[0].kind)
	require.Equal(t, "smart:WD-123:reallocated", got[1].key)
	require.Equal(t, int64(12), got[1].value)
}
