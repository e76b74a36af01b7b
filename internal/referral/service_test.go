package referral_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
)

func TestMain(m *testing.M) { testdb.Main(m, teststripe.Start) }

func newService(st *store.Store, percent string) *referral.Service {
	return referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent(percent)}})
}

var codeShape = regexp.MustCompile(`^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}$`)

func TestGetOrCreateCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		first, err := svc.GetOrCreateCode(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if !codeShape.MatchString(first.Code) {
			t.Fatalf("code %q does not have the generated shape", first.Code)
		}
		again, err := svc.GetOrCreateCode(ctx, "u1")
		if err != nil || again.Code != first.Code || again.ID != first.ID {
			t.Fatalf("second call = %+v, %v; want %+v", again, err, first)
		}
		other, err := svc.GetOrCreateCode(ctx, "u2")
		if err != nil || other.Code == first.Code {
			t.Fatalf("another user got %+v, %v", other, err)
		}
	})
}

func TestGetOrCreateCodeConcurrentFirstCalls(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		svc := newService(st, "20")
		const n = 40
		codes := make([]string, n)
		errs := make([]error, n)
		testutil.Concurrently(n, func(i int) {
			c, err := svc.GetOrCreateCode(context.Background(), "racer")
			codes[i], errs[i] = c.Code, err
		})
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if codes[i] != codes[0] {
				t.Fatalf("call %d got %q, call 0 got %q", i, codes[i], codes[0])
			}
		}
	})
}

func TestGetOrCreateCodeRetriesCollisions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		taken, err := newService(st, "20").GetOrCreateCode(ctx, "owner")
		if err != nil {
			t.Fatal(err)
		}
		// The generator first repeats a taken code, then yields a fresh one.
		seq := []string{taken.Code, taken.Code, "FRESH234"}
		var mu sync.Mutex
		gen := func() (string, error) {
			mu.Lock()
			defer mu.Unlock()
			c := seq[0]
			if len(seq) > 1 {
				seq = seq[1:]
			}
			return c, nil
		}
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, NewCode: gen})
		got, err := svc.GetOrCreateCode(ctx, "newcomer")
		if err != nil || got.Code != "FRESH234" {
			t.Fatalf("got %+v, %v; want FRESH234", got, err)
		}

		always := func() (string, error) { return taken.Code, nil }
		stuck := referral.NewService(st, referral.Options{NewCode: always})
		if _, err := stuck.GetOrCreateCode(ctx, "unlucky"); !errors.Is(err, referral.ErrCodeExhausted) {
			t.Fatalf("always colliding: err = %v, want ErrCodeExhausted", err)
		}
	})
}

func TestAttributeRules(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		c1, _ := svc.GetOrCreateCode(ctx, "u1")
		c3, _ := svc.GetOrCreateCode(ctx, "u3")

		r, created, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "u2", Code: "  " + lower(c1.Code) + " "})
		if err != nil || !created {
			t.Fatalf("first attribution: created=%v err=%v", created, err)
		}
		if r.ReferrerID != "u1" || r.Status != referral.StatusPending || r.Code != c1.Code || r.RewardAmount != nil {
			t.Fatalf("referral = %+v", r)
		}
		again, created, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "u2", Code: c1.Code})
		if err != nil || created || again.ID != r.ID {
			t.Fatalf("retry: %+v created=%v err=%v", again, created, err)
		}
		if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "u2", Code: c3.Code}); !errors.Is(err, referral.ErrReferralExists) {
			t.Fatalf("other code: err = %v", err)
		}
		if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "u4", Code: "NOPE2345"}); !errors.Is(err, referral.ErrCodeNotFound) {
			t.Fatalf("unknown code: err = %v", err)
		}
		if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "u1", Code: c1.Code}); !errors.Is(err, referral.ErrSelfReferral) {
			t.Fatalf("self referral: err = %v", err)
		}
	})
}

func lower(s string) string {
	out := []byte(s)
	for i, b := range out {
		if b >= 'A' && b <= 'Z' {
			out[i] = b + 'a' - 'A'
		}
	}
	return string(out)
}

