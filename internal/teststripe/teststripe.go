// Package teststripe runs stripe-mock (github.com/stripe/stripe-mock
// v0.183.0, the release matching stripe-go v76's API version) for tests, on
// loopback ports. Tests fail, never skip, when it is missing.
package teststripe

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/refhub/referral-service/internal/testutil"
)

// envURL carries the running stripe-mock's URL to the tests of a process.
const envURL = "TEST_STRIPE_MOCK_URL"

// Install is how to get the binary.
const Install = "go install github.com/stripe/stripe-mock@v0.183.0"

// findBinary looks in STRIPE_MOCK_BIN, PATH and Go's bin directory.
func findBinary() (string, error) {
	if p := os.Getenv("STRIPE_MOCK_BIN"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, p := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("stripe-mock not found: %s (make test does this)", Install)
}

// Start runs stripe-mock on free loopback ports, HTTP and HTTPS, and
// publishes its HTTP URL to this process's tests; stop ends it.
func Start() (stop func(), err error) {
	if os.Getenv(envURL) != "" {
		return func() {}, nil
	}
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	httpPort, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	httpsPort, err := testutil.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", fmt.Sprintf("127.0.0.1:%d", httpsPort))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("stripe-mock did not listen on %s: %s", addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Setenv(envURL, "http://"+addr)
	return stop, nil
}

// URL returns the running stripe-mock's base URL; Start must have run.
func URL() (string, error) {
	u := os.Getenv(envURL)
	if u == "" {
		return "", errors.New("stripe-mock is not running: pass teststripe.Start to testdb.Main")
	}
	return u, nil
}
