package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// CreatePayment inserts p unless a payment with its id, or with any of its
// Stripe identifiers, is already recorded: one payment seen through several
// Stripe event types, or reported twice, is stored once.
func (s *Store) CreatePayment(ctx context.Context, p referral.Payment) (bool, error) {
	m := paymentModel(p)
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// FindPayment returns the recorded payment sharing p's id or a Stripe id.
func (s *Store) FindPayment(ctx context.Context, p referral.Payment) (referral.Payment, error) {
	q := s.with(ctx).Where("id = ?", p.ID)
	for col, v := range map[string]string{
		"stripe_payment_intent":   p.StripePaymentIntent,
		"stripe_invoice":          p.StripeInvoice,
		"stripe_charge":           p.StripeCharge,
		"stripe_checkout_session": p.StripeCheckoutSession,
	} {
		if v != "" {
			q = q.Or(col+" = ?", v)
		}
	}
	var m Payment
	if err := q.Order("created_at").Take(&m).Error; err != nil {
		return referral.Payment{}, notFound(err)
	}
	return m.toDomain(), nil
}

// MarkPaymentQualified links a payment to the referral it qualified.
func (s *Store) MarkPaymentQualified(ctx context.Context, paymentID, referralID string) error {
	return s.with(ctx).Model(&Payment{}).Where("id = ?", paymentID).Update("referral_id", referralID).Error
}

// RecordStripeEvent records an event id; false when it was already recorded.
// On PostgreSQL a concurrent insert of the same id waits for the first
// transaction and then does nothing, so only one delivery takes effect.
func (s *Store) RecordStripeEvent(ctx context.Context, e referral.StripeEvent) (bool, error) {
	m := StripeEvent{ID: e.ID, Type: e.Type, ReceivedAt: e.ReceivedAt}
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// LinkStripeCustomer records customer → user; the first mapping is kept.
func (s *Store) LinkStripeCustomer(ctx context.Context, customerID, userID string, at time.Time) error {
	m := StripeCustomer{CustomerID: customerID, UserID: userID, CreatedAt: at}
	return s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error
}

// UserByStripeCustomer returns the user a Stripe customer was learned to be.
func (s *Store) UserByStripeCustomer(ctx context.Context, customerID string) (string, error) {
	var m StripeCustomer
	if err := s.with(ctx).Where("customer_id = ?", customerID).Take(&m).Error; err != nil {
		return "", notFound(err)
	}
	return m.UserID, nil
}
