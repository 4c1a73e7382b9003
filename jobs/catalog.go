package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// Catalog is the access-checked view of the scheduled jobs that the API serves:
// every signed-in role may see what runs, when, and how it went.
type Catalog struct {
	pool *pgxpool.Pool
	jobs []Job
}

// NewCatalog returns a Catalog of jobs.
func NewCatalog(pool *pgxpool.Pool, jobs []Job) *Catalog { return &Catalog{pool: pool, jobs: jobs} }

// Status returns each job's schedule and recent runs.
func (c *Catalog) Status(ctx context.Context) ([]JobStatus, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return Status(ctx, c.pool, c.jobs)
}

// Runs returns a job's newest n runs.
func (c *Catalog) Runs(ctx context.Context, job string, n int) ([]RunRecord, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if n < 1 || n > 100 {
		return nil, fault.Field("first", "first must be between 1 and 100, got %d", n)
	}
	if _, err := Find(c.jobs, job); err != nil {
		return nil, err
	}
	return Runs(ctx, c.pool, job, n)
}
