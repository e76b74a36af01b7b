package referral_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripeapi"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
)

const hold = 14 * 24 * time.Hour

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)} }

// stripeMock returns a credit issuer talking to the test's stripe-mock.
func stripeMock(t *testing.T) referral.CreditIssuer {
	t.Helper()
	url, err := teststripe.URL()
	if err != nil {
		t.Fatal(err)
	}
	return stripeapi.New("sk_test_123", url)
}

func payoutService(st *store.Store, c *clock, credits referral.CreditIssuer) *referral.Service {
	return referral.NewService(st, referral.Options{
		Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Hold: hold, Now: c.Now, Credits: credits,
	})
}

func manual(user, ref string) referral.PayoutRequest {
	return referral.PayoutRequest{UserID: user, Currency: "usd", Method: referral.PayoutManual, Reference: ref}
}

func TestManualPayoutHoldAndClawback(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		svc := payoutService(st, c, nil)
		setupReferral(t, svc, "r", "f1")
		setupReferral(t, svc, "r", "f2")
		mustPay(t, svc, "p1", "f1", 10000)
		mustPay(t, svc, "p2", "f2", 5000)

		c.Advance(24 * time.Hour)
		if _, _, err := svc.RequestPayout(ctx, manual("r", "too-early")); !errors.Is(err, referral.ErrNothingToPay) {
			t.Fatalf("payout inside the hold: %v", err)
		}
		c.Advance(hold)
		p, created, err := svc.RequestPayout(ctx, manual("r", "wire-1"))
		if err != nil || !created || p.Status != referral.PayoutPaid || p.Amount != 3000 || p.PaidAt == nil {
			t.Fatalf("payout: %+v %v %v", p, created, err)
		}
		for _, f := range []string{"f1", "f2"} {
			ref, _ := st.ReferralByReferredUser(ctx, f)
			if ref.Status != referral.StatusRewarded || ref.RewardPaidAt == nil {
				t.Fatalf("%s after payout: %+v", f, ref)
			}
		}
		if s := stateOf(t, svc, st, "r", "f1"); s.balance != 0 {
			t.Fatalf("balance after payout: %+v", s)
		}
		// A refund after payout claws the reward back; the balance goes negative.
		mustClaim(t, svc, refund("late", "p1", 10000))
		if s := stateOf(t, svc, st, "r", "f1"); s.balance != -2000 || s.status != referral.StatusCancelled {
			t.Fatalf("after clawback: %+v", s)
		}
		entries, _, _ := svc.Ledger(ctx, referral.LedgerFilter{UserID: "r", Limit: 1})
		if entries[0].Type != referral.EntryClawback || entries[0].Amount != -2000 {
			t.Fatalf("clawback entry: %+v", entries[0])
		}
		// The next rewards net the debt off before anything is paid.
		setupReferral(t, svc, "r", "f3")
		mustPay(t, svc, "p3", "f3", 20000)
		c.Advance(hold + time.Hour)
		p, _, err = svc.RequestPayout(ctx, manual("r", "wire-2"))
		if err != nil || p.Amount != 2000 {
			t.Fatalf("netted payout: %+v %v", p, err)
		}
		if s := stateOf(t, svc, st, "r", "f3"); s.balance != 0 || s.status != referral.StatusRewarded {
			t.Fatalf("final: %+v", s)
		}
	})
}

