package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/teslaops/tesla/internal/agent"
)

// Run executes the subcommand in args (without the program name). It is the whole
// program: main only builds the context and exits with Run's error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errors.New("no command given")
	}
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, cfg, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, cfg, rest, stdout)
	case "seed":
		return cmdSeed(ctx, cfg, rest, stdout)
	case "token":
		return cmdToken(ctx, cfg, rest, stdout)
	case "admin":
		return cmdAdmin(ctx, cfg, rest, stdout)
	case "db":
		return cmdDB(ctx, cfg, rest, stdout)
	case "jobs":
		return cmdJobs(ctx, cfg, rest, stdout)
	case "bench":
		return cmdBench(ctx, cfg, rest, stdout)
	case "import":
		return cmdImport(ctx, cfg, rest, stdout)
	case "anomaly":
		return cmdAnomaly(rest, stdout, stderr)
	case "yarn":
		return cmdYarn(ctx, cfg, rest, stdout)
	case "agent":
		return cmdAgent(ctx, cfg, rest, stderr)
	case "help", "-h", "--help":
		usage(stdout)
		return nil
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `tesla — operations analytics for big-data compute platforms

Commands:
  serve [--migrate]                 run the portal (API, web app, scheduler, live demo)
  migrate up|status                 apply or show database migrations
  bench fleet [flags]               the fleet benchmark (--hosts --clusters --largest --duration; docs/benchmarks.md)
  seed demo [flags]                 create the demo fleet (--clusters --hosts --largest --people --days --step --seed
                                    --if-empty --tokens-file FILE)
  token create --login L --role R   create an API token (printed alone on the last line)
                [--name N] [--expires 720h] [--scope ingest]
  admin create --login L --name N   create the first ADMIN (and their root BU) and print their token
               [--email E] [--bu CODE] [--bu-name NAME] [--force]
  import inventory FILE             apply a declarative inventory (YAML or CSV: BUs, people, clusters,
               [--dry-run] [--prune] [--format yaml|csv]   hosts; docs/operations.md)
  db ensure                         make sure a database is reachable; print its URL
  jobs list | jobs run NAME          show the scheduled jobs and their last runs; run one now
  import alibaba-v2018 --meta F --usage F [--cluster NAME] [--start RFC3339]
                                    import the Alibaba cluster-trace-v2018 machines and usage
  anomaly score --in F --out F      replay a timestamp,value CSV through the online anomaly detector
  anomaly evaluate --nab DIR        score the detector on the Numenta Anomaly Benchmark (docs/anomaly.md)
  import alibaba-v2017-tasks --file F [--start RFC3339]
                                    import the Alibaba cluster-trace-v2017 batch jobs (batch_task.csv)
  import alibaba-v2017-events --file F [--cluster NAME] [--start RFC3339]
                                    import the Alibaba cluster-trace-v2017 machines and hardware faults (server_event.csv)
  yarn add --cluster C --url U | yarn list | yarn remove --cluster C
                                    set, show or remove the YARN ResourceManager a cluster is polled at
`+agent.Usage+`

Environment:
`)
	for _, e := range envSpec {
		fmt.Fprintf(w, "  %-28s %s (default %s)\n", e.Name, e.Help, e.Default)
	}
}

// newFlags returns a flag set whose errors come back as errors, not exits.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
		return fmt.Errorf("%s: %w (flags: %s)", fs.Name(), err, strings.Join(names, " "))
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
