// Package testdb gives tests real databases: a throwaway PostgreSQL cluster
// started from the local binaries (or the server named by TEST_DATABASE_URL),
// a fresh migrated database per test cloned from a template, and SQLite files.
// Tests fail, never skip, when PostgreSQL cannot be had.
package testdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/refhub/referral-service/internal/testutil"
)

// cluster is a PostgreSQL server started for one test process.
type cluster struct {
	dir    string
	pgData string
	bin    string
	asUser string
	url    string
}

// findPGBin returns the directory holding initdb and pg_ctl: from PATH, else
// the newest Debian install under /usr/lib/postgresql.
func findPGBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			resolved, err := filepath.EvalSymlinks(p)
			if err != nil {
				resolved = p
			}
			return filepath.Dir(resolved), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found: install them (apt-get install -y postgresql) or set TEST_DATABASE_URL")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// startCluster initialises and starts a PostgreSQL cluster in a temporary
// directory on a free loopback port, tuned for tests (no fsync). As root it
// runs the server as the postgres user, since initdb refuses root.
func startCluster() (*cluster, error) {
	bin, err := findPGBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "referral-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, pgData: filepath.Join(dir, "data"), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs a postgres user to run the test server as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		c.asUser = "postgres"
	}
	if out, err := c.run("initdb", "-D", c.pgData, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C"); err != nil {
		c.remove()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := testutil.FreePort()
	if err != nil {
		c.remove()
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400", port, dir)
	if out, err := c.run("pg_ctl", "-D", c.pgData, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "120", "-o", opts, "start"); err != nil {
		logText, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		c.remove()
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, logText)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

func (c *cluster) run(tool string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, tool)
	var cmd *exec.Cmd
	if c.asUser != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.Bytes(), err
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return out.Bytes(), fmt.Errorf("%s timed out", tool)
	}
}

// stop shuts the server down at once and deletes its files.
func (c *cluster) stop() {
	_, _ = c.run("pg_ctl", "-D", c.pgData, "-m", "immediate", "-w", "stop")
	c.remove()
}

func (c *cluster) remove() { _ = os.RemoveAll(c.dir) }

// withDatabase returns rawURL pointing at database name.
func withDatabase(rawURL, name string) string {
	base, query, _ := strings.Cut(rawURL, "?")
	if i := strings.Index(base, "://"); i >= 0 {
		if j := strings.Index(base[i+3:], "/"); j >= 0 {
			base = base[:i+3+j]
		}
	}
	out := base + "/" + name
	if query != "" {
		out += "?" + query
	}
	return out
}

// StartServer starts a throwaway PostgreSQL server for tools such as the
// benchmarks and returns its URL and a function that stops and removes it.
func StartServer() (url string, stop func(), err error) {
	c, err := startCluster()
	if err != nil {
		return "", nil, err
	}
	return c.url, c.stop, nil
}

// CreateDatabase creates an empty database on the server at url and returns its URL.
func CreateDatabase(url, name string) (string, error) {
	if err := adminExec(context.Background(), url, fmt.Sprintf(`CREATE DATABASE %q`, name)); err != nil {
		return "", err
	}
	return withDatabase(url, name), nil
}