func TestAttributeConcurrentAttemptsYieldOneReferral(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		a, _ := svc.GetOrCreateCode(ctx, "ref-a")
		b, _ := svc.GetOrCreateCode(ctx, "ref-b")
		const n = 30
		type result struct {
			r       referral.Referral
			created bool
			err     error
			code    string
		}
		results := make([]result, n)
		testutil.Concurrently(n, func(i int) {
			code := a.Code
			if i%2 == 1 {
				code = b.Code
			}
			r, created, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "friend", Code: code})
			results[i] = result{r, created, err, code}
		})
		createdCount := 0
		var winner string
		for _, res := range results {
			if res.created {
				createdCount++
				winner = res.code
			}
		}
		if createdCount != 1 {
			t.Fatalf("%d attempts created a referral, want exactly 1", createdCount)
		}
		for i, res := range results {
			switch {
			case res.code == winner && res.err != nil:
				t.Fatalf("attempt %d with the winning code failed: %v", i, res.err)
			case res.code != winner && !errors.Is(res.err, referral.ErrReferralExists):
				t.Fatalf("attempt %d with the losing code: err = %v, want ErrReferralExists", i, res.err)
			}
		}
	})
}

// setupReferral gives referrer a code and attributes referred to it.
func setupReferral(t *testing.T, svc *referral.Service, referrer, referred string) referral.Referral {
	t.Helper()
	ctx := context.Background()
	c, err := svc.GetOrCreateCode(ctx, referrer)
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: referred, Code: c.Code})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// balanceIn is user's balance in currency (zero if it has none).
func balanceIn(t *testing.T, svc *referral.Service, user, currency string) referral.BalanceView {
	t.Helper()
	bs, err := svc.Balances(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == currency {
			return b
		}
	}
	return referral.BalanceView{}
}

func balanceOf(t *testing.T, svc *referral.Service, user, currency string) int64 {
	t.Helper()
	return balanceIn(t, svc, user, currency).Amount
}

func TestRecordPaymentQualifiesOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		ref := setupReferral(t, svc, "u1", "u2")

		zero, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_0", UserID: "u2", Amount: 0, Currency: "usd", Source: referral.SourceAPI})
		if err != nil || zero.Qualified {
			t.Fatalf("zero payment: %+v %v", zero, err)
		}
		res, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_1", UserID: "u2", Amount: 10001, Currency: "usd", Source: referral.SourceAPI})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Qualified || res.Referral == nil || res.Referral.ID != ref.ID || *res.Referral.RewardAmount != 2000 {
			t.Fatalf("first payment: %+v", res)
		}
		if res.Referral.Status != referral.StatusQualified || res.Referral.RewardCurrency != "usd" || res.Referral.QualifiedAt == nil {
			t.Fatalf("qualified referral: %+v", res.Referral)
		}
		repeat, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_1", UserID: "u2", Amount: 10001, Currency: "usd", Source: referral.SourceAPI})
		if err != nil || repeat.Qualified || !repeat.Duplicate || repeat.Referral == nil || repeat.Referral.ID != ref.ID {
			t.Fatalf("repeat: %+v %v", repeat, err)
		}
		if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_1", UserID: "u2", Amount: 5, Currency: "usd", Source: referral.SourceAPI}); !errors.Is(err, referral.ErrPaymentConflict) {
			t.Fatalf("reused id with other amount: err = %v", err)
		}
		later, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_2", UserID: "u2", Amount: 50000, Currency: "usd", Source: referral.SourceAPI})
		if err != nil || later.Qualified || later.Referral != nil {
			t.Fatalf("later payment: %+v %v", later, err)
		}
		nobody, err := svc.RecordPayment(ctx, referral.Payment{ID: "pay_3", UserID: "stranger", Amount: 50000, Currency: "usd", Source: referral.SourceAPI})
		if err != nil || nobody.Qualified {
			t.Fatalf("unreferred payer: %+v %v", nobody, err)
		}
		if got := balanceOf(t, svc, "u1", "usd"); got != 2000 {
			t.Fatalf("referrer balance = %d, want 2000", got)
		}
	})
}

func TestRewardUsesConfiguredPercentAndCurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "12.5")
		setupReferral(t, svc, "r", "a")
		setupReferral(t, svc, "r", "b")
		if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "p1", UserID: "a", Amount: 999, Currency: "usd", Source: referral.SourceAPI}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "p2", UserID: "b", Amount: 1000, Currency: "jpy", Source: referral.SourceAPI}); err != nil {
			t.Fatal(err)
		}
		// floor(999 × 12.5 / 100) = 124; floor(1000 × 12.5 / 100) = 125.
		if got := balanceOf(t, svc, "r", "usd"); got != 124 {
			t.Fatalf("usd balance = %d, want 124", got)
		}
		if got := balanceOf(t, svc, "r", "jpy"); got != 125 {
			t.Fatalf("jpy balance = %d, want 125", got)
		}
	})
}

func TestConcurrentPaymentsRewardOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		setupReferral(t, svc, "u1", "u2")
		const n = 40
		qualified := make([]bool, n)
		errs := make([]error, n)
		testutil.Concurrently(n, func(i int) {
			// Half repeat one payment id, half are distinct payments.
			id := "same"
			if i%2 == 1 {
				id = fmt.Sprintf("pay_%d", i)
			}
			res, err := svc.RecordPayment(ctx, referral.Payment{ID: id, UserID: "u2", Amount: 10000, Currency: "usd", Source: referral.SourceStripe})
			qualified[i], errs[i] = res.Qualified, err
		})
		count := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("payment %d: %v", i, errs[i])
			}
			if qualified[i] {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("%d payments qualified, want 1", count)
		}
		if got := balanceOf(t, svc, "u1", "usd"); got != 2000 {
			t.Fatalf("balance = %d, want 2000", got)
		}
	})
}

func TestStripeEventTakesEffectOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		setupReferral(t, svc, "u1", "u2")
		ev := referral.StripeEvent{ID: "evt_1", Type: "invoice.paid"}
		pay := &referral.Payment{ID: "pi_1", StripePaymentIntent: "pi_1", Amount: 5000, Currency: "eur", Source: referral.SourceStripe}
		const n = 50
		outcomes := make([]referral.StripeOutcome, n)
		errs := make([]error, n)
		testutil.Concurrently(n, func(i int) {
			outcomes[i], errs[i] = svc.HandleStripeEvent(ctx, ev, referral.StripeEffects{CustomerID: "cus_1", UserID: "u2", Payment: pay})
		})
		processed := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("delivery %d: %v", i, errs[i])
			}
			if outcomes[i] == referral.StripeProcessed {
				processed++
			}
		}
		if processed != 1 {
			t.Fatalf("%d deliveries processed, want 1", processed)
		}
		if got := balanceOf(t, svc, "u1", "eur"); got != 1000 {
			t.Fatalf("balance = %d, want 1000", got)
		}
		// The learned customer resolves a later event that names no user.
		setupReferral(t, svc, "u1", "u9")
		if _, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: "evt_2", Type: "payment_intent.succeeded"}, referral.StripeEffects{CustomerID: "cus_9", UserID: "u9", Payment: nil}); err != nil {
			t.Fatal(err)
		}
		pay9 := &referral.Payment{ID: "pi_9", StripePaymentIntent: "pi_9", Amount: 100, Currency: "eur", Source: referral.SourceStripe}
		if _, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: "evt_3", Type: "payment_intent.succeeded"}, referral.StripeEffects{CustomerID: "cus_9", UserID: "", Payment: pay9}); err != nil {
			t.Fatal(err)
		}
		if got := balanceOf(t, svc, "u1", "eur"); got != 1020 {
			t.Fatalf("balance after customer-resolved payment = %d, want 1020", got)
		}
	})
}

func TestStatsAndHistory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { now = now.Add(time.Second); return now }
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Now: clock})

		empty, err := svc.Stats(ctx, "nobody")
		if err != nil || empty.Code != nil || empty.Total != 0 || len(empty.ByStatus) != 4 {
			t.Fatalf("stats without code: %+v %v", empty, err)
		}
		for i := range 5 {
			setupReferral(t, svc, "boss", fmt.Sprintf("f%d", i))
		}
		for i, amount := range []int64{10000, 20000} {
			if _, err := svc.RecordPayment(ctx, referral.Payment{ID: fmt.Sprintf("p%d", i), UserID: fmt.Sprintf("f%d", i), Amount: amount, Currency: "usd", Source: referral.SourceAPI}); err != nil {
				t.Fatal(err)
			}
		}
		stats, err := svc.Stats(ctx, "boss")
		if err != nil {
			t.Fatal(err)
		}
		if stats.Code == nil || stats.Total != 5 {
			t.Fatalf("stats = %+v", stats)
		}
		q := stats.ByStatus[referral.StatusQualified]
		if q.Count != 2 || q.Reward["usd"] != 6000 || stats.ByStatus[referral.StatusPending].Count != 3 {
			t.Fatalf("by status = %+v", stats.ByStatus)
		}

		var ids []string
		var page []referral.Referral
		before := ""
		for {
			items, more, err := svc.ListReferrals(ctx, referral.ReferralFilter{ReferrerID: "boss", BeforeID: before, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			page = append(page, items...)
			for _, it := range items {
				ids = append(ids, it.ReferredUserID)
			}
			if !more {
				break
			}
			before = items[len(items)-1].ID
		}
		want := []string{"f4", "f3", "f2", "f1", "f0"}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("history order = %v, want %v", ids, want)
		}
		pending, _, err := svc.ListReferrals(ctx, referral.ReferralFilter{ReferrerID: "boss", Status: referral.StatusQualified, Limit: 10})
		if err != nil || len(pending) != 2 {
			t.Fatalf("qualified filter: %d items, %v", len(pending), err)
		}
	})
}

