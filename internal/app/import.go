package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/teslaops/tesla/internal/ingest/alibaba"
	"github.com/teslaops/tesla/internal/telemetry"
)

// cmdImport loads real data formats into Tesla. Imports are idempotent: running one
// again stores nothing twice.
func cmdImport(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "inventory" {
		return importInventory(ctx, cfg, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "alibaba-v2017-tasks" {
		return importV2017Tasks(ctx, cfg, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "alibaba-v2017-events" {
		return importV2017Events(ctx, cfg, args[1:], stdout)
	}
	if len(args) == 0 || args[0] != "alibaba-v2018" {
		return errors.New("import: the importers are: inventory, alibaba-v2018, alibaba-v2017-tasks, alibaba-v2017-events")
	}
	fs := newFlags("import alibaba-v2018")
	var opt alibaba.Options
	fs.StringVar(&opt.MetaPath, "meta", "", "machine_meta.csv (optionally .gz)")
	fs.StringVar(&opt.UsagePath, "usage", "", "machine_usage.csv (optionally .gz)")
	fs.StringVar(&opt.Cluster, "cluster", "", "cluster to import into (default "+alibaba.DefaultCluster+"; created when missing)")
	fs.StringVar(&opt.Region, "region", "", "region of a new cluster")
	start := fs.String("start", "", "wall time of trace second 0, RFC 3339 (default: the earlier import's, else so the trace ends now)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if opt.MetaPath == "" && opt.UsagePath == "" {
		return errors.New("import alibaba-v2018: give --meta, --usage or both")
	}
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			return fmt.Errorf("import alibaba-v2018: --start %q is not RFC 3339 (e.g. 2026-01-01T00:00:00Z)", *start)
		}
		opt.Start = t
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := alibaba.Import(ctx, pool, telemetry.NewWriter(pool), logger, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d machines (%d hosts changed); %d usage rows → %d samples: %d stored, %d already there, %d skipped, %d invalid values; %.0f rows/s; trace second 0 = %s\n",
		st.Machines, st.Hosts, st.Rows, st.Samples, st.Accepted, st.Duplicates, st.Skipped, st.InvalidValues,
		st.RowsPerSecond(), st.Start.Format(time.RFC3339))
	for _, w := range st.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return nil
}

// importV2017Tasks loads the Alibaba cluster-trace-v2017 batch_task table as
// jobs and runs.
func importV2017Tasks(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("import alibaba-v2017-tasks")
	var opt alibaba.TaskOptions
	fs.StringVar(&opt.Path, "file", "", "batch_task.csv (optionally .gz)")
	fs.StringVar(&opt.Cluster, "cluster", "", "an existing cluster to place the jobs on (default: none)")
	start := fs.String("start", "", "wall time of trace second 0, RFC 3339 (default "+alibaba.DefaultTaskStart.Format(time.RFC3339)+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if opt.Path == "" {
		return errors.New("import alibaba-v2017-tasks: --file is required")
	}
	var err error
	if opt.Start, err = traceStart("import alibaba-v2017-tasks", *start); err != nil {
		return err
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := alibaba.ImportTasks(ctx, pool, logger, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d task lines: %d tasks of %d jobs (one run each), %d runs changed, %d lines skipped; trace second 0 = %s; %s\n",
		st.Lines, st.Tasks, st.Jobs, st.RunsChanged, st.Skipped, st.Start.Format(time.RFC3339), st.Elapsed.Round(time.Millisecond))
	for _, w := range st.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return nil
}

// traceStart reads a --start flag: the wall time of a trace's second 0, or the
// zero time (the importer's default) when the flag is empty.
func traceStart(cmd, start string) (time.Time, error) {
	if start == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: --start %q is not RFC 3339 (e.g. 2017-09-01T00:00:00Z)", cmd, start)
	}
	return t, nil
}

// importV2017Events loads the Alibaba cluster-trace-v2017 server_event table as
// hosts, lifecycles and hardware faults.
func importV2017Events(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("import alibaba-v2017-events")
	var opt alibaba.EventOptions
	fs.StringVar(&opt.Path, "file", "", "server_event.csv (optionally .gz)")
	fs.StringVar(&opt.Cluster, "cluster", "", "cluster to import the machines into (default "+alibaba.DefaultEventCluster+"; created when missing)")
	start := fs.String("start", "", "wall time of trace second 0, RFC 3339 (default "+alibaba.DefaultTaskStart.Format(time.RFC3339)+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if opt.Path == "" {
		return errors.New("import alibaba-v2017-events: --file is required")
	}
	var err error
	if opt.Start, err = traceStart("import alibaba-v2017-events", *start); err != nil {
		return err
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	st, err := alibaba.ImportEvents(ctx, pool, logger, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d event lines: %d machines (%d hosts changed, %d lifecycles changed), %d hardware reports as %d faults "+
		"(%d new, %d already stored), %d lines skipped; trace second 0 = %s; %s\n",
		st.Lines, st.Machines, st.Hosts, st.Lifecycle, st.Reports, st.Faults, st.Accepted, st.Duplicates, st.Skipped,
		st.Start.Format(time.RFC3339), st.Elapsed.Round(time.Millisecond))
	details := make([]string, 0, len(st.NotHardware))
	for d := range st.NotHardware {
		details = append(details, d)
	}
	slices.Sort(details)
	for _, d := range details {
		fmt.Fprintf(stdout, "not hardware, left out: %d softerror %s\n", st.NotHardware[d], d)
	}
	for _, w := range st.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	return nil
}
