package referral_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/testutil"
)

// bonusLedger sums a user's bonus entries in a currency and counts them.
func bonusLedger(t *testing.T, svc *referral.Service, user, currency string) (sum int64, n int) {
	t.Helper()
	items, _, err := svc.Ledger(context.Background(), referral.LedgerFilter{UserID: user, Currency: currency, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range items {
		if e.Type == referral.EntryBonus {
			sum += e.Amount
			n++
		}
	}
	return sum, n
}

func milestoneProgram(t *testing.T, svc *referral.Service, ms ...referral.Milestone) referral.Program {
	t.Helper()
	p, err := svc.CreateProgram(context.Background(), "ops", referral.ProgramPatch{
		Name: ptr("Milestones"), Referrer: &referral.RewardPatch{Percent: ptr("10"), HoldDays: ptr(0)}, Milestones: &ms,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// referIn attributes referred to referrer's code in program.
func referIn(t *testing.T, svc *referral.Service, program, referrer, referred string) {
	t.Helper()
	c, err := svc.GetOrCreateProgramCode(context.Background(), referrer, program)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Attribute(context.Background(), referral.Attribution{ReferredUserID: referred, Code: c.Code}); err != nil {
		t.Fatal(err)
	}
}

// TestMilestoneBonuses: a bonus once per milestone when the count of
// QUALIFIED and REWARDED referrals reaches it; reversed when the count
// falls back before payout (refund, operator cancellation), earned again
// when it climbs back; kept once paid out.
func TestMilestoneBonuses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		prog := milestoneProgram(t, svc,
			referral.Milestone{QualifiedReferrals: 3, Bonus: referral.Amounts{"usd": 1000}},
			referral.Milestone{QualifiedReferrals: 2, Bonus: referral.Amounts{"usd": 5000, "eur": 4000}})
		if prog.Milestones[0].QualifiedReferrals != 2 {
			t.Fatalf("milestones not in order: %+v", prog.Milestones)
		}
		for _, f := range []string{"f1", "f2", "f3", "f4", "f5"} {
			referIn(t, svc, prog.ID, "r", f)
		}
		check := func(step string, wantBonus int64, wantEntries int) {
			t.Helper()
			sum, n := bonusLedger(t, svc, "r", "usd")
			if sum != wantBonus || n != wantEntries {
				t.Fatalf("%s: bonus entries sum %d (%d entries), want %d (%d)", step, sum, n, wantBonus, wantEntries)
			}
			if b, l := balanceOf(t, svc, "r", "usd"), ledgerSum(t, svc, "r", "usd"); b != l {
				t.Fatalf("%s: balance %d, ledger %d", step, b, l)
			}
		}
		mustPay(t, svc, "p1", "f1", 10000)
		check("one referral", 0, 0)
		mustPay(t, svc, "p2", "f2", 10000)
		check("two referrals", 5000, 1)
		mustPay(t, svc, "p2", "f2", 10000) // a repeat
		mustPay(t, svc, "p2b", "f2", 10000)
		check("repeats", 5000, 1)
		if got := balanceOf(t, svc, "r", "usd"); got != 2000+5000 {
			t.Fatalf("balance with bonus %d", got)
		}

		// A full refund drops the count to 1 before payout: reversed.
		mustClaim(t, svc, refund("x2", "p2", 10000))
		check("refund below the milestone", 0, 2)
		// Climbing back pays it again (the reversed one is gone).
		mustPay(t, svc, "p3", "f3", 10000)
		check("back at the milestone", 5000, 3)

		// Paid out: a later fall below the milestone keeps it.
		if _, _, err := svc.RequestPayout(ctx, manual("r", "wire")); err != nil {
			t.Fatal(err)
		}
		mustClaim(t, svc, refund("x3", "p3", 10000))
		check("refund after payout", 5000, 3)
		mustPay(t, svc, "p4", "f4", 10000) // count 2 again: its bonus stands, none more
		check("milestone 2 again", 5000, 3)
		mustPay(t, svc, "p5", "f5", 10000) // count 3
		check("milestone 3", 6000, 4)

		// An operator's cancellation drops the count to 2: milestone 3's
		// unpaid bonus is reversed.
		ref5, err := st.ReferralByReferredUser(ctx, "f5")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Cancel(ctx, ref5.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		check("cancellation", 5000, 5)

		// Another program's referrals do not count here; a program without
		// milestones pays none.
		setupReferral(t, svc, "r", "g1")
		setupReferral(t, svc, "r", "g2")
		mustPay(t, svc, "q1", "g1", 10000)
		mustPay(t, svc, "q2", "g2", 10000)
		check("default program", 5000, 5)

		// The bonus is in the currency of the referral that reaches it.
		eur := milestoneProgram(t, svc, referral.Milestone{QualifiedReferrals: 1, Bonus: referral.Amounts{"eur": 4000}})
		referIn(t, svc, eur.ID, "s", "h1")
		referIn(t, svc, eur.ID, "s", "h2")
		mustPayIn(t, svc, "e1", "h1", 100, "usd") // no usd bonus configured
		if sum, _ := bonusLedger(t, svc, "s", "usd"); sum != 0 {
			t.Fatalf("usd bonus %d", sum)
		}
		if sum, n := bonusLedger(t, svc, "s", "eur"); sum != 0 || n != 0 {
			t.Fatalf("eur bonus %d before an eur referral", sum)
		}
	})
}

// TestMilestoneUnderConcurrency makes the race happen: in every round a
// referrer's pending referrals all pay at once, while some of the
// referrer's earlier referrals are refunded at the same moment, so the
// count crosses the milestones up and down concurrently. Whatever the
// interleaving, each milestone the final count reaches has exactly one
// bonus standing, the bonus entries sum to exactly those bonuses, and the
// balance equals the ledger.
func TestMilestoneUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		prog := milestoneProgram(t, svc,
			referral.Milestone{QualifiedReferrals: 2, Bonus: referral.Amounts{"usd": 1000}},
			referral.Milestone{QualifiedReferrals: 4, Bonus: referral.Amounts{"usd": 3000}})
		const (
			rounds  = 6
			friends = 8
			refunds = 3
		)
		for round := range rounds {
			referrer := fmt.Sprintf("r%d", round)
			// Some referrals qualified before the rush, to be refunded in it.
			for i := range refunds {
				f := fmt.Sprintf("%s-old%d", referrer, i)
				referIn(t, svc, prog.ID, referrer, f)
				mustPay(t, svc, "pay-"+f, f, 1000)
			}
			for i := range friends {
				referIn(t, svc, prog.ID, referrer, fmt.Sprintf("%s-f%d", referrer, i))
			}
			var failures atomic.Int64
			testutil.Concurrently(friends+refunds, func(i int) {
				var err error
				if i < friends {
					f := fmt.Sprintf("%s-f%d", referrer, i)
					_, err = svc.RecordPayment(context.Background(), referral.Payment{ID: "pay-" + f, UserID: f, Amount: 1000, Currency: "usd", Source: referral.SourceAPI})
				} else {
					f := fmt.Sprintf("%s-old%d", referrer, i-friends)
					_, err = svc.RecordClaim(context.Background(), refund("re-"+f, "pay-"+f, 1000))
				}
				if err != nil {
					failures.Add(1)
					t.Errorf("round %d: %v", round, err)
				}
			})
			if failures.Load() > 0 {
				t.FailNow()
			}
			// friends qualified, refunds cancelled: the count is friends.
			want := int64(0)
			for _, m := range prog.Milestones {
				if m.QualifiedReferrals <= friends {
					want += m.Bonus["usd"]
				}
			}
			sum, _ := bonusLedger(t, svc, referrer, "usd")
			if sum != want {
				t.Fatalf("round %d: bonus entries sum to %d, want %d", round, sum, want)
			}
			live, err := st.LiveBonuses(context.Background(), referrer, prog.ID)
			if err != nil || len(live) != 2 {
				t.Fatalf("round %d: standing bonuses %+v %v", round, live, err)
			}
			if b, l := balanceOf(t, svc, referrer, "usd"), ledgerSum(t, svc, referrer, "usd"); b != l || b != want+friends*100 {
				t.Fatalf("round %d: balance %d, ledger %d, want %d", round, b, l, want+friends*100)
			}
		}
	})
}
