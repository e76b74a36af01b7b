package referral_test

// Money of the friend's credit and milestone bonuses around payouts that
// fail, restorations and program changes (found by a review of the
// programs merge; each failed before its fix).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripeapi"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/internal/teststripe"
	"github.com/refhub/referral-service/internal/testutil"
)

// rejectingStripe answers every call as Stripe does for an unknown
// customer: a final rejection of the credit.
func rejectingStripe(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer","param":"customer"}}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func availableOf(t *testing.T, svc *referral.Service, user, currency string) int64 {
	t.Helper()
	return balanceIn(t, svc, user, currency).Available
}

// payoutServices are two services on st with one clock: down, whose Stripe
// cannot be reached (a stripe_credit payout stays pending), and refusing,
// whose Stripe rejects every credit (the payout fails).
func payoutServices(t *testing.T, st *store.Store) (down, refusing *referral.Service) {
	t.Helper()
	c := newClock()
	opts := func(credits referral.CreditIssuer) referral.Options {
		return referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Hold: hold, Now: c.Now, Credits: credits}
	}
	return referral.NewService(st, opts(stripeapi.New("sk_test_123", "http://127.0.0.1:1"))),
		referral.NewService(st, opts(stripeapi.New("sk_test_123", rejectingStripe(t))))
}

// failPayout completes a pending payout through a refusing Stripe.
func failPayout(t *testing.T, refusing *referral.Service, id string) {
	t.Helper()
	if done, err := refusing.CompletePayout(context.Background(), id); err != nil || done.Status != referral.PayoutFailed {
		t.Fatalf("failed payout: %+v %v", done, err)
	}
}

// TestFriendCreditOfCancelledReferralNotPaidAfterFailedPayout: a friend's
// credit that a pending payout holds is reversed when the referral is
// cancelled; the payout failing does not bring it back.
func TestFriendCreditOfCancelledReferralNotPaidAfterFailedPayout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		down, rej := payoutServices(t, st)
		prog := creditProgram(t, down, referral.CreditAtSignup, referral.Amounts{"usd": 1000}) // holdDays 0
		referIn(t, down, prog.ID, "r", "f")
		p, _, err := down.RequestPayout(ctx, referral.PayoutRequest{UserID: "f", Currency: "usd", Method: referral.PayoutStripeCredit, StripeCustomerID: "cus_f"})
		if err != nil || p.Status != referral.PayoutPending || p.Amount != 1000 {
			t.Fatalf("pending payout: %+v %v", p, err)
		}
		ref, _ := st.ReferralByReferredUser(ctx, "f")
		if _, err := down.Cancel(ctx, ref.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		failPayout(t, rej, p.ID)
		if got := availableOf(t, rej, "f", "usd"); got != 0 {
			again, _, err := rej.RequestPayout(ctx, manual("f", "wire"))
			t.Fatalf("friend of a cancelled referral has %d available after the failed payout; a new payout pays %d (%v)", got, again.Amount, err)
		}
	})
}

// TestMilestoneBonusNotPaidAfterFailedPayoutOnceCountFell: the same for a
// milestone bonus whose count a refund lowered while a payout held it.
func TestMilestoneBonusNotPaidAfterFailedPayoutOnceCountFell(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		down, rej := payoutServices(t, st)
		prog := milestoneProgram(t, down, referral.Milestone{QualifiedReferrals: 1, Bonus: referral.Amounts{"usd": 5000}}) // 10%, holdDays 0
		referIn(t, down, prog.ID, "r", "f1")
		mustPay(t, down, "p1", "f1", 10000) // reward 1000 + bonus 5000
		p, _, err := down.RequestPayout(ctx, referral.PayoutRequest{UserID: "r", Currency: "usd", Method: referral.PayoutStripeCredit, StripeCustomerID: "cus_r"})
		if err != nil || p.Status != referral.PayoutPending || p.Amount != 6000 {
			t.Fatalf("pending payout: %+v %v", p, err)
		}
		mustClaim(t, down, refund("x1", "p1", 10000)) // count 0: the bonus goes
		failPayout(t, rej, p.ID)
		if got := availableOf(t, rej, "r", "usd"); got != 0 {
			again, _, err := rej.RequestPayout(ctx, manual("r", "wire"))
			t.Fatalf("referrer with 0 qualified referrals has %d available after the failed payout; a new payout pays %d (%v)", got, again.Amount, err)
		}
	})
}

