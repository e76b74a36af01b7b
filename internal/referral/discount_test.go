package referral_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripeapi"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
)

// countingIssuer counts the discounts asked of stripe-mock.
type countingIssuer struct {
	next    referral.DiscountIssuer
	calls   atomic.Int64
	mu      sync.Mutex
	keys    []string
	toggles []string
	// log lists, in order, each promotion code created ("+id"), each
	// activation ("id=true") or deactivation ("id=false") and each coupon
	// deleted ("-coupon").
	log []string
	// couponOf maps each promotion code to its coupon; promos counts the
	// promotion codes made for referrer codes.
	couponOf map[string]string
	promos   atomic.Int64
	// failCreate makes creations fail as a Stripe refusal would.
	failCreate bool
}

func (c *countingIssuer) CreateDiscount(ctx context.Context, d referral.DiscountSpec) (referral.IssuedDiscount, error) {
	c.calls.Add(1)
	c.mu.Lock()
	c.keys = append(c.keys, d.IdempotencyKey)
	c.mu.Unlock()
	if c.failCreate {
		return referral.IssuedDiscount{}, fmt.Errorf("%w: code taken", referral.ErrDiscountRejected)
	}
	got, err := c.next.CreateDiscount(ctx, d)
	if err == nil {
		c.created(got)
	}
	return got, err
}

func (c *countingIssuer) created(got referral.IssuedDiscount) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, "+"+got.PromotionCodeID)
	if c.couponOf == nil {
		c.couponOf = map[string]string{}
	}
	c.couponOf[got.PromotionCodeID] = got.CouponID
}

func (c *countingIssuer) CreatePromotionCode(ctx context.Context, d referral.PromotionCodeSpec) (referral.IssuedDiscount, error) {
	c.promos.Add(1)
	got, err := c.next.CreatePromotionCode(ctx, d)
	if err == nil {
		c.created(got)
	}
	return got, err
}

func (c *countingIssuer) DeleteCoupon(ctx context.Context, id string) error {
	err := c.next.DeleteCoupon(ctx, id)
	if err == nil {
		c.mu.Lock()
		c.log = append(c.log, "-"+id)
		c.mu.Unlock()
	}
	return err
}

// active lists the promotion codes the log leaves active.
func (c *countingIssuer) active() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	on := map[string]bool{}
	deleted := map[string]bool{}
	for _, e := range c.log {
		if id, ok := strings.CutPrefix(e, "+"); ok {
			on[id] = true
		} else if coupon, ok := strings.CutPrefix(e, "-"); ok {
			deleted[coupon] = true
		} else if id, state, ok := strings.Cut(e, "="); ok {
			on[id] = state == "true"
		}
	}
	for id := range on {
		if deleted[c.couponOf[id]] {
			on[id] = false
		}
	}
	var out []string
	for id, ok := range on {
		if ok {
			out = append(out, id)
		}
	}
	return out
}

func (c *countingIssuer) SetPromotionCodeActive(ctx context.Context, id string, active bool) error {
	c.mu.Lock()
	c.toggles = append(c.toggles, fmt.Sprintf("%s=%v", id, active))
	c.mu.Unlock()
	if c.failCreate {
		return nil
	}
	err := c.next.SetPromotionCodeActive(ctx, id, active)
	if err == nil {
		c.mu.Lock()
		c.log = append(c.log, fmt.Sprintf("%s=%v", id, active))
		c.mu.Unlock()
	}
	return err
}

func discountIssuer(t *testing.T) *countingIssuer {
	t.Helper()
	url, err := teststripe.URL()
	if err != nil {
		t.Fatal(err)
	}
	return &countingIssuer{next: stripeapi.New("sk_test_123", url)}
}

