package workload

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// DefaultMaxP0Jobs is the platform's limit on P0 jobs per BU where the BU has
// no policy of its own (Config.DefaultMaxP0Jobs overrides it).
const DefaultMaxP0Jobs = 5

// priorityRank orders priorities: P0 (0) is the highest.
func priorityRank(p string) int { return int(p[1] - '0') }

// SetPriorityInput asks to set a job's priority.
type SetPriorityInput struct {
	JobID    int64  `json:"jobId"`
	Priority string `json:"priority"`
	Reason   string `json:"reason,omitempty"`
}

// PriorityChange is what the audit log records for setJobPriority: the
// request, and the priority before and after.
type PriorityChange struct {
	Input  SetPriorityInput `json:"input"`
	Before string           `json:"before,omitempty"`
	After  string           `json:"after,omitempty"`
}

// The rules of a priority change, checked in this order (docs/workload.md):
//
//  1. ADMIN may set any priority.
//  2. A BU admin whose BU subtree holds the job's effective BU may raise or
//     lower it; raising it to P0 needs a free P0 slot in the job's BU (its
//     policy, job_priority_policy, or the platform default).
//  3. The job's owner may lower it, never raise it.
//  4. Anyone else is refused.
//
// A rule that refuses says which it is: FORBIDDEN for who may change what,
// BAD_USER_INPUT for the P0 limit and invalid input.
func checkPriorityRule(p *auth.Principal, j *Job, to string) error {
	switch {
	case p.Is(auth.Admin):
		return nil
	case p.Role == auth.BUAdmin && j.BUID != nil && p.InBUSubtree(*j.BUID):
		return nil
	case j.OwnerID != nil && *j.OwnerID == p.PersonID:
		if priorityRank(to) < priorityRank(j.Priority) {
			return fault.Forbiddenf("owner rule: the owner of job %s/%s may lower its priority, not raise it (%s to %s); ask a BU admin of the job's BU",
				j.Namespace, j.Name, j.Priority, to)
		}
		return nil
	}
	return fault.Forbiddenf("priority rule: you may not change the priority of job %s/%s: its owner may lower it, a BU admin of its BU subtree may raise or lower it, an admin may set any",
		j.Namespace, j.Name)
}

// p0LockKey is the advisory lock serialising P0 grants in one BU: a fixed
// high word (so it meets no other lock of the platform) and the BU id.
func p0LockKey(bu int64) int64 { return 0x5030<<48 | bu&(1<<48-1) }

// SetJobPriority sets a job's priority after the rules above, audited with
// the priority before and after. Two grants racing for a BU's last P0 slot
// take turns on the BU's advisory lock, so only one wins.
func (s *Service) SetJobPriority(ctx context.Context, in SetPriorityInput) (*Job, error) {
	change := &PriorityChange{Input: in}
	var out *Job
	err := s.audit.Do(ctx, "setJobPriority", fmt.Sprintf("job:%d", in.JobID), change, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		if len(in.Priority) != 2 || !slices.Contains(jobPriorities, in.Priority) {
			return fault.Field("input.priority", "input.priority: %q is not P0..P4", in.Priority)
		}
		if len(in.Reason) > 500 {
			return fault.Field("input.reason", "input.reason is limited to 500 characters")
		}
		r, err := queries.JobForUpdate(ctx, tx, in.JobID)
		if err != nil {
			return db.Interpret(err, fmt.Sprintf("job %d", in.JobID))
		}
		j := jobFromRow((*dbsqlc.JobsByIDsRow)(r))
		change.Before = j.Priority
		if err := checkPriorityRule(p, j, in.Priority); err != nil {
			return err
		}
		if in.Priority == "P0" && j.Priority != "P0" && !p.Is(auth.Admin) {
			if err := s.checkP0Slot(ctx, tx, j); err != nil {
				return err
			}
		}
		if in.Priority != j.Priority {
			if err := queries.JobSetPriority(ctx, tx, &dbsqlc.JobSetPriorityParams{ID: j.ID, Priority: in.Priority}); err != nil {
				return fmt.Errorf("error setting job priority: %w", err)
			}
		}
		j.Priority, change.After = in.Priority, in.Priority
		out = j
		return nil
	})
	return out, err
}