// TestRestoredFriendCreditIsTheOneGranted: a friend's credit reversed by
// a full refund comes back, when the refund fails, as it was granted: a
// program change since does not alter it.
func TestRestoredFriendCreditIsTheOneGranted(t *testing.T) {
	v := teststripe.Versions()[0]
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		prog := creditProgram(t, svc, referral.CreditAtSignup, referral.Amounts{"usd": 1000})
		referIn(t, svc, prog.ID, "r", "f")
		sale := teststripe.Sale{UserID: "f", Amount: 10000, Currency: "usd", PaymentIntent: "pi_1", Charge: "ch_1"}
		pi, err := v.PaymentIntent(sale)
		sendStripe(t, svc, v, "evt_pi", "payment_intent.succeeded", pi, err)
		re, err := v.Refund("re_1", sale, 10000, "pending")
		sendStripe(t, svc, v, "evt_r1", "refund.created", re, err)
		ch, err := v.Charge(sale, 10000)
		sendStripe(t, svc, v, "evt_ch", "charge.refunded", ch, err)
		if sum, _ := creditOf(t, svc, "f", "usd"); sum != 0 {
			t.Fatalf("credit after full refund %d", sum)
		}
		// The operator raises the credit for new friends.
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &referral.FriendReward{
			Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: referral.Amounts{"usd": 5000}, When: referral.CreditAtSignup}}}); err != nil {
			t.Fatal(err)
		}
		re, err = v.Refund("re_1", sale, 10000, "failed")
		sendStripe(t, svc, v, "evt_r2", "refund.failed", re, err)
		if sum, _ := creditOf(t, svc, "f", "usd"); sum != 1000 {
			t.Fatalf("restored credit %d, want the 1000 granted at signup", sum)
		}
	})
}

// TestSignupCreditNotGrantedToEarlierSignups: a program changed to credit
// signups credits friends who sign up from then on, not, at their
// qualification, friends who signed up before.
func TestSignupCreditNotGrantedToEarlierSignups(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		svc := newService(st, "20")
		prog := milestoneProgram(t, svc) // no friend reward
		referIn(t, svc, prog.ID, "r", "f")
		if _, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &referral.FriendReward{
			Type: referral.FriendCredit, Credit: &referral.CreditReward{Amount: referral.Amounts{"usd": 1000}, When: referral.CreditAtSignup}}}); err != nil {
			t.Fatal(err)
		}
		mustPay(t, svc, "p1", "f", 10000)
		if sum, _ := creditOf(t, svc, "f", "usd"); sum != 0 {
			t.Fatalf("friend who signed up with no friend reward got a signup credit of %d at qualification", sum)
		}
	})
}

// TestProgramDiscountChecks: a currency that is three letters but no ISO
// 4217 code is refused before any Stripe call; archiving a program
// deactivates its promotion code at Stripe (stripe-mock) and its codes
// offer nothing more.
func TestProgramDiscountChecks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		issuer := discountIssuer(t)
		svc := referral.NewService(st, referral.Options{Discounts: issuer})
		_, err := svc.CreateProgram(ctx, "ops", referral.ProgramPatch{Name: ptr("p"), Referrer: &referral.RewardPatch{Percent: ptr("10")},
			Friend: &referral.FriendReward{Type: referral.FriendDiscount, Discount: &referral.Discount{AmountOff: referral.Amounts{"xyz": 500}, Duration: referral.DurationOnce}}})
		var ve *referral.ValidationError
		if !errors.As(err, &ve) || issuer.calls.Load() != 0 {
			t.Fatalf("amountOff in \"xyz\": err %v, %d Stripe calls; want a 422 before Stripe", err, issuer.calls.Load())
		}
		prog := discountProgram(t, svc, "20", referral.DurationForever, false)
		code, err := svc.GetOrCreateProgramCode(ctx, "r", prog.ID)
		if err != nil {
			t.Fatal(err)
		}
		if offer, err := svc.CodeOffer(ctx, code.Code); err != nil || offer == nil {
			t.Fatalf("offer before archiving: %+v %v", offer, err)
		}
		if _, err := svc.ArchiveProgram(ctx, "ops", prog.ID); err != nil {
			t.Fatal(err)
		}
		offer, err := svc.CodeOffer(ctx, code.Code)
		want := prog.Friend.Discount.StripePromotionCodeID + "=false"
		if err != nil || offer != nil || len(issuer.toggles) != 1 || issuer.toggles[0] != want {
			t.Fatalf("archived program: offer %+v %v, promotion code changes %v (want %s)", offer, err, issuer.toggles, want)
		}
	})
}

