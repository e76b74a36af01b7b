// Package referral holds the referral program's domain: codes, attribution,
// payment qualification, rewards and the numbers dashboards read. It imports no
// transport, ORM or payment-provider package; it declares the Store it needs.
package referral

import (
	"errors"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/currency"
)

// Status is the lifecycle state of a referral, the seed's ReferralStatus enum.
type Status string

// The four referral statuses, in lifecycle order.
const (
	StatusPending   Status = "PENDING"
	StatusQualified Status = "QUALIFIED"
	StatusRewarded  Status = "REWARDED"
	StatusCancelled Status = "CANCELLED"
)

// Statuses lists every status in lifecycle order; dashboards show all of them.
var Statuses = []Status{StatusPending, StatusQualified, StatusRewarded, StatusCancelled}

// ParseStatus returns the status named s (exact, upper case) and whether it exists.
func ParseStatus(s string) (Status, bool) {
	for _, st := range Statuses {
		if string(st) == s {
			return st, true
		}
	}
	return "", false
}

// Code is a user's referral code. A user has one code, ever.
type Code struct {
	ID     string
	Code   string
	UserID string
	// ProgramID is the program the code belongs to.
	ProgramID string
	CreatedAt time.Time
}

// Referral records that ReferredUserID registered through ReferrerID's code.
type Referral struct {
	ID             string
	CodeID         string
	Code           string
	ReferrerID     string
	ReferredUserID string
	// ProgramID is the program whose rules the referral earns under.
	ProgramID string
	Status    Status
	// RewardAmount is nil until the referral qualifies.
	RewardAmount *int64
	// RewardCurrency is empty until the referral qualifies.
	RewardCurrency string
	// QualifyingPaymentID is the payment that qualified the referral, if any.
	QualifyingPaymentID string
	QualifiedAt         *time.Time
	RewardPaidAt        *time.Time
	// ClickID and ClickedAt link the referral to the short-link click it came from.
	ClickID   string
	ClickedAt *time.Time
	// CancelReason is set when an operator cancelled the referral.
	CancelReason  string
	ReferredEmail string
	SignupIP      string
	UserAgent     string
	CreatedAt     time.Time
}

// Payment is a successful payment by a user, reported by a product backend or
// by Stripe. ID is the idempotency key; the Stripe identifiers let one payment
// seen through several event types be recognised as the same payment.
type Payment struct {
	ID string
	// UserID is the paying user; empty while no event has named them yet.
	UserID                string
	Amount                int64
	Currency              string
	Source                string
	StripePaymentIntent   string
	StripeInvoice         string
	StripeCharge          string
	StripeCheckoutSession string
	StripeInvoicePayment  string
	StripeCustomer        string
	// ReferralID is the referral this payment earned a reward for, if any.
	ReferralID string
	// MergedInto is set on a stored payment that turned out to be the same
	// payment as another: that one has its keys, claims and, from then on,
	// the only reward.
	MergedInto string
	// Keys are every identifier that leads to the stored payment (filled by
	// the store).
	Keys      []string
	CreatedAt time.Time
}

// identifiers are the keys an event names a payment by: its id and each
// Stripe id it carries.
func (p Payment) identifiers() []string {
	return uniqueKeys(p.ID, p.StripePaymentIntent, p.StripeCharge, p.StripeInvoice, p.StripeCheckoutSession, p.StripeInvoicePayment)
}

