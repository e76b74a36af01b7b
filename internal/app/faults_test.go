package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/testdb"
)

// loadClient sends requests and counts the answers by status.
type loadClient struct {
	mu       sync.Mutex
	statuses map[int]int
	bodies   []string // of answers >= 500
}

func (lc *loadClient) do(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, url, r)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.statuses == nil {
		lc.statuses = map[int]int{}
	}
	lc.statuses[res.StatusCode]++
	if res.StatusCode >= 500 {
		lc.bodies = append(lc.bodies, fmt.Sprintf("%s %s → %d %s", method, url, res.StatusCode, b))
	}
	return res.StatusCode, b
}

// TestDatabaseFaultsUnderLoad: payments and dashboard reads keep coming
// while PostgreSQL ends every connection of the service (twice) and then
// restarts. No request answers 500, every payment is rewarded once, and
// the balance equals its ledger.
func TestDatabaseFaultsUnderLoad(t *testing.T) {
	pg := testdb.NewServer(t)
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + pg.Database(t, "faults"), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"REQUEST_TIMEOUT=25s"} // an immediate restart recovers the database; a loaded machine may need long
	p := startServer(t, dir, env)
	tok := minter(t, dir, env)
	backend, admin, referrer := tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin"), tok("-sub", "ref")
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", referrer, "")
	const friends = 400
	for i := range friends {
		if st, body := call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"f%d","code":%q}`, i, code["code"])); st != http.StatusCreated {
			t.Fatalf("attribute: %d %v", st, body)
		}
	}

	var lc loadClient
	var next atomic.Int64
	var paid atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopLoad := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	t.Cleanup(stopLoad)
	for w := range 12 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if w%3 == 0 { // a dashboard
					lc.do(t, "GET", p.base+"/v1/me/balance", referrer, "")
					lc.do(t, "GET", p.base+"/v1/me/referrals/stats", referrer, "")
					continue
				}
				i := next.Add(1) - 1
				if i >= friends {
					return
				}
				// A backend reports each payment until it gets an answer,
				// as a queue consumer would.
				for {
					st, _ := lc.do(t, "POST", p.base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"pay-%d","userId":"f%d","amount":1000,"currency":"usd"}`, i, i))
					if st == http.StatusOK {
						paid.Add(1)
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	faults := []func() error{
		func() error { _, err := pg.TerminateConnections("faults"); return err },
		func() error { _, err := pg.TerminateConnections("faults"); return err },
		pg.Restart,
		func() error { _, err := pg.TerminateConnections("faults"); return err },
	}
	for _, fault := range faults {
		time.Sleep(700 * time.Millisecond)
		if err := fault(); err != nil {
			t.Fatalf("fault: %v", err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	stopLoad()
	// The payments not yet reported.
	for i := next.Load(); i < friends; i++ {
		if st, _ := lc.do(t, "POST", p.base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"pay-%d","userId":"f%d","amount":1000,"currency":"usd"}`, i, i)); st == http.StatusOK {
			paid.Add(1)
		}
	}
	t.Logf("answers by status: %v", lc.statuses)
	// The restart takes well under the request deadline: retried, no
	// request needs to fail, not even with 503.
	for code, n := range lc.statuses {
		if code >= 500 {
			t.Errorf("%d answers of %d:\n%s", n, code, strings.Join(lc.bodies[:min(len(lc.bodies), 10)], "\n"))
			shown := 0
			for _, line := range strings.Split(p.stderr.String(), "\n") {
				if (strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN")) && shown < 20 {
					t.Logf("server: %s", line)
					shown++
				}
			}
		}
	}
	if paid.Load() != friends {
		t.Fatalf("%d of %d payments recorded", paid.Load(), friends)
	}
	_, bal := call(t, "GET", p.base+"/v1/admin/users/ref/balance", admin, "")
	if fmt.Sprint(bal["balances"]) != fmt.Sprintf("[map[amount:%d available:%d currency:usd pending:0]]", friends*200, friends*200) {
		_, pending := call(t, "GET", p.base+"/v1/admin/referrals?status=PENDING", admin, "")
		t.Fatalf("balance %v, want %d; pending referrals: %v", bal, friends*200, pending)
	}
	sum, entries := ledgerOf(t, p.base, admin, "ref")
	if sum != friends*200 || entries != friends {
		t.Fatalf("ledger: %d entries summing to %d, want %d of 200", entries, sum, friends)
	}
	p.stop(t)
}

// TestFrozenDatabase: with PostgreSQL frozen (every process stopped, its
// connections open and silent), requests answer 503 database_unavailable
// with Retry-After within the request deadline, readiness answers 503, and
// once the database runs again the same requests succeed, once.
func TestFrozenDatabase(t *testing.T) {
	pg := testdb.NewServer(t)
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + pg.Database(t, "frozen"), "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0", "REQUEST_TIMEOUT=2s"}
	p := startServer(t, dir, env)
	tok := minter(t, dir, env)
	backend, referrer := tok("-sub", "backend", "-roles", "service"), tok("-sub", "ref")
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", referrer, "")
	call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"f1","code":%q}`, code["code"]))

	if err := pg.Freeze(); err != nil {
		t.Fatal(err)
	}
	frozen := true
	defer func() {
		if frozen {
			_ = pg.Thaw()
		}
	}()
	payment := `{"paymentId":"pay-1","userId":"f1","amount":1000,"currency":"usd"}`
	type probe struct{ method, path, token, body string }
	probes := []probe{
		{"POST", "/v1/payments", backend, payment},
		{"GET", "/v1/me/balance", referrer, ""},
		{"GET", "/v1/me/referrals/stats", referrer, ""},
		{"GET", "/readyz", "", ""},
	}
	var wg sync.WaitGroup
	for _, pr := range probes {
		wg.Go(func() {
			start := time.Now()
			req, _ := http.NewRequest(pr.method, p.base+pr.path, strings.NewReader(pr.body))
			if pr.token != "" {
				req.Header.Set("Authorization", "Bearer "+pr.token)
			}
			if pr.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
			if err != nil {
				t.Errorf("%s %s: %v", pr.method, pr.path, err)
				return
			}
			defer res.Body.Close()
			took := time.Since(start)
			var body map[string]any
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != http.StatusServiceUnavailable || took > 6*time.Second {
				t.Errorf("%s %s against a frozen database: %d after %s, want 503 within 6s (the deadline is 2s): %v", pr.method, pr.path, res.StatusCode, took, body)
			}
			if pr.path != "/readyz" && (body["code"] != "database_unavailable" || res.Header.Get("Retry-After") == "") {
				t.Errorf("%s %s: %v, Retry-After %q", pr.method, pr.path, body, res.Header.Get("Retry-After"))
			}
		})
	}
	wg.Wait()

	if err := pg.Thaw(); err != nil {
		t.Fatal(err)
	}
	frozen = false
	// The same payment, sent again: it qualifies, once.
	deadline := time.Now().Add(15 * time.Second)
	for {
		st, body := call(t, "POST", p.base+"/v1/payments", backend, payment)
		if st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after thawing: %d %v", st, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, _ := call(t, "GET", p.base+"/readyz", "", ""); st != http.StatusOK {
		t.Fatalf("readyz after thawing: %d", st)
	}
	_, bal := call(t, "GET", p.base+"/v1/me/balance", referrer, "")
	if fmt.Sprint(bal["balances"]) != "[map[amount:200 available:200 currency:usd pending:0]]" {
		t.Fatalf("balance after thawing: %v", bal)
	}
	p.stop(t)
}
