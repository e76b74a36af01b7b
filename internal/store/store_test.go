package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestMigrationsAreIdempotent: the embedded migrations apply to an empty
// database, a second run applies nothing, and readiness sees the schema current.
func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	for _, db := range []struct {
		dialect store.Dialect
		dsn     string
	}{
		{store.Postgres, testdb.EmptyPostgresURL(t)},
		{store.SQLite, t.TempDir() + "/fresh.db"},
	} {
		t.Run(string(db.dialect), func(t *testing.T) {
			st, err := store.Open(ctx, db.dialect, db.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			first, err := st.Migrate(ctx, nil)
			if err != nil || len(first) == 0 {
				t.Fatalf("first migrate: %v %v", first, err)
			}
			again, err := st.Migrate(ctx, nil)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v, %v", again, err)
			}
			current, latest, err := st.MigrationVersion(ctx)
			if err != nil || current != latest {
				t.Fatalf("version %d of %d, %v", current, latest, err)
			}
		})
	}
}

// TestConstraintsHoldWithoutTheService: the uniqueness rules live in the
// database, so even writes that skip the service's checks cannot break them.
func TestConstraintsHoldWithoutTheService(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		ok, err := st.CreateCode(ctx, referral.Code{ID: "rc_1", Code: "AAAA2222", UserID: "u1", CreatedAt: now})
		if err != nil || !ok {
			t.Fatalf("first code: %v %v", ok, err)
		}
		for _, c := range []referral.Code{
			{ID: "rc_2", Code: "BBBB2222", UserID: "u1", CreatedAt: now}, // second code for u1
			{ID: "rc_3", Code: "AAAA2222", UserID: "u2", CreatedAt: now}, // taken code
		} {
			if ok, err := st.CreateCode(ctx, c); err != nil || ok {
				t.Fatalf("%+v inserted (%v, %v)", c, ok, err)
			}
		}
		r := referral.Referral{ID: "ref_1", CodeID: "rc_1", Code: "AAAA2222", ReferrerID: "u1", ReferredUserID: "u2", Status: referral.StatusPending, CreatedAt: now}
		if ok, err := st.CreateReferral(ctx, r); err != nil || !ok {
			t.Fatalf("referral: %v %v", ok, err)
		}
		r.ID = "ref_2"
		if ok, err := st.CreateReferral(ctx, r); err != nil || ok {
			t.Fatalf("second referral of u2 inserted (%v, %v)", ok, err)
		}
		self := referral.Referral{ID: "ref_3", CodeID: "rc_1", Code: "AAAA2222", ReferrerID: "u1", ReferredUserID: "u1", Status: referral.StatusPending, CreatedAt: now}
		if _, err := st.CreateReferral(ctx, self); err == nil {
			t.Fatal("a self-referral row was accepted by the database")
		}
		p := referral.Payment{ID: "pi_1", UserID: "u2", Amount: 10, Currency: "usd", Source: referral.SourceStripe, StripePaymentIntent: "pi_1", StripeInvoice: "in_1", CreatedAt: now, Keys: []string{"pi_1", "in_1"}}
		if err := st.CreatePayment(ctx, p); err != nil {
			t.Fatalf("payment: %v", err)
		}
		// Another row claiming the same invoice is refused by the database.
		dup := referral.Payment{ID: "in_1", UserID: "u2", Amount: 10, Currency: "usd", Source: referral.SourceStripe, StripeInvoice: "in_1", CreatedAt: now}
		if err := st.CreatePayment(ctx, dup); err == nil {
			t.Fatal("a second payment with the same invoice was inserted")
		}
		found, err := st.PaymentsByKeys(ctx, []string{"in_1"})
		if err != nil || len(found) != 1 || found[0].ID != "pi_1" || fmt.Sprint(found[0].Keys) != "[in_1 pi_1]" {
			t.Fatalf("find by invoice: %+v %v", found, err)
		}
		// A payment stored apart, then found to be the same: merged.
		other := referral.Payment{ID: "ch_9", Amount: 10, Currency: "usd", Source: referral.SourceStripe, StripeCharge: "ch_9", StripeCustomer: "cus_9", CreatedAt: now, Keys: []string{"ch_9"}}
		if err := st.CreatePayment(ctx, other); err != nil {
			t.Fatalf("payment: %v", err)
		}
		if err := st.MergePayment(ctx, "ch_9", "pi_1"); err != nil {
			t.Fatal(err)
		}
		found, err = st.PaymentsByKeys(ctx, []string{"ch_9", "in_1"})
		if err != nil || len(found) != 1 || found[0].ID != "pi_1" || found[0].StripeCharge != "ch_9" || found[0].StripeCustomer != "cus_9" || len(found[0].Keys) != 3 {
			t.Fatalf("after merge: %+v %v", found, err)
		}
		if loser, err := st.PaymentByID(ctx, "ch_9"); err != nil || loser.MergedInto != "pi_1" || len(loser.Keys) != 0 || loser.StripeCharge != "" {
			t.Fatalf("merged payment: %+v %v", loser, err)
		}
		if fresh, err := st.RecordStripeEvent(ctx, referral.StripeEvent{ID: "evt_1", Type: "invoice.paid", ReceivedAt: now}); err != nil || !fresh {
			t.Fatalf("event: %v %v", fresh, err)
		}
		if fresh, err := st.RecordStripeEvent(ctx, referral.StripeEvent{ID: "evt_1", Type: "invoice.paid", ReceivedAt: now}); err != nil || fresh {
			t.Fatalf("event recorded twice (%v, %v)", fresh, err)
		}
	})
}

