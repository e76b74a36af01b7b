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
