package store_test

import (
	"context"
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
		p := referral.Payment{ID: "pi_1", UserID: "u2", Amount: 10, Currency: "usd", Source: referral.SourceStripe, StripePaymentIntent: "pi_1", StripeInvoice: "in_1", CreatedAt: now}
		if ok, err := st.CreatePayment(ctx, p); err != nil || !ok {
			t.Fatalf("payment: %v %v", ok, err)
		}
		// Another id, but the same invoice: the same payment.
		dup := referral.Payment{ID: "in_1", UserID: "u2", Amount: 10, Currency: "usd", Source: referral.SourceStripe, StripeInvoice: "in_1", CreatedAt: now}
		if ok, err := st.CreatePayment(ctx, dup); err != nil || ok {
			t.Fatalf("payment sharing an invoice inserted (%v, %v)", ok, err)
		}
		found, err := st.FindPayment(ctx, dup)
		if err != nil || found.ID != "pi_1" {
			t.Fatalf("find by invoice: %+v %v", found, err)
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
			if err := tx.CreditBalance(ctx, "u1", "usd", 500, time.Now().UTC()); err != nil {
				return err
			}
			return context.Canceled
		})
		if err == nil {
			t.Fatal("transaction error lost")
		}
		bs, err := st.Balances(ctx, "u1")
		if err != nil || len(bs) != 0 {
			t.Fatalf("rolled-back credit visible: %+v %v", bs, err)
		}
	})
}
