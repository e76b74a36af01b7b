package store

import (
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// The models mirror the tables of the embedded migrations; the migrations,
// not GORM, own the schema.

// ReferralCode is the seed's ReferralCode: one per user, unique code.
type ReferralCode struct {
	ID        string `gorm:"primaryKey"`
	Code      string
	UserID    string
	ProgramID string
	CreatedAt time.Time
}

// Referral is the seed's Referral plus the referrer, the code used, the reward
// currency and the payment that qualified it.
type Referral struct {
	ID                  string `gorm:"primaryKey"`
	ReferralCodeID      string
	Code                string
	ReferrerID          string
	ReferredUserID      string
	ProgramID           string
	Status              string
	RewardAmount        *int64
	RewardCurrency      *string
	QualifyingPaymentID *string
	QualifiedAt         *time.Time
	RewardPaidAt        *time.Time
	ClickID             *string
	ClickedAt           *time.Time
	CancelReason        *string
	ReferredEmail       string
	SignupIP            string
	UserAgent           string
	CreatedAt           time.Time
}

// UserBalance is the seed's UserBalance, per currency.
type UserBalance struct {
	UserID    string `gorm:"primaryKey"`
	Currency  string `gorm:"primaryKey"`
	Balance   int64
	UpdatedAt time.Time
}

// Payment is a recorded successful payment, the idempotency record for
// payment reports and Stripe payment events.
type Payment struct {
	ID                    string `gorm:"primaryKey"`
	UserID                string
	Amount                int64
	Currency              string
	Source                string
	StripePaymentIntent   *string
	StripeInvoice         *string
	StripeCharge          *string
	StripeCheckoutSession *string
	StripeCustomer        *string
	StripeInvoicePayment  *string
	ReferralID            *string
	MergedInto            *string
	CreatedAt             time.Time
}

// StripeEvent records a processed Stripe event id.
type StripeEvent struct {
	ID         string `gorm:"primaryKey"`
	Type       string
	ReceivedAt time.Time
}

// StripeCustomer maps a Stripe customer to the product user it belongs to.
type StripeCustomer struct {
	CustomerID string `gorm:"primaryKey"`
	UserID     string
	CreatedAt  time.Time
}

func (m ReferralCode) toDomain() referral.Code {
	return referral.Code{ID: m.ID, Code: m.Code, UserID: m.UserID, ProgramID: m.ProgramID, CreatedAt: m.CreatedAt.UTC()}
}

func (m Referral) toDomain() referral.Referral {
	return referral.Referral{
		ID: m.ID, CodeID: m.ReferralCodeID, Code: m.Code, ReferrerID: m.ReferrerID,
		ReferredUserID: m.ReferredUserID, ProgramID: m.ProgramID, Status: referral.Status(m.Status),
		RewardAmount: m.RewardAmount, RewardCurrency: deref(m.RewardCurrency),
		QualifyingPaymentID: deref(m.QualifyingPaymentID),
		QualifiedAt:         utc(m.QualifiedAt), RewardPaidAt: utc(m.RewardPaidAt),
		ClickID: deref(m.ClickID), ClickedAt: utc(m.ClickedAt),
		CancelReason:  deref(m.CancelReason),
		ReferredEmail: m.ReferredEmail, SignupIP: m.SignupIP, UserAgent: m.UserAgent,
		CreatedAt: m.CreatedAt.UTC(),
	}
}

func referralModel(r referral.Referral) Referral {
	return Referral{
		ID: r.ID, ReferralCodeID: r.CodeID, Code: r.Code, ReferrerID: r.ReferrerID,
		ReferredUserID: r.ReferredUserID, ProgramID: programOrDefault(r.ProgramID), Status: string(r.Status),
		RewardAmount: r.RewardAmount, RewardCurrency: nullable(r.RewardCurrency),
		QualifyingPaymentID: nullable(r.QualifyingPaymentID),
		QualifiedAt:         r.QualifiedAt, RewardPaidAt: r.RewardPaidAt,
		ClickID: nullable(r.ClickID), ClickedAt: r.ClickedAt,
		CancelReason:  nullable(r.CancelReason),
		ReferredEmail: r.ReferredEmail, SignupIP: r.SignupIP, UserAgent: r.UserAgent,
		CreatedAt: r.CreatedAt,
	}
}

func (m Payment) toDomain() referral.Payment {
	return referral.Payment{
		ID: m.ID, UserID: m.UserID, Amount: m.Amount, Currency: m.Currency, Source: m.Source,
		StripePaymentIntent: deref(m.StripePaymentIntent), StripeInvoice: deref(m.StripeInvoice),
		StripeCharge: deref(m.StripeCharge), StripeCheckoutSession: deref(m.StripeCheckoutSession),
		StripeCustomer: deref(m.StripeCustomer), StripeInvoicePayment: deref(m.StripeInvoicePayment),
		ReferralID: deref(m.ReferralID), MergedInto: deref(m.MergedInto), CreatedAt: m.CreatedAt.UTC(),
	}
}

func paymentModel(p referral.Payment) Payment {
	return Payment{
		ID: p.ID, UserID: p.UserID, Amount: p.Amount, Currency: p.Currency, Source: p.Source,
		StripePaymentIntent: nullable(p.StripePaymentIntent), StripeInvoice: nullable(p.StripeInvoice),
		StripeCharge: nullable(p.StripeCharge), StripeCheckoutSession: nullable(p.StripeCheckoutSession),
		StripeCustomer: nullable(p.StripeCustomer), StripeInvoicePayment: nullable(p.StripeInvoicePayment),
		ReferralID: nullable(p.ReferralID), MergedInto: nullable(p.MergedInto), CreatedAt: p.CreatedAt,
	}
}

// RewardRow is what one qualifying payment earned, with its rule.
type RewardRow struct {
	ID             string `gorm:"primaryKey"`
	ReferralID     string
	ReferrerID     string
	PaymentID      string
	Currency       string
	PaymentAmount  int64
	RefundedAmount int64
	ProgramID      *string
	PercentUnits   int64
	FixedAmount    int64
	CapAmount      int64
	Amount         int64
	KeptAmount     int64
	PayoutID       *string
	AvailableAt    time.Time
	CreatedAt      time.Time
}

// TableName names the rewards table.
func (RewardRow) TableName() string { return "rewards" }

// LedgerEntry is one append-only balance change.
type LedgerEntry struct {
	ID          string `gorm:"primaryKey"`
	UserID      string
	Currency    string
	Type        string
	Amount      int64
	ReferralID  *string
	RewardID    *string
	PayoutID    *string
	Description string
	AvailableAt time.Time
	CreatedAt   time.Time
}

func (m RewardRow) toDomain() referral.Reward {
	return referral.Reward{
		ID: m.ID, ReferralID: m.ReferralID, ReferrerID: m.ReferrerID, PaymentID: m.PaymentID, Currency: m.Currency,
		PaymentAmount: m.PaymentAmount, RefundedAmount: m.RefundedAmount, ProgramID: deref(m.ProgramID),
		Rule:   referral.RewardRule{Percent: referral.PercentFromUnits(m.PercentUnits), Fixed: m.FixedAmount, Cap: m.CapAmount},
		Amount: m.Amount, KeptAmount: m.KeptAmount, PayoutID: deref(m.PayoutID),
		AvailableAt: m.AvailableAt.UTC(), CreatedAt: m.CreatedAt.UTC(),
	}
}

func rewardModel(r referral.Reward) RewardRow {
	return RewardRow{
		ID: r.ID, ReferralID: r.ReferralID, ReferrerID: r.ReferrerID, PaymentID: r.PaymentID, Currency: r.Currency,
		PaymentAmount: r.PaymentAmount, RefundedAmount: r.RefundedAmount, ProgramID: nullable(r.ProgramID),
		PercentUnits: r.Rule.Percent.Units(), FixedAmount: r.Rule.Fixed, CapAmount: r.Rule.Cap,
		Amount: r.Amount, KeptAmount: r.KeptAmount, AvailableAt: r.AvailableAt, CreatedAt: r.CreatedAt,
	}
}

func (m LedgerEntry) toDomain() referral.LedgerEntry {
	return referral.LedgerEntry{
		ID: m.ID, UserID: m.UserID, Currency: m.Currency, Type: referral.EntryType(m.Type), Amount: m.Amount,
		ReferralID: deref(m.ReferralID), RewardID: deref(m.RewardID), PayoutID: deref(m.PayoutID),
		Description: m.Description, AvailableAt: m.AvailableAt.UTC(), CreatedAt: m.CreatedAt.UTC(),
	}
}

// RefundClaim is a refund, a charge's refunded total or a dispute.
type RefundClaim struct {
	ID                  string `gorm:"primaryKey"`
	Kind                string
	PaymentID           *string
	StripeCharge        *string
	StripePaymentIntent *string
	StripeInvoice       *string
	Amount              int64
	DisputeStatus       *string
	RefundStatus        *string
	Source              string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// PaymentKey is one identifier of a payment: the row transactions lock to
// serialise work on that payment, and the payment it leads to, once known.
type PaymentKey struct {
	Key       string `gorm:"primaryKey"`
	PaymentID *string
}

func (m RefundClaim) toDomain() referral.Claim {
	return referral.Claim{
		ID: m.ID, Kind: referral.ClaimKind(m.Kind), PaymentID: deref(m.PaymentID), StripeCharge: deref(m.StripeCharge),
		StripePaymentIntent: deref(m.StripePaymentIntent), StripeInvoice: deref(m.StripeInvoice),
		Amount: m.Amount, DisputeStatus: deref(m.DisputeStatus), RefundStatus: deref(m.RefundStatus),
		Source: m.Source, CreatedAt: m.CreatedAt.UTC(),
	}
}

// Payout is a payout record.
type Payout struct {
	ID                  string `gorm:"primaryKey"`
	UserID              string
	Currency            string
	Amount              int64
	Method              string
	Status              string
	Reference           string
	StripeCustomerID    string
	StripeTransactionID string
	FailureReason       string
	IdempotencyKey      *string
	CreatedAt           time.Time
	UpdatedAt           time.Time `gorm:"autoUpdateTime:false"`
	PaidAt              *time.Time
}

func (m Payout) toDomain() referral.Payout {
	return referral.Payout{
		ID: m.ID, UserID: m.UserID, Currency: m.Currency, Amount: m.Amount, Method: referral.PayoutMethod(m.Method),
		Status: referral.PayoutStatus(m.Status), Reference: m.Reference, StripeCustomerID: m.StripeCustomerID,
		StripeTransactionID: m.StripeTransactionID, FailureReason: m.FailureReason, IdempotencyKey: deref(m.IdempotencyKey),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(), PaidAt: utc(m.PaidAt),
	}
}

// CodeAlias makes a current or former code resolve to its owner's code row.
type CodeAlias struct {
	Code           string `gorm:"primaryKey"`
	ReferralCodeID string
	UserID         string
	CreatedAt      time.Time
}

// Click is one counted visit of a short link.
type Click struct {
	ID          string `gorm:"primaryKey"`
	Code        string
	ReferrerID  string
	VisitorHash string
	IsUnique    bool
	Referer     string
	UtmSource   string
	UtmMedium   string
	UtmCampaign string
	UtmTerm     string
	UtmContent  string
	CreatedAt   time.Time
}

// RecentVisitor is a referrer's visitor and their last unique click, in
// SQLite's recent_visitors (PostgreSQL keys them by hash in recent_visits).
type RecentVisitor struct {
	ReferrerID   string `gorm:"primaryKey"`
	VisitorHash  string `gorm:"primaryKey"`
	LastUniqueAt time.Time
}

// ClickBatch marks a stored batch of clicks by its first click's id.
type ClickBatch struct {
	FirstClickID string `gorm:"primaryKey"`
	CreatedAt    time.Time
}

// ReferrerDaily holds one referrer's counts of one day.
type ReferrerDaily struct {
	ReferrerID   string `gorm:"primaryKey"`
	Day          string `gorm:"primaryKey"`
	Clicks       int64
	UniqueClicks int64
	Signups      int64
	Qualified    int64
}

// TableName names the daily counters table.
func (ReferrerDaily) TableName() string { return "referrer_daily" }

// ReferrerDailyReward holds one referrer's rewards of one day in a currency.
type ReferrerDailyReward struct {
	ReferrerID string `gorm:"primaryKey"`
	Day        string `gorm:"primaryKey"`
	Currency   string `gorm:"primaryKey"`
	Amount     int64
}
