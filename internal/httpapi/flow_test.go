package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/refhub/referral-service/pkg/referralapi"
)

// getCode returns the user's referral code through the API.
func getCode(t *testing.T, s *server, user string) referralapi.ReferralCode {
	t.Helper()
	res := s.do(t, request{method: "GET", path: "/v1/me/referral-code", token: s.token(user)})
	if res.Status != http.StatusOK {
		t.Fatalf("get code: %d %s", res.Status, res.Body)
	}
	var c referralapi.ReferralCode
	res.decode(t, &c)
	return c
}

func attribute(t *testing.T, s *server, referred, code string, extra map[string]string) response {
	t.Helper()
	body := map[string]string{"referredUserId": referred, "code": code}
	for k, v := range extra {
		body[k] = v
	}
	return s.do(t, request{method: "POST", path: "/v1/referrals", token: s.token("backend", "service"), body: jsonBody(t, body)})
}

func pay(t *testing.T, s *server, paymentID, user string, amount int64, currency string) response {
	t.Helper()
	body := map[string]any{"paymentId": paymentID, "userId": user, "amount": amount, "currency": currency}
	return s.do(t, request{method: "POST", path: "/v1/payments", token: s.token("backend", "service"), body: jsonBody(t, body)})
}

// TestSeedFlow walks the README's flow: a code, a friend attributed, the
// friend's first payment qualifies the referral and credits 20%, and the
// dashboard shows it.
func TestSeedFlow(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1")
		if !regexp.MustCompile(`^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$`).MatchString(code.Code) {
			t.Fatalf("code %q", code.Code)
		}
		if code.URL != testAppURL+"/?ref="+code.Code {
			t.Fatalf("url = %q", code.URL)
		}
		if again := getCode(t, s, "u1"); again.Code != code.Code {
			t.Fatalf("second call gave %q, first %q", again.Code, code.Code)
		}

		// A user with a code but no referrals sees zeros for every status.
		var stats referralapi.ReferralStats
		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token("u1")}).decode(t, &stats)
		if stats.Code == nil || *stats.Code != code.Code || stats.Total != 0 {
			t.Fatalf("empty stats = %+v", stats)
		}

		res := attribute(t, s, "u2", strings.ToLower(code.Code), map[string]string{"email": "jane@example.com"})
		if res.Status != http.StatusCreated {
			t.Fatalf("attribute: %d %s", res.Status, res.Body)
		}
		var ref referralapi.Referral
		res.decode(t, &ref)
		if ref.Status != "PENDING" || ref.ReferrerID != "u1" || ref.ReferredUserID != "u2" || ref.Code != code.Code || ref.RewardAmount != nil {
			t.Fatalf("referral = %+v", ref)
		}
		attribute(t, s, "u3", code.Code, nil)

		res = pay(t, s, "pay_123", "u2", 10000, "usd")
		var pr referralapi.PaymentResult
		res.decode(t, &pr)
		if res.Status != http.StatusOK || !pr.Qualified || pr.Referral == nil || pr.Referral.Status != "QUALIFIED" || *pr.Referral.RewardAmount != 2000 || *pr.Referral.RewardCurrency != "usd" || pr.Referral.QualifiedAt == nil {
			t.Fatalf("payment: %d %s", res.Status, res.Body)
		}
		// A repeat changes nothing and returns the original referral.
		var repeat referralapi.PaymentResult
		pay(t, s, "pay_123", "u2", 10000, "usd").decode(t, &repeat)
		if repeat.Qualified || repeat.Referral == nil || repeat.Referral.ID != ref.ID {
			t.Fatalf("repeat = %+v", repeat)
		}
		// A second payment by the same user earns nothing more.
		var second referralapi.PaymentResult
		pay(t, s, "pay_124", "u2", 50000, "usd").decode(t, &second)
		if second.Qualified || second.Referral != nil {
			t.Fatalf("second payment = %+v", second)
		}

		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token("u1")}).decode(t, &stats)
		if stats.Total != 2 || stats.ByStatus.Qualified.Count != 1 || stats.ByStatus.Qualified.RewardAmount["usd"] != 2000 ||
			stats.ByStatus.Pending.Count != 1 || len(stats.ByStatus.Pending.RewardAmount) != 0 ||
			stats.ByStatus.Rewarded.Count != 0 || stats.ByStatus.Cancelled.Count != 0 {
			t.Fatalf("stats = %+v", stats)
		}

		var page referralapi.ReferralPage
		s.do(t, request{method: "GET", path: "/v1/me/referrals", token: s.token("u1")}).decode(t, &page)
		if len(page.Items) != 2 || page.NextCursor != nil {
			t.Fatalf("history = %+v", page)
		}
		if page.Items[0].ReferredUser != "u***" || page.Items[1].ReferredUser != "j***@example.com" {
			t.Fatalf("labels = %q, %q", page.Items[0].ReferredUser, page.Items[1].ReferredUser)
		}
		for _, it := range page.Items {
			if strings.Contains(string(mustMarshal(t, it)), "jane@") {
				t.Fatalf("history leaks the referred user's email: %+v", it)
			}
		}

		var bal referralapi.Balances
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("u1")}).decode(t, &bal)
		if len(bal.Balances) != 1 || bal.Balances[0].Currency != "usd" || bal.Balances[0].Amount != 2000 {
			t.Fatalf("balance = %+v", bal)
		}

		// The referred user sees only their own (empty) data.
		var other referralapi.ReferralStats
		s.do(t, request{method: "GET", path: "/v1/me/referrals/stats", token: s.token("u2")}).decode(t, &other)
		if other.Code != nil || other.Total != 0 {
			t.Fatalf("u2 sees %+v", other)
		}
		var otherBal referralapi.Balances
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("u2")}).decode(t, &otherBal)
		if len(otherBal.Balances) != 0 {
			t.Fatalf("u2 balance = %+v", otherBal)
		}
	})
}

