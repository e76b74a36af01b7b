package referral_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/testutil"
)

func refund(id, payment string, amount int64) referral.Claim {
	return referral.Claim{ID: "refund:" + id, Kind: referral.ClaimRefund, PaymentID: payment, Amount: amount, Source: referral.SourceAPI}
}

func mustClaim(t *testing.T, svc *referral.Service, c referral.Claim) referral.ClaimResult {
	t.Helper()
	res, err := svc.RecordClaim(context.Background(), c)
	if err != nil {
		t.Fatalf("claim %s: %v", c.ID, err)
	}
	return res
}

func mustPay(t *testing.T, svc *referral.Service, id, user string, amount int64) referral.PaymentResult {
	t.Helper()
	res, err := svc.RecordPayment(context.Background(), referral.Payment{ID: id, UserID: user, Amount: amount, Currency: "usd", Source: referral.SourceAPI})
	if err != nil {
		t.Fatalf("payment %s: %v", id, err)
	}
	return res
}

// state is what a referrer sees: balance, ledger sum and the referral.
type state struct {
	balance, ledger int64
	status          referral.Status
	reward          int64
}

func stateOf(t *testing.T, svc *referral.Service, st *store.Store, referrer, referred string) state {
	t.Helper()
	ref, err := st.ReferralByReferredUser(context.Background(), referred)
	if err != nil {
		t.Fatal(err)
	}
	s := state{balance: balanceOf(t, svc, referrer, "usd"), ledger: ledgerSum(t, svc, referrer, "usd"), status: ref.Status}
	if ref.RewardAmount != nil {
		s.reward = *ref.RewardAmount
	}
	if s.balance != s.ledger {
		t.Fatalf("balance %d but ledger sums to %d", s.balance, s.ledger)
	}
	return s
}

func TestPartialRefundsReverseProRata(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "pay", "f", 10000)
		steps := []struct {
			claim  referral.Claim
			want   state
			repeat bool
		}{
			{refund("a", "pay", 2500), state{1500, 1500, referral.StatusQualified, 1500}, false},
			{refund("a", "pay", 2500), state{1500, 1500, referral.StatusQualified, 1500}, true},
			{refund("b", "pay", 2501), state{999, 999, referral.StatusQualified, 999}, false},
			{refund("c", "pay", 4999), state{0, 0, referral.StatusCancelled, 0}, false},
			{refund("d", "pay", 100), state{0, 0, referral.StatusCancelled, 0}, false}, // over-refund changes nothing more
		}
		for i, step := range steps {
			res := mustClaim(t, svc, step.claim)
			if res.Duplicate != step.repeat {
				t.Fatalf("step %d: duplicate = %v", i, res.Duplicate)
			}
			if got := stateOf(t, svc, st, "r", "f"); got != step.want {
				t.Fatalf("step %d: state %+v, want %+v", i, got, step.want)
			}
		}
		if _, err := svc.RecordClaim(context.Background(), refund("a", "pay", 9)); !errors.Is(err, referral.ErrRefundConflict) {
			t.Fatalf("reused refund id: %v", err)
		}
		entries, _, err := svc.Ledger(context.Background(), referral.LedgerFilter{UserID: "r", Limit: 10})
		if err != nil || len(entries) != 4 || entries[0].Type != referral.EntryRewardReversal || entries[3].Type != referral.EntryReward {
			t.Fatalf("ledger = %+v %v", entries, err)
		}
	})
}

// TestRefundOrderDoesNotMatter: the same refunds before or after the payment
// end in the same state.
func TestRefundOrderDoesNotMatter(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		setupReferral(t, svc, "r1", "after")
		setupReferral(t, svc, "r2", "before")

		mustPay(t, svc, "p-after", "after", 10000)
		mustClaim(t, svc, refund("x1", "p-after", 3000))
		mustClaim(t, svc, refund("x2", "p-after", 1000))

		mustClaim(t, svc, refund("y1", "p-before", 3000))
		mustClaim(t, svc, refund("y2", "p-before", 1000))
		res := mustPay(t, svc, "p-before", "before", 10000)
		if !res.Qualified || res.Referral == nil || *res.Referral.RewardAmount != 1200 {
			t.Fatalf("payment after its refunds: %+v", res.Referral)
		}
		a, b := stateOf(t, svc, st, "r1", "after"), stateOf(t, svc, st, "r2", "before")
		if a != b || a.reward != 1200 {
			t.Fatalf("refunds after payment: %+v; before payment: %+v", a, b)
		}
		// A full refund before the payment cancels it on arrival.
		setupReferral(t, svc, "r3", "gone")
		mustClaim(t, svc, refund("z", "p-gone", 10000))
		mustPay(t, svc, "p-gone", "gone", 10000)
		if s := stateOf(t, svc, st, "r3", "gone"); s != (state{0, 0, referral.StatusCancelled, 0}) {
			t.Fatalf("fully refunded before payment: %+v", s)
		}
	})
}

func stripePayment(id, charge, user string, amount int64) referral.StripeEffects {
	return referral.StripeEffects{UserID: user, Payment: &referral.Payment{
		ID: id, StripePaymentIntent: id, StripeCharge: charge, Amount: amount, Currency: "usd", Source: referral.SourceStripe,
	}}
}

func chargeRefunded(charge, intent string, total int64) referral.StripeEffects {
	return referral.StripeEffects{Claim: &referral.Claim{
		ID: "charge_refunded:" + charge, Kind: referral.ClaimChargeRefunded, StripeCharge: charge,
		StripePaymentIntent: intent, Amount: total, Source: referral.SourceStripe,
	}}
}

