// Package referralapi holds the referral service's wire types, which the
// server encodes and the OpenAPI documents are generated from. JSON field
// names are the API contract. Go programs calling the service use the
// client generated from that contract, pkg/referralclient.
package referralapi

import "time"

// ReferralCode is the caller's referral code and shareable link.
type ReferralCode struct {
	// Code is the referral code, upper case.
	Code string `json:"code" validate:"required" example:"K7M2QX9P"`
	// URL is APP_URL + "/?ref=" + code.
	URL       string    `json:"url" validate:"required" example:"https://app.example.com/?ref=K7M2QX9P"`
	CreatedAt time.Time `json:"createdAt" validate:"required" example:"2026-11-24T10:00:00Z" format:"date-time"`
	// ProgramID is the program the code belongs to.
	ProgramID string `json:"programId" validate:"required" example:"prog_default"`
	// Links are the code's links for every surface; entries without a configured template are omitted.
	Links CodeLinks `json:"links" validate:"required"`
}

// CodeLinks are a code's links: web (APP_URL/?ref=CODE), share (the short
// link PUBLIC_URL/r/CODE, which records clicks), and app deep links.
type CodeLinks struct {
	Web     string `json:"web" validate:"required" example:"https://app.example.com/?ref=K7M2QX9P"`
	Share   string `json:"share,omitempty" example:"https://refer.example.com/r/K7M2QX9P"`
	IOS     string `json:"ios,omitempty" example:"myapp://invite?ref=K7M2QX9P"`
	Android string `json:"android,omitempty" example:"myapp://invite?ref=K7M2QX9P"`
}

// VanityCodeRequest claims a vanity code.
type VanityCodeRequest struct {
	// Code has 4–20 letters, digits, '-' or '_'; it is stored upper case.
	Code string `json:"code" validate:"required" minLength:"4" maxLength:"20" example:"JOHN2024"`
}

// CodeCheck says whether a typed code is valid.
type CodeCheck struct {
	Code  string `json:"code" validate:"required" example:"K7M2QX9P"`
	Valid bool   `json:"valid" validate:"required" example:"true"`
	// Offer is what the friend gets with this code; null when nothing.
	Offer *Offer `json:"offer" validate:"required" extensions:"x-nullable"`
}

