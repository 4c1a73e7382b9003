package invfile

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// MaxContent bounds an inventory file read through the API or the command
// line (a 100,000-host fleet in CSV is about 10 MB).
const MaxContent = 64 << 20

// Importer applies inventory files under access rules, auditing every run.
type Importer struct {
	dbtx  db.DBTX
	audit *audit.Log
}

// NewImporter returns an Importer writing through dbtx, recording runs in log.
func NewImporter(dbtx db.DBTX, log *audit.Log) *Importer {
	return &Importer{dbtx: dbtx, audit: log}
}

// auditInput is what the audit log keeps of an import: never the whole file.
type auditInput struct {
	Format    Format `json:"format"`
	Bytes     int    `json:"bytes"`
	DryRun    bool   `json:"dryRun"`
	Prune     bool   `json:"prune"`
	Changes   int    `json:"changes"`
	Unchanged int    `json:"unchanged"`
}

// Import applies content for the caller, who must be an ADMIN (the inventory
// is the whole platform). It is audited as importInventory, dry runs too.
func (im *Importer) Import(ctx context.Context, format Format, content []byte, dryRun, prune bool) (*Result, error) {
	return im.run(ctx, "importInventory", format, content, Options{DryRun: dryRun, Prune: prune}, func() (*auth.Principal, error) {
		return auth.RequireRole(ctx, auth.Admin, "importing an inventory")
	})
}

// ImportAsOperator applies content for the operator of the machine (`tesla
// import inventory`), who holds the database and so acts as an ADMIN. It is
// audited as cli.importInventory.
func (im *Importer) ImportAsOperator(ctx context.Context, format Format, content []byte, dryRun, prune bool) (*Result, error) {
	return im.run(ctx, "cli.importInventory", format, content, Options{DryRun: dryRun, Prune: prune}, func() (*auth.Principal, error) {
		return nil, nil
	})
}

func (im *Importer) run(ctx context.Context, action string, format Format, content []byte, opt Options,
	check func() (*auth.Principal, error)) (*Result, error) {
	in := &auditInput{Format: format, Bytes: len(content), DryRun: opt.DryRun, Prune: opt.Prune}
	var res *Result
	err := im.audit.Do(ctx, action, "inventory", in, func(tx pgx.Tx) error {
		p, err := check()
		if err != nil {
			return err
		}
		opt.Role = auth.Admin
		if p != nil {
			opt.Role, opt.Self = p.Role, p.Login
		}
		if len(content) > MaxContent {
			return fault.Field("input.content", "an inventory file is limited to %d MB", MaxContent>>20)
		}
		file, err := Parse(format, content)
		if err != nil {
			return err
		}
		if res, err = Apply(ctx, tx, file, opt); err != nil {
			return err
		}
		in.Changes, in.Unchanged = len(res.Changes), res.Unchanged
		return nil
	})
	return res, err
}
