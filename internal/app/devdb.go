package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// privatePGDir is where `db ensure` keeps a private PostgreSQL instance when no
// server is reachable.
const privatePGDir = ".tesla/pg"

// cmdDB implements `tesla db ensure`: it makes sure the configured database (or
// the default one) exists, starting a private PostgreSQL under .tesla/pg when no
// server answers and PostgreSQL's binaries are installed, and prints the URL to use
// as its last line.
func cmdDB(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "ensure" {
		return errors.New("db: use `db ensure`")
	}
	dbURL, err := ensureDatabase(ctx, cfg.DatabaseURL, os.Getenv("DATABASE_URL") != "")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, dbURL)
	return nil
}

func ensureDatabase(ctx context.Context, dbURL string, explicit bool) (string, error) {
	err := createDatabaseIfMissing(ctx, dbURL)
	if err == nil {
		return dbURL, nil
	}
	if explicit || !isConnRefused(err) {
		return "", fmt.Errorf("database %s is not usable: %w", RedactURL(dbURL), err)
	}
	privURL, perr := startPrivatePostgres(ctx)
	if perr != nil {
		return "", fmt.Errorf("no PostgreSQL answers at %s and a private one could not be started (%v). "+
			"Install PostgreSQL (e.g. `apt-get install postgresql`) and start it, or set DATABASE_URL", RedactURL(dbURL), perr)
	}
	if err := createDatabaseIfMissing(ctx, privURL); err != nil {
		return "", fmt.Errorf("private PostgreSQL started but the database could not be created: %w", err)
	}
	return privURL, nil
}

// createDatabaseIfMissing connects to the server's maintenance database and
// creates the target database when it does not exist.
func createDatabaseIfMissing(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return errors.New("the URL names no database")
	}
	admin := *u
	admin.Path = "/postgres"
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, admin.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(cctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func isConnRefused(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) || strings.Contains(err.Error(), "connect: connection refused") ||
		strings.Contains(err.Error(), "dial error")
}

// startPrivatePostgres initialises (once) and starts a PostgreSQL cluster under
// .tesla/pg on a free port, and returns its URL. initdb refuses to run as root, so
// as root it runs the binaries as the `postgres` system user.
func startPrivatePostgres(ctx context.Context) (string, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return "", errors.New("initdb not found under /usr/lib/postgresql/*/bin")
	}
	sort.Strings(bins)
	binDir := filepath.Dir(bins[len(bins)-1])
	dir, err := filepath.Abs(privatePGDir)
	if err != nil {
		return "", err
	}
	port := 55432
	var runAs []string
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return "", errors.New("running as root and there is no postgres user to run initdb as")
		}
		runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) error {
		full := append(append([]string{}, runAs...), append([]string{filepath.Join(binDir, name)}, args...)...)
		cmd := exec.CommandContext(ctx, full[0], full[1:]...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		if runAs != nil {
			if out, err := exec.Command("chown", "-R", "postgres", filepath.Dir(dir)).CombinedOutput(); err != nil {
				return "", fmt.Errorf("chown: %w: %s", err, out)
			}
		}
		if err := run("initdb", "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"); err != nil {
			return "", err
		}
	}
	if err := run("pg_ctl", "status", "-D", dir); err != nil {
		opts := "-p " + strconv.Itoa(port) + " -k " + dir + " -c listen_addresses=127.0.0.1"
		if err := run("pg_ctl", "start", "-w", "-D", dir, "-l", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/tesla?sslmode=disable", port), nil
}
