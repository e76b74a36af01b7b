package referralapi

import "time"

// Program is a referral program: the referrer's reward rules, the friend's
// reward, and whether it takes new codes and referrals.
type Program struct {
	ID   string `json:"id" validate:"required" example:"prog_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Name string `json:"name" validate:"required" example:"Give 20%, get 25%"`
	// Default is true for the program codes and referrals belong to when
	// they name none (id prog_default; it cannot be archived).
	Default bool `json:"default" validate:"required"`
	// Status: archived programs take no new codes or referrals; their
	// referrals keep earning under their rules.
	Status string `json:"status" validate:"required" enums:"active,archived" example:"active"`
	// ManagedBy is environment while the default program's rules are the
	// REWARD_* variables (until an operator changes it), else api.
	ManagedBy      string         `json:"managedBy" validate:"required" enums:"environment,api" example:"api"`
	ReferrerReward ReferrerReward `json:"referrerReward" validate:"required"`
	FriendReward   FriendReward   `json:"friendReward" validate:"required"`
	// Milestones pay a fixed bonus once when a referrer's QUALIFIED and
	// REWARDED referrals in the program reach qualifiedReferrals, in
	// ascending order ([] when none).
	Milestones []Milestone `json:"milestones" validate:"required"`
	CreatedAt  time.Time   `json:"createdAt" validate:"required" format:"date-time"`
	UpdatedAt  time.Time   `json:"updatedAt" validate:"required" format:"date-time"`
}

// ReferrerReward is what the referrer earns for each earning payment:
// floor(amount × percent / 100) + the fixed amount, capped by the max
// amount. Amount maps are keyed by lower-case currency; the key "*"
// applies to every currency not listed (the default program built from
// REWARD_* uses it).
type ReferrerReward struct {
	// Percent of the payment, a decimal string 0–100 with up to 4 decimals.
	Percent string `json:"percent" validate:"required" example:"25"`
	// FixedAmount is added to each reward, per currency, in minor units.
	FixedAmount map[string]int64 `json:"fixedAmount" validate:"required"`
	// MaxAmount caps one reward, per currency (absent: no cap).
	MaxAmount map[string]int64 `json:"maxAmount" validate:"required"`
	// MinPayment is the smallest payment that earns, per currency.
	MinPayment map[string]int64 `json:"minPayment" validate:"required"`
	// Payments is how many of a referred user's payments earn (1: the first).
	Payments int `json:"payments" validate:"required" minimum:"1" maximum:"1000" example:"1"`
	// HoldDays is how long a reward stays pending before it can be paid out.
	HoldDays int `json:"holdDays" validate:"required" minimum:"0" maximum:"3650" example:"14"`
}

// Milestone is a bonus for reaching a number of qualified referrals: a
// ledger entry of type bonus in the currency of the referral that reaches
// it (bonus is keyed by currency, "*" for any other), held like rewards,
// and reversed if the count falls back below it before it is paid out.
type Milestone struct {
	QualifiedReferrals int              `json:"qualifiedReferrals" validate:"required" minimum:"1" example:"5"`
	Bonus              map[string]int64 `json:"bonus" validate:"required"`
}

// FriendReward is what the referred friend gets: nothing, a discount at
// checkout (a Stripe coupon and promotion code), or account credit.
type FriendReward struct {
	Type string `json:"type" validate:"required" enums:"none,discount,credit" example:"discount"`
	// Discount is required for type discount.
	Discount *FriendDiscount `json:"discount,omitempty"`
	// Credit is required for type credit.
	Credit *FriendCredit `json:"credit,omitempty"`
}

// FriendDiscount is the friend's discount: either percentOff or amountOff.
// The service creates the Stripe coupon and a promotion code pointing at it
// when the program gets the discount (again only when the discount changes).
type FriendDiscount struct {
	// PercentOff, a decimal string above 0 and at most 100, two decimals at most.
	PercentOff *string `json:"percentOff,omitempty" example:"20"`
	// AmountOff in one currency, in minor units.
	AmountOff map[string]int64 `json:"amountOff,omitempty"`
	// Duration on a subscription: once (the first payment), repeating
	// (durationMonths months) or forever.
	Duration       string `json:"duration" validate:"required" enums:"once,repeating,forever" example:"once"`
	DurationMonths int    `json:"durationMonths,omitempty" example:"3"`
	// StripeCouponID and StripePromotionCodeID are what the service
	// created (ignored in requests).
	StripeCouponID        string `json:"stripeCouponId,omitempty" example:"Z4OV52SU"`
	StripePromotionCodeID string `json:"stripePromotionCodeId,omitempty" example:"promo_1OaxY2LkdIwHu7ixVKAGxzN2"`
	// PromotionCode: in a request, the code asked for (3–40 upper-case
	// letters and digits; absent: Stripe makes one up); in a response, the
	// promotion code customers enter or the product passes to Checkout.
	PromotionCode string `json:"promotionCode,omitempty" example:"FRIEND20"`
	// PerReferrerCode gives each referrer code of the program its own
	// promotion code, spelled as the referral code, on the program's
	// coupon: the offer of a code names it (created with the code, at
	// Stripe); the program's promotionCode stays valid too.
	PerReferrerCode bool `json:"perReferrerCode,omitempty" example:"false"`
}

// Offer is what the friend gets with a code, for a landing page ("20% off
// your first payment") and the product's checkout (the promotion code).
type Offer struct {
	Type string `json:"type" validate:"required" enums:"discount,credit" example:"discount"`
	// PercentOff or AmountOff (with Currency) for a discount.
	PercentOff     *string `json:"percentOff,omitempty" example:"20"`
	AmountOff      int64   `json:"amountOff,omitempty" example:"1000" format:"int64"`
	Duration       string  `json:"duration,omitempty" enums:"once,repeating,forever" example:"once"`
	DurationMonths int     `json:"durationMonths,omitempty" example:"3"`
	// PromotionCode is the code customers type (allow_promotion_codes).
	PromotionCode string `json:"promotionCode,omitempty" example:"FRIEND20"`
	// StripePromotionCodeID is what Stripe Checkout's discounts
	// (promotion_code) and a subscription's promotion_code take.
	StripePromotionCodeID string `json:"stripePromotionCodeId,omitempty" example:"promo_1OaxY2LkdIwHu7ixVKAGxzN2"`
	// Amount (with Currency) of a credit; When it is granted.
	Amount   int64  `json:"amount,omitempty" example:"1000" format:"int64"`
	Currency string `json:"currency,omitempty" example:"usd"`
	When     string `json:"when,omitempty" enums:"signup,qualified" example:"qualified"`
	// Description says it in words.
	Description string `json:"description" validate:"required" example:"20% off your first payment"`
}

// FriendCredit is account credit for the referred friend: a ledger entry
// of theirs (type credit), held for the program's holdDays and paid out
// like any balance, reversed if the referral is cancelled before it is
// paid out.
type FriendCredit struct {
	// Amount per currency in minor units. At signup it must name exactly
	// one currency (no payment says which yet); on qualification the
	// payment's currency is used ("*": any other).
	Amount map[string]int64 `json:"amount" validate:"required"`
	// When: signup (at attribution) or qualified (with the referrer's reward).
	When string `json:"when" validate:"required" enums:"signup,qualified" example:"qualified"`
}

// ReferrerRewardChange sets fields of a program's referrer reward; fields
// not sent keep their values (a new program: percent 0, no amounts,
// payments 1, holdDays 14).
type ReferrerRewardChange struct {
	Percent     *string           `json:"percent,omitempty" example:"25"`
	FixedAmount *map[string]int64 `json:"fixedAmount,omitempty"`
	MaxAmount   *map[string]int64 `json:"maxAmount,omitempty"`
	MinPayment  *map[string]int64 `json:"minPayment,omitempty"`
	Payments    *int              `json:"payments,omitempty" example:"1"`
	HoldDays    *int              `json:"holdDays,omitempty" example:"14"`
}

// ProgramCreate creates a program.
type ProgramCreate struct {
	// Name, 1–100 characters.
	Name           string                `json:"name" validate:"required" minLength:"1" maxLength:"100" example:"Give 20%, get 25%"`
	ReferrerReward *ReferrerRewardChange `json:"referrerReward,omitempty"`
	FriendReward   *FriendReward         `json:"friendReward,omitempty"`
	Milestones     *[]Milestone          `json:"milestones,omitempty"`
}

// ProgramUpdate changes a program; fields not sent keep their values
// (within referrerReward too). friendReward and milestones, when sent,
// are replaced whole.
type ProgramUpdate struct {
	Name           *string               `json:"name,omitempty" maxLength:"100" example:"Partners"`
	ReferrerReward *ReferrerRewardChange `json:"referrerReward,omitempty"`
	FriendReward   *FriendReward         `json:"friendReward,omitempty"`
	Milestones     *[]Milestone          `json:"milestones,omitempty"`
}

// ProgramPage is one page of programs: the default first, then newest first.
type ProgramPage struct {
	Items []Program `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// ProgramChange is one entry of a program's history.
type ProgramChange struct {
	ID string `json:"id" validate:"required" example:"pch_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	// Action: create, update, archive, or environment (the service started
	// with other REWARD_* values while the default program followed them).
	Action string `json:"action" validate:"required" enums:"create,update,archive,environment,override_set,override_removed" example:"update"`
	// Subject is who changed it: the admin token's subject or API key, or
	// "environment".
	Subject   string    `json:"subject" validate:"required" example:"ops@example.com"`
	CreatedAt time.Time `json:"createdAt" validate:"required" format:"date-time"`
	// Program is the program as it was after the change (its new values).
	Program Program `json:"program" validate:"required"`
	// Override is the referrer override an override_set or
	// override_removed action changed (percent null: removed).
	Override *OverrideChange `json:"override,omitempty"`
}

// OverrideChange is a referrer override as a history entry shows it.
type OverrideChange struct {
	UserID string `json:"userId" validate:"required" example:"u1"`
	// Percent is the new percent; null when the override was removed.
	Percent *string `json:"percent" validate:"required" extensions:"x-nullable" example:"30"`
}

// OverrideRequest gives a referrer their own percent in a program.
type OverrideRequest struct {
	// ProgramID is the program; the default program when absent.
	ProgramID string `json:"programId,omitempty" maxLength:"64" example:"prog_default"`
	// Percent replaces the program's percent for this referrer's rewards
	// (a decimal string 0–100); the program's fixed part, cap, minimum,
	// payments and hold still apply.
	Percent string `json:"percent" validate:"required" example:"30"`
}

// Override is a referrer's own percent in a program.
type Override struct {
	UserID    string `json:"userId" validate:"required" example:"u1"`
	ProgramID string `json:"programId" validate:"required" example:"prog_default"`
	Percent   string `json:"percent" validate:"required" example:"30"`
	// SetBy is the subject of the operator who set it last.
	SetBy     string    `json:"setBy" validate:"required" example:"ops@example.com"`
	CreatedAt time.Time `json:"createdAt" validate:"required" format:"date-time"`
	UpdatedAt time.Time `json:"updatedAt" validate:"required" format:"date-time"`
}

// ProgramChangePage is one page of a program's history, newest first.
type ProgramChangePage struct {
	Items []ProgramChange `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// ProgramPreviewRequest is a sample payment to price under a program.
type ProgramPreviewRequest struct {
	// Amount of the sample payment in minor units (0–10^12).
	Amount int64 `json:"amount" validate:"required" minimum:"0" example:"10000" format:"int64"`
	// Currency of the payment, lower-case ISO 4217.
	Currency string `json:"currency" validate:"required" example:"usd"`
	// ReferrerID, when sent, is the referrer the payment would earn for:
	// their override, if any, applies.
	ReferrerID string `json:"referrerId,omitempty" maxLength:"128" example:"u1"`
	// Draft, when sent, is merged into the program for this preview only
	// (validated like a PATCH; nothing is saved).
	Draft *ProgramUpdate `json:"draft,omitempty"`
}

// ProgramPreview is what the sample payment would earn.
type ProgramPreview struct {
	ProgramID string `json:"programId" validate:"required" example:"prog_default"`
	Amount    int64  `json:"amount" validate:"required" example:"10000" format:"int64"`
	Currency  string `json:"currency" validate:"required" example:"usd"`
	// Earns is false when the payment is under the program's minimum.
	Earns bool `json:"earns" validate:"required"`
	// RewardAmount is the referrer's reward for the payment, as the first
	// earning payment of a referral.
	RewardAmount int64 `json:"rewardAmount" validate:"required" example:"2500" format:"int64"`
	// Rule is what the reward would be stored with, for this currency.
	Rule RewardRule `json:"rule" validate:"required"`
	// MinPayment is the smallest earning payment in this currency.
	MinPayment int64 `json:"minPayment" validate:"required" example:"0" format:"int64"`
	Payments   int   `json:"payments" validate:"required" example:"1"`
	HoldDays   int   `json:"holdDays" validate:"required" example:"14"`
	// Overridden is true when the referrer's override set the percent.
	Overridden bool `json:"overridden" validate:"required"`
}

// RewardRule is a reward's rule for one currency.
type RewardRule struct {
	Percent     string `json:"percent" validate:"required" example:"25"`
	FixedAmount int64  `json:"fixedAmount" validate:"required" example:"0" format:"int64"`
	// MaxAmount caps the reward; 0: no cap.
	MaxAmount int64 `json:"maxAmount" validate:"required" example:"0" format:"int64"`
}
