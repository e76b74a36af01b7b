package referral_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripehook"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

// sendStripe builds an event of v's shape from obj and hands it to the
// service as the webhook does.
func sendStripe(t *testing.T, svc *referral.Service, v teststripe.Version, id, typ string, obj teststripe.Object, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	body, err := v.Event(id, typ, obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := stripehook.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.HandleStripeEvent(context.Background(), referral.StripeEvent{ID: ev.ID, Type: ev.Type}, ev.Effects()); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
}

// TestDuplicatePaymentRewardReversedOnMerge: on the current API a payment
// intent and an invoice name nothing of each other, so with rewards on
// every payment (recurring commissions) the two events of one payment look
// like two payments until invoice_payment.paid ties them; then the
// duplicate's reward is reversed (clawed back once paid out), leaving one
// reward, and the next real payment still earns.
func TestDuplicatePaymentRewardReversedOnMerge(t *testing.T) {
	v := teststripe.VCurrent
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Payments: 3})
		setupReferral(t, svc, "r", "f")
		cus, err := v.Customer("cus_f", "f")
		sendStripe(t, svc, v, "evt_c", "customer.created", cus, err)
		sale := teststripe.Sale{UserID: "f", Customer: "cus_f", Amount: 10000, Currency: "usd", Invoice: "in_1", PaymentIntent: "pi_1",
			Charge: "ch_1", InvoicePayment: "inpay_1", Subscription: "sub_1"}
		intent := sale
		intent.UserID = ""
		pi, err := v.PaymentIntent(intent)
		sendStripe(t, svc, v, "evt_pi", "payment_intent.succeeded", pi, err)
		inv, err := v.Invoice(sale)
		sendStripe(t, svc, v, "evt_in", "invoice.paid", inv, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 4000 {
			t.Fatalf("before the link, the two events look like two payments: %+v", s)
		}
		// A payout in between pays both rewards.
		if _, _, err := svc.RequestPayout(ctx, manual("r", "wire-1")); err != nil {
			t.Fatal(err)
		}
		ip, err := v.InvoicePayment(sale)
		sendStripe(t, svc, v, "evt_ip", "invoice_payment.paid", ip, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 2000 || s.status != referral.StatusRewarded {
			t.Fatalf("after the link: %+v, want one reward of 2000", s)
		}
		if got := balanceOf(t, svc, "r", "usd"); got != -2000 {
			t.Fatalf("balance %d, want -2000: the duplicate's paid reward clawed back", got)
		}
		entries, _, err := svc.Ledger(ctx, referral.LedgerFilter{UserID: "r", Limit: 10})
		if err != nil || entries[0].Type != referral.EntryClawback || entries[0].Amount != -2000 {
			t.Fatalf("last entry %+v (%v), want a clawback of 2000", entries[0], err)
		}
		// The next month's payment is the second real one: it earns.
		next := teststripe.Sale{UserID: "f", Customer: "cus_f", Amount: 10000, Currency: "usd", Invoice: "in_2", PaymentIntent: "pi_2",
			Charge: "ch_2", InvoicePayment: "inpay_2", Subscription: "sub_1"}
		for i, build := range []func() (teststripe.Object, error){
			func() (teststripe.Object, error) { return v.InvoicePayment(next) },
			func() (teststripe.Object, error) { return v.Invoice(next) },
		} {
			obj, err := build()
			sendStripe(t, svc, v, fmt.Sprintf("evt_next_%d", i), []string{"invoice_payment.paid", "invoice.paid"}[i], obj, err)
		}
		if got := balanceOf(t, svc, "r", "usd"); got != 0 {
			t.Fatalf("balance %d after the second payment, want 0", got)
		}
		// A refund naming the first payment's intent reaches the survivor.
		ch, err := v.Charge(sale, 10000)
		sendStripe(t, svc, v, "evt_refund", "charge.refunded", ch, err)
		if got := balanceOf(t, svc, "r", "usd"); got != -2000 {
			t.Fatalf("balance %d after refunding the first payment, want -2000", got)
		}
	})
}

// TestRefundThatFailsGivesTheRewardBack: a refund is pending, Stripe's
// charge.refunded counts it in the charge's total, then the refund fails:
// the reward comes back and the referral stands again.
func TestRefundThatFailsGivesTheRewardBack(t *testing.T) {
	for _, v := range teststripe.Versions() {
		t.Run(v.Name(), func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, st *store.Store) {
				svc := newService(st, "20")
				setupReferral(t, svc, "r", "f")
				sale := teststripe.Sale{UserID: "f", Amount: 10000, Currency: "usd", PaymentIntent: "pi_1", Charge: "ch_1"}
				pi, err := v.PaymentIntent(sale)
				sendStripe(t, svc, v, "evt_pi", "payment_intent.succeeded", pi, err)
				re, err := v.Refund("re_1", sale, 10000, "pending")
				sendStripe(t, svc, v, "evt_r1", "refund.created", re, err)
				ch, err := v.Charge(sale, 10000)
				sendStripe(t, svc, v, "evt_ch", "charge.refunded", ch, err)
				if s := stateOf(t, svc, st, "r", "f"); s.balance != 0 || s.status != referral.StatusCancelled {
					t.Fatalf("refunded in full: %+v", s)
				}
				re, err = v.Refund("re_1", sale, 10000, "failed")
				sendStripe(t, svc, v, "evt_r2", "refund.failed", re, err)
				if s := stateOf(t, svc, st, "r", "f"); s.balance != 2000 || s.status != referral.StatusQualified {
					t.Fatalf("after the refund failed: %+v, want the reward back and QUALIFIED", s)
				}
			})
		})
	}
}

