package referral

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DiscountSpec is a Stripe coupon and promotion code to create.
type DiscountSpec struct {
	PercentOff     *Percent
	AmountOff      int64
	Currency       string
	Duration       string
	DurationMonths int
	// Code is the promotion code asked for; empty: Stripe makes one up.
	Code string
	// Name is shown to customers (on invoices and receipts).
	Name string
	// IdempotencyKey makes a repeated creation return the first objects.
	IdempotencyKey string
	// ProgramID is recorded in the objects' metadata.
	ProgramID string
}

// IssuedDiscount is what Stripe created.
type IssuedDiscount struct {
	CouponID        string
	PromotionCodeID string
	Code            string
}

// DiscountIssuer creates Stripe coupons with a promotion code. Errors
// wrapping ErrDiscountRejected are Stripe refusing the discount (a taken
// code, say); others are transient.
type DiscountIssuer interface {
	CreateDiscount(ctx context.Context, d DiscountSpec) (IssuedDiscount, error)
	// SetPromotionCodeActive activates or deactivates a promotion code.
	SetPromotionCodeActive(ctx context.Context, id string, active bool) error
	// CreatePromotionCode makes another promotion code for a coupon
	// (CouponID, Code, IdempotencyKey and ProgramID of d are used).
	CreatePromotionCode(ctx context.Context, d PromotionCodeSpec) (IssuedDiscount, error)
	// DeleteCoupon deletes a coupon: none of its promotion codes can be
	// redeemed any more (discounts already applied stay).
	DeleteCoupon(ctx context.Context, id string) error
}

// PromotionCodeSpec is a promotion code to create for an existing coupon.
type PromotionCodeSpec struct {
	CouponID       string
	Code           string
	IdempotencyKey string
	ProgramID      string
	// CodeID is the referrer code it belongs to (recorded in metadata).
	CodeID string
}

// Discount errors.
var (
	ErrDiscountRejected  = errors.New("Stripe refused the discount")
	ErrDiscountsDisabled = errors.New("a discount for the friend needs STRIPE_SECRET_KEY")
)

// issueDiscount creates the Stripe coupon and promotion code of a
// program's discount, before the program is stored (never inside a
// transaction), under an idempotency key of the program, the terms and
// the promotion code it replaces, so a retried request creates them once
// (and going back to an earlier discount creates new ones).
func (s *Service) issueDiscount(ctx context.Context, programID, name string, d *Discount, replaces string) error {
	if s.discounts == nil {
		return ErrDiscountsDisabled
	}
	sum := sha256.Sum256([]byte(d.terms() + "|" + replaces))
	spec := DiscountSpec{
		PercentOff: d.PercentOff, Duration: d.Duration, DurationMonths: d.DurationMonths, Code: d.Code, Name: name,
		IdempotencyKey: "referral-program-" + programID + "-" + hex.EncodeToString(sum[:12]), ProgramID: programID,
	}
	spec.Currency, spec.AmountOff = d.amountOff()
	issued, err := s.discounts.CreateDiscount(ctx, spec)
	if err != nil {
		return fmt.Errorf("create Stripe discount of program %s: %w", programID, err)
	}
	d.StripeCouponID, d.StripePromotionCodeID, d.PromotionCode = issued.CouponID, issued.PromotionCodeID, issued.Code
	return nil
}

// Offer is what a program gives the friend, for a landing page and the
// product's checkout.
type Offer struct {
	Type           FriendRewardType
	PercentOff     *Percent
	AmountOff      int64
	Currency       string
	Duration       string
	DurationMonths int
	PromotionCode  string
	// StripePromotionCodeID is the promotion code's Stripe id.
	StripePromotionCodeID string
	// Amount is a credit's amount in Currency; When is when it is granted.
	Amount int64
	When   string
	// Description says it in words: "20% off your first payment".
	Description string
}

// OfferOf is what program p offers the friend; nil for none (also when
// the program is archived: it takes no new friends).
func OfferOf(p Program) *Offer {
	if p.Status == ProgramArchived {
		return nil
	}
	switch f := p.Friend; {
	case f.Type == FriendDiscount && f.Discount != nil:
		d := f.Discount
		o := &Offer{Type: FriendDiscount, PercentOff: d.PercentOff, Duration: d.Duration, DurationMonths: d.DurationMonths,
			PromotionCode: d.PromotionCode, StripePromotionCodeID: d.StripePromotionCodeID}
		o.Currency, o.AmountOff = d.amountOff()
		what := ""
		if d.PercentOff != nil {
			what = d.PercentOff.String() + "%"
		} else {
			what = formatMoney(o.AmountOff, o.Currency)
		}
		switch d.Duration {
		case DurationOnce:
			o.Description = what + " off your first payment"
		case DurationRepeating:
			o.Description = fmt.Sprintf("%s off for %d month%s", what, d.DurationMonths, map[bool]string{true: "", false: "s"}[d.DurationMonths == 1])
		default:
			o.Description = what + " off every payment"
		}
		return o
	case f.Type == FriendCredit && f.Credit != nil:
		c := f.Credit
		o := &Offer{Type: FriendCredit, When: c.When}
		when := " after your first payment"
		if c.When == CreditAtSignup {
			when = " when you sign up"
		}
		o.Description = "account credit" + when
		if cur := c.signupCurrency(); len(c.Amount) == 1 && cur != AnyCurrency {
			o.Currency, o.Amount = cur, c.Amount[cur]
			o.Description = formatMoney(o.Amount, cur) + " account credit" + when
		}
		return o
	}
	return nil
}

