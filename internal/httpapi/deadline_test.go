package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/testdb"
)

// TestRequestDeadlineAnswers503: with the database up but the tables a
// request needs locked by someone else, reads and writes answer 503
// database_unavailable with Retry-After at their deadline (not 500), and
// succeed once the lock is gone.
func TestRequestDeadlineAnswers503(t *testing.T) {
	st := testdb.Postgres(t)
	s := newServer(t, st, serverOpts{requestTimeout: 500 * time.Millisecond})
	attribute(t, s, "friend", getCode(t, s, "referrer").Code, nil)

	db, err := st.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN; LOCK TABLE referrals, user_balances IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for _, req := range []request{
		{method: "POST", path: "/v1/payments", token: s.token("backend", "service"), body: `{"paymentId":"p1","userId":"friend","amount":10000,"currency":"usd"}`},
		{method: "GET", path: "/v1/me/balance", token: s.token("referrer")},
		{method: "GET", path: "/v1/me/referrals", token: s.token("referrer")},
	} {
		start := time.Now()
		res := s.do(t, req)
		res.problem(t, http.StatusServiceUnavailable, "database_unavailable")
		if res.Header.Get("Retry-After") == "" || time.Since(start) > 5*time.Second {
			t.Fatalf("%s %s: Retry-After %q after %s", req.method, req.path, res.Header.Get("Retry-After"), time.Since(start))
		}
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if res := pay(t, s, "p1", "friend", 10000, "usd"); res.Status != http.StatusOK {
		t.Fatalf("after the lock: %d %s", res.Status, res.Body)
	}
	if got := balance(t, s, "referrer", "usd"); got != 2000 {
		t.Fatalf("balance %d, want 2000", got)
	}
}