func TestAttributionRules(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		c1 := getCode(t, s, "u1")
		c9 := getCode(t, s, "u9")
		first := attribute(t, s, "u2", "  "+c1.Code+" ", nil)
		if first.Status != http.StatusCreated {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		retry := attribute(t, s, "u2", strings.ToLower(c1.Code), nil)
		if retry.Status != http.StatusOK || string(retry.Body) != string(first.Body) {
			t.Fatalf("retry: %d %s, want 200 %s", retry.Status, retry.Body, first.Body)
		}
		attribute(t, s, "u2", c9.Code, nil).problem(t, http.StatusConflict, "referral_exists")
		attribute(t, s, "u4", "ZZZZ2222", nil).problem(t, http.StatusNotFound, "code_not_found")
		attribute(t, s, "u1", c1.Code, nil).problem(t, http.StatusUnprocessableEntity, "self_referral")
	})
}

func TestHistoryPagesAndFilters(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "boss")
		for i := range 5 {
			if res := attribute(t, s, fmt.Sprintf("friend-%02d", i), code.Code, nil); res.Status != http.StatusCreated {
				t.Fatalf("attribute: %s", res.Body)
			}
		}
		pay(t, s, "p-1", "friend-01", 999, "eur")

		var seen []string
		path := "/v1/me/referrals?limit=2"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			var page referralapi.ReferralPage
			s.do(t, request{method: "GET", path: path, token: s.token("boss")}).decode(t, &page)
			for _, it := range page.Items {
				seen = append(seen, it.ReferredUser)
			}
			if page.NextCursor == nil {
				break
			}
			path = "/v1/me/referrals?limit=2&cursor=" + *page.NextCursor
		}
		want := "[f***04 f***03 f***02 f***01 f***00]"
		if fmt.Sprint(seen) != want {
			t.Fatalf("history = %v, want %v", seen, want)
		}

		var qualified referralapi.ReferralPage
		s.do(t, request{method: "GET", path: "/v1/me/referrals?status=QUALIFIED", token: s.token("boss")}).decode(t, &qualified)
		if len(qualified.Items) != 1 || *qualified.Items[0].RewardAmount != 199 || *qualified.Items[0].RewardCurrency != "eur" {
			t.Fatalf("qualified = %+v", qualified)
		}
		var capped referralapi.ReferralPage
		s.do(t, request{method: "GET", path: "/v1/me/referrals?limit=5000", token: s.token("boss")}).decode(t, &capped)
		if len(capped.Items) != 5 {
			t.Fatalf("limit=5000 gave %d items", len(capped.Items))
		}

		for _, bad := range []struct{ query, code string }{
			{"status=paid", "invalid_request"},
			{"status=pending", "invalid_request"},
			{"limit=0", "invalid_request"},
			{"limit=-3", "invalid_request"},
			{"limit=ten", "invalid_request"},
			{"cursor=not-a-cursor!", "invalid_cursor"},
			{"cursor=cmVmX2Zha2U", "invalid_cursor"},
		} {
			s.do(t, request{method: "GET", path: "/v1/me/referrals?" + bad.query, token: s.token("boss")}).problem(t, http.StatusBadRequest, bad.code)
		}
	})
}

func TestRewardPercentDecimal(t *testing.T) {
	eachBackend(t, serverOpts{percent: "12.5"}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1")
		attribute(t, s, "u2", code.Code, nil)
		var pr referralapi.PaymentResult
		pay(t, s, "p", "u2", 999, "usd").decode(t, &pr)
		if pr.Referral == nil || *pr.Referral.RewardAmount != 124 {
			t.Fatalf("reward for 999 at 12.5%% = %+v, want 124", pr.Referral)
		}
	})
}