// Referral is a referral as product backends and operators see it.
type Referral struct {
	ID             string `json:"id" validate:"required" example:"ref_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Code           string `json:"code" validate:"required" example:"K7M2QX9P"`
	ReferrerID     string `json:"referrerId" validate:"required" example:"u1"`
	ReferredUserID string `json:"referredUserId" validate:"required" example:"u2"`
	// ProgramID is the program whose rules the referral earns under.
	ProgramID      string     `json:"programId" validate:"required" example:"prog_default"`
	Status         string     `json:"status" validate:"required" enums:"PENDING,QUALIFIED,REWARDED,CANCELLED" example:"PENDING"`
	RewardAmount   *int64     `json:"rewardAmount" validate:"required" extensions:"x-nullable" example:"2000" format:"int64"`
	RewardCurrency *string    `json:"rewardCurrency" validate:"required" extensions:"x-nullable" example:"usd"`
	QualifiedAt    *time.Time `json:"qualifiedAt" validate:"required" extensions:"x-nullable" format:"date-time"`
	RewardPaidAt   *time.Time `json:"rewardPaidAt" validate:"required" extensions:"x-nullable" format:"date-time"`
	CreatedAt      time.Time  `json:"createdAt" validate:"required" format:"date-time"`
	// CancelReason is the operator's reason when an operator cancelled the referral.
	CancelReason *string `json:"cancelReason,omitempty" extensions:"x-nullable" example:"fraud: same card as referrer"`
	// Offer, in the attribution response only, is what the friend gets
	// (the promotion code to pass to Stripe Checkout's discounts or to apply
	// to the subscription); null when nothing.
	Offer *Offer `json:"offer,omitempty" extensions:"x-nullable"`
}

// AdminReferralPage is one page of referrals for operators, newest first.
type AdminReferralPage struct {
	Items []Referral `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// CancelRequest cancels a referral.
type CancelRequest struct {
	// Reason is recorded with the cancellation (1–500 characters).
	Reason string `json:"reason" validate:"required" minLength:"1" maxLength:"500" example:"fraud: same card as referrer"`
}

// ReferralHistoryItem is one entry of a referrer's history. The referred user
// appears only as a masked label.
type ReferralHistoryItem struct {
	ID             string     `json:"id" validate:"required" example:"ref_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Status         string     `json:"status" validate:"required" enums:"PENDING,QUALIFIED,REWARDED,CANCELLED" example:"QUALIFIED"`
	RewardAmount   *int64     `json:"rewardAmount" validate:"required" extensions:"x-nullable" example:"2000" format:"int64"`
	RewardCurrency *string    `json:"rewardCurrency" validate:"required" extensions:"x-nullable" example:"usd"`
	QualifiedAt    *time.Time `json:"qualifiedAt" validate:"required" extensions:"x-nullable" format:"date-time"`
	RewardPaidAt   *time.Time `json:"rewardPaidAt" validate:"required" extensions:"x-nullable" format:"date-time"`
	CreatedAt      time.Time  `json:"createdAt" validate:"required" format:"date-time"`
	// ReferredUser is a masked label such as "j***@example.com" or "u***42".
	ReferredUser string `json:"referredUser" validate:"required" example:"j***@example.com"`
}

// ReferralPage is one page of a referrer's history, newest first.
type ReferralPage struct {
	Items []ReferralHistoryItem `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable" example:"cmVmXzAxSkRRM1pLNVY4WTZNNFQyTjlQMFFSUzdX"`
}

// StatusStats is the count and reward sums of one referral status.
type StatusStats struct {
	Count int64 `json:"count" validate:"required" example:"2" format:"int64"`
	// RewardAmount maps currency → sum of rewards, in minor units.
	RewardAmount map[string]int64 `json:"rewardAmount" validate:"required"`
}

// StatsByStatus holds every status, always all four.
type StatsByStatus struct {
	Pending   StatusStats `json:"PENDING" validate:"required"`
	Qualified StatusStats `json:"QUALIFIED" validate:"required"`
	Rewarded  StatusStats `json:"REWARDED" validate:"required"`
	Cancelled StatusStats `json:"CANCELLED" validate:"required"`
}

// ReferralStats is the referrer's dashboard.
type ReferralStats struct {
	// Code is null until the user has a code.
	Code     *string       `json:"code" validate:"required" extensions:"x-nullable" example:"K7M2QX9P"`
	Total    int64         `json:"total" validate:"required" example:"4" format:"int64"`
	ByStatus StatsByStatus `json:"byStatus" validate:"required"`
	// Clicks on the caller's short links (bots and prefetches excluded).
	Clicks ClickCounts `json:"clicks" validate:"required"`
	// Conversion: signups per unique click, and the share of signups that paid.
	Conversion Conversion `json:"conversion" validate:"required"`
}

// ClickCounts counts short-link clicks; a visitor counts once per hour as unique.
type ClickCounts struct {
	Total  int64 `json:"total" validate:"required" example:"120" format:"int64"`
	Unique int64 `json:"unique" validate:"required" example:"80" format:"int64"`
}

// Conversion rates, between 0 and 1 (rounded to 4 decimals; 0 when undefined).
type Conversion struct {
	// SignupRate is referred signups / unique clicks.
	SignupRate float64 `json:"signupRate" validate:"required" example:"0.05"`
	// PaidRate is referrals that qualified (QUALIFIED or REWARDED) / signups.
	PaidRate float64 `json:"paidRate" validate:"required" example:"0.4"`
}

// Balance is a reward balance in one currency, in minor units:
// amount = pending + available. It may be negative after a clawback.
type Balance struct {
	Currency string `json:"currency" validate:"required" example:"usd"`
	Amount   int64  `json:"amount" validate:"required" example:"4000" format:"int64"`
	// Pending is the part still inside the hold period (REWARD_HOLD_DAYS).
	Pending int64 `json:"pending" validate:"required" example:"1000" format:"int64"`
	// Available is the part that can be paid out.
	Available int64 `json:"available" validate:"required" example:"3000" format:"int64"`
}

// LedgerEntry is one append-only change of a balance. Entries are never
// edited or deleted; a balance is the sum of its entries.
type LedgerEntry struct {
	ID   string `json:"id" validate:"required" example:"le_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Type string `json:"type" validate:"required" enums:"reward,reward_reversal,payout,clawback,adjustment,bonus,credit" example:"reward"`
	// Amount is signed, in minor units.
	Amount      int64     `json:"amount" validate:"required" example:"2000" format:"int64"`
	Currency    string    `json:"currency" validate:"required" example:"usd"`
	ReferralID  *string   `json:"referralId" validate:"required" extensions:"x-nullable" example:"ref_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Description string    `json:"description" validate:"required" example:"reward for payment pay_123 by a referred user"`
	CreatedAt   time.Time `json:"createdAt" validate:"required" format:"date-time"`
}

// LedgerPage is one page of a ledger, newest first.
type LedgerPage struct {
	Items []LedgerEntry `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// Balances lists the caller's balance per currency.
type Balances struct {
	Balances []Balance `json:"balances" validate:"required"`
}

// CreateReferralRequest attributes a newly registered user to a code.
type CreateReferralRequest struct {
	// ReferredUserID is the product's id of the newly registered user (1–128 characters).
	ReferredUserID string `json:"referredUserId" validate:"required" minLength:"1" maxLength:"128" example:"u2"`
	// Code is the referral code the user came with; case and surrounding spaces are ignored.
	Code string `json:"code" validate:"required" minLength:"1" maxLength:"64" example:"K7M2QX9P"`
	// Email of the new user, kept for fraud checks and the referrer's masked label.
	Email string `json:"email,omitempty" maxLength:"254" example:"jane@example.com"`
	// IP the user registered from.
	IP string `json:"ip,omitempty" maxLength:"45" example:"203.0.113.7"`
	// UserAgent the user registered with.
	UserAgent string `json:"userAgent,omitempty" maxLength:"512" example:"Mozilla/5.0"`
	// ClickID is the click parameter the short link passed to the app; it dates the visit.
	ClickID string `json:"clickId,omitempty" maxLength:"64" example:"clk_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	// ClickedAt is when the user followed the referral link, when no clickId is known (RFC 3339).
	ClickedAt *time.Time `json:"clickedAt,omitempty" example:"2026-11-20T18:30:00Z" format:"date-time"`
	// ProgramID, when sent, is the program the referral earns under; else the code's program.
	ProgramID string `json:"programId,omitempty" maxLength:"64" example:"prog_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
}

// PaymentRequest reports a successful payment by a user.
type PaymentRequest struct {
	// PaymentID is the idempotency key: the product's id of the payment (1–255 characters).
	PaymentID string `json:"paymentId" validate:"required" minLength:"1" maxLength:"255" example:"pay_123"`
	UserID    string `json:"userId" validate:"required" minLength:"1" maxLength:"128" example:"u2"`
	// Amount paid in minor units.
	Amount int64 `json:"amount" validate:"required" minimum:"0" maximum:"100000000000000" example:"10000" format:"int64"`
	// Currency is a three-letter ISO 4217 code, lower case.
	Currency string `json:"currency" validate:"required" minLength:"3" maxLength:"3" example:"usd"`
}

// PaymentResult says whether a reported payment qualified a referral.
type PaymentResult struct {
	PaymentID string `json:"paymentId" validate:"required" example:"pay_123"`
	// Qualified is true when this call qualified a referral; false on a repeat or no-op.
	Qualified bool `json:"qualified" validate:"required" example:"true"`
	// Referral is the referral this payment qualified (now or originally), else null.
	Referral *Referral `json:"referral" validate:"required" extensions:"x-nullable"`
}

// WebhookResult acknowledges a Stripe event.
type WebhookResult struct {
	Received bool `json:"received" validate:"required" example:"true"`
	// Outcome is processed, duplicate (already processed) or ignored (not an event this service acts on).
	Outcome string `json:"outcome" validate:"required" enums:"processed,duplicate,ignored" example:"processed"`
}

// Health is the answer of the health and readiness probes.
type Health struct {
	Status string `json:"status" validate:"required" enums:"ok,unavailable" example:"ok"`
}

// Problem is an RFC 9457 problem details document, the body of every error.
type Problem struct {
	Type   string `json:"type" validate:"required" example:"urn:referral-service:problem:referral_exists"`
	Title  string `json:"title" validate:"required" example:"Referral already exists"`
	Status int    `json:"status" validate:"required" example:"409"`
	Detail string `json:"detail,omitempty" example:"user u2 was already referred with another code"`
	// Code is stable and machine-readable; clients switch on it.
	Code      string `json:"code" validate:"required" example:"referral_exists"`
	RequestID string `json:"requestId,omitempty" example:"01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	// Errors maps a request field to what is wrong with it, for validation failures.
	Errors map[string]string `json:"errors,omitempty"`
}

// StripeEvent is the part of a Stripe event this service reads; Stripe sends
// more fields, which are accepted and ignored.
type StripeEvent struct {
	ID         string         `json:"id" validate:"required" example:"evt_1PqR2s"`
	Object     string         `json:"object" example:"event"`
	Type       string         `json:"type" validate:"required" example:"invoice.paid"`
	APIVersion string         `json:"api_version" example:"2024-06-20"`
	Data       map[string]any `json:"data" validate:"required"`
}

// RefundRequest reports a refund of (part of) a payment.
type RefundRequest struct {
	// RefundID is the idempotency key: the product's id of the refund.
	RefundID string `json:"refundId" validate:"required" minLength:"1" maxLength:"255" example:"re_1"`
	// PaymentID is the refunded payment, as reported to POST /v1/payments (or its Stripe payment intent).
	PaymentID string `json:"paymentId" validate:"required" minLength:"1" maxLength:"255" example:"pay_123"`
	// Amount refunded by this refund, in minor units.
	Amount int64 `json:"amount" validate:"required" minimum:"1" maximum:"100000000000000" example:"500" format:"int64"`
}

// RefundResult says what a refund did.
type RefundResult struct {
	RefundID  string `json:"refundId" validate:"required" example:"re_1"`
	PaymentID string `json:"paymentId" validate:"required" example:"pay_123"`
	Amount    int64  `json:"amount" validate:"required" example:"500" format:"int64"`
	// Duplicate is true when this refund was already recorded; it changed nothing now.
	Duplicate bool `json:"duplicate" validate:"required" example:"false"`
	// Referral is the referral whose reward the refund reduced, else null
	// (the payment earned no reward, or it has not been reported yet: the
	// refund then applies when it is).
	Referral *Referral `json:"referral" validate:"required" extensions:"x-nullable"`
}

// PayoutRequest pays out a user's available balance in one currency.
type PayoutRequest struct {
	UserID   string `json:"userId" validate:"required" minLength:"1" maxLength:"128" example:"u1"`
	Currency string `json:"currency" validate:"required" minLength:"3" maxLength:"3" example:"usd"`
	// Method is stripe_credit (credit the referrer's Stripe customer balance) or manual (paid outside, recorded with a reference).
	Method string `json:"method" validate:"required" enums:"stripe_credit,manual" example:"stripe_credit"`
	// Reference of a manual payout (required for manual), e.g. a bank transfer id.
	Reference string `json:"reference,omitempty" maxLength:"255" example:"wire-2026-11-24-001"`
	// StripeCustomerID overrides the customer learned for the user.
	StripeCustomerID string `json:"stripeCustomerId,omitempty" maxLength:"255" example:"cus_Q1w2e3"`
}

// Payout is a payout with its state: pending, then paid or failed.
type Payout struct {
	ID       string `json:"id" validate:"required" example:"po_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	UserID   string `json:"userId" validate:"required" example:"u1"`
	Currency string `json:"currency" validate:"required" example:"usd"`
	Amount   int64  `json:"amount" validate:"required" example:"4000" format:"int64"`
	Method   string `json:"method" validate:"required" enums:"stripe_credit,manual" example:"stripe_credit"`
	// Status is pending until the credit is confirmed; failed payouts return their amount to the balance.
	Status              string     `json:"status" validate:"required" enums:"pending,paid,failed" example:"paid"`
	Reference           string     `json:"reference" validate:"required" example:""`
	StripeCustomerID    *string    `json:"stripeCustomerId" validate:"required" extensions:"x-nullable" example:"cus_Q1w2e3"`
	StripeTransactionID *string    `json:"stripeTransactionId" validate:"required" extensions:"x-nullable" example:"cbtxn_1Q2w3e"`
	FailureReason       *string    `json:"failureReason" validate:"required" extensions:"x-nullable"`
	CreatedAt           time.Time  `json:"createdAt" validate:"required" format:"date-time"`
	PaidAt              *time.Time `json:"paidAt" validate:"required" extensions:"x-nullable" format:"date-time"`
}

// PayoutPage is one page of payouts, newest first.
type PayoutPage struct {
	Items []Payout `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}

// TimeSeries is a referrer's activity per interval.
type TimeSeries struct {
	Interval string   `json:"interval" validate:"required" enums:"day,week,month" example:"day"`
	From     string   `json:"from" validate:"required" example:"2026-11-01" format:"date"`
	To       string   `json:"to" validate:"required" example:"2026-11-24" format:"date"`
	Buckets  []Bucket `json:"buckets" validate:"required"`
}

// Bucket is one interval, from its start date until the next bucket's.
type Bucket struct {
	Start        string `json:"start" validate:"required" example:"2026-11-24" format:"date"`
	Clicks       int64  `json:"clicks" validate:"required" example:"12" format:"int64"`
	UniqueClicks int64  `json:"uniqueClicks" validate:"required" example:"9" format:"int64"`
	Signups      int64  `json:"signups" validate:"required" example:"2" format:"int64"`
	Qualified    int64  `json:"qualified" validate:"required" example:"1" format:"int64"`
	// Rewards maps currency → rewards earned in the bucket (before later refunds).
	Rewards map[string]int64 `json:"rewards" validate:"required"`
}

// ProgramStats is the program funnel over a period.
type ProgramStats struct {
	From       string      `json:"from" validate:"required" example:"2026-11-01" format:"date"`
	To         string      `json:"to" validate:"required" example:"2026-11-24" format:"date"`
	Clicks     ClickCounts `json:"clicks" validate:"required"`
	Signups    int64       `json:"signups" validate:"required" example:"40" format:"int64"`
	Qualified  int64       `json:"qualified" validate:"required" example:"12" format:"int64"`
	Rewarded   int64       `json:"rewarded" validate:"required" example:"8" format:"int64"`
	Conversion Funnel      `json:"conversion" validate:"required"`
	// Rewards maps currency → rewards earned in the period (before later refunds).
	Rewards map[string]int64 `json:"rewards" validate:"required"`
}

// Funnel rates between the steps, 0–1 (0 when undefined).
type Funnel struct {
	// SignupRate is signups / unique clicks.
	SignupRate float64 `json:"signupRate" validate:"required" example:"0.05"`
	// QualifyRate is qualified / signups.
	QualifyRate float64 `json:"qualifyRate" validate:"required" example:"0.3"`
	// RewardRate is rewarded (paid out) / qualified.
	RewardRate float64 `json:"rewardRate" validate:"required" example:"0.66"`
}

// Leaderboard ranks referrers in a period.
type Leaderboard struct {
	Period string   `json:"period" validate:"required" enums:"week,month,year,all" example:"month"`
	From   string   `json:"from" validate:"required" example:"2026-10-26" format:"date"`
	Items  []Leader `json:"items" validate:"required"`
}

// Leader is one referrer's results in the period.
type Leader struct {
	Rank      int              `json:"rank" validate:"required" example:"1"`
	UserID    string           `json:"userId" validate:"required" example:"u1"`
	Clicks    int64            `json:"clicks" validate:"required" example:"300" format:"int64"`
	Signups   int64            `json:"signups" validate:"required" example:"25" format:"int64"`
	Qualified int64            `json:"qualified" validate:"required" example:"9" format:"int64"`
	Rewards   map[string]int64 `json:"rewards" validate:"required"`
}

// APIKeyRequest creates an API key.
type APIKeyRequest struct {
	// Name says what the key is for.
	Name string `json:"name" validate:"required" minLength:"1" maxLength:"200" example:"billing backend"`
	// Role is service (product backends) or admin (operators).
	Role string `json:"role" validate:"required" enums:"service,admin" example:"service"`
}

// APIKey is an API key, without its secret.
type APIKey struct {
	ID         string     `json:"id" validate:"required" example:"key_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Name       string     `json:"name" validate:"required" example:"billing backend"`
	Role       string     `json:"role" validate:"required" enums:"service,admin" example:"service"`
	CreatedAt  time.Time  `json:"createdAt" validate:"required" format:"date-time"`
	LastUsedAt *time.Time `json:"lastUsedAt" validate:"required" extensions:"x-nullable" format:"date-time"`
}

// CreatedAPIKey is a new API key with its secret, shown only in this response.
type CreatedAPIKey struct {
	ID   string `json:"id" validate:"required" example:"key_01JDQ3ZK5V8Y6M4T2N9P0QRS7W"`
	Name string `json:"name" validate:"required" example:"billing backend"`
	Role string `json:"role" validate:"required" enums:"service,admin" example:"service"`
	// Key is the secret, sent as "Authorization: Bearer rk_…". It is not stored and cannot be shown again.
	Key        string     `json:"key" validate:"required" example:"rk_3q2-7wEzQxV0aLkT9mB4sYcN1uJ6dR8h"`
	CreatedAt  time.Time  `json:"createdAt" validate:"required" format:"date-time"`
	LastUsedAt *time.Time `json:"lastUsedAt" validate:"required" extensions:"x-nullable" format:"date-time"`
}

// APIKeyPage is one page of API keys, newest first.
type APIKeyPage struct {
	Items []APIKey `json:"items" validate:"required"`
	// NextCursor fetches the next page; null on the last page.
	NextCursor *string `json:"nextCursor" validate:"required" extensions:"x-nullable"`
}
