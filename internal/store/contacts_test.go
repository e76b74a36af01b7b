package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
)

// TestContactsAndPreferences: a token's address fills in and follows a
// change, but never replaces the product backend's; preferences are the
// defaults until saved, then replaced whole.
func TestContactsAndPreferences(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		at := time.Now().UTC().Truncate(time.Microsecond)
		if _, err := st.Contact(ctx, "u1"); !errors.Is(err, mail.ErrNoContact) {
			t.Fatalf("no contact: %v", err)
		}
		remember := func(email string, want bool) {
			t.Helper()
			wrote, err := st.RememberEmail(ctx, "u1", email, at)
			if err != nil || wrote != want {
				t.Fatalf("RememberEmail(%s) = %v, %v; want %v", email, wrote, err, want)
			}
		}
		remember("a@example.com", true)
		remember("a@example.com", false) // unchanged: no write
		remember("b@example.com", true)
		c, err := st.Contact(ctx, "u1")
		if err != nil || c.Email != "b@example.com" || c.Source != mail.SourceToken || c.Locale != "" {
			t.Fatalf("contact from token: %+v %v", c, err)
		}
		if err := st.SaveContact(ctx, mail.Contact{UserID: "u1", Email: "billing@example.com", Locale: "de", Source: mail.SourceService, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
		remember("c@example.com", false) // the backend's address stays
		c, err = st.Contact(ctx, "u1")
		if err != nil || c.Email != "billing@example.com" || c.Source != mail.SourceService || c.Locale != "de" || !c.UpdatedAt.Equal(at) {
			t.Fatalf("contact from service: %+v %v", c, err)
		}

		if _, chose, err := st.Preferences(ctx, "u1"); err != nil || chose {
			t.Fatalf("preferences before choosing: %v %v", chose, err)
		}
		for _, p := range []mail.Preferences{{ReferralCreated: true}, {PayoutPaid: true, RewardAvailable: true}} {
			if err := st.SavePreferences(ctx, "u1", p, at); err != nil {
				t.Fatal(err)
			}
			got, chose, err := st.Preferences(ctx, "u1")
			if err != nil || !chose || got != p {
				t.Fatalf("preferences = %+v %v %v, want %+v", got, chose, err, p)
			}
		}
	})
}
