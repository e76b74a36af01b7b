package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// Every test here takes its Stripe objects from stripe-mock, in the shapes
// of API 2023-10-16 and of the current API, sets ids, amounts and metadata,
// and delivers them as signed events through the webhook.

// stripeStep is one event to deliver: its type and object builder.
type stripeStep struct {
	typ   string
	build func() (teststripe.Object, error)
}

// send delivers the event and fails unless it was processed.
func (s *server) send(t *testing.T, v teststripe.Version, id string, step stripeStep) {
	t.Helper()
	obj, err := step.build()
	if err != nil {
		t.Fatal(err)
	}
	body, err := v.Event(id, step.typ, obj)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcome(t, s.deliver(t, body)); got != "processed" {
		t.Fatalf("%s %s: outcome %s", step.typ, id, got)
	}
}

// permutations returns every order of steps.
func permutations(steps []stripeStep) [][]stripeStep {
	if len(steps) <= 1 {
		return [][]stripeStep{steps}
	}
	var out [][]stripeStep
	for i := range steps {
		rest := append(append([]stripeStep{}, steps[:i]...), steps[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]stripeStep{steps[i]}, p...))
		}
	}
	return out
}

func stepNames(steps []stripeStep) string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = s.typ
	}
	return strings.Join(names, ",")
}

// newSale makes the ids of one payment, unique per n.
func newSale(n string, user string, amount int64) teststripe.Sale {
	return teststripe.Sale{UserID: user, Customer: "cus_" + n, Amount: amount, Currency: "usd", Invoice: "in_" + n,
		PaymentIntent: "pi_" + n, Charge: "ch_" + n, InvoicePayment: "inpay_" + n, Subscription: "sub_" + n}
}

// subscriptionPayment is how Stripe reports one subscription payment: the
// invoice (user in the subscription's metadata), the payment intent (with
// only the customer) and, from API 2025-03-31 on, the invoice payment.
func subscriptionPayment(v teststripe.Version, sale teststripe.Sale) []stripeStep {
	intent := sale
	intent.UserID = ""
	steps := []stripeStep{
		{"invoice.paid", func() (teststripe.Object, error) { return v.Invoice(sale) }},
		{"payment_intent.succeeded", func() (teststripe.Object, error) { return v.PaymentIntent(intent) }},
	}
	if v.Current() {
		steps = append(steps, stripeStep{"invoice_payment.paid", func() (teststripe.Object, error) { return v.InvoicePayment(sale) }})
	}
	return steps
}

// referralOf returns the referrer's only referral as they see it.
func referralOf(t *testing.T, s *server, referrer string) referralapi.ReferralHistoryItem {
	t.Helper()
	var page referralapi.ReferralPage
	s.do(t, request{method: "GET", path: "/v1/me/referrals", token: s.token(referrer)}).decode(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("%s has %d referrals", referrer, len(page.Items))
	}
	return page.Items[0]
}

// rewardEntries counts the referrer's reward ledger entries.
func rewardEntries(t *testing.T, s *server, referrer string) int {
	t.Helper()
	var page referralapi.LedgerPage
	s.do(t, request{method: "GET", path: "/v1/me/balance/transactions?limit=100", token: s.token(referrer)}).decode(t, &page)
	n := 0
	for _, e := range page.Items {
		if e.Type == "reward" {
			n++
		}
	}
	return n
}

