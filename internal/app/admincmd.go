package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/inventory/invfile"
)

// cmdAdmin bootstraps administration: `admin create` makes the first ADMIN of
// an empty installation (and its root BU) and prints their token.
func cmdAdmin(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("admin: use `admin create --login L --name N [--email E] [--bu CODE] [--bu-name NAME] [--force]`")
	}
	fs := newFlags("admin create")
	in := &inventory.BootstrapAdminInput{}
	fs.StringVar(&in.Login, "login", "", "the admin's login (required)")
	fs.StringVar(&in.Name, "name", "", "the admin's full name (required)")
	fs.StringVar(&in.Email, "email", "", "the admin's email")
	fs.StringVar(&in.BUCode, "bu", "ROOT", "code of the admin's BU; created as a root BU when missing")
	fs.StringVar(&in.BUName, "bu-name", "", "name of the BU when it is created (default: its code)")
	fs.BoolVar(&in.Force, "force", false, "add an ADMIN even though active ones exist; make an existing login an active ADMIN")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if in.Login == "" || in.Name == "" {
		return errors.New("admin create: --login and --name are required")
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	var (
		person *inventory.Person
		secret string
	)
	err = audit.New(pool, logger).Do(cliContext(ctx), "cli.createAdmin", "person:"+in.Login, in, func(tx pgx.Tx) error {
		var err error
		if person, err = inventory.BootstrapAdmin(ctx, tx, in); err != nil {
			return err
		}
		_, secret, err = auth.InsertToken(ctx, tx, auth.TokenSpec{PersonID: person.ID, Name: "admin create", Role: auth.Admin})
		return err
	})
	if err != nil {
		return fmt.Errorf("admin create: %w", err)
	}
	if in.CreatedBU {
		fmt.Fprintf(stdout, "created root BU %s\n", in.BUCode)
	}
	fmt.Fprintf(stdout, "%s (%s) is an ADMIN of BU %s; their token (shown once; store it safely):\n%s\n", person.Login, person.Name, in.BUCode, secret)
	return nil
}

// importInventory applies a declarative inventory file (docs/operations.md).
func importInventory(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := newFlags("import inventory")
	dryRun := fs.Bool("dry-run", false, "show the changes without writing them")
	prune := fs.Bool("prune", false, "deactivate, retire and decommission what the file does not list")
	formatFlag := fs.String("format", "", "yaml or csv (default: from the file's extension)")
	// The file may come before or after the flags.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return parseFlags(fs, args)
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		return errors.New("import inventory: give one file: `import inventory FILE [--dry-run] [--prune] [--format yaml|csv]`")
	}
	file := files[0]
	name := *formatFlag
	if name == "" {
		name = strings.TrimPrefix(filepath.Ext(file), ".")
	}
	format, err := invfile.ParseFormat(name)
	if err != nil {
		return fmt.Errorf("import inventory: %w (set --format)", err)
	}
	content, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("import inventory: %w", err)
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	res, err := invfile.NewImporter(pool, audit.New(pool, logger)).ImportAsOperator(cliContext(ctx), format, content, *dryRun, *prune)
	var bad invfile.Errors
	if errors.As(err, &bad) {
		for _, e := range bad {
			fmt.Fprintf(stdout, "%s: %s\n", file, e.Message)
		}
		return fmt.Errorf("import inventory: %s refused (%d problems); nothing was changed", file, len(bad))
	}
	if err != nil {
		return fmt.Errorf("import inventory: %w", err)
	}
	for _, c := range res.Changes {
		fmt.Fprintln(stdout, c)
	}
	switch {
	case *dryRun:
		fmt.Fprintf(stdout, "dry run: %d changes would be made, %d entries unchanged; nothing was written\n", len(res.Changes), res.Unchanged)
	default:
		fmt.Fprintf(stdout, "applied %d changes, %d entries unchanged\n", len(res.Changes), res.Unchanged)
	}
	return nil
}
