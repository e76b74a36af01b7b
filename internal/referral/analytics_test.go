package referral_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

// TestAnalyticsOnAKnownDataSet builds a small program day by day and checks
// every number the time series, funnel, leaderboard and stats report.
func TestAnalyticsOnAKnownDataSet(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := &clock{now: day("2026-11-02")}
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Now: c.Now})
		codeA, _ := svc.GetOrCreateCode(ctx, "alice")
		codeB, _ := svc.GetOrCreateCode(ctx, "bob")
		n := 0
		click := func(referrer, code, visitor string, at time.Time) referral.Click {
			n++
			return referral.Click{ID: fmt.Sprintf("clk_%02d", n), Code: code, ReferrerID: referrer, VisitorHash: visitor, CreatedAt: at}
		}
		// Nov 2: alice's link is clicked 3 times by 2 visitors; 2 sign up.
		if err := svc.SaveClicks(ctx, []referral.Click{
			click("alice", codeA.Code, "v1", day("2026-11-02")), click("alice", codeA.Code, "v1", day("2026-11-02").Add(time.Minute)),
			click("alice", codeA.Code, "v2", day("2026-11-02")),
		}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"a1", "a2"} {
			if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: f, Code: codeA.Code}); err != nil {
				t.Fatal(err)
			}
		}
		// Nov 3: bob's friend signs up and pays 50 EUR.
		c.Advance(24 * time.Hour)
		svc.Attribute(ctx, referral.Attribution{ReferredUserID: "b1", Code: codeB.Code})
		mustPayIn(t, svc, "pb1", "b1", 5000, "eur")
		// Nov 4: one more click on alice's link, a new visitor.
		if err := svc.SaveClicks(ctx, []referral.Click{click("alice", codeA.Code, "v3", day("2026-11-04"))}); err != nil {
			t.Fatal(err)
		}
		// Nov 10: a third friend of alice signs up and pays 100 USD.
		c.now = day("2026-11-10")
		svc.Attribute(ctx, referral.Attribution{ReferredUserID: "a3", Code: codeA.Code})
		mustPayIn(t, svc, "pa3", "a3", 10000, "usd")

		days, err := svc.TimeSeries(ctx, "alice", day("2026-11-01"), day("2026-11-14"), referral.IntervalDay)
		if err != nil || len(days) != 14 {
			t.Fatalf("day buckets: %d, %v", len(days), err)
		}
		if b := days[1]; b.Start != "2026-11-02" || b.Clicks != 3 || b.UniqueClicks != 2 || b.Signups != 2 || b.Qualified != 0 {
			t.Fatalf("Nov 2 = %+v", b)
		}
		if b := days[3]; b.Clicks != 1 || b.UniqueClicks != 1 {
			t.Fatalf("Nov 4 = %+v", b)
		}
		if b := days[9]; b.Start != "2026-11-10" || b.Signups != 1 || b.Qualified != 1 || b.Rewards["usd"] != 2000 {
			t.Fatalf("Nov 10 = %+v", b)
		}
		if b := days[0]; b.Clicks+b.Signups+b.Qualified != 0 || len(b.Rewards) != 0 {
			t.Fatalf("an empty day = %+v", b)
		}
		weeks, err := svc.TimeSeries(ctx, "alice", day("2026-11-01"), day("2026-11-14"), referral.IntervalWeek)
		if err != nil || len(weeks) != 3 || weeks[0].Start != "2026-10-26" || weeks[1].Start != "2026-11-02" || weeks[1].Clicks != 4 || weeks[2].Qualified != 1 {
			t.Fatalf("weeks = %+v, %v", weeks, err)
		}
		months, err := svc.TimeSeries(ctx, "", day("2026-11-01"), day("2026-11-30"), referral.IntervalMonth)
		if err != nil || len(months) != 1 || months[0].Signups != 4 || months[0].Qualified != 2 || months[0].Rewards["eur"] != 1000 {
			t.Fatalf("program months = %+v, %v", months, err)
		}
		if _, err := svc.TimeSeries(ctx, "alice", day("2020-01-01"), day("2026-11-30"), referral.IntervalDay); err == nil {
			t.Fatal("a 7-year daily series was accepted")
		}

		f, err := svc.ProgramFunnel(ctx, day("2026-11-01"), day("2026-11-30"))
		if err != nil || f.Clicks != 4 || f.UniqueClicks != 3 || f.Signups != 4 || f.Qualified != 2 || f.Rewarded != 0 || f.Rewards["usd"] != 2000 || f.Rewards["eur"] != 1000 {
			t.Fatalf("funnel = %+v, %v", f, err)
		}
		early, _ := svc.ProgramFunnel(ctx, day("2026-11-01"), day("2026-11-03"))
		if early.Signups != 3 || early.Qualified != 1 || early.Clicks != 3 {
			t.Fatalf("funnel Nov 1-3 = %+v", early)
		}

		leaders, err := svc.Leaderboard(ctx, day("2026-11-01"), 10)
		if err != nil || len(leaders) != 2 || leaders[0].UserID != "alice" || leaders[0].Signups != 3 || leaders[0].Clicks != 4 || leaders[1].Rewards["eur"] != 1000 {
			t.Fatalf("leaders = %+v, %v", leaders, err)
		}
		recent, _ := svc.Leaderboard(ctx, day("2026-11-05"), 10)
		if len(recent) != 1 || recent[0].UserID != "alice" || recent[0].Qualified != 1 {
			t.Fatalf("leaders since Nov 5 = %+v", recent)
		}

		stats, err := svc.Stats(ctx, "alice")
		if err != nil || stats.Clicks != 4 || stats.UniqueClicks != 3 || stats.Total != 3 || stats.SignupRate() != 1 || stats.PaidRate() != 0.3333 {
			t.Fatalf("stats = %+v (signup %v, paid %v), %v", stats, stats.SignupRate(), stats.PaidRate(), err)
		}
	})
}

func mustPayIn(t *testing.T, svc *referral.Service, id, user string, amount int64, currency string) {
	t.Helper()
	if _, err := svc.RecordPayment(context.Background(), referral.Payment{ID: id, UserID: user, Amount: amount, Currency: currency, Source: referral.SourceAPI}); err != nil {
		t.Fatal(err)
	}
}
