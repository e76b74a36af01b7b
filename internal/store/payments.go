package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// LockPaymentKeys creates and locks one row per key, in sorted order so two
// transactions sharing keys cannot deadlock on them. On PostgreSQL a second
// transaction waits here until the first commits; SQLite's single
// connection serialises transactions already.
func (s *Store) LockPaymentKeys(ctx context.Context, keys []string) error {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) == 0 {
		return nil
	}
	rows := make([]PaymentKey, len(keys))
	for i, k := range keys {
		rows[i] = PaymentKey{Key: k}
	}
	if err := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return err
	}
	var locked []PaymentKey
	return s.with(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("key IN ?", keys).Order("key").Find(&locked).Error
}

// PaymentsByKeys returns the payments (not merged into another) that any of
// keys leads to, each with all its keys, oldest first.
func (s *Store) PaymentsByKeys(ctx context.Context, keys []string) ([]referral.Payment, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var ms []Payment
	err := s.with(ctx).Where("merged_into IS NULL AND id IN (?)",
		s.with(ctx).Model(&PaymentKey{}).Select("payment_id").Where("key IN ?", keys)).
		Order("created_at, id").Find(&ms).Error
	if err != nil {
		return nil, err
	}
	return s.withKeys(ctx, ms)
}

// PaymentByID returns one payment, merged or not, with its keys.
func (s *Store) PaymentByID(ctx context.Context, id string) (referral.Payment, error) {
	var m Payment
	if err := s.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return referral.Payment{}, notFound(err)
	}
	ps, err := s.withKeys(ctx, []Payment{m})
	if err != nil {
		return referral.Payment{}, err
	}
	return ps[0], nil
}

// withKeys converts payments to the domain with the keys leading to each.
func (s *Store) withKeys(ctx context.Context, ms []Payment) ([]referral.Payment, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	var keys []PaymentKey
	if err := s.with(ctx).Where("payment_id IN ?", ids).Order("key").Find(&keys).Error; err != nil {
		return nil, err
	}
	byPayment := map[string][]string{}
	for _, k := range keys {
		byPayment[*k.PaymentID] = append(byPayment[*k.PaymentID], k.Key)
	}
	out := make([]referral.Payment, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
		out[i].Keys = byPayment[m.ID]
	}
	return out, nil
}

// mapKeys makes keys lead to payment id.
func (s *Store) mapKeys(ctx context.Context, id string, keys []string) error {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) == 0 {
		return nil
	}
	rows := make([]PaymentKey, len(keys))
	for i, k := range keys {
		rows[i] = PaymentKey{Key: k, PaymentID: &id}
	}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"payment_id"}),
	}).Create(&rows).Error
}

// CreatePayment inserts p and makes p.Keys lead to it. The caller holds the
// keys' locks and has found that none of them leads to a payment yet.
func (s *Store) CreatePayment(ctx context.Context, p referral.Payment) error {
	m := paymentModel(p)
	if err := s.with(ctx).Create(&m).Error; err != nil {
		return fmt.Errorf("insert payment %s: %w", p.ID, err)
	}
	return s.mapKeys(ctx, p.ID, p.Keys)
}

// LearnPayment records what an event taught about a stored payment: keys
// that now lead to it, and the Stripe ids, customer and user it had none of.
func (s *Store) LearnPayment(ctx context.Context, id string, learned referral.Payment, keys []string) error {
	if err := s.mapKeys(ctx, id, keys); err != nil {
		return fmt.Errorf("map keys of payment %s: %w", id, err)
	}
	updates := fillEmpty(learned)
	if learned.Amount > 0 && learned.Currency != "" {
		updates["amount"] = clause.Expr{SQL: "CASE WHEN currency = ? AND amount < ? THEN ? ELSE amount END", Vars: []any{learned.Currency, learned.Amount, learned.Amount}}
	}
	if learned.UserID != "" {
		updates["user_id"] = clause.Expr{SQL: "CASE WHEN user_id = '' THEN ? ELSE user_id END", Vars: []any{learned.UserID}}
	}
	if len(updates) == 0 {
		return nil
	}
	return s.with(ctx).Model(&Payment{}).Where("id = ?", id).Updates(updates).Error
}

// fillEmpty sets each Stripe column of a payment that is still NULL.
func fillEmpty(p referral.Payment) map[string]any {
	updates := map[string]any{}
	for col, v := range map[string]string{
		"stripe_payment_intent":   p.StripePaymentIntent,
		"stripe_invoice":          p.StripeInvoice,
		"stripe_charge":           p.StripeCharge,
		"stripe_checkout_session": p.StripeCheckoutSession,
		"stripe_invoice_payment":  p.StripeInvoicePayment,
		"stripe_customer":         p.StripeCustomer,
	} {
		if v != "" {
			updates[col] = clause.Expr{SQL: "COALESCE(" + col + ", ?)", Vars: []any{v}}
		}
	}
	return updates
}

// MergePayment records that loser is the same payment as survivor: every
// key of loser leads to survivor, which takes the Stripe ids, customer and
// user it lacked; loser keeps its row (and any reward) as a record.
func (s *Store) MergePayment(ctx context.Context, loserID, survivorID string) error {
	var loser Payment
	if err := s.with(ctx).Where("id = ?", loserID).Take(&loser).Error; err != nil {
		return notFound(err)
	}
	if err := s.with(ctx).Model(&PaymentKey{}).Where("payment_id = ?", loserID).Update("payment_id", survivorID).Error; err != nil {
		return fmt.Errorf("move keys of %s: %w", loserID, err)
	}
	// The Stripe id columns are unique: clear them on the loser first.
	err := s.with(ctx).Model(&Payment{}).Where("id = ?", loserID).Updates(map[string]any{
		"merged_into": survivorID, "stripe_payment_intent": nil, "stripe_invoice": nil, "stripe_charge": nil,
		"stripe_checkout_session": nil,
	}).Error
	if err != nil {
		return fmt.Errorf("mark %s merged: %w", loserID, err)
	}
	d := loser.toDomain()
	return s.LearnPayment(ctx, survivorID, d, nil)
}

// UnattributedPayments returns the payments of a Stripe customer whose user
// is not known yet.
func (s *Store) UnattributedPayments(ctx context.Context, customerID string) ([]referral.Payment, error) {
	var ms []Payment
	err := s.with(ctx).Where("stripe_customer = ? AND user_id = '' AND merged_into IS NULL", customerID).
		Order("created_at, id").Find(&ms).Error
	if err != nil {
		return nil, err
	}
	return s.withKeys(ctx, ms)
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
