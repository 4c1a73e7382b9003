package stack

import (
	"time"

	_ "embed"

	"github.com/jackc/pgx/v5"
)

// The package's static SQL, one statement a file (sql/*.sql).
var (
	//go:embed sql/packages_by_ids.sql
	sqlPackagesByIDs string
	//go:embed sql/packages_by_key.sql
	sqlPackagesByKey string
	//go:embed sql/list_packages.sql
	sqlListPackages string
	//go:embed sql/version_packages.sql
	sqlVersionPackages string
	//go:embed sql/versions_by_ids.sql
	sqlVersionsByIDs string
	//go:embed sql/versions_of_stack.sql
	sqlVersionsOfStack string
	//go:embed sql/insert_package.sql
	sqlInsertPackage string
	//go:embed sql/insert_dependencies.sql
	sqlInsertDependencies string
	//go:embed sql/ensure_stack.sql
	sqlEnsureStack string
	//go:embed sql/insert_version.sql
	sqlInsertVersion string
	//go:embed sql/link_packages.sql
	sqlLinkPackages string
	//go:embed sql/count_packages.sql
	sqlCountPackages string
)

var (
	//go:embed sql/load_stacks.sql
	sqlLoadStacks string
	//go:embed sql/load_versions.sql
	sqlLoadVersions string
	//go:embed sql/load_links.sql
	sqlLoadLinks string
	//go:embed sql/load_operations.sql
	sqlLoadOperations string
)

// packageDests returns the scan destinations of the package columns every
// package query selects, and a function that completes p once scanned.
func packageDests(p *Package) ([]any, func()) {
	var (
		hKind, hTarget *string
		hTimeout       *int32
		start, stop    int32
		maxRestarts    int32
		depSvc, depCon []string
	)
	dests := []any{&p.ID, &p.Service, &p.Info.Version, &p.Info.Build, &p.Info.Checksum,
		&p.Info.Source.Kind, &p.Info.Source.URI, &p.Info.Source.Ref, &start, &stop, &hKind, &hTarget, &hTimeout,
		&p.Ops.Restart.Policy, &maxRestarts, &p.RegisteredAt, &depSvc, &depCon}
	return dests, func() {
		p.Ops.StartOrder, p.Ops.StopOrder, p.Ops.Restart.MaxRestarts = int(start), int(stop), int(maxRestarts)
		if hKind != nil && hTarget != nil && hTimeout != nil {
			p.Ops.Health = &HealthCheck{Kind: HealthKind(*hKind), Target: *hTarget, Timeout: time.Duration(*hTimeout) * time.Millisecond}
		}
		p.Ops.DependsOn = make([]Dependency, len(depSvc))
		for i := range depSvc {
			p.Ops.DependsOn[i] = Dependency{Service: depSvc[i], Constraint: depCon[i]}
		}
	}
}

// scanPackage scans a row of package columns preceded by the extra columns
// in lead.
func scanPackage(row pgx.CollectableRow, lead ...any) (*Package, error) {
	p := &Package{}
	dests, done := packageDests(p)
	if err := row.Scan(append(lead, dests...)...); err != nil {
		return nil, err
	}
	done()
	return p, nil
}
