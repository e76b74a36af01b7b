package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

// TestSIGTERMUnderLoad: clicks, payments and dashboard reads keep coming
// while the server gets SIGTERM. Through the drain every request is
// answered (readiness says 503, the listener stays open); afterwards new
// connections are refused, which a client sees before sending anything.
// No answer is a 5xx; every click answered is stored and counted; every
// payment answered 200 has its one reward, and no payment that got no
// answer left a trace; the payments retried against the next process are
// rewarded once.
func TestSIGTERMUnderLoad(t *testing.T) {
	dir := t.TempDir()
	dbURL := testdb.PostgresURL(t)
	const drain = 3 * time.Second
	env := []string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + testJWTSecret, "REWARD_HOLD_DAYS=0",
		"RATE_LIMIT_PUBLIC=off", "RATE_LIMIT_USER=off"}
	p := startServer(t, dir, append(append([]string{}, env...), "SHUTDOWN_DRAIN="+drain.String()))
	tok := minter(t, dir, env)
	backend, admin, referrer := tok("-sub", "backend", "-roles", "service"), tok("-sub", "ops", "-roles", "admin"), tok("-sub", "ref")
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", referrer, "")
	const friends = 2000
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < friends; i = next.Add(1) - 1 {
				if st, body := call(t, "POST", p.base+"/v1/referrals", backend, fmt.Sprintf(`{"referredUserId":"f%d","code":%q}`, i, code["code"])); st != http.StatusCreated {
					t.Errorf("attribute: %d %v", st, body)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	type outcome struct {
		started time.Time
		status  int
		err     error
		what    string
	}
	var mu sync.Mutex
	var outcomes []outcome
	var clicksAnswered atomic.Int64
	paid := make([]atomic.Int32, friends) // 1: answered 200, 2: no answer
	record := func(o outcome) {
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
	}
	do := func(client *http.Client, method, url, token, body string) (int, error) {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequestWithContext(context.Background(), method, url, r)
		req.Header.Set("User-Agent", "Mozilla/5.0 (drain test)")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		_, _ = io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}
	var stop atomic.Bool
	next.Store(0)
	for w := range 12 {
		wg.Go(func() {
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
				Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer client.CloseIdleConnections()
			for !stop.Load() {
				started := time.Now()
				switch w % 3 {
				case 0:
					st, err := do(client, "GET", p.base+"/r/"+code["code"].(string), "", "")
					if st == http.StatusFound {
						clicksAnswered.Add(1)
					}
					record(outcome{started, st, err, "click"})
				case 1:
					i := next.Add(1) - 1
					if i >= friends {
						return
					}
					st, err := do(client, "POST", p.base+"/v1/payments", backend,
						fmt.Sprintf(`{"paymentId":"pay-%d","userId":"f%d","amount":1000,"currency":"usd"}`, i, i))
					switch {
					case st == http.StatusOK:
						paid[i].Store(1)
					case err != nil:
						paid[i].Store(2)
					}
					record(outcome{started, st, err, "payment"})
				default:
					st, err := do(client, "GET", p.base+"/v1/me/referrals/stats", referrer, "")
					record(outcome{started, st, err, "stats"})
				}
			}
		})
	}
	time.Sleep(700 * time.Millisecond)
	signalled := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitExit(t)
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	var during int
	var byStatus = map[string]int{}
	for _, o := range outcomes {
		key := fmt.Sprintf("%s %d", o.what, o.status)
		if o.err != nil {
			key = o.what + " no answer"
		}
		byStatus[key]++
		if o.status >= 500 || (o.err == nil && o.status != http.StatusOK && o.status != http.StatusFound) {
			t.Errorf("%s answered %d", o.what, o.status)
		}
		// Requests sent in the drain (with a margin for the signal's
		// delivery and the listener's close) are all answered.
		if o.started.After(signalled) && o.started.Before(signalled.Add(drain-time.Second)) {
			during++
			if o.err != nil {
				t.Errorf("%s sent %s into the drain got no answer: %v", o.what, o.started.Sub(signalled), o.err)
			}
		}
	}
	t.Logf("outcomes: %v; %d sent during the drain", byStatus, during)
	if during < 100 {
		t.Fatalf("only %d requests sent during the drain: the load did not overlap it", during)
	}

	// What was answered is stored, and nothing else.
	st, err := store.Open(context.Background(), store.Postgres, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, _ := st.SQLDB()
	var stored, counted int64
	if err := db.QueryRow(`SELECT COUNT(*) FROM clicks`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COALESCE(SUM(clicks), 0) FROM referrer_daily WHERE referrer_id = 'ref'`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if stored != clicksAnswered.Load() || counted != stored {
		t.Errorf("clicks: answered %d, stored %d, counted %d", clicksAnswered.Load(), stored, counted)
	}

	p = startServer(t, dir, env)
	var answered, unanswered int
	for i := range friends {
		switch paid[i].Load() {
		case 1:
			answered++
		case 2:
			unanswered++
		}
	}
	sum, entries := ledgerOf(t, p.base, admin, "ref")
	if entries != answered || sum != int64(answered)*200 {
		t.Fatalf("before retries: %d payments answered 200 (%d unanswered), ledger %d entries summing to %d", answered, unanswered, entries, sum)
	}
	// The backend retries what got no answer, and pays the rest.
	next.Store(0)
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < friends; i = next.Add(1) - 1 {
				if paid[i].Load() == 1 {
					continue
				}
				if st, body := call(t, "POST", p.base+"/v1/payments", backend, fmt.Sprintf(`{"paymentId":"pay-%d","userId":"f%d","amount":1000,"currency":"usd"}`, i, i)); st != http.StatusOK {
					t.Errorf("payment %d after restart: %d %v", i, st, body)
					return
				}
			}
		})
	}
	wg.Wait()
	sum, entries = ledgerOf(t, p.base, admin, "ref")
	if entries != friends || sum != friends*200 {
		t.Fatalf("after retries: ledger %d entries summing to %d, want %d of 200", entries, sum, friends)
	}
	p.stop(t)
}