func TestStripeCreditPayout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		svc := payoutService(st, c, stripeMock(t))
		setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "p", "f", 10000)
		c.Advance(hold + time.Minute)

		if _, _, err := svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutStripeCredit}); !errors.Is(err, referral.ErrStripeCustomerUnknown) {
			t.Fatalf("without a known customer: %v", err)
		}
		// The referrer's own checkout taught the service their customer.
		if _, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: "evt_cus", Type: "customer.created"}, referral.StripeEffects{CustomerID: "cus_referrer", UserID: "r"}); err != nil {
			t.Fatal(err)
		}
		p, created, err := svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutStripeCredit, IdempotencyKey: "k1"})
		if err != nil || !created || p.Status != referral.PayoutPaid || p.Amount != 2000 || p.StripeCustomerID != "cus_referrer" || !strings.HasPrefix(p.StripeTransactionID, "cbtxn_") {
			t.Fatalf("stripe credit payout: %+v %v", p, err)
		}
		again, created, err := svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutStripeCredit, IdempotencyKey: "k1"})
		if err != nil || created || again.ID != p.ID || again.Status != referral.PayoutPaid {
			t.Fatalf("repeat with the same key: %+v %v %v", again, created, err)
		}
		if _, _, err := svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "eur", Method: referral.PayoutStripeCredit, IdempotencyKey: "k1"}); !errors.Is(err, referral.ErrIdempotencyConflict) {
			t.Fatalf("same key, other request: %v", err)
		}
		if s := stateOf(t, svc, st, "r", "f"); s.balance != 0 || s.status != referral.StatusRewarded {
			t.Fatalf("after payout: %+v", s)
		}
	})
}

func TestPayoutIdempotencyUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		c := newClock()
		svc := payoutService(st, c, nil)
		setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "p", "f", 10000)
		c.Advance(hold + time.Minute)
		const n = 10
		ids := make([]string, n)
		errs := make([]error, n)
		testutil.Concurrently(n, func(i int) {
			req := manual("r", "wire")
			req.IdempotencyKey = "same-key"
			p, _, err := svc.RequestPayout(context.Background(), req)
			ids[i], errs[i] = p.ID, err
		})
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("request %d: %s %v (first: %s)", i, ids[i], errs[i], ids[0])
			}
		}
		if s := stateOf(t, svc, st, "r", "f"); s.balance != 0 {
			t.Fatalf("balance = %d", s.balance)
		}
		ps, _, _ := svc.ListPayouts(context.Background(), referral.PayoutFilter{UserID: "r", Limit: 10})
		if len(ps) != 1 {
			t.Fatalf("%d payouts", len(ps))
		}
	})
}

// TestPayoutResumesAfterStripeOutage: Stripe is unreachable, so the payout
// stays pending with its amount reserved; a later attempt (another process,
// as after a crash) completes it exactly once.
func TestPayoutResumesAfterStripeOutage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		down := payoutService(st, c, stripeapi.New("sk_test_123", "http://127.0.0.1:1"))
		setupReferral(t, down, "r", "f")
		mustPay(t, down, "p", "f", 10000)
		c.Advance(hold + time.Minute)
		p, _, err := down.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutStripeCredit, StripeCustomerID: "cus_r"})
		if err != nil || p.Status != referral.PayoutPending || p.Amount != 2000 {
			t.Fatalf("payout during outage: %+v %v", p, err)
		}
		if s := stateOf(t, down, st, "r", "f"); s.balance != 0 || s.status != referral.StatusQualified {
			t.Fatalf("reserved: %+v", s)
		}
		up := payoutService(st, c, stripeMock(t))
		rep, err := up.RunPayouts(ctx, 0)
		if err != nil || rep.Paid != 1 || rep.Amounts["usd"] != 2000 {
			t.Fatalf("run: %+v %v", rep, err)
		}
		done, err := up.CompletePayout(ctx, p.ID)
		if err != nil || done.Status != referral.PayoutPaid {
			t.Fatalf("completed: %+v %v", done, err)
		}
		entries, _, _ := up.Ledger(ctx, referral.LedgerFilter{UserID: "r", Limit: 10})
		if len(entries) != 2 || entries[0].Amount != -2000 {
			t.Fatalf("ledger: %+v", entries)
		}
		if s := stateOf(t, up, st, "r", "f"); s.balance != 0 || s.status != referral.StatusRewarded {
			t.Fatalf("final: %+v", s)
		}
	})
}

