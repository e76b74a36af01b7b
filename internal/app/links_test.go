package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

// TestClicksSurviveGracefulShutdown: every click the server answered is in
// the database after SIGTERM, although clicks are written in batches.
func TestClicksSurviveGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	dbURL := testdb.PostgresURL(t)
	// 480 hits from one address: more than the default per-address limit.
	env := []string{"DATABASE_URL=" + dbURL, "JWT_SECRET=" + testJWTSecret, "RATE_LIMIT_PUBLIC=off"}
	p := startServer(t, dir, env)
	user, _, _ := runCmd(t, dir, env, "token", "-sub", "u1")
	_, code := call(t, "GET", p.base+"/v1/me/referral-code", strings.TrimSpace(user), "")

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var answered atomic.Int64
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 60 {
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/r/%s?utm_source=w%d", p.base, code["code"], w), nil)
				req.Header.Set("User-Agent", fmt.Sprintf("Mozilla/5.0 (worker %d visit %d)", w, i))
				res, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				loc, _ := url.Parse(res.Header.Get("Location"))
				if res.StatusCode == http.StatusFound && strings.HasPrefix(loc.Query().Get("click"), "clk_") {
					answered.Add(1)
				}
			}
		})
	}
	wg.Wait()
	p.stop(t) // SIGTERM right after the last answer, before any timed flush

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
	if err := db.QueryRow(`SELECT COALESCE(SUM(clicks), 0) FROM referrer_daily WHERE referrer_id = 'u1'`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if answered.Load() != 480 || stored != answered.Load() || counted != stored {
		t.Fatalf("answered %d clicks, stored %d, counted %d", answered.Load(), stored, counted)
	}
}