// checkP0Slot refuses a P0 grant when the job's BU holds its limit of P0
// jobs already; it holds the BU's lock until the transaction ends.
func (s *Service) checkP0Slot(ctx context.Context, tx pgx.Tx, j *Job) error {
	if j.BUID == nil {
		return fault.Field("input.priority", "P0 limit: job %s/%s has no BU, so no BU policy allows it a P0 slot; ask an admin", j.Namespace, j.Name)
	}
	if err := queries.LockBUPriorities(ctx, tx, p0LockKey(*j.BUID)); err != nil {
		return fmt.Errorf("error locking BU priorities: %w", err)
	}
	limit, err := s.maxP0Jobs(ctx, tx, *j.BUID)
	if err != nil {
		return err
	}
	n, err := queries.P0JobsOfBU(ctx, tx, &dbsqlc.P0JobsOfBUParams{BuID: j.BUID, ExceptJob: j.ID})
	if err != nil {
		return fmt.Errorf("error counting P0 jobs: %w", err)
	}
	if n >= int64(limit) {
		return fault.Field("input.priority", "P0 limit: the job's BU has %d P0 jobs, its policy allows %d; lower another of its jobs first or ask an admin", n, limit)
	}
	return nil
}

// maxP0Jobs is a BU's P0 limit: its policy, else the platform default.
func (s *Service) maxP0Jobs(ctx context.Context, q db.DBTX, bu int64) (int, error) {
	rows, err := queries.PriorityPolicy(ctx, q, []int64{bu})
	if err != nil {
		return 0, fmt.Errorf("error loading priority policy: %w", err)
	}
	if len(rows) == 1 {
		return int(rows[0].MaxP0Jobs), nil
	}
	return s.cfg.DefaultMaxP0Jobs, nil
}

// PriorityPolicy is a BU's P0 limit and whether it is the platform default.
type PriorityPolicy struct {
	MaxP0Jobs int
	Default   bool
}

// PriorityPolicies returns the P0 limits of BUs.
func (s *Service) PriorityPolicies(ctx context.Context, bus []int64) (map[int64]PriorityPolicy, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.PriorityPolicy(ctx, s.pool, bus)
	if err != nil {
		return nil, fmt.Errorf("error loading priority policy: %w", err)
	}
	out := make(map[int64]PriorityPolicy, len(bus))
	for _, b := range bus {
		out[b] = PriorityPolicy{MaxP0Jobs: s.cfg.DefaultMaxP0Jobs, Default: true}
	}
	for _, r := range rows {
		out[r.BuID] = PriorityPolicy{MaxP0Jobs: int(r.MaxP0Jobs)}
	}
	return out, nil
}

// SetPriorityPolicyInput sets a BU's P0 limit; nil MaxP0Jobs returns the BU
// to the platform default.
type SetPriorityPolicyInput struct {
	BUID      int64 `json:"buId"`
	MaxP0Jobs *int  `json:"maxP0Jobs"`
}

// SetPriorityPolicy sets a BU's P0 limit. ADMIN only, audited. Lowering it
// below the BU's current P0 jobs is allowed: they keep P0, new grants wait.
func (s *Service) SetPriorityPolicy(ctx context.Context, in SetPriorityPolicyInput) (PriorityPolicy, error) {
	var out PriorityPolicy
	err := s.audit.Do(ctx, "setJobPriorityPolicy", fmt.Sprintf("bu:%d", in.BUID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "setting a BU's P0 limit"); err != nil {
			return err
		}
		if in.MaxP0Jobs == nil {
			if err := queries.PriorityPolicyReset(ctx, tx, in.BUID); err != nil {
				return fmt.Errorf("error saving priority policy: %w", err)
			}
			out = PriorityPolicy{MaxP0Jobs: s.cfg.DefaultMaxP0Jobs, Default: true}
			return nil
		}
		if *in.MaxP0Jobs < 0 || *in.MaxP0Jobs > 10_000 {
			return fault.Field("input.maxP0Jobs", "input.maxP0Jobs must be between 0 and 10000")
		}
		// The BU's P0 lock: a grant running now counts against the old limit
		// or the new one, never a mix.
		if err := queries.LockBUPriorities(ctx, tx, p0LockKey(in.BUID)); err != nil {
			return fmt.Errorf("error locking BU priorities: %w", err)
		}
		if err := queries.PriorityPolicySet(ctx, tx, &dbsqlc.PriorityPolicySetParams{BuID: in.BUID, MaxP0Jobs: int32(*in.MaxP0Jobs)}); err != nil {
			return db.Interpret(err, fmt.Sprintf("BU %d", in.BUID))
		}
		out = PriorityPolicy{MaxP0Jobs: *in.MaxP0Jobs}
		return nil
	})
	return out, err
}

// Config tunes Service. Zero fields take the defaults.
type Config struct {
	// DefaultMaxP0Jobs is the P0 limit of a BU without a policy of its own.
	DefaultMaxP0Jobs int
}

func (c Config) withDefaults() Config {
	c.DefaultMaxP0Jobs = cmp.Or(c.DefaultMaxP0Jobs, DefaultMaxP0Jobs)
	return c
}
