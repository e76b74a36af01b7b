package referral_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripehook"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

// The property test drives the money paths with random operations and
// checks, after every step, the service against a model that knows nothing
// of ledgers or payment keys: which identifiers Stripe's events tie
// together, which of them earned the reward, what each payment should
// still reward given what was taken back, and what was paid out.
//
// Stripe's events are built from stripe-mock's objects, in the shapes of
// API 2023-10-16 and of the current API, and read by the webhook's parser.
// A payment arrives through its events in a random order (invoice,
// payment intent, invoice payment, Checkout session), each possibly
// repeated; refunds come from a backend, from charge.refunded (cumulative,
// possibly stale) and from refund events in random states; disputes move
// in any order; events are delivered again; time passes; payouts and
// payout runs run several at once; an operator cancels.
//
// PROPERTY_SEED=N replays one seed; PROPERTY_SEEDS=K runs K seeds.

const propertyUsers = 5

// keyGraph is the model's view of which identifiers name one payment: the
// union of the keys every delivered event names together.
type keyGraph map[string]string

func (g keyGraph) find(k string) string {
	for {
		p, ok := g[k]
		if !ok || p == k {
			g[k] = k
			return k
		}
		g[k] = g[p]
		k = p
	}
}

func (g keyGraph) union(keys ...string) {
	for _, k := range keys[1:] {
		if k != "" {
			g[g.find(k)] = g.find(keys[0])
		}
	}
}

// modelPayment is what the model knows of one referred user's payment.
type modelPayment struct {
	user      string
	amount    int64
	viaStripe bool
	sale      teststripe.Sale
	// graph ties the payment's identifiers together as events arrive;
	// attributed holds the roots of components whose user is known, and
	// earned the key of the component that earned the reward.
	graph      keyGraph
	attributed map[string]bool
	earned     string
	// rule is the program's rule when the payment earned (programs change
	// between events).
	rule   *referral.RewardRule
	mapped bool // the customer is known to be the user
	// pending: components stored while their user was unknown, by key.
	pending   []string
	cancelled bool
	// Claims, each with the key it names the payment by.
	backendRefunds map[string]int64
	refundIDs      []string
	stripeRefunds  map[string]modelRefund
	chargeTotal    int64
	disputes       map[string]string
}

type modelRefund struct {
	amount int64
	status string
}

// reachable reports whether a claim naming key reaches the earning payment.
func (m *modelPayment) reachable(key string) bool {
	return m.earned != "" && m.graph.find(key) == m.graph.find(m.earned)
}

// kept is what the payment should still reward.
func (m *modelPayment) kept(rule referral.RewardRule) int64 {
	if m.earned == "" || m.cancelled {
		return 0
	}
	var backend, stripe, failed, disputed int64
	for _, a := range m.backendRefunds {
		backend += a // a backend names the payment by its own id or the payment intent
	}
	if !m.viaStripe || m.reachable(m.sale.PaymentIntent) {
		for _, r := range m.stripeRefunds {
			if referral.RefundStatusRank(r.status) < 3 {
				stripe += r.amount
			} else {
				failed += r.amount // Stripe's charge total counted it while pending
			}
		}
		for _, st := range m.disputes {
			switch st {
			case referral.DisputeLost:
				return 0
			case referral.DisputeOpen:
				disputed += m.amount
			}
		}
	}
	charge := m.chargeTotal
	if m.viaStripe && !m.reachable(m.sale.PaymentIntent) {
		backend, charge = 0, 0
	}
	taken := min(m.amount, max(backend, stripe, charge-failed)+disputed)
	return rule.Kept(m.amount, taken)
}

// attribute marks the component of key attributed; the first attributed
// component earns, unless the referral was cancelled first.
func (m *modelPayment) attribute(key string) {
	root := m.graph.find(key)
	if m.attributed[root] {
		return
	}
	m.attributed[root] = true
	if m.earned == "" && !m.cancelled {
		m.earned = key
	}
}

// connect unions keys and keeps attribution on the merged component.
func (m *modelPayment) connect(keys ...string) {
	var was bool
	for _, k := range keys {
		if k != "" && m.attributed[m.graph.find(k)] {
			was = true
		}
	}
	m.graph.union(keys...)
	if was {
		m.attributed[m.graph.find(keys[0])] = true
	}
}