// TestTransactionRollsBack: a failing transaction leaves nothing behind.
func TestTransactionRollsBack(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		err := st.InTx(ctx, func(tx referral.Store) error {
			now := time.Now().UTC()
			if err := tx.AppendLedger(ctx, referral.LedgerEntry{ID: "le_1", UserID: "u1", Currency: "usd", Type: referral.EntryAdjustment, Amount: 500, AvailableAt: now, CreatedAt: now}); err != nil {
				return err
			}
			return context.Canceled
		})
		if err == nil {
			t.Fatal("transaction error lost")
		}
		bs, err := st.BalanceViews(ctx, "u1", time.Now())
		if err != nil || len(bs) != 0 {
			t.Fatalf("rolled-back credit visible: %+v %v", bs, err)
		}
	})
}

// TestLedgerMigrationBackfillsRewards: rewards credited before the ledger
// existed become ledger entries, so balance = sum of entries still holds.
func TestLedgerMigrationBackfillsRewards(t *testing.T) {
	ctx := context.Background()
	atVersion(t, 1, func(t *testing.T, st *store.Store) {
		sqlDB, _ := st.SQLDB()
		at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		for _, stmt := range []string{
			`INSERT INTO referral_codes (id, code, user_id, created_at) VALUES ('rc_1', 'AAAA2222', 'u1', $1)`,
			`INSERT INTO referrals (id, referral_code_id, code, referrer_id, referred_user_id, status, created_at) VALUES ('ref_01KBYJ0R0000000000000000A1', 'rc_1', 'AAAA2222', 'u1', 'u2', 'PENDING', $1)`,
			`INSERT INTO referrals (id, referral_code_id, code, referrer_id, referred_user_id, status, created_at) VALUES ('ref_01KBYJ0R0000000000000000A2', 'rc_1', 'AAAA2222', 'u1', 'u3', 'PENDING', $1)`,
			`INSERT INTO payments (id, user_id, amount, currency, source, created_at) VALUES ('pay_1', 'u2', 10000, 'usd', 'api', $1)`,
			`UPDATE referrals SET status = 'QUALIFIED', reward_amount = 2000, reward_currency = 'usd', qualifying_payment_id = 'pay_1', qualified_at = $1 WHERE referred_user_id = 'u2'`,
			`UPDATE payments SET referral_id = 'ref_01KBYJ0R0000000000000000A1' WHERE id = 'pay_1' AND created_at = $1`,
			`INSERT INTO user_balances (user_id, currency, balance, updated_at) VALUES ('u1', 'usd', 2000, $1)`,
		} {
			if _, err := sqlDB.ExecContext(ctx, stmt, at); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if _, err := st.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		entries, err := st.ListLedger(ctx, referral.LedgerFilter{UserID: "u1", Limit: 10})
		if err != nil || len(entries) != 1 || entries[0].Amount != 2000 || entries[0].Type != referral.EntryReward || entries[0].ReferralID != "ref_01KBYJ0R0000000000000000A1" {
			t.Fatalf("entries = %+v, %v", entries, err)
		}
		views, err := st.BalanceViews(ctx, "u1", time.Now())
		if err != nil || len(views) != 1 || views[0].Amount != 2000 || views[0].Available != 2000 {
			t.Fatalf("balances = %+v, %v", views, err)
		}
	})
}

// TestClicksRoundTrip: every field of a click batch comes back as written
// (PostgreSQL writes them with a hand-encoded binary COPY), the batch is
// part of its transaction.
func TestClicksRoundTrip(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 24, 9, 30, 15, 123456000, time.UTC)
		in := []referral.Click{
			{ID: "clk_1", Code: "ABCD2345", ReferrerID: "user-ü", VisitorHash: "0123456789abcdef0123456789abcdef", Unique: true,
				Referer: "https://news.example/ünïcode?q=a b", UTM: [5]string{"newsletter", "email", "black friday", "", "hero"}, CreatedAt: at},
			{ID: "clk_2", Code: "VANITY_1", ReferrerID: "user-2", VisitorHash: "ffff", CreatedAt: at.Add(-48 * time.Hour)},
		}
		err := st.InTx(ctx, func(tx referral.Store) error {
			if err := tx.InsertClicks(ctx, in); err != nil {
				return err
			}
			return context.Canceled // roll back
		})
		if err == nil {
			t.Fatal("transaction error lost")
		}
		if n := countClicks(t, st); n != 0 {
			t.Fatalf("%d rolled-back clicks stored", n)
		}
		if err := st.InTx(ctx, func(tx referral.Store) error { return tx.InsertClicks(ctx, in) }); err != nil {
			t.Fatal(err)
		}
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.QueryContext(ctx, `SELECT id, code, referrer_id, visitor_hash, is_unique, referer,
			utm_source, utm_medium, utm_campaign, utm_term, utm_content, created_at FROM clicks ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []referral.Click
		for rows.Next() {
			var c referral.Click
			if err := rows.Scan(&c.ID, &c.Code, &c.ReferrerID, &c.VisitorHash, &c.Unique, &c.Referer,
				&c.UTM[0], &c.UTM[1], &c.UTM[2], &c.UTM[3], &c.UTM[4], &c.CreatedAt); err != nil {
				t.Fatal(err)
			}
			c.CreatedAt = c.CreatedAt.UTC()
			out = append(out, c)
		}
		if len(out) != len(in) {
			t.Fatalf("read %d clicks, wrote %d", len(out), len(in))
		}
		for i := range in {
			if out[i] != in[i] {
				t.Errorf("click %d:\n got %+v\nwant %+v", i, out[i], in[i])
			}
		}
	})
}

func countClicks(t *testing.T, st *store.Store) int {
	t.Helper()
	db, err := st.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM clicks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestClickBatchMarks: a batch is marked once, and marks are pruned by age.
func TestClickBatchMarks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		mark := func(id string, at time.Time, want bool) {
			t.Helper()
			if got, err := st.MarkClickBatch(ctx, id, at); err != nil || got != want {
				t.Fatalf("MarkClickBatch(%s) = %v, %v; want %v", id, got, err, want)
			}
		}
		mark("clk_A", t0, true)
		mark("clk_B", t0.Add(time.Hour), true)
		mark("clk_A", t0.Add(2*time.Hour), false) // a retry of a stored batch
		if err := st.PruneClickBatches(ctx, t0.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		mark("clk_A", t0.Add(3*time.Hour), true) // forgotten
		mark("clk_B", t0.Add(3*time.Hour), false)
	})
}

// TestRecentVisitors: noted visits are found whatever the ids hold
// (PostgreSQL gets them as text[] literals) and however many visitors are
// asked for; a later visit wins over an earlier one; pruning forgets old
// visitors.
func TestRecentVisitors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
		referrers := []string{`a"b`, `c\d`, `e,f`, `{g}`, `NULL`, `h i`, `ü`, ``}
		visits := map[referral.Visitor]time.Time{}
		var ask []referral.Visitor
		for i, r := range referrers {
			v := referral.Visitor{ReferrerID: r, VisitorHash: `v"` + r}
			visits[v] = at.Add(time.Duration(i) * time.Minute)
			ask = append(ask, v)
		}
		old := referral.Visitor{ReferrerID: "x", VisitorHash: "vx"}
		visits[old] = at.Add(-2 * time.Hour)
		if err := st.NoteUniqueVisits(ctx, visits); err != nil {
			t.Fatal(err)
		}
		// An earlier time does not replace a later one; a later one does.
		if err := st.NoteUniqueVisits(ctx, map[referral.Visitor]time.Time{ask[0]: at.Add(-time.Minute), ask[1]: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ask = append(ask, old, referral.Visitor{ReferrerID: `a"b`, VisitorHash: `v"c\d`}) // too old; a cross pair
		for i := range 3000 {
			ask = append(ask, referral.Visitor{ReferrerID: "z", VisitorHash: fmt.Sprintf("%032x", i)})
		}
		got, err := st.RecentVisitors(ctx, ask, at.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(referrers) {
			t.Fatalf("found %d recent visitors, want %d: %v", len(got), len(referrers), got)
		}
		for i, r := range referrers {
			want := at.Add(time.Duration(i) * time.Minute)
			if i == 1 {
				want = at.Add(time.Hour)
			}
			if g := got[referral.Visitor{ReferrerID: r, VisitorHash: `v"` + r}]; !g.Equal(want) {
				t.Errorf("referrer %q: last unique %v, want %v", r, g, want)
			}
		}
		if err := st.PruneRecentVisitors(ctx, at.Add(3*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err = st.RecentVisitors(ctx, ask, at.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 6 { // referrers 1 (moved to +1h) and 3..7
			t.Fatalf("after pruning %d recent visitors, want 6: %v", len(got), got)
		}
	})
}

// TestRecentVisitorsMigrationBackfills: unique clicks of the last hours
// stored before recent_visitors existed still make a visitor's next click
// not unique.
func TestRecentVisitorsMigrationBackfills(t *testing.T) {
	ctx := context.Background()
	atVersion(t, 9, func(t *testing.T, st *store.Store) {
		recent := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Millisecond)
		old := recent.Add(-5 * time.Hour)
		if err := st.InTx(ctx, func(tx referral.Store) error {
			return tx.InsertClicks(ctx, []referral.Click{
				{ID: "clk_1", Code: "AAAA2222", ReferrerID: "u1", VisitorHash: "v1", Unique: true, CreatedAt: old},
				{ID: "clk_2", Code: "AAAA2222", ReferrerID: "u1", VisitorHash: "v1", Unique: true, CreatedAt: recent},
				{ID: "clk_3", Code: "AAAA2222", ReferrerID: "u1", VisitorHash: "v2", Unique: false, CreatedAt: recent},
				{ID: "clk_4", Code: "AAAA2222", ReferrerID: `ü "2"`, VisitorHash: "v1", Unique: true, CreatedAt: recent},
			})
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		// On PostgreSQL the rows went on to recent_visits (00011), keyed by a
		// hash computed in SQL that must equal the store's.
		other := referral.Visitor{ReferrerID: `ü "2"`, VisitorHash: "v1"}
		got, err := st.RecentVisitors(ctx, []referral.Visitor{{ReferrerID: "u1", VisitorHash: "v1"}, {ReferrerID: "u1", VisitorHash: "v2"}, other}, recent.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || !got[referral.Visitor{ReferrerID: "u1", VisitorHash: "v1"}].Equal(recent) || !got[other].Equal(recent) {
			t.Fatalf("recent visitors after the migration = %v, want u1's v1 and another referrer's v1 at %v", got, recent)
		}
	})
}

// atVersion runs fn on a PostgreSQL and a SQLite database migrated only up
// to version, to test what later migrations do to existing data.
func atVersion(t *testing.T, version int64, fn func(t *testing.T, st *store.Store)) {
	ctx := context.Background()
	for _, db := range []struct {
		dialect store.Dialect
		dsn     string
	}{
		{store.Postgres, testdb.EmptyPostgresURL(t)},
		{store.SQLite, t.TempDir() + "/old.db"},
	} {
		t.Run(string(db.dialect), func(t *testing.T) {
			st, err := store.Open(ctx, db.dialect, db.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.MigrateTo(ctx, version); err != nil {
				t.Fatal(err)
			}
			fn(t, st)
		})
	}
}

// TestPaymentKeysMigration: payments stored before 00012 become reachable
// by every identifier they were stored with, and the locks already taken
// for claims stay.
func TestPaymentKeysMigration(t *testing.T) {
	atVersion(t, 11, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		for _, stmt := range []string{
			`INSERT INTO payments (id, user_id, amount, currency, source, stripe_payment_intent, stripe_invoice, stripe_charge, created_at) VALUES ('pi_1', 'u1', 100, 'usd', 'stripe', 'pi_1', 'in_1', 'ch_1', $1)`,
			`INSERT INTO payments (id, user_id, amount, currency, source, stripe_checkout_session, created_at) VALUES ('cs_2', 'u2', 100, 'usd', 'stripe', 'cs_2', $1)`,
			`INSERT INTO payments (id, user_id, amount, currency, source, created_at) VALUES ('pay_3', 'u3', 100, 'usd', 'api', $1)`,
			`INSERT INTO payment_locks (key) VALUES ('ch_1'), ('re_9')`,
		} {
			if st.Dialect() == store.SQLite {
				stmt = strings.ReplaceAll(stmt, "$1", "?")
			}
			args := []any{now}
			if !strings.Contains(stmt, "?") && !strings.Contains(stmt, "$1") {
				args = nil
			}
			if _, err := db.ExecContext(ctx, stmt, args...); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if _, err := st.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]string{"pi_1": "pi_1", "in_1": "pi_1", "ch_1": "pi_1", "cs_2": "cs_2", "pay_3": "pay_3"} {
			got, err := st.PaymentsByKeys(ctx, []string{key})
			if err != nil || len(got) != 1 || got[0].ID != want {
				t.Fatalf("key %s leads to %+v (%v), want %s", key, got, err, want)
			}
		}
		if got, _ := st.PaymentsByKeys(ctx, []string{"re_9"}); len(got) != 0 {
			t.Fatalf("a claim's lock leads to a payment: %+v", got)
		}
		if p, _ := st.PaymentByID(ctx, "pi_1"); fmt.Sprint(p.Keys) != "[ch_1 in_1 pi_1]" {
			t.Fatalf("keys of pi_1: %v", p.Keys)
		}
	})
}

// TestExclusiveJobs: of two holders of one job lock, the second skips
// (TryExclusive) or waits (Exclusive) until the first is done.
func TestExclusiveJobs(t *testing.T) {
	st := testdb.Postgres(t)
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := st.TryExclusive(ctx, "job", func(context.Context) error {
			close(holding)
			<-release
			return nil
		})
		done <- err
	}()
	<-holding
	ran, err := st.TryExclusive(ctx, "job", func(context.Context) error { return nil })
	if err != nil || ran {
		t.Fatalf("second holder ran = %v (%v) while the lock was held", ran, err)
	}
	if ran, err := st.TryExclusive(ctx, "another job", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("another job: %v %v", ran, err)
	}
	waited := make(chan time.Time, 1)
	exclusiveDone := make(chan error, 1)
	go func() {
		exclusiveDone <- st.Exclusive(ctx, "job", func(context.Context) error {
			waited <- time.Now()
			return nil
		})
	}()
	time.Sleep(200 * time.Millisecond)
	released := time.Now()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if at := <-waited; at.Before(released) {
		t.Fatal("Exclusive ran while the lock was held")
	}
	if err := <-exclusiveDone; err != nil {
		t.Fatal(err)
	}
	if ran, err := st.TryExclusive(ctx, "job", func(context.Context) error { return nil }); err != nil || !ran {
		t.Fatalf("after release: %v %v", ran, err)
	}
}

// TestReadsAreReadWhole: every read outside a transaction reads its rows
// inside the callback that retries a lost connection (GORM's query
// callback), not after it (Scan, Rows): a connection the database ends
// while the rows stream in is retried like one lost before, instead of
// failing the request with a 500. Under TestDatabaseFaultsUnderLoad a
// stats read through Scan did exactly that.
func TestReadsAreReadWhole(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var streamed []string
		store.OnStreamedRead(st, func(sql string) { streamed = append(streamed, sql) })
		now := time.Now().UTC()
		day := now.Format(time.DateOnly)
		if _, err := st.ReferralStats(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DailyRange(ctx, "u1", day, day); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DailyRewardRange(ctx, "u1", day, day); err != nil {
			t.Fatal(err)
		}
		if _, err := st.TopReferrers(ctx, day, 10); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RewardsOf(ctx, []string{"u1"}, day); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DailyTotals(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.BalanceViews(ctx, "u1", now); err != nil {
			t.Fatal(err)
		}
		if len(streamed) > 0 {
			t.Fatalf("reads streamed after their retry:\n%s", strings.Join(streamed, "\n"))
		}
	})
}

// TestProgramsMigration: codes, referrals, rewards and ledger entries
// stored before programs existed belong to the default program after
// 00016-00019 (SQLite rebuilds the codes and ledger tables), keep every
// reference, and a user can then get a code in another program too.
func TestProgramsMigration(t *testing.T) {
	atVersion(t, 14, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		db, err := st.SQLDB()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		for _, stmt := range []string{
			`INSERT INTO referral_codes (id, code, user_id, created_at) VALUES ('rc_1', 'K7M2QX9P', 'u1', $1)`,
			`INSERT INTO code_aliases (code, referral_code_id, user_id, created_at) VALUES ('K7M2QX9P', 'rc_1', 'u1', $1)`,
			`INSERT INTO referrals (id, referral_code_id, code, referrer_id, referred_user_id, status, reward_amount, reward_currency, qualifying_payment_id, created_at) VALUES ('ref_1', 'rc_1', 'K7M2QX9P', 'u1', 'u2', 'QUALIFIED', 200, 'usd', 'pay_1', $1)`,
			`INSERT INTO payments (id, user_id, amount, currency, source, referral_id, created_at) VALUES ('pay_1', 'u2', 1000, 'usd', 'api', 'ref_1', $1)`,
			`INSERT INTO rewards (id, referral_id, referrer_id, payment_id, currency, payment_amount, percent_units, amount, kept_amount, available_at, created_at) VALUES ('rw_1', 'ref_1', 'u1', 'pay_1', 'usd', 1000, 200000, 200, 200, $1, $1)`,
			`INSERT INTO ledger_entries (id, user_id, currency, type, amount, referral_id, reward_id, available_at, created_at) VALUES ('le_1', 'u1', 'usd', 'reward', 200, 'ref_1', 'rw_1', $1, $1)`,
			`INSERT INTO user_balances (user_id, currency, balance, updated_at) VALUES ('u1', 'usd', 200, $1)`,
		} {
			args := []any{now}
			if st.Dialect() == store.SQLite {
				stmt = strings.ReplaceAll(stmt, "$1", "?")
				args = make([]any, strings.Count(stmt, "?"))
				for i := range args {
					args[i] = now
				}
			}
			if _, err := db.ExecContext(ctx, stmt, args...); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if _, err := st.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		code, err := st.CodeByUser(ctx, "u1", referral.DefaultProgramID)
		if err != nil || code.Code != "K7M2QX9P" || code.ProgramID != referral.DefaultProgramID {
			t.Fatalf("code after migration: %+v %v", code, err)
		}
		if c, err := st.CodeByValue(ctx, "K7M2QX9P"); err != nil || c.ID != "rc_1" {
			t.Fatalf("alias after migration: %+v %v", c, err)
		}
		ref, err := st.ReferralByID(ctx, "ref_1")
		if err != nil || ref.ProgramID != referral.DefaultProgramID {
			t.Fatalf("referral after migration: %+v %v", ref, err)
		}
		if rw, err := st.RewardByPayment(ctx, "pay_1"); err != nil || rw.KeptAmount != 200 {
			t.Fatalf("reward after migration: %+v %v", rw, err)
		}
		if es, err := st.ListLedger(ctx, referral.LedgerFilter{UserID: "u1", Limit: 10}); err != nil || len(es) != 1 || es[0].RewardID != "rw_1" {
			t.Fatalf("ledger after migration: %+v %v", es, err)
		}
		if st.Dialect() == store.SQLite {
			rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
			if err != nil {
				t.Fatal(err)
			}
			if rows.Next() {
				t.Fatal("foreign keys broken by the rebuilt tables")
			}
			rows.Close()
			var on int
			if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
				t.Fatalf("foreign keys left off: %d %v", on, err)
			}
		}
		// A second program's code beside the default one.
		if _, err := db.ExecContext(ctx, `INSERT INTO programs (id, name, created_at, updated_at) VALUES ('prog_x', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`); err != nil {
			t.Fatal(err)
		}
		ok, err := st.CreateCode(ctx, referral.Code{ID: "rc_2", Code: "ABCDEFGH", UserID: "u1", ProgramID: "prog_x", CreatedAt: now})
		if err != nil || !ok {
			t.Fatalf("second code: %v %v", ok, err)
		}
		ok, err = st.CreateCode(ctx, referral.Code{ID: "rc_3", Code: "ABCDEFGJ", UserID: "u1", ProgramID: "prog_x", CreatedAt: now})
		if err != nil || ok {
			t.Fatalf("a second code in one program: %v %v", ok, err)
		}
	})
}