// TestFriendDiscount: a program's discount becomes a Stripe coupon and
// promotion code (stripe-mock), created once per distinct discount;
// invalid discounts are refused before any Stripe call; the offer says it
// in words and numbers.
func TestFriendDiscount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		issuer := discountIssuer(t)
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Discounts: issuer})
		twenty := referral.MustPercent("20")
		give := referral.FriendReward{Type: referral.FriendDiscount, Discount: &referral.Discount{PercentOff: &twenty, Duration: referral.DurationOnce, Code: "FRIEND20"}}
		prog, err := svc.CreateProgram(ctx, "ops", referral.ProgramPatch{
			Name: ptr("Give 20%, get 25%"), Referrer: &referral.RewardPatch{Percent: ptr("25")}, Friend: &give,
		})
		if err != nil {
			t.Fatal(err)
		}
		d := prog.Friend.Discount
		if d.StripeCouponID == "" || d.StripePromotionCodeID == "" || d.PromotionCode == "" || issuer.calls.Load() != 1 {
			t.Fatalf("discount: %+v after %d calls", d, issuer.calls.Load())
		}
		stored, _ := svc.Program(ctx, prog.ID)
		if sd := stored.Friend.Discount; sd == nil || sd.StripeCouponID != d.StripeCouponID || sd.PercentOff.String() != "20" {
			t.Fatalf("stored discount: %+v", sd)
		}
		// The same discount again (and other changes): no new Stripe objects.
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &give, Name: ptr("Renamed")}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Referrer: &referral.RewardPatch{Percent: ptr("30")}}); err != nil {
			t.Fatal(err)
		}
		if issuer.calls.Load() != 1 {
			t.Fatalf("%d Stripe calls for one discount", issuer.calls.Load())
		}
		// Another discount: new objects, under another idempotency key.
		off := referral.FriendReward{Type: referral.FriendDiscount, Discount: &referral.Discount{AmountOff: referral.Amounts{"usd": 1000}, Duration: referral.DurationRepeating, DurationMonths: 3}}
		upd, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &off})
		if err != nil || issuer.calls.Load() != 2 || issuer.keys[0] == issuer.keys[1] || upd.Friend.Discount.StripeCouponID == "" {
			t.Fatalf("changed discount: %+v %v (%d calls, keys %v)", upd.Friend.Discount, err, issuer.calls.Load(), issuer.keys)
		}
		if len(issuer.toggles) != 1 || issuer.toggles[0] != d.StripePromotionCodeID+"=false" {
			t.Fatalf("the replaced promotion code was not deactivated: %v", issuer.toggles)
		}
		o := referral.OfferOf(upd)
		if o.Type != referral.FriendDiscount || o.AmountOff != 1000 || o.Currency != "usd" || o.Description != "10.00 USD off for 3 months" {
			t.Fatalf("offer: %+v", o)
		}
		code, _ := svc.GetOrCreateProgramCode(ctx, "r", prog.ID)
		if co, err := svc.CodeOffer(ctx, code.Code); err != nil || co.PromotionCode != upd.Friend.Discount.PromotionCode {
			t.Fatalf("code offer: %+v %v", co, err)
		}
		if co, err := svc.CodeOffer(ctx, mustCode(t, svc, "s")); err != nil || co != nil {
			t.Fatalf("default program's offer: %+v %v", co, err)
		}

		// Refused before any Stripe call.
		calls := issuer.calls.Load()
		pct := func(s string) *referral.Percent { p := referral.MustPercent(s); return &p }
		for _, tc := range []struct {
			name  string
			d     *referral.Discount
			field string
		}{
			{"none", nil, "friendReward.discount"},
			{"both", &referral.Discount{PercentOff: pct("10"), AmountOff: referral.Amounts{"usd": 5}, Duration: "once"}, "friendReward.discount"},
			{"neither", &referral.Discount{Duration: "once"}, "friendReward.discount"},
			{"zero percent", &referral.Discount{PercentOff: pct("0"), Duration: "once"}, "friendReward.discount.percentOff"},
			{"three decimals", &referral.Discount{PercentOff: pct("12.345"), Duration: "once"}, "friendReward.discount.percentOff"},
			{"two currencies", &referral.Discount{AmountOff: referral.Amounts{"usd": 5, "eur": 5}, Duration: "once"}, "friendReward.discount.amountOff"},
			{"any currency", &referral.Discount{AmountOff: referral.Amounts{"*": 5}, Duration: "once"}, "friendReward.discount.amountOff"},
			{"zero amount", &referral.Discount{AmountOff: referral.Amounts{"usd": 0}, Duration: "once"}, "friendReward.discount.amountOff"},
			{"bad duration", &referral.Discount{PercentOff: pct("10"), Duration: "weekly"}, "friendReward.discount.duration"},
			{"repeating without months", &referral.Discount{PercentOff: pct("10"), Duration: "repeating"}, "friendReward.discount.durationMonths"},
			{"months when once", &referral.Discount{PercentOff: pct("10"), Duration: "once", DurationMonths: 2}, "friendReward.discount.durationMonths"},
			{"bad code", &referral.Discount{PercentOff: pct("10"), Duration: "once", Code: "no spaces"}, "friendReward.discount.promotionCode"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				fr := referral.FriendReward{Type: referral.FriendDiscount, Discount: tc.d}
				_, err := svc.CreateProgram(ctx, "ops", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("5")}, Friend: &fr})
				var ve *referral.ValidationError
				if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
					t.Fatalf("create: %v, want %s named", err, tc.field)
				}
				_, err = svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &fr})
				if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
					t.Fatalf("update: %v, want %s named", err, tc.field)
				}
			})
		}
		if issuer.calls.Load() != calls {
			t.Fatalf("invalid discounts reached Stripe: %d calls", issuer.calls.Load()-calls)
		}
		// Stripe refusing a new discount: the old code is active again and
		// the program unchanged.
		issuer.failCreate = true
		issuer.toggles = nil
		other := referral.FriendReward{Type: referral.FriendDiscount, Discount: &referral.Discount{PercentOff: pct("15"), Duration: referral.DurationForever}}
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &other}); !errors.Is(err, referral.ErrDiscountRejected) {
			t.Fatalf("refused discount: %v", err)
		}
		old := upd.Friend.Discount.StripePromotionCodeID
		if len(issuer.toggles) != 2 || issuer.toggles[0] != old+"=false" || issuer.toggles[1] != old+"=true" {
			t.Fatalf("toggles after a refusal: %v", issuer.toggles)
		}
		if p, _ := svc.Program(ctx, prog.ID); p.Friend.Discount.StripeCouponID != upd.Friend.Discount.StripeCouponID {
			t.Fatalf("a refused discount changed the program: %+v", p.Friend.Discount)
		}
		issuer.failCreate = false
		// Removing the discount deactivates its code.
		issuer.toggles = nil
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &referral.FriendReward{Type: referral.FriendNone}}); err != nil {
			t.Fatal(err)
		}
		if len(issuer.toggles) != 1 || issuer.toggles[0] != old+"=false" {
			t.Fatalf("toggles after removal: %v", issuer.toggles)
		}
		// Without Stripe configured, a discount is refused.
		plain := newService(st, "20")
		if _, err := plain.CreateProgram(ctx, "ops", referral.ProgramPatch{Name: ptr("x"), Referrer: &referral.RewardPatch{Percent: ptr("5")}, Friend: &give}); !errors.Is(err, referral.ErrDiscountsDisabled) {
			t.Fatalf("without Stripe: %v", err)
		}
	})
}

func mustCode(t *testing.T, svc *referral.Service, user string) string {
	t.Helper()
	c, err := svc.GetOrCreateCode(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return c.Code
}