// TestRejectedCreditFailsAndReturnsTheAmount uses an HTTP server answering
// as Stripe does for an unknown customer: a final rejection.
func TestRejectedCreditFailsAndReturnsTheAmount(t *testing.T) {
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer: 'cus_gone'","param":"customer"}}`)
	}))
	t.Cleanup(rejecting.Close)
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		svc := payoutService(st, c, stripeapi.New("sk_test_123", rejecting.URL))
		setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "p", "f", 10000)
		c.Advance(hold + time.Minute)
		p, _, err := svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutStripeCredit, StripeCustomerID: "cus_gone"})
		if err != nil || p.Status != referral.PayoutFailed || !strings.Contains(p.FailureReason, "No such customer") {
			t.Fatalf("rejected payout: %+v %v", p, err)
		}
		if s := stateOf(t, svc, st, "r", "f"); s.balance != 2000 || s.status != referral.StatusQualified {
			t.Fatalf("after failure: %+v", s)
		}
		// The rewards are free again for a payout that works.
		p, _, err = svc.RequestPayout(ctx, manual("r", "wire"))
		if err != nil || p.Amount != 2000 || p.Status != referral.PayoutPaid {
			t.Fatalf("retry by hand: %+v %v", p, err)
		}
	})
}

// TestConcurrentPayoutRuns: two runs at once (two replicas) pay each balance once.
func TestConcurrentPayoutRuns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		svc := payoutService(st, c, stripeMock(t))
		for i := range 5 {
			r := fmt.Sprintf("r%d", i)
			setupReferral(t, svc, r, "f"+r)
			mustPay(t, svc, "p"+r, "f"+r, int64(1000*(i+1)))
			if _, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: "evt_" + r, Type: "customer.created"}, referral.StripeEffects{CustomerID: "cus_" + r, UserID: r}); err != nil {
				t.Fatal(err)
			}
		}
		setupReferral(t, svc, "no-customer", "fx")
		mustPay(t, svc, "px", "fx", 1000)
		c.Advance(hold + time.Minute)
		reps := make([]referral.RunReport, 2)
		errs := make([]error, 2)
		testutil.Concurrently(2, func(i int) { reps[i], errs[i] = svc.RunPayouts(ctx, 300) })
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		// r0 earned 200 < 300 and is skipped; r1..r4 are paid once in total.
		if got := reps[0].Paid + reps[1].Paid; got != 4 {
			t.Fatalf("paid %d balances across both runs, want 4: %+v", got, reps)
		}
		if got := reps[0].Amounts["usd"] + reps[1].Amounts["usd"]; got != 400+600+800+1000 {
			t.Fatalf("paid %d in total", got)
		}
		ps, _, _ := svc.ListPayouts(ctx, referral.PayoutFilter{Limit: 100})
		if len(ps) != 4 {
			t.Fatalf("%d payouts", len(ps))
		}
		if balanceOf(t, svc, "r0", "usd") != 200 || balanceOf(t, svc, "no-customer", "usd") != 200 {
			t.Fatal("skipped balances changed")
		}
	})
}

// TestPayoutRacingRefund: a payout and a full refund of one of the paid
// rewards at once; money is neither lost nor counted twice.
func TestPayoutRacingRefund(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		c := newClock()
		svc := payoutService(st, c, nil)
		for round := range 8 {
			r := fmt.Sprintf("r%d", round)
			setupReferral(t, svc, r, "a"+r)
			setupReferral(t, svc, r, "b"+r)
			mustPay(t, svc, "pa"+r, "a"+r, 10000)
			mustPay(t, svc, "pb"+r, "b"+r, 5000)
			c.Advance(hold + time.Minute)
			var p referral.Payout
			errs := make([]error, 2)
			testutil.Concurrently(2, func(i int) {
				if i == 0 {
					p, _, errs[0] = svc.RequestPayout(ctx, manual(r, "wire"))
				} else {
					_, errs[1] = svc.RecordClaim(ctx, refund("re"+r, "pa"+r, 10000))
				}
			})
			if errs[0] != nil && !errors.Is(errs[0], referral.ErrNothingToPay) || errs[1] != nil {
				t.Fatal(errs)
			}
			bal := stateOf(t, svc, st, r, "a"+r).balance // also checks balance == ledger
			// Whatever the order, the referrer ends up with exactly the kept reward (1000).
			if p.Amount+bal != 1000 {
				t.Fatalf("round %d: paid %d, balance %d; together they should be the kept 1000", round, p.Amount, bal)
			}
		}
	})
}
