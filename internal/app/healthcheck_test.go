package app_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// exitCode is the process's exit status from runCmd's error: 0 for nil.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("not an exit status: %v", err)
	}
	return ee.ExitCode()
}

func portOf(t *testing.T, hostport string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(hostport, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestHealthcheck drives `referral-api healthcheck` (the container health
// check of docker-compose.yml) against the real server and against stand-ins
// that answer wrongly or not at all.
func TestHealthcheck(t *testing.T) {
	dir := t.TempDir()
	p := startServer(t, dir, nil)
	port := portOf(t, p.base)

	t.Run("healthy server, HTTP_ADDR", func(t *testing.T) {
		// Only the port counts: the probe always dials 127.0.0.1.
		stdout, stderr, err := runCmd(t, t.TempDir(), []string{"HTTP_ADDR=:" + port}, "healthcheck")
		if exitCode(t, err) != 0 || stdout != "" {
			t.Fatalf("exit %v, stdout %q, stderr %q; want 0 and no output", err, stdout, stderr)
		}
	})
	t.Run("healthy server, PORT", func(t *testing.T) {
		_, stderr, err := runCmd(t, t.TempDir(), []string{"PORT=" + port}, "healthcheck")
		if exitCode(t, err) != 0 {
			t.Fatalf("exit %v: %s", err, stderr)
		}
	})
	t.Run("HTTP_ADDR wins over PORT", func(t *testing.T) {
		_, stderr, err := runCmd(t, t.TempDir(), []string{"HTTP_ADDR=127.0.0.1:" + port, "PORT=1"}, "healthcheck")
		if exitCode(t, err) != 0 {
			t.Fatalf("exit %v: %s", err, stderr)
		}
	})
	t.Run("ignores the rest of the configuration", func(t *testing.T) {
		// The server would refuse this configuration; the probe reads only the address.
		env := []string{"HTTP_ADDR=:" + port, "DATABASE_URL=postgres://nowhere/x", "JWT_SECRET=short"}
		_, stderr, err := runCmd(t, t.TempDir(), env, "healthcheck")
		if exitCode(t, err) != 0 {
			t.Fatalf("exit %v: %s", err, stderr)
		}
	})

	unhealthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer unhealthy.Close()
	redirect := httptest.NewServer(http.RedirectHandler("/elsewhere", http.StatusFound))
	defer redirect.Close()
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release) // runs before hanging.Close, which waits for the handler
	closed := freeAddr(t)

	fails := []struct {
		name, env, want string
	}{
		{"503", "HTTP_ADDR=:" + portOf(t, unhealthy.URL), "503"},
		{"redirect", "HTTP_ADDR=:" + portOf(t, redirect.URL), "302"},
		{"nothing listening", "HTTP_ADDR=" + closed, "refused"},
		{"bad PORT", "PORT=http", "PORT"},
		{"no port", "HTTP_ADDR=localhost", "HTTP_ADDR"},
	}
	for _, tc := range fails {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := runCmd(t, t.TempDir(), []string{tc.env}, "healthcheck")
			if exitCode(t, err) != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %v, stderr %q; want exit 1 naming %q", err, stderr, tc.want)
			}
		})
	}

	t.Run("gives up after 3s", func(t *testing.T) {
		start := time.Now()
		_, stderr, err := runCmd(t, t.TempDir(), []string{"HTTP_ADDR=:" + portOf(t, hanging.URL)}, "healthcheck")
		took := time.Since(start)
		if exitCode(t, err) != 1 || !strings.Contains(stderr, "deadline exceeded") {
			t.Fatalf("exit %v, stderr %q; want exit 1 after the timeout", err, stderr)
		}
		if took < 2900*time.Millisecond || took > 10*time.Second {
			t.Fatalf("took %v; want about 3s", took)
		}
	})

	t.Run("extra arguments", func(t *testing.T) {
		_, stderr, err := runCmd(t, t.TempDir(), []string{"HTTP_ADDR=:" + port}, "healthcheck", "now")
		if exitCode(t, err) != 1 || !strings.Contains(stderr, "usage") {
			t.Fatalf("exit %v, stderr %q", err, stderr)
		}
	})

	// Once the server has stopped, the probe fails.
	p.stop(t)
	_, _, err := runCmd(t, t.TempDir(), []string{"HTTP_ADDR=:" + port}, "healthcheck")
	if exitCode(t, err) != 1 {
		t.Fatalf("after stop: exit %v, want 1", err)
	}

	// The usage text lists the command.
	stdout, _, err := runCmd(t, t.TempDir(), nil, "help")
	if err != nil || !strings.Contains(stdout, "referral-api healthcheck") {
		t.Fatalf("help: %v\n%s", err, stdout)
	}
}