// TestCreateProgramUndoesItsDiscount: when the database cannot store a new
// program, the promotion code created for it at Stripe is deactivated, so
// no code gives a discount that no program knows.
func TestCreateProgramUndoesItsDiscount(t *testing.T) {
	for _, backend := range testdb.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			st := backend.Open(t)
			issuer := discountIssuer(t)
			svc := referral.NewService(st, referral.Options{Discounts: issuer})
			if err := st.Close(); err != nil { // the database goes away before the program is stored
				t.Fatal(err)
			}
			twenty := referral.MustPercent("20")
			_, err := svc.CreateProgram(context.Background(), "ops", referral.ProgramPatch{Name: ptr("p"), Referrer: &referral.RewardPatch{Percent: ptr("10")},
				Friend: &referral.FriendReward{Type: referral.FriendDiscount, Discount: &referral.Discount{PercentOff: &twenty, Duration: referral.DurationOnce}}})
			if err == nil || issuer.calls.Load() != 1 || len(issuer.toggles) != 1 || !strings.HasSuffix(issuer.toggles[0], "=false") {
				t.Fatalf("create with the database gone: %v; %d discounts created, promotion code changes %v", err, issuer.calls.Load(), issuer.toggles)
			}
		})
	}
}

// TestConcurrentDiscountChangesLeaveOneCode: operators changing a
// program's discount at the same moment, round after round, leave exactly
// one active promotion code at Stripe (stripe-mock): the program's. A
// change that lost the race is 409 and retired what it created.
func TestConcurrentDiscountChangesLeaveOneCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		issuer := discountIssuer(t)
		svc := referral.NewService(st, referral.Options{Discounts: issuer})
		prog := discountProgram(t, svc, "20", referral.DurationOnce, false)
		conflicts := 0
		for round := range 6 {
			errs := make([]error, 3)
			testutil.Concurrently(3, func(i int) {
				pct := referral.MustPercent(fmt.Sprint(30 + 10*i + round))
				_, errs[i] = svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &referral.FriendReward{
					Type: referral.FriendDiscount, Discount: &referral.Discount{PercentOff: &pct, Duration: referral.DurationOnce}}})
			})
			for _, err := range errs {
				switch {
				case errors.Is(err, referral.ErrProgramChanged):
					conflicts++
				case err != nil:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			now, err := svc.Program(ctx, prog.ID)
			if err != nil {
				t.Fatal(err)
			}
			if active := issuer.active(); len(active) != 1 || active[0] != now.Friend.Discount.StripePromotionCodeID {
				t.Fatalf("round %d: active promotion codes %v, the program's is %s", round, active, now.Friend.Discount.StripePromotionCodeID)
			}
		}
		t.Logf("%d changes lost the race and were undone", conflicts)
	})
}

// TestProgramReadAndSentBackKeepsItsDiscount: a program read and sent back
// unchanged (with the promotion code Stripe generated) keeps its coupon
// and code; no Stripe call is made.
func TestProgramReadAndSentBackKeepsItsDiscount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		issuer := discountIssuer(t)
		svc := referral.NewService(st, referral.Options{Discounts: issuer})
		prog := discountProgram(t, svc, "20", referral.DurationOnce, false)
		read := *prog.Friend.Discount
		back := referral.Discount{PercentOff: read.PercentOff, Duration: read.Duration, Code: read.PromotionCode}
		again, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &referral.FriendReward{Type: referral.FriendDiscount, Discount: &back}})
		if err != nil || issuer.calls.Load() != 1 || len(issuer.toggles) != 0 ||
			again.Friend.Discount.StripePromotionCodeID != read.StripePromotionCodeID || again.Friend.Discount.PromotionCode != read.PromotionCode {
			t.Fatalf("sent back: %+v %v; %d discounts created, promotion code changes %v", again.Friend.Discount, err, issuer.calls.Load(), issuer.toggles)
		}
	})
}

