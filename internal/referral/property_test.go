package referral_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

// The property test drives the money paths with random operations and
// checks, after every step, the service against a model that knows nothing
// of ledgers: what each payment should still reward given what was taken
// back. PROPERTY_SEED=N replays one seed; PROPERTY_SEEDS=K runs K seeds.

const propertyUsers = 5

// modelPayment is what the model knows of one referred user's payment.
type modelPayment struct {
	amount       int64
	viaStripe    bool
	delivered    bool
	qualified    bool // the payment qualified its referral when it arrived
	refunds      map[string]int64
	refundIDs    []string // in order, so a replay picks the same ones
	stripeTotal  int64
	disputes     map[string]string
	cancelledAt  bool // the operator cancelled the referral
	deliveredEvt []referral.StripeEffects
}

func (m *modelPayment) kept(rule referral.RewardRule) int64 {
	if !m.qualified || m.cancelledAt {
		return 0
	}
	var refunds, disputed int64
	for _, a := range m.refunds {
		refunds += a
	}
	for _, st := range m.disputes {
		switch st {
		case referral.DisputeLost:
			return 0
		case referral.DisputeOpen:
			disputed += m.amount
		}
	}
	taken := min(m.amount, max(refunds, m.stripeTotal)+disputed)
	return rule.Kept(m.amount, taken)
}

func TestMoneyProperties(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
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
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					runProperty(t, b.Open(t), seed, 120)
				})
			}
		})
	}
}

