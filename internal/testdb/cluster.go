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
	"syscall"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/store"
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
func startCluster() (*cluster, error) { return startClusterWith(false) }

// startClusterWith starts a cluster; crashSafe keeps synchronous commits,
// so a transaction the server acknowledged survives the server's crash
// (the operating system keeps what fsync=off did not flush).
func startClusterWith(crashSafe bool) (*cluster, error) {
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
	syncCommit := "off"
	if crashSafe {
		syncCommit = "on"
	}
	opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -c fsync=off -c synchronous_commit=%s -c full_page_writes=off -c max_connections=400", port, dir, syncCommit)
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

// Server is a throwaway PostgreSQL server of one test, which the test can
// fault: end every connection, restart it, freeze it.
type Server struct {
	c *cluster
	// URL is the server's maintenance database.
	URL string
}

// NewServer starts a server for t alone, which keeps every commit it
// acknowledged through a crash; it is stopped when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	c, err := startClusterWith(true)
	if err != nil {
		t.Fatalf("testdb: start PostgreSQL: %v", err)
	}
	s := &Server{c: c, URL: c.url}
	t.Cleanup(func() {
		_ = s.Thaw()
		c.stop()
	})
	return s
}

// Database creates a migrated database on the server and returns its URL.
func (s *Server) Database(t testing.TB, name string) string {
	t.Helper()
	url, err := CreateDatabase(s.URL, name)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), store.Postgres, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return url
}

// Restart stops the server (ending every connection at once, as a crash or
// failover does) and starts it again on the same port.
func (s *Server) Restart() error {
	logFile := filepath.Join(s.c.dir, "server.log")
	if out, err := s.c.run("pg_ctl", "-D", s.c.pgData, "-l", logFile, "-m", "immediate", "-w", "-t", "60", "restart"); err != nil {
		return fmt.Errorf("pg_ctl restart: %w\n%s", err, out)
	}
	return nil
}

// TerminateConnections ends every connection to database db (as
// pg_terminate_backend does after a failover or by an operator) and
// reports how many it ended.
func (s *Server) TerminateConnections(db string) (int, error) {
	st, err := store.Open(context.Background(), store.Postgres, s.URL)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	sqlDB, err := st.SQLDB()
	if err != nil {
		return 0, err
	}
	var n int
	err = sqlDB.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db).Scan(&n)
	return n, err
}

// pids returns the postmaster's pid and its children's.
func (s *Server) pids() ([]int, error) {
	b, err := os.ReadFile(filepath.Join(s.c.pgData, "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	master, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return nil, err
	}
	pids := []int{master}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: the comm may hold spaces, so read after ")".
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(master) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Freeze stops every process of the server (SIGSTOP): connections stay
// open and nothing answers, as with a hung host or a network partition.
func (s *Server) Freeze() error { return s.signal(syscall.SIGSTOP) }

// Thaw lets a frozen server run again.
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	pids, err := s.pids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %d: %w", pid, err)
		}
	}
	return nil
}
