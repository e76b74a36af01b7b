package referral_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/testdb"
)

// TestRewardAvailableOnceAcrossReplicas: three replicas scan for ended
// holds at once, round after round, while refunds land; every reward that
// keeps money is announced exactly once with what it keeps, and a reward
// refunded in full inside its hold is never announced.
func TestRewardAvailableOnceAcrossReplicas(t *testing.T) {
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			stores := testdb.Replicas(t, backend, 3)
			var replicas []*referral.Service
			for _, st := range stores {
				replicas = append(replicas, referral.NewService(st, referral.Options{
					Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Hold: 24 * time.Hour, Now: clock}))
			}
			ctx := context.Background()
			svc := replicas[0]
			want := map[string]int64{} // referral id → amount it keeps
			for round := range 3 {
				for i := range 10 {
					friend := fmt.Sprintf("f%d_%d", round, i)
					r := setupReferral(t, svc, fmt.Sprintf("r%d", i%4), friend)
					pay := fmt.Sprintf("p%d_%d", round, i)
					if _, err := svc.RecordPayment(ctx, referral.Payment{ID: pay, UserID: friend, Amount: 10000, Currency: "usd", Source: referral.SourceAPI}); err != nil {
						t.Fatal(err)
					}
					switch i % 3 {
					case 0:
						want[r.ID] = 2000
					case 1: // a quarter refunded within the hold
						if _, err := svc.RecordClaim(ctx, referral.Claim{ID: "re" + pay, Kind: referral.ClaimRefund, PaymentID: pay, Amount: 2500, Source: referral.SourceAPI}); err != nil {
							t.Fatal(err)
						}
						want[r.ID] = 1500
					case 2: // refunded in full within the hold: nothing to announce
						if _, err := svc.RecordClaim(ctx, referral.Claim{ID: "re" + pay, Kind: referral.ClaimRefund, PaymentID: pay, Amount: 10000, Source: referral.SourceAPI}); err != nil {
							t.Fatal(err)
						}
					}
				}
				mu.Lock()
				now = now.Add(25 * time.Hour)
				mu.Unlock()
				var wg sync.WaitGroup
				for _, rep := range replicas {
					for range 3 {
						wg.Go(func() {
							if _, err := rep.AnnounceAvailableRewards(ctx, 4); err != nil {
								t.Error(err)
							}
						})
					}
				}
				wg.Wait()
				// Whatever the small batches left, later scans pick up.
				for {
					n, err := replicas[round%3].AnnounceAvailableRewards(ctx, 4)
					if err != nil {
						t.Fatal(err)
					}
					if n == 0 {
						break
					}
				}
			}
			// The feeds show events once the outbox has dispatched them.
			if _, err := stores[0].Dispatch(ctx, 10000, func(outbox.Event) ([]outbox.Route, error) { return nil, nil }, time.Now()); err != nil {
				t.Fatal(err)
			}
			events, _, err := svc.Events(ctx, referral.EventFilter{Type: referral.EventRewardAvailable, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, e := range events {
				var c referral.RewardChange
				if err := json.Unmarshal(e.Data, &c); err != nil {
					t.Fatal(err)
				}
				if _, twice := got[c.ReferralID]; twice {
					t.Fatalf("reward of %s announced twice", c.ReferralID)
				}
				got[c.ReferralID] = c.Amount
			}
			if len(got) != len(want) {
				t.Fatalf("%d rewards announced, want %d", len(got), len(want))
			}
			for id, amount := range want {
				if got[id] != amount {
					t.Fatalf("referral %s announced %d, keeps %d", id, got[id], amount)
				}
			}
		})
	}
}