func runProperty(t *testing.T, st *store.Store, seed uint64, steps int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := newClock()
	rule := referral.RewardRule{Percent: referral.MustPercent("12.5")}
	svc := referral.NewService(st, referral.Options{Rule: rule, Hold: 3 * 24 * time.Hour, Now: c.Now})
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (replay: PROPERTY_SEED=%d go test ./internal/referral -run TestMoneyProperties)\nsteps:\n  %s\n%s",
			seed, seed, strings.Join(log, "\n  "), fmt.Sprintf(format, args...))
	}
	refIDs := make([]string, propertyUsers)
	payments := make([]*modelPayment, propertyUsers)
	for i := range propertyUsers {
		refIDs[i] = setupReferral(t, svc, "r", user(i)).ID
		payments[i] = &modelPayment{amount: 100 + rng.Int64N(100_000), viaStripe: i%2 == 1, refunds: map[string]int64{}, disputes: map[string]string{}}
	}
	var paidOut int64
	evt := 0
	deliver := func(fx referral.StripeEffects, id string) {
		if _, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: id, Type: "property"}, fx); err != nil {
			fail("stripe event %s: %v", id, err)
		}
	}
	for step := range steps {
		i := rng.IntN(propertyUsers)
		m := payments[i]
		before := snapshot(t, svc, st)
		duplicate := false
		switch op := rng.IntN(100); {
		case op < 20: // the payment arrives (again, maybe)
			duplicate = m.delivered
			log = append(log, fmt.Sprintf("%d: payment of %s (%d, stripe=%v)", step, user(i), m.amount, m.viaStripe))
			if m.viaStripe {
				evt++
				fx := referral.StripeEffects{UserID: user(i), Payment: &referral.Payment{
					ID: "pi_" + user(i), StripePaymentIntent: "pi_" + user(i), StripeCharge: "ch_" + user(i),
					Amount: m.amount, Currency: "usd", Source: referral.SourceStripe,
				}}
				deliver(fx, fmt.Sprintf("evt_%d", evt))
				m.deliveredEvt = append(m.deliveredEvt, fx)
			} else if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_" + user(i), UserID: user(i), Amount: m.amount, Currency: "usd", Source: referral.SourceAPI}); err != nil {
				fail("payment: %v", err)
			}
			if !m.delivered {
				m.delivered = true
				m.qualified = !m.cancelledAt
			}
		case op < 38: // a refund by id, before or after the payment
			amount := 1 + rng.Int64N(m.amount/2+1)
			id := fmt.Sprintf("re_%d_%d", i, step)
			log = append(log, fmt.Sprintf("%d: refund %s of %d on %s", step, id, amount, user(i)))
			paymentID := "pay_" + user(i)
			if m.viaStripe {
				paymentID = "pi_" + user(i) // a backend may name a Stripe payment by its intent
			}
			if _, err := svc.RecordClaim(ctx, refund(id, paymentID, amount)); err != nil {
				fail("refund: %v", err)
			}
			m.refunds[id] = amount
			m.refundIDs = append(m.refundIDs, id)
		case op < 46 && len(m.refundIDs) > 0: // a refund delivered twice
			duplicate = true
			id := m.refundIDs[rng.IntN(len(m.refundIDs))]
			log = append(log, fmt.Sprintf("%d: repeat refund %s", step, id))
			paymentID := "pay_" + user(i)
			if m.viaStripe {
				paymentID = "pi_" + user(i)
			}
			if _, err := svc.RecordClaim(ctx, refund(id, paymentID, m.refunds[id])); err != nil {
				fail("repeat refund: %v", err)
			}
		case op < 56 && m.viaStripe: // Stripe's cumulative refunded total, possibly stale
			total := rng.Int64N(m.amount + 1)
			log = append(log, fmt.Sprintf("%d: charge.refunded total %d on %s", step, total, user(i)))
			evt++
			deliver(referral.StripeEffects{Claim: &referral.Claim{
				ID: "charge_refunded:ch_" + user(i), Kind: referral.ClaimChargeRefunded, StripeCharge: "ch_" + user(i),
				StripePaymentIntent: "pi_" + user(i), Amount: total, Source: referral.SourceStripe,
			}}, fmt.Sprintf("evt_%d", evt))
			m.stripeTotal = max(m.stripeTotal, total)
		case op < 66 && m.viaStripe: // a dispute moves (created, won, lost), in any order
			id := fmt.Sprintf("dp_%d", i)
			status := []string{referral.DisputeOpen, referral.DisputeWon, referral.DisputeLost}[rng.IntN(3)]
			log = append(log, fmt.Sprintf("%d: dispute %s %s on %s", step, id, status, user(i)))
			evt++
			fx := dispute(id, "ch_"+user(i), m.amount, status)
			fx.Claim.StripePaymentIntent = "pi_" + user(i)
			deliver(fx, fmt.Sprintf("evt_%d", evt))
			if old, ok := m.disputes[id]; !ok || old == referral.DisputeOpen {
				m.disputes[id] = status
			}
		case op < 72 && evt > 0: // an old Stripe event delivered again
			duplicate = true
			id := fmt.Sprintf("evt_%d", 1+rng.IntN(evt))
			log = append(log, fmt.Sprintf("%d: redeliver %s", step, id))
			deliver(referral.StripeEffects{}, id)
		case op < 82:
			d := time.Duration(rng.IntN(96)) * time.Hour
			log = append(log, fmt.Sprintf("%d: wait %s", step, d))
			c.Advance(d)
		case op < 92:
			log = append(log, fmt.Sprintf("%d: manual payout", step))
			p, _, err := svc.RequestPayout(ctx, manual("r", fmt.Sprintf("wire-%d", step)))
			if err != nil && !errors.Is(err, referral.ErrNothingToPay) {
				fail("payout: %v", err)
			}
			if err == nil {
				if p.Amount <= 0 || p.Amount > before.available {
					fail("paid %d with %d available", p.Amount, before.available)
				}
				paidOut += p.Amount
			}
		default:
			log = append(log, fmt.Sprintf("%d: cancel referral of %s", step, user(i)))
			if _, err := svc.Cancel(ctx, refIDs[i], "property test"); err != nil {
				fail("cancel: %v", err)
			}
			m.cancelledAt = true
		}

		// Invariants, after every step.
		after := snapshot(t, svc, st)
		if after.balance != after.ledger {
			fail("balance %d != ledger sum %d", after.balance, after.ledger)
		}
		var keptTotal int64
		for j, mp := range payments {
			want := mp.kept(rule)
			got := after.rewards[user(j)]
			if got != want {
				fail("%s keeps %d, the model says %d (%+v)", user(j), got, want, *mp)
			}
			if mp.delivered && got > rule.For(mp.amount) {
				fail("%s keeps %d, more than the rule gives on the whole payment", user(j), got)
			}
			keptTotal += want
		}
		if after.balance != keptTotal-paidOut {
			fail("balance %d, but rewards kept %d minus payouts %d = %d", after.balance, keptTotal, paidOut, keptTotal-paidOut)
		}
		// The trigger-kept stats equal a recount of the referrals themselves.
		stats, err := svc.Stats(ctx, "r")
		if err != nil {
			fail("stats: %v", err)
		}
		recount := map[referral.Status]int64{}
		rewardSum := map[referral.Status]int64{}
		for j := range propertyUsers {
			ref, _ := st.ReferralByReferredUser(ctx, user(j))
			recount[ref.Status]++
			if ref.RewardAmount != nil {
				rewardSum[ref.Status] += *ref.RewardAmount
			}
		}
		for _, status := range referral.Statuses {
			got := stats.ByStatus[status]
			if got.Count != recount[status] || got.Reward["usd"] != rewardSum[status] {
				fail("stats %s = %+v, recount %d with reward %d", status, got, recount[status], rewardSum[status])
			}
		}
		if duplicate && (after.balance != before.balance || after.entries != before.entries) {
			fail("a repeated delivery changed the money: before %+v, after %+v", before, after)
		}
	}
}

func user(i int) string { return fmt.Sprintf("f%d", i) }

type moneySnapshot struct {
	balance, ledger, available int64
	entries                    int
	rewards                    map[string]int64
}

func snapshot(t *testing.T, svc *referral.Service, st *store.Store) moneySnapshot {
	t.Helper()
	ctx := context.Background()
	s := moneySnapshot{rewards: map[string]int64{}}
	bs, err := svc.Balances(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		s.balance, s.available = b.Amount, b.Available
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
	for i := range propertyUsers {
		ref, err := st.ReferralByReferredUser(ctx, user(i))
		if err != nil {
			t.Fatal(err)
		}
		if ref.RewardAmount != nil {
			s.rewards[user(i)] = *ref.RewardAmount
		}
	}
	return s
}
