package referral_test

import (
	"context"
	"errors"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

func creditProgram(t *testing.T, svc *referral.Service, when string, amount referral.Amounts) referral.Program {
	t.Helper()
	p, err := svc.CreateProgram(context.Background(), "ops", referral.ProgramPatch{
		Name: ptr("Give and get"), Referrer: &referral.RewardPatch{Percent: ptr("10"), HoldDays: ptr(0)},
		Friend: &referral.FriendReward{Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: amount, When: when}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// creditOf sums a user's credit entries in a currency and counts them.
func creditOf(t *testing.T, svc *referral.Service, user, currency string) (sum int64, n int) {
	t.Helper()
	items, _, err := svc.Ledger(context.Background(), referral.LedgerFilter{UserID: user, Currency: currency, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range items {
		if e.Type == referral.EntryCredit {
			sum += e.Amount
			n++
		}
	}
	return sum, n
}

// TestFriendCredit: the referred friend's account credit, at signup or on
// qualification, once per referral; reversed when the referral is
// cancelled before the credit is paid out, kept after; paid out like any
// balance.
func TestFriendCredit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		check := func(step, user string, want int64, entries int) {
			t.Helper()
			sum, n := creditOf(t, svc, user, "usd")
			if sum != want || n != entries {
				t.Fatalf("%s: %s's credit entries sum %d (%d), want %d (%d)", step, user, sum, n, want, entries)
			}
			if b, l := balanceOf(t, svc, user, "usd"), ledgerSum(t, svc, user, "usd"); b != l {
				t.Fatalf("%s: %s's balance %d, ledger %d", step, user, b, l)
			}
		}

		// At signup: credited when attributed, once however often retried.
		signup := creditProgram(t, svc, referral.CreditAtSignup, referral.Amounts{"usd": 1000})
		referIn(t, svc, signup.ID, "r", "f1")
		c, _ := svc.GetOrCreateProgramCode(ctx, "r", signup.ID)
		if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "f1", Code: c.Code}); err != nil {
			t.Fatal(err)
		}
		check("signup", "f1", 1000, 1)
		mustPay(t, svc, "p1", "f1", 5000)
		check("signup, then paid", "f1", 1000, 1)
		if got := balanceOf(t, svc, "r", "usd"); got != 500 {
			t.Fatalf("referrer's balance %d", got)
		}
		// The friend's credit is paid out like any balance.
		if p, _, err := svc.RequestPayout(ctx, manual("f1", "credit")); err != nil || p.Amount != 1000 {
			t.Fatalf("friend's payout: %+v %v", p, err)
		}
		// Cancelled after payout: the credit stays (the referrer's reward is reversed).
		mustClaim(t, svc, refund("x1", "p1", 5000))
		check("refund after payout", "f1", 1000, 1)
		// Cancelled before payout: reversed.
		referIn(t, svc, signup.ID, "r", "f2")
		check("signup 2", "f2", 1000, 1)
		ref2, _ := st.ReferralByReferredUser(ctx, "f2")
		if _, err := svc.Cancel(ctx, ref2.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		check("cancelled", "f2", 0, 2)

		// On qualification: in the payment's currency ("*" for any).
		qual := creditProgram(t, svc, referral.CreditAtQualified, referral.Amounts{"usd": 700, "*": 300})
		referIn(t, svc, qual.ID, "r", "g1")
		check("not qualified yet", "g1", 0, 0)
		mustPay(t, svc, "q1", "g1", 5000)
		mustPay(t, svc, "q1", "g1", 5000)
		check("qualified", "g1", 700, 1)
		referIn(t, svc, qual.ID, "r", "g2")
		mustPayIn(t, svc, "q2", "g2", 5000, "eur")
		if sum, _ := creditOf(t, svc, "g2", "eur"); sum != 300 {
			t.Fatalf("eur credit %d", sum)
		}
		// A full refund before payout cancels the referral: reversed; a
		// won dispute would restore it, a new payment does not (the
		// referral stays cancelled).
		mustClaim(t, svc, refund("y1", "q1", 5000))
		check("refunded", "g1", 0, 2)

		// Invalid credits are refused before anything is stored.
		for _, tc := range []struct {
			name  string
			fr    referral.FriendReward
			field string
		}{
			{"no credit", referral.FriendReward{Type: referral.FriendCredit}, "friendReward.credit"},
			{"signup in any currency", referral.FriendReward{Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: referral.Amounts{"*": 5}, When: "signup"}}, "friendReward.credit.amount"},
			{"signup in two currencies", referral.FriendReward{Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: referral.Amounts{"usd": 5, "eur": 5}, When: "signup"}}, "friendReward.credit.amount"},
			{"zero", referral.FriendReward{Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: referral.Amounts{"usd": 0}, When: "qualified"}}, "friendReward.credit.amount"},
			{"bad when", referral.FriendReward{Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: referral.Amounts{"usd": 5}, When: "later"}}, "friendReward.credit.when"},
			{"credit on none", referral.FriendReward{Type: referral.FriendNone, Credit: &referral.CreditReward{Amount: referral.Amounts{"usd": 5}, When: "signup"}}, "friendReward.credit"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := svc.UpdateProgram(ctx, "ops", qual.ID, referral.ProgramPatch{Friend: &tc.fr})
				var ve *referral.ValidationError
				if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
					t.Fatalf("err = %v, want %s named", err, tc.field)
				}
			})
		}
	})
}