func dispute(id, charge string, amount int64, status string) referral.StripeEffects {
	return referral.StripeEffects{Claim: &referral.Claim{
		ID: "dispute:" + id, Kind: referral.ClaimDispute, StripeCharge: charge, Amount: amount, DisputeStatus: status, Source: referral.SourceStripe,
	}}
}

func TestStripeRefundsAndDisputes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		n := 0
		deliver := func(fx referral.StripeEffects) {
			t.Helper()
			n++
			if _, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: fmt.Sprintf("evt_%d", n), Type: "test"}, fx); err != nil {
				t.Fatal(err)
			}
		}
		// Cumulative refund totals arriving out of order: the largest wins.
		setupReferral(t, svc, "r", "a")
		deliver(stripePayment("pi_a", "ch_a", "a", 10000))
		deliver(chargeRefunded("ch_a", "pi_a", 3000))
		deliver(chargeRefunded("ch_a", "pi_a", 1000)) // an older event, late
		if s := stateOf(t, svc, st, "r", "a"); s.reward != 1400 {
			t.Fatalf("after refunded totals 3000 and 1000: %+v", s)
		}
		// A dispute holds the disputed amount back; winning restores it.
		setupReferral(t, svc, "r", "b")
		deliver(stripePayment("pi_b", "ch_b", "b", 5000))
		deliver(dispute("dp_b", "ch_b", 5000, referral.DisputeOpen))
		if s := stateOf(t, svc, st, "r", "b"); s.reward != 0 || s.status != referral.StatusQualified {
			t.Fatalf("open dispute: %+v", s)
		}
		deliver(dispute("dp_b", "ch_b", 5000, referral.DisputeWon))
		if s := stateOf(t, svc, st, "r", "b"); s.reward != 1000 || s.status != referral.StatusQualified {
			t.Fatalf("won dispute: %+v", s)
		}
		// A lost dispute cancels; a late "created" does not reopen it.
		setupReferral(t, svc, "r", "c")
		deliver(stripePayment("pi_c", "ch_c", "c", 5000))
		deliver(dispute("dp_c", "ch_c", 5000, referral.DisputeLost))
		deliver(dispute("dp_c", "ch_c", 5000, referral.DisputeOpen))
		if s := stateOf(t, svc, st, "r", "c"); s.reward != 0 || s.status != referral.StatusCancelled {
			t.Fatalf("lost dispute: %+v", s)
		}
		// A dispute before the payment is known applies when it arrives.
		setupReferral(t, svc, "r", "d")
		deliver(dispute("dp_d", "ch_d", 5000, referral.DisputeLost))
		deliver(stripePayment("pi_d", "ch_d", "d", 5000))
		if s := stateOf(t, svc, st, "r", "d"); s.reward != 0 || s.status != referral.StatusCancelled {
			t.Fatalf("dispute before payment: %+v", s)
		}
		if got := balanceOf(t, svc, "r", "usd"); got != 1400+1000 {
			t.Fatalf("balance = %d, want 2400", got)
		}
	})
}

func TestConcurrentRefundsOfOnePayment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "pay", "f", 10000)
		const n = 20
		errs := make([]error, n)
		testutil.Concurrently(n, func(i int) {
			// Each refund is delivered twice, at once.
			_, errs[i] = svc.RecordClaim(context.Background(), refund(fmt.Sprintf("r%d", i%10), "pay", 400))
		})
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// Ten refunds of 400: floor((10000 − 4000) × 20%) = 1200.
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 1200 || s.balance != 1200 {
			t.Fatalf("state = %+v", s)
		}
	})
}

// TestRefundRacingItsPayment: a refund and the payment it refunds arrive at
// the same moment; the refund is never lost.
func TestRefundRacingItsPayment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		for round := range 10 {
			referred := fmt.Sprintf("f%d", round)
			setupReferral(t, svc, "r", referred)
			payID := "pay-" + referred
			errs := make([]error, 2)
			testutil.Concurrently(2, func(i int) {
				if i == 0 {
					_, errs[i] = svc.RecordPayment(context.Background(), referral.Payment{ID: payID, UserID: referred, Amount: 10000, Currency: "usd", Source: referral.SourceAPI})
				} else {
					_, errs[i] = svc.RecordClaim(context.Background(), refund("re-"+referred, payID, 5000))
				}
			})
			if errs[0] != nil || errs[1] != nil {
				t.Fatal(errs)
			}
			if s := stateOf(t, svc, st, "r", referred); s.reward != 1000 {
				t.Fatalf("round %d: reward %d after a racing half refund, want 1000", round, s.reward)
			}
		}
	})
}

// TestCancelRacingPayment: an operator cancels while the payment that would
// qualify the referral arrives; either way no reward survives the cancel.
func TestCancelRacingPayment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		for round := range 10 {
			referred := fmt.Sprintf("f%d", round)
			ref := setupReferral(t, svc, "r", referred)
			errs := make([]error, 2)
			testutil.Concurrently(2, func(i int) {
				if i == 0 {
					_, errs[i] = svc.RecordPayment(context.Background(), referral.Payment{ID: "pay-" + referred, UserID: referred, Amount: 10000, Currency: "usd", Source: referral.SourceAPI})
				} else {
					_, errs[i] = svc.Cancel(context.Background(), ref.ID, "fraud")
				}
			})
			if errs[0] != nil || errs[1] != nil {
				t.Fatal(errs)
			}
			if s := stateOf(t, svc, st, "r", referred); s.status != referral.StatusCancelled || s.reward != 0 {
				t.Fatalf("round %d: %+v", round, s)
			}
		}
		if got := balanceOf(t, svc, "r", "usd"); got != 0 {
			t.Fatalf("balance = %d, want 0", got)
		}
	})
}
