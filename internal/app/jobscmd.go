package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/teslaops/tesla/jobs"
)

// cmdJobs lists the scheduled jobs or runs one now, on this machine, recorded in
// scheduler_run like a scheduled run and under the same lock, so it never
// overlaps a run of the same job on a replica.
func cmdJobs(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run") {
		return fmt.Errorf("jobs: use `jobs list` or `jobs run NAME`")
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	all := jobs.Default(pool, cfg.Jobs)
	switch args[0] {
	case "list":
		if len(args) > 1 {
			return fmt.Errorf("jobs list: unexpected argument %q", args[1])
		}
		st, err := jobs.Status(ctx, pool, all)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tEVERY\tLAST RUN\tTOOK\tROWS\tLAST ERROR\tDESCRIPTION")
		for _, j := range st {
			last, took, rows, errText := "never", "-", "-", ""
			if r := j.LastRun; r != nil {
				last = r.StartedAt.UTC().Format(time.RFC3339)
				if d := r.Duration(); d != nil {
					took = d.Round(time.Millisecond).String()
				} else {
					took = "running"
				}
				rows, errText = fmt.Sprint(r.Rows), r.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, j.Interval, last, took, rows, errText, j.Description)
		}
		return tw.Flush()
	default:
		if len(args) != 2 {
			return fmt.Errorf("jobs run: name one job (one of the names `tesla jobs list` shows)")
		}
		job, err := jobs.Find(all, args[1])
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := jobs.Run(ctx, pool, logger, cfg.Replica, job)
		if err != nil {
			return fmt.Errorf("job %s failed: %w", job.Name(), err)
		}
		details, _ := json.Marshal(res.Details)
		fmt.Fprintf(stdout, "%s: %d rows in %s %s\n", job.Name(), res.Rows, time.Since(start).Round(time.Millisecond), details)
		return nil
	}
}
