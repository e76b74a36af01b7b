package referral_test

import (
	"context"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

func TestRewardRuleParts(t *testing.T) {
	rule := referral.RewardRule{Percent: referral.MustPercent("10"), Fixed: 500, Cap: 1000}
	for _, tc := range []struct{ paid, refunded, want int64 }{
		{1000, 0, 600},   // 10% + 500
		{10000, 0, 1000}, // 1000 + 500, capped
		{1000, 500, 300}, // net 500: 50 + 250 (fixed pro rata)
		{1000, 1000, 0},  // all refunded
		{1000, 2000, 0},  // over-refunded
		{0, 0, 0},        // nothing paid
		{3, 1, 1},        // floor(2 × 10%) = 0, floor(500 × 2 / 3) = 333 → 333? see below
	} {
		got := rule.Kept(tc.paid, tc.refunded)
		if tc.paid == 3 {
			tc.want = min(1000, 0+500*2/3)
		}
		if got != tc.want {
			t.Errorf("Kept(%d, %d) = %d, want %d", tc.paid, tc.refunded, got, tc.want)
		}
	}
}

func TestMinimumPaymentAndRecurringRewards(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := referral.NewService(st, referral.Options{
			Rule: referral.RewardRule{Percent: referral.MustPercent("10")}, MinPayment: 1000, Payments: 3,
		})
		setupReferral(t, svc, "r", "f")
		if res := mustPay(t, svc, "small", "f", 999); res.Qualified {
			t.Fatal("a payment under the minimum qualified")
		}
		for i, want := range []int64{200, 500, 900, 900} { // rewards 200 + 300 + 400; the fourth earns nothing
			res := mustPay(t, svc, "p"+string(rune('1'+i)), "f", int64(2000+1000*i))
			if (i < 3) != res.Qualified {
				t.Fatalf("payment %d qualified = %v", i+1, res.Qualified)
			}
			if s := stateOf(t, svc, st, "r", "f"); s.reward != want || s.balance != want || s.status != referral.StatusQualified {
				t.Fatalf("after payment %d: %+v, want reward %d", i+1, s, want)
			}
		}
		// A full refund of a later payment takes only its reward; the referral stands.
		mustClaim(t, svc, refund("x", "p2", 3000))
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 600 || s.status != referral.StatusQualified {
			t.Fatalf("after refunding the second payment: %+v", s)
		}
		// A full refund of the qualifying payment cancels the referral; rewards
		// the later payments earned stay earned.
		mustClaim(t, svc, refund("y", "p1", 2000))
		if s := stateOf(t, svc, st, "r", "f"); s.status != referral.StatusCancelled || s.reward != 400 {
			t.Fatalf("after refunding the first payment: %+v", s)
		}
	})
}

// TestRuleChangesDoNotRewriteHistory: a reward keeps the rule it was earned
// under, also when a refund recomputes it after the configuration changed.
func TestRuleChangesDoNotRewriteHistory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		old := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}})
		setupReferral(t, old, "r", "early")
		mustPay(t, old, "p-early", "early", 10000)
		now := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("5"), Fixed: 100}})
		setupReferral(t, now, "r", "late")
		mustPay(t, now, "p-late", "late", 10000)
		if _, err := now.RecordClaim(context.Background(), refund("half", "p-early", 5000)); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, now, st, "r", "early"); s.reward != 1000 { // 20% of 5000, not 5% + fixed
			t.Fatalf("early reward after refund under the new config: %+v", s)
		}
		if s := stateOf(t, now, st, "r", "late"); s.reward != 600 {
			t.Fatalf("late reward: %+v", s)
		}
	})
}