// TestSubscriptionPaymentReversesInEveryShape: a subscription payment seen
// through all its events, in every order, rewards once; then a full refund
// (Stripe's charge.refunded, or a refund's own events), or a dispute lost,
// reverses the reward and cancels the referral. Both API shapes.
func TestSubscriptionPaymentReversesInEveryShape(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		for _, v := range teststripe.Versions() {
			endings := map[string]func(sale teststripe.Sale) []stripeStep{
				"charge.refunded": func(sale teststripe.Sale) []stripeStep {
					return []stripeStep{{"charge.refunded", func() (teststripe.Object, error) { return v.Charge(sale, sale.Amount) }}}
				},
				"refund events": func(sale teststripe.Sale) []stripeStep {
					return []stripeStep{
						{"refund.created", func() (teststripe.Object, error) { return v.Refund("re_"+sale.Charge, sale, sale.Amount, "pending") }},
						{"refund.updated", func() (teststripe.Object, error) { return v.Refund("re_"+sale.Charge, sale, sale.Amount, "succeeded") }},
					}
				},
				"dispute lost": func(sale teststripe.Sale) []stripeStep {
					return []stripeStep{
						{"charge.dispute.created", func() (teststripe.Object, error) { return v.Dispute("dp_"+sale.Charge, sale, "needs_response") }},
						{"charge.dispute.closed", func() (teststripe.Object, error) { return v.Dispute("dp_"+sale.Charge, sale, "lost") }},
					}
				},
			}
			n := 0
			for _, order := range permutations(subscriptionPayment(v, teststripe.Sale{})) {
				for ending, steps := range endings {
					n++
					id := fmt.Sprintf("%s_%d", strings.ReplaceAll(v.API, ".", "_"), n)
					referrer, friend := "r_"+id, "f_"+id
					attribute(t, s, friend, getCode(t, s, referrer).Code, nil)
					sale := newSale(id, friend, 10000)
					// Rebuild the steps for this sale, in this order.
					byType := map[string]stripeStep{}
					for _, st := range subscriptionPayment(v, sale) {
						byType[st.typ] = st
					}
					for i, st := range order {
						s.send(t, v, fmt.Sprintf("evt_%s_%d", id, i), byType[st.typ])
					}
					what := fmt.Sprintf("%s, %s then %s", v.API, stepNames(order), ending)
					if got := balance(t, s, referrer, "usd"); got != 2000 {
						t.Fatalf("%s: balance %d after the payment, want 2000", what, got)
					}
					if r := referralOf(t, s, referrer); r.Status != "QUALIFIED" || rewardEntries(t, s, referrer) != 1 {
						t.Fatalf("%s: referral %+v, %d reward entries", what, r, rewardEntries(t, s, referrer))
					}
					for i, st := range steps(sale) {
						s.send(t, v, fmt.Sprintf("evt_%s_end%d", id, i), st)
					}
					if got := balance(t, s, referrer, "usd"); got != 0 {
						t.Fatalf("%s: balance %d, want 0", what, got)
					}
					if r := referralOf(t, s, referrer); r.Status != "CANCELLED" {
						t.Fatalf("%s: referral %s, want CANCELLED", what, r.Status)
					}
				}
			}
		}
	})
}

// TestCheckoutSubscriptionEitherOrder: a subscription started in Checkout
// sends checkout.session.completed (the invoice, no payment intent) and the
// invoice's events (which name the payment intent and charge); whichever
// arrives first, a later dispute that names only the charge and payment
// intent holds the reward back and, lost, cancels it.
func TestCheckoutSubscriptionEitherOrder(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		for _, v := range teststripe.Versions() {
			n := 0
			probe := newSale("probe", "", 1)
			steps := func(sale teststripe.Sale) []stripeStep {
				invoice := sale
				invoice.UserID = "" // the user is only in the session
				out := []stripeStep{
					{"checkout.session.completed", func() (teststripe.Object, error) { return v.CheckoutSession("cs_"+sale.Invoice, "subscription", sale) }},
					{"invoice.paid", func() (teststripe.Object, error) { return v.Invoice(invoice) }},
				}
				if v.Current() {
					out = append(out, stripeStep{"invoice_payment.paid", func() (teststripe.Object, error) { return v.InvoicePayment(sale) }})
				}
				return out
			}
			for _, order := range permutations(steps(probe)) {
				n++
				id := fmt.Sprintf("co%s_%d", strings.ReplaceAll(v.API, ".", "_"), n)
				referrer, friend := "r_"+id, "f_"+id
				attribute(t, s, friend, getCode(t, s, referrer).Code, nil)
				sale := newSale(id, friend, 5000)
				byType := map[string]stripeStep{}
				for _, st := range steps(sale) {
					byType[st.typ] = st
				}
				for i, st := range order {
					s.send(t, v, fmt.Sprintf("evt_%s_%d", id, i), byType[st.typ])
				}
				what := fmt.Sprintf("%s, %s", v.API, stepNames(order))
				if got := balance(t, s, referrer, "usd"); got != 1000 || rewardEntries(t, s, referrer) != 1 {
					t.Fatalf("%s: balance %d with %d reward entries, want 1000 from one", what, got, rewardEntries(t, s, referrer))
				}
				s.send(t, v, "evt_dc_"+id, stripeStep{"charge.dispute.created", func() (teststripe.Object, error) { return v.Dispute("dp_"+id, sale, "needs_response") }})
				if got := balance(t, s, referrer, "usd"); got != 0 {
					t.Fatalf("%s: open dispute leaves %d", what, got)
				}
				s.send(t, v, "evt_dl_"+id, stripeStep{"charge.dispute.closed", func() (teststripe.Object, error) { return v.Dispute("dp_"+id, sale, "lost") }})
				if r := referralOf(t, s, referrer); r.Status != "CANCELLED" || balance(t, s, referrer, "usd") != 0 {
					t.Fatalf("%s: after a lost dispute %+v, balance %d", what, r, balance(t, s, referrer, "usd"))
				}
			}
		}
	})
}