// stripeEvent is one event of a user's payment: how to build it and what
// it means to the model.
type stripeEvent struct {
	typ   string
	build func() (teststripe.Object, error)
	// keys the event names together; named is true when it names the user
	// (metadata or client_reference_id) along with the customer; customer
	// is true when it carries the customer only.
	keys     []string
	named    bool
	customer bool
}

// paymentEvents are the events Stripe sends for one subscription payment in
// version v: the invoice (the user in the subscription's metadata), the
// payment intent (the customer only), from 2025-03-31 the invoice payment,
// and the Checkout Session that started it (client_reference_id).
func paymentEvents(v teststripe.Version, s teststripe.Sale) []stripeEvent {
	intent := s
	intent.UserID = ""
	invoice := s
	evs := []stripeEvent{
		{typ: "invoice.paid", build: func() (teststripe.Object, error) { return v.Invoice(invoice) }, named: true},
		{typ: "payment_intent.succeeded", build: func() (teststripe.Object, error) { return v.PaymentIntent(intent) }, customer: true},
		{typ: "checkout.session.completed", build: func() (teststripe.Object, error) { return v.CheckoutSession("cs_"+s.Invoice, "subscription", s) },
			keys: []string{"cs_" + s.Invoice, s.Invoice}, named: true},
	}
	if v.Current() {
		evs[0].keys = []string{s.Invoice}
		evs[1].keys = []string{s.PaymentIntent, s.Charge}
		evs = append(evs, stripeEvent{typ: "invoice_payment.paid", build: func() (teststripe.Object, error) { return v.InvoicePayment(s) },
			keys: []string{s.InvoicePayment, s.Invoice, s.PaymentIntent}})
	} else {
		evs[0].keys = []string{s.Invoice, s.PaymentIntent, s.Charge}
		evs[1].keys = []string{s.PaymentIntent, s.Charge, s.Invoice}
	}
	return evs
}

func TestMoneyProperties(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if s := os.Getenv("PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("PROPERTY_SEED: %v", err)
		}
		seeds = []uint64{n}
	} else if s := os.Getenv("PROPERTY_SEEDS"); s != "" {
		n, _ := strconv.Atoi(s)
		seeds = seeds[:0]
		for i := range n {
			seeds = append(seeds, uint64(1000+i))
		}
	}
	for _, b := range testdb.Backends() {
		for _, v := range teststripe.Versions() {
			t.Run(b.Name+"/"+v.Name(), func(t *testing.T) {
				t.Parallel()
				for _, seed := range seeds {
					t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
						runProperty(t, b.Open(t), v, seed, 110)
					})
				}
			})
		}
	}
}

