package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/teslaops/tesla/migrations"
)

// Migration is one embedded SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// migrationLockID is the advisory lock that serialises migrators across replicas.
const migrationLockID = 7305_2001

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrations.Files, ".")
	if err != nil {
		return nil, fmt.Errorf("error reading embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and an underscore", name)
		}
		body, err := fs.ReadFile(migrations.Files, name)
		if err != nil {
			return nil, fmt.Errorf("error reading migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations share version %d", out[i].Version)
		}
	}
	return out, nil
}

// MigrationsFingerprint is a hash of every embedded migration; test helpers name
// their template database after it so a changed migration gets a fresh template.
func MigrationsFingerprint() (string, error) {
	ms, err := Migrations()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range ms {
		fmt.Fprintf(h, "%d\x00%s\x00", m.Version, m.SQL)
	}
	// River's schema is part of the template too: a River upgrade with new
	// migrations must build a new template.
	rm, err := riverMigrator()
	if err != nil {
		return "", err
	}
	for _, v := range rm.AllVersions() {
		fmt.Fprintf(h, "river\x00%d\x00%s\x00", v.Version, v.SQLUp)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// SchemaStatus tells how far a database is migrated.
type SchemaStatus struct {
	Current int
	Latest  int
	Pending []Migration
}

// Behind reports whether migrations remain to apply.
func (s SchemaStatus) Behind() bool { return len(s.Pending) > 0 }

const createMigrationTable = `CREATE TABLE IF NOT EXISTS schema_migration (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// Status reads the applied versions and compares them with the embedded ones.
func Status(ctx context.Context, pool *pgxpool.Pool) (SchemaStatus, error) {
	ms, err := Migrations()
	if err != nil {
		return SchemaStatus{}, err
	}
	applied := map[int]bool{}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migration') IS NOT NULL`).Scan(&exists); err != nil {
		return SchemaStatus{}, fmt.Errorf("error reading schema status: %w", err)
	}
	if exists {
		rows, err := pool.Query(ctx, `SELECT version FROM schema_migration`)
		if err != nil {
			return SchemaStatus{}, fmt.Errorf("error reading schema status: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return SchemaStatus{}, fmt.Errorf("error reading schema status: %w", err)
		}
		for _, v := range versions {
			applied[v] = true
		}
	}
	st := SchemaStatus{}
	for _, m := range ms {
		st.Latest = m.Version
		if applied[m.Version] {
			st.Current = m.Version
		} else {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}

// Migrate applies every pending migration, each in its own transaction, holding an
// advisory lock so replicas starting together do not race. It returns the
// migrations it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]Migration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("error acquiring connection for migration: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockID); err != nil {
		return nil, fmt.Errorf("error taking migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrationLockID) //nolint:errcheck
	if _, err := conn.Exec(ctx, createMigrationTable); err != nil {
		return nil, fmt.Errorf("error creating migration table: %w", err)
	}
	st, err := Status(ctx, pool)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range st.Pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migration (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("error applying migration %s: %w", m.Name, err)
		}
		done = append(done, m)
	}
	if err := migrateRiver(ctx, pool); err != nil {
		return done, err
	}
	return done, nil
}

// riverMigrator returns River's own migrator. Its listing of versions needs no
// connection, so the driver is built without a pool.
func riverMigrator() (*rivermigrate.Migrator[pgx.Tx], error) {
	m, err := rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("error building River migrator: %w", err)
	}
	return m, nil
}

// migrateRiver applies River's schema (river_job, river_leader, river_queue…)
// after the project's migrations, through rivermigrate, while the caller holds
// the migration lock. Each River version runs in its own transaction (some
// add enum values a later statement uses, which one transaction cannot). River
// keeps its own version table (river_migration), so a migrated database is
// left untouched: the call is idempotent, and a River upgrade with new
// migrations applies only those.
func migrateRiver(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("error building River migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("error applying River migrations: %w", err)
	}
	return nil
}