// uniqueKeys returns the non-empty keys, each once, in the order given.
func uniqueKeys(keys ...string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Payment sources.
const (
	SourceAPI    = "api"
	SourceStripe = "stripe"
)

// StatRow is one group of the stats group-by: referrals of one status whose
// reward is in one currency (empty for referrals without a reward).
type StatRow struct {
	Status   Status
	Currency string
	Count    int64
	Reward   int64
}

// Qualification is what changes on a referral when a payment qualifies it.
type Qualification struct {
	RewardAmount   int64
	RewardCurrency string
	PaymentID      string
	QualifiedAt    time.Time
}

// ReferralFilter selects a page of referrals, newest first. Empty fields
// do not filter.
type ReferralFilter struct {
	ReferrerID     string
	ReferredUserID string
	Code           string
	Status         Status
	BeforeID       string // empty: from the newest
	Limit          int
}

// StripeEvent identifies a Stripe webhook event, for exactly-once processing.
type StripeEvent struct {
	ID         string
	Type       string
	ReceivedAt time.Time
}

// Errors the service returns; the transport maps each to a stable error code.
var (
	ErrNotFound        = errors.New("not found")
	ErrCodeNotFound    = errors.New("referral code not found")
	ErrSelfReferral    = errors.New("a user cannot be referred with their own code")
	ErrReferralExists  = errors.New("user was already referred with another code")
	ErrPaymentConflict = errors.New("payment id was already used for a different payment")
	ErrCodeExhausted   = errors.New("could not generate a unique referral code")
	ErrReferralMissing = errors.New("referral not found")
	// ErrUnavailable means the database could not be reached (or did not
	// answer) within the caller's deadline; nothing was changed, or the
	// change is safe to send again.
	ErrUnavailable = errors.New("the database is unavailable")
)

// KnownCurrency reports whether c is a lower-case ISO 4217 code of a
// currency that exists (what Stripe takes), not just three letters.
func KnownCurrency(c string) bool {
	if !ValidCurrency(c) {
		return false
	}
	_, err := currency.ParseISO(strings.ToUpper(c))
	return err == nil
}

// ValidCurrency reports whether c is a lower-case three-letter ISO 4217 code.
func ValidCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'a' || c[i] > 'z' {
			return false
		}
	}
	return true
}

// EntryType classifies a ledger entry.
type EntryType string

// Ledger entry types.
const (
	EntryReward         EntryType = "reward"
	EntryRewardReversal EntryType = "reward_reversal"
	EntryPayout         EntryType = "payout"
	EntryClawback       EntryType = "clawback"
	EntryAdjustment     EntryType = "adjustment"
	// EntryBonus is a milestone bonus (positive) or its reversal (negative).
	EntryBonus EntryType = "bonus"
	// EntryCredit is a referred friend's account credit (positive) or its
	// reversal (negative).
	EntryCredit EntryType = "credit"
)

// EntryTypes lists every ledger entry type.
var EntryTypes = []EntryType{EntryReward, EntryRewardReversal, EntryPayout, EntryClawback, EntryAdjustment, EntryBonus, EntryCredit}

// LedgerEntry is one append-only change of a user's balance in a currency.
// Entries are never updated or deleted; the balance is their sum.
type LedgerEntry struct {
	ID          string
	UserID      string
	Currency    string
	Type        EntryType
	Amount      int64 // signed, minor units
	ReferralID  string
	RewardID    string
	PayoutID    string
	Description string
	// AvailableAt is when the entry stops being pending (the end of the hold
	// for rewards and their reversals; the creation time otherwise).
	AvailableAt time.Time
	CreatedAt   time.Time
}

// Reward is what one qualifying payment earned a referrer, with the rule in
// force when it was earned and what has since reduced it.
type Reward struct {
	ID             string
	ReferralID     string
	ReferrerID     string
	PaymentID      string
	Currency       string
	PaymentAmount  int64
	RefundedAmount int64
	// ProgramID is the program whose rule earned the reward; Rule is that
	// rule as it was then.
	ProgramID string
	Rule      RewardRule
	// Amount is the reward as first earned; KeptAmount what remains after refunds.
	Amount     int64
	KeptAmount int64
	// PayoutID is the payout the reward was (or is being) paid out in.
	PayoutID    string
	AvailableAt time.Time
	CreatedAt   time.Time
}

// BalanceView is a user's balance in one currency: Amount = Pending + Available.
type BalanceView struct {
	UserID    string
	Currency  string
	Amount    int64
	Pending   int64
	Available int64
}

// LedgerFilter selects a page of a user's ledger, newest first.
type LedgerFilter struct {
	UserID   string
	Currency string // empty: all
	BeforeID string
	Limit    int
}