func runProperty(t *testing.T, st *store.Store, v teststripe.Version, seed uint64, steps int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := newClock()
	rule := referral.RewardRule{Percent: referral.MustPercent("12.5")}
	svc := referral.NewService(st, referral.Options{Rule: rule, Hold: 3 * 24 * time.Hour, Now: c.Now, Credits: stripeMock(t)})
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s seed %d (replay: PROPERTY_SEED=%d go test ./internal/referral -run 'TestMoneyProperties/.*%s')\nsteps:\n  %s\n%s",
			v.API, seed, seed, v.Name(), strings.Join(log, "\n  "), fmt.Sprintf(format, args...))
	}
	evt := 0
	var sent [][]byte // every event delivered, for redelivery
	deliver := func(typ string, obj teststripe.Object, err error) {
		t.Helper()
		if err != nil {
			fail("build %s: %v", typ, err)
		}
		evt++
		body, err := v.Event(fmt.Sprintf("evt_%d", evt), typ, obj)
		if err != nil {
			fail("event: %v", err)
		}
		sent = append(sent, body)
		redeliver(t, svc, body, fail)
	}
	// The referrer's own Stripe customer, for payout runs.
	cus, err := v.Customer("cus_r", "r")
	deliver("customer.created", cus, err)

	refIDs := make([]string, propertyUsers)
	payments := make([]*modelPayment, propertyUsers)
	events := make([][]stripeEvent, propertyUsers)
	for i := range propertyUsers {
		refIDs[i] = setupReferral(t, svc, "r", user(i)).ID
		m := &modelPayment{user: user(i), amount: 100 + rng.Int64N(100_000), viaStripe: i%2 == 1, graph: keyGraph{}, attributed: map[string]bool{},
			backendRefunds: map[string]int64{}, stripeRefunds: map[string]modelRefund{}, disputes: map[string]string{}}
		n := fmt.Sprintf("%d_%d", seed, i)
		m.sale = teststripe.Sale{UserID: user(i), Customer: "cus_" + n, Amount: m.amount, Currency: "usd", Invoice: "in_" + n,
			PaymentIntent: "pi_" + n, Charge: "ch_" + n, InvoicePayment: "inpay_" + n, Subscription: "sub_" + n}
		payments[i] = m
		events[i] = paymentEvents(v, m.sale)
	}
	for step := range steps {
		i := rng.IntN(propertyUsers)
		m := payments[i]
		before := snapshot(t, svc, st)
		duplicate := false
		switch op := rng.IntN(100); {
		case op < 22 && m.viaStripe: // one of the payment's events, in any order, maybe again
			ev := events[i][rng.IntN(len(events[i]))]
			log = append(log, fmt.Sprintf("%d: %s of %s (%d)", step, ev.typ, m.user, m.amount))
			obj, err := ev.build()
			deliver(ev.typ, obj, err)
			m.apply(ev)
		case op < 22: // a backend reports the payment (again, maybe)
			duplicate = m.earned != "" || m.cancelled
			log = append(log, fmt.Sprintf("%d: payment of %s (%d) by the backend", step, m.user, m.amount))
			if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_" + m.user, UserID: m.user, Amount: m.amount, Currency: "usd", Source: referral.SourceAPI}); err != nil {
				fail("payment: %v", err)
			}
			m.connect("pay_" + m.user)
			m.attribute("pay_" + m.user)
		case op < 36: // a backend's refund, before or after the payment
			amount := 1 + rng.Int64N(m.amount/2+1)
			id := fmt.Sprintf("re_%d_%d", i, step)
			paymentID := "pay_" + m.user
			if m.viaStripe {
				paymentID = m.sale.PaymentIntent // a backend may name a Stripe payment by its intent
			}
			log = append(log, fmt.Sprintf("%d: backend refund %s of %d on %s", step, id, amount, m.user))
			if _, err := svc.RecordClaim(ctx, refund(id, paymentID, amount)); err != nil {
				fail("refund: %v", err)
			}
			m.backendRefunds[id] = amount
			m.refundIDs = append(m.refundIDs, id)
		case op < 42 && len(m.refundIDs) > 0: // a backend's refund sent twice
			duplicate = true
			id := m.refundIDs[rng.IntN(len(m.refundIDs))]
			paymentID := "pay_" + m.user
			if m.viaStripe {
				paymentID = m.sale.PaymentIntent
			}
			log = append(log, fmt.Sprintf("%d: repeat refund %s", step, id))
			if _, err := svc.RecordClaim(ctx, refund(id, paymentID, m.backendRefunds[id])); err != nil {
				fail("repeat refund: %v", err)
			}
		case op < 50 && m.viaStripe: // Stripe's cumulative refunded total, possibly stale
			total := rng.Int64N(m.amount + 1)
			log = append(log, fmt.Sprintf("%d: charge.refunded total %d on %s", step, total, m.user))
			ch, err := v.Charge(m.sale, total)
			deliver("charge.refunded", ch, err)
			m.connect(m.sale.Charge, m.sale.PaymentIntent)
			if !v.Current() {
				m.connect(m.sale.Charge, m.sale.Invoice) // a 2023 charge names its invoice
			}
			m.chargeTotal = max(m.chargeTotal, total)
		case op < 56 && m.viaStripe: // a Stripe refund moves through its states, in any order
			id := fmt.Sprintf("re_s%d_%d", i, rng.IntN(2))
			status := []string{"pending", "succeeded", "failed", "canceled"}[rng.IntN(4)]
			amount := m.stripeRefunds[id].amount
			if amount == 0 {
				amount = 1 + rng.Int64N(m.amount/2+1)
			}
			typ := []string{"refund.created", "refund.updated", "charge.refund.updated"}[rng.IntN(3)]
			log = append(log, fmt.Sprintf("%d: %s %s %s of %d on %s", step, typ, id, status, amount, m.user))
			re, err := v.Refund(id, m.sale, amount, status)
			deliver(typ, re, err)
			m.connect(m.sale.Charge, m.sale.PaymentIntent)
			if old, ok := m.stripeRefunds[id]; !ok || referral.RefundStatusRank(status) > referral.RefundStatusRank(old.status) {
				m.stripeRefunds[id] = modelRefund{amount: amount, status: status}
			}
		case op < 64 && m.viaStripe: // a dispute moves (created, won, lost), in any order
			id := fmt.Sprintf("dp_%d", i)
			status := []string{"needs_response", "won", "lost"}[rng.IntN(3)]
			log = append(log, fmt.Sprintf("%d: dispute %s %s on %s", step, id, status, m.user))
			dp, err := v.Dispute(id, m.sale, status)
			deliver("charge.dispute.updated", dp, err)
			m.connect(m.sale.Charge, m.sale.PaymentIntent)
			model := map[string]string{"needs_response": referral.DisputeOpen, "won": referral.DisputeWon, "lost": referral.DisputeLost}[status]
			if old, ok := m.disputes[id]; !ok || old == referral.DisputeOpen {
				m.disputes[id] = model
			}
		case op < 70 && len(sent) > 0: // an old Stripe event delivered again
			duplicate = true
			k := rng.IntN(len(sent))
			log = append(log, fmt.Sprintf("%d: redeliver event %d", step, k+1))
			redeliver(t, svc, sent[k], fail)
		case op < 80:
			d := time.Duration(rng.IntN(96)) * time.Hour
			log = append(log, fmt.Sprintf("%d: wait %s", step, d))
			c.Advance(d)
		case op < 92:
			log = append(log, fmt.Sprintf("%d: payouts and payout runs at once", step))
			paid := concurrentPayouts(t, svc, step, fail)
			if paid > max(0, before.available) {
				fail("paid %d at once with %d available", paid, before.available)
			}
		case op < 96: // an operator changes the program; earned rewards keep their rule
			pct := []string{"12.5", "5", "33.3333", "0.01", "100"}[rng.IntN(5)]
			capAmount := []int64{0, 0, 500, 20_000}[rng.IntN(4)]
			fixed := []int64{0, 0, 0, 250}[rng.IntN(4)]
			log = append(log, fmt.Sprintf("%d: program change to %s%% + %d, cap %d", step, pct, fixed, capAmount))
			if _, err := svc.UpdateProgram(ctx, "ops", referral.DefaultProgramID, referral.ProgramPatch{Referrer: &referral.RewardPatch{
				Percent: &pct, Fixed: &referral.Amounts{"usd": fixed}, Max: &referral.Amounts{"usd": capAmount}}}); err != nil {
				fail("program change: %v", err)
			}
			rule = referral.RewardRule{Percent: referral.MustPercent(pct), Fixed: fixed, Cap: capAmount}
		default:
			log = append(log, fmt.Sprintf("%d: cancel referral of %s", step, m.user))
			if _, err := svc.Cancel(ctx, refIDs[i], "property test"); err != nil {
				fail("cancel: %v", err)
			}
			m.cancelled = true
		}

		// Invariants, after every step.
		after := snapshot(t, svc, st)
		if after.balance != after.ledger {
			fail("balance %d != ledger sum %d", after.balance, after.ledger)
		}
		var keptTotal int64
		for j, mp := range payments {
			if mp.earned != "" && mp.rule == nil {
				r := rule // earned in this step, under the rule in force
				mp.rule = &r
			}
			var want int64
			if mp.rule != nil {
				want = mp.kept(*mp.rule)
			}
			got := after.rewards[user(j)]
			if got != want {
				fail("%s keeps %d, the model says %d (earned by %q)", user(j), got, want, mp.earned)
			}
			if mp.rule != nil && got > mp.rule.For(mp.amount) {
				fail("%s keeps %d, more than the rule gives on the whole payment", user(j), got)
			}
			if n := after.rewardRows[user(j)]; n > 1 {
				fail("%s's referral has %d rewards from payments that are not duplicates", user(j), n)
			}
			keptTotal += want
		}
		if after.balance != keptTotal-after.paidOut {
			fail("balance %d, but rewards kept %d minus payouts %d = %d", after.balance, keptTotal, after.paidOut, keptTotal-after.paidOut)
		}
		// The trigger-kept stats equal a recount of the referrals themselves.
		stats, err := svc.Stats(ctx, "r")
		if err != nil {
			fail("stats: %v", err)
		}
		for _, status := range referral.Statuses {
			got := stats.ByStatus[status]
			if got.Count != after.count[status] || got.Reward["usd"] != after.reward[status] {
				fail("stats %s = %+v, recount %d with reward %d", status, got, after.count[status], after.reward[status])
			}
		}
		if duplicate && (after.balance != before.balance || after.entries != before.entries) {
			fail("a repeated delivery changed the money: before %+v, after %+v", before, after)
		}
	}
}

