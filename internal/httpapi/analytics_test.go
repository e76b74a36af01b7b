package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/refhub/referral-service/pkg/referralapi"
)

func TestAnalyticsEndpoints(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		code := getCode(t, s, "u1").Code
		s.follow(t, "GET", "/r/"+code, nil)
		attribute(t, s, "f1", code, nil)
		pay(t, s, "p1", "f1", 10000, "usd")
		waitForClicks(t, s, "u1", 1, 1)
		today := time.Now().UTC().Format(time.DateOnly)

		var ts referralapi.TimeSeries
		s.do(t, request{method: "GET", path: "/v1/me/referrals/timeseries", token: s.token("u1")}).decode(t, &ts)
		last := ts.Buckets[len(ts.Buckets)-1]
		if ts.Interval != "day" || len(ts.Buckets) != 30 || ts.To != today || last.Start != today || last.Clicks != 1 || last.Signups != 1 || last.Qualified != 1 || last.Rewards["usd"] != 2000 {
			t.Fatalf("time series = %+v, last %+v", ts, last)
		}
		s.do(t, request{method: "GET", path: "/v1/me/referrals/timeseries?interval=month&from=2026-01-01&to=" + today, token: s.token("u1")}).decode(t, &ts)
		if ts.Buckets[0].Start != "2026-01-01" {
			t.Fatalf("months = %+v", ts.Buckets)
		}
		for _, q := range []string{"interval=hour", "from=yesterday", "from=2026-11-10&to=2026-11-01", "from=2000-01-01&interval=day"} {
			s.do(t, request{method: "GET", path: "/v1/me/referrals/timeseries?" + q, token: s.token("u1")}).problem(t, http.StatusBadRequest, "invalid_request")
		}

		admin := s.token("ops", "admin")
		var ps referralapi.ProgramStats
		s.do(t, request{method: "GET", path: "/v1/admin/stats", token: admin}).decode(t, &ps)
		if ps.Clicks.Total != 1 || ps.Signups != 1 || ps.Qualified != 1 || ps.Rewarded != 0 || ps.Conversion.SignupRate != 1 || ps.Conversion.QualifyRate != 1 || ps.Rewards["usd"] != 2000 {
			t.Fatalf("program stats = %+v", ps)
		}
		var lb referralapi.Leaderboard
		s.do(t, request{method: "GET", path: "/v1/admin/leaderboard?period=week&limit=5", token: admin}).decode(t, &lb)
		if len(lb.Items) != 1 || lb.Items[0].Rank != 1 || lb.Items[0].UserID != "u1" || lb.Items[0].Qualified != 1 {
			t.Fatalf("leaderboard = %+v", lb)
		}
		s.do(t, request{method: "GET", path: "/v1/admin/leaderboard?period=decade", token: admin}).problem(t, http.StatusBadRequest, "invalid_request")
		s.do(t, request{method: "GET", path: "/v1/admin/stats?from=nope", token: admin}).problem(t, http.StatusBadRequest, "invalid_request")
		s.do(t, request{method: "GET", path: "/v1/admin/leaderboard", token: s.token("u1")}).problem(t, http.StatusForbidden, "forbidden")
		s.do(t, request{method: "GET", path: "/v1/admin/stats", token: s.token("u1")}).problem(t, http.StatusForbidden, "forbidden")
	})
}