// ledgerSum is the sum of a user's ledger entries in a currency.
func ledgerSum(t *testing.T, svc *referral.Service, user, currency string) int64 {
	t.Helper()
	var sum int64
	before := ""
	for {
		items, more, err := svc.Ledger(context.Background(), referral.LedgerFilter{UserID: user, Currency: currency, BeforeID: before, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range items {
			sum += e.Amount
		}
		if !more {
			return sum
		}
		before = items[len(items)-1].ID
	}
}

func TestRewardsAreHeldThenAvailable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Hold: 14 * 24 * time.Hour, Now: clock})
		setupReferral(t, svc, "r", "f1")
		setupReferral(t, svc, "r", "f2")
		if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "p1", UserID: "f1", Amount: 10000, Currency: "usd", Source: referral.SourceAPI}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(7 * 24 * time.Hour)
		if _, err := svc.RecordPayment(ctx, referral.Payment{ID: "p2", UserID: "f2", Amount: 5000, Currency: "usd", Source: referral.SourceAPI}); err != nil {
			t.Fatal(err)
		}
		view := func() referral.BalanceView {
			t.Helper()
			bs, err := svc.Balances(ctx, "r")
			if err != nil || len(bs) != 1 {
				t.Fatalf("balances: %+v %v", bs, err)
			}
			return bs[0]
		}
		if v := view(); v.Amount != 3000 || v.Pending != 3000 || v.Available != 0 {
			t.Fatalf("day 7: %+v", v)
		}
		now = now.Add(7*24*time.Hour + time.Second) // p1's hold is over, p2's is not
		if v := view(); v.Amount != 3000 || v.Pending != 1000 || v.Available != 2000 {
			t.Fatalf("day 14: %+v", v)
		}
		now = now.Add(7 * 24 * time.Hour)
		if v := view(); v.Pending != 0 || v.Available != 3000 {
			t.Fatalf("day 21: %+v", v)
		}
		if got := ledgerSum(t, svc, "r", "usd"); got != 3000 {
			t.Fatalf("ledger sums to %d, balance is 3000", got)
		}
		items, _, err := svc.Ledger(ctx, referral.LedgerFilter{UserID: "r", Limit: 10})
		if err != nil || len(items) != 2 || items[0].Amount != 1000 || items[1].Amount != 2000 || items[0].Type != referral.EntryReward {
			t.Fatalf("ledger = %+v %v", items, err)
		}
	})
}

