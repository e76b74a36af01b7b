// Package teststripe runs stripe-mock for tests, in two releases: v0.183.0
// serves Stripe API 2023-10-16 (the version stripe-go v76 pins) and
// v0.203.0 the current shapes (an invoice without payment_intent, the
// invoice_payment object, metadata under parent). Payout tests call the
// first; fixture-driven tests take Stripe's own objects from both. Tests
// fail, never skip, when a binary is missing.
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

// Version is one stripe-mock release and the Stripe API version it serves.
type Version struct {
	// Release is stripe-mock's version, e.g. v0.183.0.
	Release string
	// API is the Stripe API version of the objects it serves.
	API string
}

// The two releases the tests run against.
var (
	// V2023 serves API 2023-10-16, the version stripe-go v76 pins.
	V2023 = Version{Release: "v0.183.0", API: "2023-10-16"}
	// VCurrent serves the current shapes (API 2025-03-31 basil and later).
	VCurrent = Version{Release: "v0.203.0", API: "2026-08-26.dahlia"}
)

// Versions lists both releases, oldest first.
func Versions() []Version { return []Version{V2023, VCurrent} }

// Name is a short label for subtests.
func (v Version) Name() string { return "api-" + v.API }

// envURL carries the running stripe-mock's URL to the tests of a process.
func (v Version) envURL() string {
	return "TEST_STRIPE_MOCK_URL_" + strings.NewReplacer(".", "_", "v", "V").Replace(v.Release)
}

// Dir is where `make test-tools` installs a release's binary, each in its
// own directory: $STRIPE_MOCK_DIR, else $(go env GOPATH)/stripe-mock, then
// the release.
func (v Version) Dir() (string, error) {
	base := os.Getenv("STRIPE_MOCK_DIR")
	if base == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err != nil {
			return "", fmt.Errorf("go env GOPATH: %w", err)
		}
		base = filepath.Join(filepath.SplitList(strings.TrimSpace(string(out)))[0], "stripe-mock")
	}
	return filepath.Join(base, v.Release), nil
}

// Install is how to get a release's binary.
func (v Version) Install() string {
	dir, _ := v.Dir()
	return fmt.Sprintf("GOBIN=%s go install github.com/stripe/stripe-mock@%s", dir, v.Release)
}

func (v Version) binary() (string, error) {
	dir, err := v.Dir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "stripe-mock")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("stripe-mock %s not found at %s: %s (make test does this)", v.Release, p, v.Install())
	}
	return p, nil
}

// Start runs both releases of stripe-mock on free loopback ports and
// publishes their URLs to this process's tests; stop ends them.
func Start() (stop func(), err error) {
	var stops []func()
	stopAll := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, v := range Versions() {
		s, err := v.start()
		if err != nil {
			stopAll()
			return nil, err
		}
		stops = append(stops, s)
	}
	return stopAll, nil
}

func (v Version) start() (stop func(), err error) {
	if os.Getenv(v.envURL()) != "" {
		return func() {}, nil
	}
	bin, err := v.binary()
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
		return nil, fmt.Errorf("start stripe-mock %s: %w", v.Release, err)
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
			return nil, fmt.Errorf("stripe-mock %s did not listen on %s: %s", v.Release, addr, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.Setenv(v.envURL(), "http://"+addr)
	return stop, nil
}

// URL returns the base URL of the running stripe-mock of this release.
func (v Version) URL() (string, error) {
	u := os.Getenv(v.envURL())
	if u == "" {
		return "", fmt.Errorf("stripe-mock %s is not running: pass teststripe.Start to testdb.Main", v.Release)
	}
	return u, nil
}

// URL returns the base URL of stripe-mock v0.183.0, the release matching
// stripe-go v76's API version, for the Stripe API calls the service makes.
func URL() (string, error) {
	u, err := V2023.URL()
	if err != nil {
		return "", errors.New("stripe-mock is not running: pass teststripe.Start to testdb.Main")
	}
	return u, nil
}