// zeroDecimal are the currencies Stripe counts in whole units.
var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true, "krw": true,
	"mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true, "xof": true, "xpf": true}

// formatMoney writes minor units in major units with the currency code,
// e.g. "10.00 USD", with integer arithmetic.
func formatMoney(amount int64, currency string) string {
	code := strings.ToUpper(currency)
	if zeroDecimal[currency] {
		return fmt.Sprintf("%d %s", amount, code)
	}
	return fmt.Sprintf("%d.%02d %s", amount/100, amount%100, code)
}

// CodePromotion is the promotion code of one referrer code on its
// program's coupon (a discount per referrer code).
type CodePromotion struct {
	CodeID                string
	CouponID              string
	StripePromotionCodeID string
	PromotionCode         string
	CreatedAt             time.Time
}

// CodeOffer is what the friend gets with a code: the offer of the code's
// program (nil for none), naming the code's own promotion code when the
// discount is per referrer code. ErrCodeNotFound for an unknown code.
func (s *Service) CodeOffer(ctx context.Context, code string) (*Offer, error) {
	c, err := s.ResolveCode(ctx, code)
	if err != nil {
		return nil, err
	}
	return s.offerOfCode(ctx, c)
}

// ReferralOffer is the offer of a referral's program, as its code gives
// it (the code's own promotion code, if any).
func (s *Service) ReferralOffer(ctx context.Context, r Referral) (*Offer, error) {
	c, err := s.ResolveCode(ctx, r.Code)
	if err != nil || c.ProgramID != r.ProgramID {
		return s.ProgramOffer(ctx, r.ProgramID) // attributed in another program than the code's
	}
	return s.offerOfCode(ctx, c)
}

func (s *Service) offerOfCode(ctx context.Context, c Code) (*Offer, error) {
	p, err := s.Program(ctx, c.ProgramID)
	if err != nil {
		return nil, err
	}
	o := OfferOf(p)
	if o == nil || o.Type != FriendDiscount || !p.Friend.Discount.PerReferrerCode {
		return o, nil
	}
	if promo, ok := s.codePromotion(ctx, c, p); ok {
		o.PromotionCode, o.StripePromotionCodeID = promo.PromotionCode, promo.StripePromotionCodeID
	}
	return o, nil
}

// codePromotion returns the promotion code of referrer code c on p's
// coupon, creating it at Stripe (outside any transaction; one idempotency
// key per code and coupon, so concurrent first reads create one) and
// recording it when it is missing. If Stripe cannot make it now, false:
// the offer names the program's own promotion code, and a later read tries
// again.
func (s *Service) codePromotion(ctx context.Context, c Code, p Program) (CodePromotion, bool) {
	d := p.Friend.Discount
	if d == nil || d.StripeCouponID == "" || s.discounts == nil {
		return CodePromotion{}, false
	}
	got, err := s.store.CodePromotionOf(ctx, c.ID, d.StripeCouponID)
	if err == nil {
		return got, true
	}
	if !errors.Is(err, ErrNotFound) {
		s.log.WarnContext(ctx, "promotion code of a referrer code unreadable", "code_id", c.ID, "error", err)
		return CodePromotion{}, false
	}
	// It runs inside a user's request: Stripe gets a few seconds, then the
	// program's code is offered and a later read tries again.
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	issued, err := s.discounts.CreatePromotionCode(sctx, PromotionCodeSpec{CouponID: d.StripeCouponID, Code: c.Code,
		IdempotencyKey: "referral-code-" + c.ID + "-" + d.StripeCouponID, ProgramID: p.ID, CodeID: c.ID})
	if err != nil {
		s.log.WarnContext(ctx, "promotion code of a referrer code not created; the program's is offered", "code_id", c.ID,
			"program_id", p.ID, "error", err)
		return CodePromotion{}, false
	}
	promo := CodePromotion{CodeID: c.ID, CouponID: d.StripeCouponID, StripePromotionCodeID: issued.PromotionCodeID,
		PromotionCode: issued.Code, CreatedAt: s.clock()}
	if err := s.store.SaveCodePromotion(ctx, promo); err != nil {
		s.log.WarnContext(ctx, "promotion code of a referrer code not recorded", "code_id", c.ID, "error", err)
		return promo, true
	}
	// Of concurrent first reads, the one recorded first is everyone's.
	if got, err := s.store.CodePromotionOf(ctx, c.ID, d.StripeCouponID); err == nil {
		return got, true
	}
	return promo, true
}

// retireCoupon deletes a coupon whose promotion codes per referrer code
// must stop (the discount changed, the program was archived), after the
// change committed. A failure is logged.
func (s *Service) retireCoupon(ctx context.Context, programID string, d *Discount) {
	if d == nil || !d.PerReferrerCode || d.StripeCouponID == "" || s.discounts == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.discounts.DeleteCoupon(ctx, d.StripeCouponID); err != nil {
		s.log.WarnContext(ctx, "old coupon of a program not deleted: its referrer codes' promotion codes still work",
			"program_id", programID, "coupon", d.StripeCouponID, "error", err)
	}
}

// ProgramOffer is what a program offers the friend (nil for none).
func (s *Service) ProgramOffer(ctx context.Context, programID string) (*Offer, error) {
	p, err := s.Program(ctx, programID)
	if err != nil {
		return nil, err
	}
	return OfferOf(p), nil
}