func TestSaveClicksUniqueWithinAnHour(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		click := func(id string, visitor string, at time.Duration) referral.Click {
			return referral.Click{ID: id, Code: "AAAA2222", ReferrerID: "r", VisitorHash: visitor, CreatedAt: base.Add(at)}
		}
		if err := svc.SaveClicks(ctx, []referral.Click{click("c1", "v1", 0), click("c2", "v1", 10*time.Minute), click("c3", "v2", 0)}); err != nil {
			t.Fatal(err)
		}
		// A later batch: v1 within the hour of its unique click, then after it.
		if err := svc.SaveClicks(ctx, []referral.Click{click("c4", "v1", 59*time.Minute), click("c5", "v1", 61*time.Minute)}); err != nil {
			t.Fatal(err)
		}
		d, err := st.DailyTotals(ctx, "r")
		if err != nil || d.Clicks != 5 || d.UniqueClicks != 3 {
			t.Fatalf("totals = %+v, %v; want 5 clicks, 3 unique", d, err)
		}
		// A batch retried after its commit's answer was lost is stored and
		// counted once.
		if err := svc.SaveClicks(ctx, []referral.Click{click("c4", "v1", 59*time.Minute), click("c5", "v1", 61*time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if d, err := st.DailyTotals(ctx, "r"); err != nil || d.Clicks != 5 || d.UniqueClicks != 3 {
			t.Fatalf("after a retried batch totals = %+v, %v; want 5 clicks, 3 unique", d, err)
		}
		// A batch across midnight, with a late click of the day before:
		// each click counts on its own UTC day.
		midnight := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
		if err := svc.SaveClicks(ctx, []referral.Click{
			click("c6", "v3", midnight.Sub(base)-time.Second), click("c7", "v3", midnight.Sub(base)),
			click("c8", "v4", midnight.Sub(base)-2*time.Second), click("c9", "v4", midnight.Sub(base)+25*time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
		days, err := st.DailyRange(ctx, "r", "2026-11-24", "2026-11-26")
		if err != nil {
			t.Fatal(err)
		}
		want := []referral.Daily{{Day: "2026-11-24", Clicks: 7, UniqueClicks: 5}, {Day: "2026-11-25", Clicks: 1, UniqueClicks: 0}, {Day: "2026-11-26", Clicks: 1, UniqueClicks: 1}}
		if fmt.Sprint(days) != fmt.Sprint(want) {
			t.Fatalf("days = %+v, want %+v", days, want)
		}
	})
}

// TestUniqueClickLaterInBatch: a visitor whose first click in a batch is
// within the hour of their last unique click can still have a unique
// click later in the same batch, and that one starts their next hour.
func TestUniqueClickLaterInBatch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		click := func(id string, at time.Duration) referral.Click {
			return referral.Click{ID: id, Code: "AAAA2222", ReferrerID: "r", VisitorHash: "v", CreatedAt: base.Add(at)}
		}
		batches := [][]referral.Click{
			{click("c1", 0)}, // unique
			{click("c2", 59*time.Minute+59*time.Second), click("c3", time.Hour+time.Second), click("c4", time.Hour+2*time.Second)}, // c3 unique
			{click("c5", time.Hour+30*time.Minute)},  // within the hour of c3
			{click("c6", 2*time.Hour+2*time.Second)}, // an hour after c3: unique
		}
		for _, b := range batches {
			if err := svc.SaveClicks(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if d, err := st.DailyTotals(ctx, "r"); err != nil || d.Clicks != 6 || d.UniqueClicks != 3 {
			t.Fatalf("totals = %+v, %v; want 6 clicks, 3 unique", d, err)
		}
	})
}

// TestConcurrentBatchesCountAVisitorOnce: batches written at the same time
// (by several instances, say) with the same new visitor count one unique
// click between them.
func TestConcurrentBatchesCountAVisitorOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		const writers = 8
		errs := make(chan error, writers)
		testutil.Concurrently(writers, func(w int) {
			errs <- svc.SaveClicks(ctx, []referral.Click{{ID: fmt.Sprintf("clk_w%d", w), Code: "AAAA2222", ReferrerID: "r", VisitorHash: "same", CreatedAt: at.Add(time.Duration(w) * time.Millisecond)}})
		})
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if d, err := st.DailyTotals(ctx, "r"); err != nil || d.Clicks != writers || d.UniqueClicks != 1 {
			t.Fatalf("totals = %+v, %v; want %d clicks, 1 unique", d, err, writers)
		}
	})
}

// TestRecentVisitorsPrunedEveryFewMinutes: visitors whose last unique
// click is over two hours old are forgotten by the next batch, and the
// scan that forgets them runs at most every tenth of the window.
func TestRecentVisitorsPrunedEveryFewMinutes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Now: func() time.Time { return now }})
		batch := func(id, visitor string) {
			t.Helper()
			if err := svc.SaveClicks(ctx, []referral.Click{{ID: id, Code: "AAAA2222", ReferrerID: "r", VisitorHash: visitor, CreatedAt: now}}); err != nil {
				t.Fatal(err)
			}
		}
		old := referral.Visitor{ReferrerID: "r", VisitorHash: "old"}
		known := func() bool {
			t.Helper()
			got, err := st.RecentVisitors(ctx, []referral.Visitor{old}, now.Add(-30*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			return !got[old].IsZero()
		}
		batch("clk_1", "v1") // the first batch prunes
		if err := st.NoteUniqueVisits(ctx, map[referral.Visitor]time.Time{old: now.Add(-3 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(5 * time.Minute)
		batch("clk_2", "v2")
		if !known() {
			t.Fatal("pruned again five minutes after the last pruning")
		}
		now = now.Add(time.Minute)
		batch("clk_3", "v3")
		if known() {
			t.Fatal("a visitor last unique three hours ago was not pruned six minutes after the last pruning")
		}
	})
}
