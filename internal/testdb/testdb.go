package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/refhub/referral-service/internal/store"
)

// Environment variables shared between Main and the helpers of one test process.
const (
	envURL      = "TEST_DATABASE_URL"
	envTemplate = "TESTDB_TEMPLATE_DATABASE"
)

// Main runs a test package with PostgreSQL available. With TEST_DATABASE_URL
// unset it starts a throwaway cluster and stops it afterwards. Either way it
// creates one migrated template database that each test clones. services
// start further servers the package needs (e.g. teststripe.Start). When
// anything cannot be had, it fails the run rather than skipping.
func Main(m *testing.M, services ...func() (stop func(), err error)) {
	os.Exit(run(m, services))
}

func run(m *testing.M, services []func() (func(), error)) int {
	for _, start := range services {
		stop, err := start()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testdb: cannot start a service the tests need:", err)
			return 1
		}
		defer stop()
	}
	if os.Getenv(envURL) == "" {
		c, err := startCluster()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testdb: cannot start PostgreSQL:", err)
			return 1
		}
		defer c.stop()
		os.Setenv(envURL, c.url)
	}
	name := "tmpl_" + randomSuffix()
	if err := createTemplate(os.Getenv(envURL), name); err != nil {
		fmt.Fprintln(os.Stderr, "testdb: cannot prepare the template database:", err)
		return 1
	}
	defer dropDatabase(os.Getenv(envURL), name)
	os.Setenv(envTemplate, name)
	return m.Run()
}

func createTemplate(url, name string) error {
	ctx := context.Background()
	if err := adminExec(ctx, url, fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Postgres, withDatabase(url, name))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		return err
	}
	return nil
}

func dropDatabase(url, name string) {
	_ = adminExec(context.Background(), url, fmt.Sprintf(`DROP DATABASE IF EXISTS %q WITH (FORCE)`, name))
}

// adminExec runs one statement on the server's maintenance database.
func adminExec(ctx context.Context, url, stmt string) error {
	st, err := store.Open(ctx, store.Postgres, url)
	if err != nil {
		return err
	}
	defer st.Close()
	db, err := st.SQLDB()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresURL returns the URL of a fresh, migrated database for this test,
// dropped when the test ends. The package's TestMain must call Main.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url, tmpl := os.Getenv(envURL), os.Getenv(envTemplate)
	if url == "" || tmpl == "" {
		t.Fatal("testdb: PostgreSQL is not prepared; call testdb.Main(m) from TestMain")
	}
	name := "t_" + randomSuffix()
	if err := adminExec(context.Background(), url, fmt.Sprintf(`CREATE DATABASE %q TEMPLATE %q`, name, tmpl)); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(url, name) })
	return withDatabase(url, name)
}

// Postgres returns a Store on a fresh, migrated PostgreSQL database.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Postgres, PostgresURL(t))
	if err != nil {
		t.Fatalf("testdb: open postgres: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// SQLitePath returns the path of a fresh, migrated SQLite database file.
func SQLitePath(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "referrals.db")
	st, err := store.Open(context.Background(), store.SQLite, path)
	if err != nil {
		t.Fatalf("testdb: open sqlite: %v", err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background(), nil); err != nil {
		t.Fatalf("testdb: migrate sqlite: %v", err)
	}
	return path
}

// SQLite returns a Store on a fresh, migrated SQLite file.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.SQLite, SQLitePath(t))
	if err != nil {
		t.Fatalf("testdb: open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Backend is a database engine tests run against.
type Backend struct {
	Name string
	Open func(t testing.TB) *store.Store
}

// Backends lists PostgreSQL and SQLite; storage tests run on each.
func Backends() []Backend {
	return []Backend{{Name: "postgres", Open: Postgres}, {Name: "sqlite", Open: SQLite}}
}

// Each runs fn as a parallel subtest on every backend.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.Open(t))
		})
	}
}

// Replicas opens n stores on one fresh database of backend ("postgres"
// or "sqlite"), as n replicas of the service would.
func Replicas(t testing.TB, backend string, n int) []*store.Store {
	t.Helper()
	dialect, dsn := store.Postgres, ""
	switch backend {
	case "postgres":
		dsn = PostgresURL(t)
	case "sqlite":
		dialect, dsn = store.SQLite, SQLitePath(t)
	default:
		t.Fatalf("testdb: no backend %q", backend)
	}
	out := make([]*store.Store, 0, n)
	for range n {
		st, err := store.Open(context.Background(), dialect, dsn)
		if err != nil {
			t.Fatalf("testdb: open %s: %v", backend, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out = append(out, st)
	}
	return out
}

// EmptyPostgresURL returns the URL of a fresh database with no schema, for
// tests of the migrations themselves; it is dropped when the test ends.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		t.Fatal("testdb: PostgreSQL is not prepared; call testdb.Main(m) from TestMain")
	}
	name := "e_" + randomSuffix()
	if err := adminExec(context.Background(), url, fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() { dropDatabase(url, name) })
	return withDatabase(url, name)
}