// apply is what a payment event means to the model: its keys name one
// payment; an event naming the user and customer teaches the customer
// (whose waiting payments then get their user, oldest first) and
// attributes its own payment; a payment intent's payment is attributed
// when its customer is known, else it waits.
func (m *modelPayment) apply(ev stripeEvent) {
	if ev.named {
		if !m.mapped {
			m.mapped = true
			for _, k := range m.pending {
				m.attribute(k)
			}
			m.pending = nil
		}
		m.connect(ev.keys...)
		m.attribute(ev.keys[0])
		return
	}
	m.connect(ev.keys...)
	switch {
	case m.attributed[m.graph.find(ev.keys[0])]:
	case ev.customer && m.mapped:
		m.attribute(ev.keys[0])
	case ev.customer:
		if !slices.ContainsFunc(m.pending, func(k string) bool { return m.graph.find(k) == m.graph.find(ev.keys[0]) }) {
			m.pending = append(m.pending, ev.keys[0])
		}
	}
}

// redeliver hands a signed event's body to the service as the webhook does.
func redeliver(t *testing.T, svc *referral.Service, body []byte, fail func(string, ...any)) {
	t.Helper()
	ev, err := stripehook.Parse(body)
	if err != nil {
		fail("parse: %v", err)
	}
	if _, err := svc.HandleStripeEvent(context.Background(), referral.StripeEvent{ID: ev.ID, Type: ev.Type}, ev.Effects()); err != nil {
		fail("stripe event %s %s: %v", ev.ID, ev.Type, err)
	}
}