func TestOperationalEndpoints(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		if res := s.do(t, request{method: "GET", path: "/healthz"}); res.Status != http.StatusOK {
			t.Fatalf("healthz = %d", res.Status)
		}
		if res := s.do(t, request{method: "GET", path: "/readyz"}); res.Status != http.StatusOK {
			t.Fatalf("readyz = %d", res.Status)
		}
		// The served spec is the generated one.
		res := send(t, s.url, request{method: "GET", path: "/swagger/doc.json"})
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"operationId": "createReferral"`) {
			t.Fatalf("doc.json: %d", res.Status)
		}
		if res := send(t, s.url, request{method: "GET", path: "/swagger/index.html"}); res.Status != http.StatusOK {
			t.Fatalf("swagger ui: %d", res.Status)
		}
		// The OpenAPI 3 document is served byte for byte, and the UI offers it.
		res = send(t, s.url, request{method: "GET", path: "/openapi.json"})
		committed, err := os.ReadFile("../../api/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != http.StatusOK || !bytes.Equal(res.Body, committed) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("openapi.json: %d %s, %d bytes of %d", res.Status, res.Header.Get("Content-Type"), len(res.Body), len(committed))
		}
		if res := send(t, s.url, request{method: "GET", path: "/swagger/index.html"}); !strings.Contains(string(res.Body), `url: "..\/openapi.json"`) {
			t.Fatalf("swagger ui does not offer ../openapi.json:\n%s", res.Body)
		}
		// A valid incoming request id is echoed; an invalid one replaced.
		res = s.do(t, request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "trace-123"}})
		if got := res.Header.Get("X-Request-Id"); got != "trace-123" {
			t.Fatalf("request id = %q, want echo", got)
		}
		res = s.do(t, request{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "bad id\twith <html>"}})
		if got := res.Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " <\t") {
			t.Fatalf("invalid request id was echoed: %q", got)
		}
		// Once the database is gone, readiness says so.
		if err := s.store.Close(); err != nil {
			t.Fatal(err)
		}
		if res := s.do(t, request{method: "GET", path: "/readyz"}); res.Status != http.StatusServiceUnavailable {
			t.Fatalf("readyz without database = %d", res.Status)
		}
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("u1")}).problem(t, http.StatusInternalServerError, "internal_error")
	})
}

func TestLedgerEndpoint(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1").Code
		for i, amount := range []int64{1000, 2000, 3000} {
			friend := fmt.Sprintf("f%d", i)
			attribute(t, s, friend, code, nil)
			currency := "usd"
			if i == 2 {
				currency = "eur"
			}
			pay(t, s, "p"+friend, friend, amount, currency)
		}
		var page referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions?limit=2", token: s.token("u1")}).decode(t, &page)
		if len(page.Items) != 2 || page.NextCursor == nil || page.Items[0].Amount != 600 || page.Items[0].Currency != "eur" || page.Items[0].Type != "reward" || page.Items[0].ReferralID == nil {
			t.Fatalf("first page = %+v", page)
		}
		var rest referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions?limit=2&cursor=" + *page.NextCursor, token: s.token("u1")}).decode(t, &rest)
		if len(rest.Items) != 1 || rest.Items[0].Amount != 200 || rest.NextCursor != nil {
			t.Fatalf("second page = %+v", rest)
		}
		var usd referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions?currency=USD", token: s.token("u1")}).decode(t, &usd)
		if len(usd.Items) != 2 {
			t.Fatalf("usd entries = %+v", usd)
		}
		var bal referralapi.Balances
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: s.token("u1")}).decode(t, &bal)
		if len(bal.Balances) != 2 || bal.Balances[0].Currency != "eur" || bal.Balances[0].Available != 600 || bal.Balances[1].Amount != 600 || bal.Balances[1].Pending != 0 {
			t.Fatalf("balances = %+v", bal)
		}
		// The referral history cursor is not a ledger cursor.
		var refs referralapi.ReferralPage
		s.do(t, request{method: "GET", path: "/v1/me/referrals?limit=1", token: s.token("u1")}).decode(t, &refs)
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions?cursor=" + *refs.NextCursor, token: s.token("u1")}).problem(t, http.StatusBadRequest, "invalid_cursor")
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions?currency=dollars", token: s.token("u1")}).problem(t, http.StatusBadRequest, "invalid_request")
		// Another user's ledger is empty, never someone else's.
		var other referralapi.LedgerPage
		s.do(t, request{method: "GET", path: "/v1/me/balance/transactions", token: s.token("f1")}).decode(t, &other)
		if len(other.Items) != 0 {
			t.Fatalf("f1 sees %+v", other)
		}
	})
}