// TestPaymentWaitsForItsUser: a payment from a customer nobody named yet is
// kept, and qualifies when a customer event (or any event naming customer
// and user) arrives.
func TestPaymentWaitsForItsUser(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		for _, v := range teststripe.Versions() {
			id := strings.ReplaceAll(v.API, ".", "_")
			attribute(t, s, "f_"+id, getCode(t, s, "r_"+id).Code, nil)
			sale := newSale(id, "", 10000)
			s.send(t, v, "evt_inv_"+id, stripeStep{"invoice.paid", func() (teststripe.Object, error) { return v.Invoice(sale) }})
			if got := balance(t, s, "r_"+id, "usd"); got != 0 {
				t.Fatalf("%s: balance %d before the user is known", v.API, got)
			}
			s.send(t, v, "evt_cus_"+id, stripeStep{"customer.created", func() (teststripe.Object, error) { return v.Customer(sale.Customer, "f_"+id) }})
			if got := balance(t, s, "r_"+id, "usd"); got != 2000 {
				t.Fatalf("%s: balance %d once the customer is known, want 2000", v.API, got)
			}
			// A second payment intent of the same customer, one-off: a later
			// payment, no second reward.
			later := newSale(id+"_2", "", 3000)
			later.Customer = sale.Customer
			s.send(t, v, "evt_pi2_"+id, stripeStep{"payment_intent.succeeded", func() (teststripe.Object, error) { return v.PaymentIntent(later) }})
			if got := balance(t, s, "r_"+id, "usd"); got != 2000 || rewardEntries(t, s, "r_"+id) != 1 {
				t.Fatalf("%s: balance %d after a later payment", v.API, got)
			}
		}
	})
}

// TestStripeRefundStates: a pending refund holds the reward back, a failed
// one gives it back, and the refund's events converge in any order.
func TestStripeRefundStates(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		for _, v := range teststripe.Versions() {
			id := "rs" + strings.ReplaceAll(v.API, ".", "_")
			attribute(t, s, "f_"+id, getCode(t, s, "r_"+id).Code, nil)
			sale := newSale(id, "f_"+id, 10000)
			sale.Customer = ""
			s.send(t, v, "evt_pi_"+id, stripeStep{"payment_intent.succeeded", func() (teststripe.Object, error) { return v.PaymentIntent(sale) }})
			refund := func(status string) stripeStep {
				return stripeStep{"refund.updated", func() (teststripe.Object, error) { return v.Refund("re_"+id, sale, 5000, status) }}
			}
			s.send(t, v, "evt_r1_"+id, refund("pending"))
			if got := balance(t, s, "r_"+id, "usd"); got != 1000 {
				t.Fatalf("%s: pending refund of half leaves %d, want 1000", v.API, got)
			}
			s.send(t, v, "evt_r3_"+id, refund("failed"))
			s.send(t, v, "evt_r2_"+id, refund("succeeded")) // older news, delivered late
			if got := balance(t, s, "r_"+id, "usd"); got != 2000 {
				t.Fatalf("%s: failed refund leaves %d, want 2000", v.API, got)
			}
		}
	})
}