// TestPromotionCodePerReferrerCode: a program whose discount is per
// referrer code gives each code a promotion code of its own at Stripe
// (stripe-mock), spelled as the code, made once when the code is made and
// named by the code's offer and its referrals' offers; concurrent reads
// after a discount change agree on one new code; the old coupon, and with
// it the codes' old promotion codes, is deleted; archiving deletes it too.
func TestPromotionCodePerReferrerCode(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		issuer := discountIssuer(t)
		svc := referral.NewService(st, referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}, Discounts: issuer})
		prog := discountProgram(t, svc, "20", referral.DurationOnce, true)
		c1, err := svc.GetOrCreateProgramCode(ctx, "r1", prog.ID)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := svc.GetOrCreateProgramCode(ctx, "r2", prog.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := issuer.promos.Load(); n != 2 {
			t.Fatalf("%d promotion codes made for 2 referrer codes", n)
		}
		o1, err := svc.CodeOffer(ctx, c1.Code)
		if err != nil || o1 == nil || o1.PromotionCode != c1.Code || o1.StripePromotionCodeID == "" || o1.StripePromotionCodeID == prog.Friend.Discount.StripePromotionCodeID {
			t.Fatalf("offer of %s: %+v %v", c1.Code, o1, err)
		}
		o2, _ := svc.CodeOffer(ctx, c2.Code)
		if o2.PromotionCode != c2.Code || o2.StripePromotionCodeID == o1.StripePromotionCodeID {
			t.Fatalf("offer of %s: %+v (r1's %+v)", c2.Code, o2, o1)
		}
		ref, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: "f1", Code: c1.Code})
		if err != nil {
			t.Fatal(err)
		}
		if o, err := svc.ReferralOffer(ctx, ref); err != nil || o.StripePromotionCodeID != o1.StripePromotionCodeID {
			t.Fatalf("attribution offer: %+v %v", o, err)
		}
		if n := issuer.promos.Load(); n != 2 {
			t.Fatalf("reading offers made %d more promotion codes", n-2)
		}

		thirty := referral.MustPercent("30")
		changed, err := svc.UpdateProgram(ctx, "ops", prog.ID, referral.ProgramPatch{Friend: &referral.FriendReward{Type: referral.FriendDiscount,
			Discount: &referral.Discount{PercentOff: &thirty, Duration: referral.DurationOnce, PerReferrerCode: true}}})
		if err != nil {
			t.Fatal(err)
		}
		offers := make([]*referral.Offer, 5)
		testutil.Concurrently(5, func(i int) { offers[i], _ = svc.CodeOffer(ctx, c1.Code) })
		for _, o := range offers {
			if o == nil || o.PercentOff.String() != "30" || o.PromotionCode != c1.Code || o.StripePromotionCodeID != offers[0].StripePromotionCodeID ||
				o.StripePromotionCodeID == o1.StripePromotionCodeID {
				t.Fatalf("offers after the change: %+v (before: %+v)", offers, o1)
			}
		}
		active := issuer.active()
		if slices.Contains(active, o1.StripePromotionCodeID) || slices.Contains(active, o2.StripePromotionCodeID) ||
			!slices.Contains(active, offers[0].StripePromotionCodeID) || !slices.Contains(active, changed.Friend.Discount.StripePromotionCodeID) {
			t.Fatalf("active promotion codes after the change %v: r1's old %s, r2's old %s, r1's new %s, program's %s", active,
				o1.StripePromotionCodeID, o2.StripePromotionCodeID, offers[0].StripePromotionCodeID, changed.Friend.Discount.StripePromotionCodeID)
		}
		if _, err := svc.ArchiveProgram(ctx, "ops", prog.ID); err != nil {
			t.Fatal(err)
		}
		if active := issuer.active(); len(active) != 0 {
			t.Fatalf("active promotion codes of an archived program: %v", active)
		}
	})
}

// discountProgram creates a program giving the friend pct percent off for
// duration (10% to the referrer).
func discountProgram(t *testing.T, svc *referral.Service, pct, duration string, perReferrerCode bool) referral.Program {
	t.Helper()
	off := referral.MustPercent(pct)
	prog, err := svc.CreateProgram(context.Background(), "ops", referral.ProgramPatch{Name: ptr("p"), Referrer: &referral.RewardPatch{Percent: ptr("10")},
		Friend: &referral.FriendReward{Type: referral.FriendDiscount, Discount: &referral.Discount{PercentOff: &off, Duration: duration, PerReferrerCode: perReferrerCode}}})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}