// TestMergeKeepsTheQualifyingPayment: a backend reports a payment by its
// invoice (qualifying the referral) while Stripe's payment intent for it
// waits for its customer and then earns a recurring reward; when the
// invoice payment shows they are one payment, the duplicate reward goes,
// the referral still stands, and a real later payment still earns.
func TestMergeKeepsTheQualifyingPayment(t *testing.T) {
	v := teststripe.VCurrent
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Payments: 3})
		setupReferral(t, svc, "r", "f")
		sale := teststripe.Sale{UserID: "f", Customer: "cus_f", Amount: 10000, Currency: "usd", Invoice: "in_1", PaymentIntent: "pi_1",
			Charge: "ch_1", InvoicePayment: "inpay_1", Subscription: "sub_1"}
		intent := sale
		intent.UserID = ""
		pi, err := v.PaymentIntent(intent)
		sendStripe(t, svc, v, "evt_pi", "payment_intent.succeeded", pi, err)
		if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "in_1", UserID: "f", Amount: 10000, Currency: "usd", Source: referral.SourceAPI}); err != nil {
			t.Fatal(err)
		}
		cus, err := v.Customer("cus_f", "f")
		sendStripe(t, svc, v, "evt_c", "customer.created", cus, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 4000 {
			t.Fatalf("before the link: %+v", s)
		}
		ip, err := v.InvoicePayment(sale)
		sendStripe(t, svc, v, "evt_ip", "invoice_payment.paid", ip, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 2000 || s.status != referral.StatusQualified || s.balance != 2000 {
			t.Fatalf("after the link: %+v, want one reward of 2000 and the referral QUALIFIED", s)
		}
		next := sale
		next.UserID, next.PaymentIntent, next.Charge = "", "pi_2", "ch_2"
		obj, err := v.PaymentIntent(next)
		sendStripe(t, svc, v, "evt_pi2", "payment_intent.succeeded", obj, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 4000 || s.balance != 4000 {
			t.Fatalf("a real second payment: %+v, want it to earn", s)
		}
	})
}

// TestPartialPaymentsOfOneInvoice: an invoice paid in two parts (API
// 2025-03-31 on) is one payment; the reward is on the invoice's total, and
// refunding one part is a partial refund.
func TestPartialPaymentsOfOneInvoice(t *testing.T) {
	v := teststripe.VCurrent
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		setupReferral(t, svc, "r", "f")
		partA := teststripe.Sale{Customer: "cus_f", Amount: 4000, Currency: "usd", Invoice: "in_1", PaymentIntent: "pi_a", Charge: "ch_a", InvoicePayment: "inpay_a"}
		partB := teststripe.Sale{Customer: "cus_f", Amount: 6000, Currency: "usd", Invoice: "in_1", PaymentIntent: "pi_b", Charge: "ch_b", InvoicePayment: "inpay_b"}
		ipA, err := v.InvoicePayment(partA)
		sendStripe(t, svc, v, "evt_a", "invoice_payment.paid", ipA, err)
		inv, err := v.Invoice(teststripe.Sale{UserID: "f", Customer: "cus_f", Amount: 10000, Currency: "usd", Invoice: "in_1", Subscription: "sub_1"})
		sendStripe(t, svc, v, "evt_in", "invoice.paid", inv, err)
		ipB, err := v.InvoicePayment(partB)
		sendStripe(t, svc, v, "evt_b", "invoice_payment.paid", ipB, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 2000 {
			t.Fatalf("reward %+v, want 20%% of the invoice's 10000", s)
		}
		ch, err := v.Charge(partB, 6000)
		sendStripe(t, svc, v, "evt_refund_b", "charge.refunded", ch, err)
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 800 || s.status != referral.StatusQualified {
			t.Fatalf("after refunding the 6000 part: %+v, want 800 kept", s)
		}
	})
}

// replayCommits runs every committed transaction once more, as Store.InTx
// does when the answer to COMMIT was lost with the connection.
type replayCommits struct{ *store.Store }

func (r replayCommits) InTx(ctx context.Context, fn func(tx referral.Store) error) error {
	if err := r.Store.InTx(ctx, fn); err != nil {
		return err
	}
	return r.Store.InTx(ctx, fn)
}

// TestTransactionsRunTwiceChangeNothingMore: every money transaction run a
// second time after it committed (a lost COMMIT answer, retried) finds its
// work done: one referral, one reward, one refund, one payout, and the
// payout call still answers with its payout.
func TestTransactionsRunTwiceChangeNothingMore(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := referral.NewService(replayCommits{st}, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}})
		ref := setupReferral(t, svc, "r", "f")
		mustPay(t, svc, "pay_1", "f", 10000)
		mustClaim(t, svc, refund("re_1", "pay_1", 5000))
		if s := stateOf(t, svc, st, "r", "f"); s.reward != 1000 || s.balance != 1000 {
			t.Fatalf("after payment and refund: %+v", s)
		}
		p, created, err := svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutManual, Reference: "wire"})
		if err != nil || !created || p.Amount != 1000 || p.Status != referral.PayoutPaid {
			t.Fatalf("payout %+v created=%v: %v", p, created, err)
		}
		if got := balanceOf(t, svc, "r", "usd"); got != 0 {
			t.Fatalf("balance %d after one payout", got)
		}
		if _, err := svc.Cancel(ctx, ref.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		if s := stateOf(t, svc, st, "r", "f"); s.balance != -1000 || s.status != referral.StatusCancelled {
			t.Fatalf("after cancelling: %+v, want the paid 1000 clawed back once", s)
		}
	})
}
