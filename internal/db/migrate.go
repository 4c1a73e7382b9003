package db

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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
	return done, nil
}