// concurrentPayouts runs two manual payout requests and two payout runs
// at once and returns what they paid.
func concurrentPayouts(t *testing.T, svc *referral.Service, step int, fail func(string, ...any)) int64 {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var paid int64
	var errs []error
	var wg sync.WaitGroup
	for k := range 4 {
		wg.Go(func() {
			var amount int64
			var err error
			if k%2 == 0 {
				var p referral.Payout
				p, _, err = svc.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutManual,
					Reference: fmt.Sprintf("wire-%d-%d", step, k), IdempotencyKey: fmt.Sprintf("k-%d-%d", step, k)})
				if errors.Is(err, referral.ErrNothingToPay) {
					err = nil
				}
				amount = p.Amount
			} else {
				var rep referral.RunReport
				rep, err = svc.RunPayouts(ctx, 0)
				amount = rep.Amounts["usd"]
			}
			mu.Lock()
			defer mu.Unlock()
			paid += amount
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		fail("payouts: %v", errs)
	}
	return paid
}

func user(i int) string { return fmt.Sprintf("f%d", i) }

type moneySnapshot struct {
	balance, ledger, available, pending, paidOut int64
	entries                                      int
	rewards                                      map[string]int64
	rewardRows                                   map[string]int
	count, reward                                map[referral.Status]int64
}

func snapshot(t *testing.T, svc *referral.Service, st *store.Store) moneySnapshot {
	t.Helper()
	ctx := context.Background()
	s := moneySnapshot{rewards: map[string]int64{}, rewardRows: map[string]int{}, count: map[referral.Status]int64{}, reward: map[referral.Status]int64{}}
	bs, err := svc.Balances(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		s.balance, s.available, s.pending = b.Amount, b.Available, b.Pending
	}
	before := ""
	for {
		items, more, err := svc.Ledger(ctx, referral.LedgerFilter{UserID: "r", BeforeID: before, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range items {
			s.ledger += e.Amount
			s.entries++
		}
		if !more {
			break
		}
		before = items[len(items)-1].ID
	}
	before = ""
	for {
		payouts, more, err := svc.ListPayouts(ctx, referral.PayoutFilter{UserID: "r", BeforeID: before, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range payouts {
			if p.Status != referral.PayoutFailed {
				s.paidOut += p.Amount
			}
		}
		if !more {
			break
		}
		before = payouts[len(payouts)-1].ID
	}
	for i := range propertyUsers {
		ref, err := st.ReferralByReferredUser(ctx, user(i))
		if err != nil {
			t.Fatal(err)
		}
		s.count[ref.Status]++
		if ref.RewardAmount != nil {
			s.rewards[user(i)] = *ref.RewardAmount
			s.reward[ref.Status] += *ref.RewardAmount
		}
		rewards, err := st.RewardsOfReferral(ctx, ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, rw := range rewards {
			if p, err := st.PaymentByID(ctx, rw.PaymentID); err == nil && p.MergedInto == "" {
				s.rewardRows[user(i)]++
			}
		}
	}
	return s
}
