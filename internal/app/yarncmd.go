package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/ingest/yarn"
)

// cmdYarn sets, lists and removes the YARN ResourceManagers that serve polls
// (`tesla yarn add|list|remove`). Changes are audited as the machine's
// operator's (cli.setYarnTarget, cli.removeYarnTarget).
func cmdYarn(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("yarn: use yarn add --cluster C --url U, yarn list, or yarn remove --cluster C")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("yarn " + sub)
	var in yarn.TargetInput
	switch sub {
	case "add":
		fs.StringVar(&in.Cluster, "cluster", "", "cluster name")
		fs.StringVar(&in.URL, "url", "", "ResourceManager base URL, e.g. http://rm.example.com:8088")
	case "remove":
		fs.StringVar(&in.Cluster, "cluster", "", "cluster name")
	case "list":
	default:
		return fmt.Errorf("yarn: unknown subcommand %q (use add, list or remove)", sub)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sub != "list" && in.Cluster == "" {
		return fmt.Errorf("yarn %s: --cluster is required", sub)
	}
	if sub == "add" && in.URL == "" {
		return errors.New("yarn add: --url is required")
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, log := yarn.NewService(pool), audit.New(pool, logger)
	ctx = cliContext(ctx)
	switch sub {
	case "add":
		t, err := svc.SetTargetAsOperator(ctx, log, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster %s: ResourceManager %s (%s); polled by `tesla serve` (TESLA_YARN=on) every %s\n",
			t.Cluster, t.URL, t.Status, cfg.YarnInterval)
	case "remove":
		if err := svc.RemoveTargetAsOperator(ctx, log, in.Cluster); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cluster %s: ResourceManager removed (what was stored stays)\n", in.Cluster)
	case "list":
		ts, err := svc.ListTargets(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			last := "never"
			if t.LastSuccessAt != nil {
				last = t.LastSuccessAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%-20s %-8s %s  last success %s", t.Cluster, t.Status, t.URL, last)
			if t.LastError != "" {
				fmt.Fprintf(stdout, "  (%s)", t.LastError)
			}
			fmt.Fprintln(stdout)
		}
		if len(ts) == 0 {
			fmt.Fprintln(stdout, "no ResourceManagers set (tesla yarn add --cluster C --url U)")
		}
	}
	return nil
}
