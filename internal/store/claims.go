package store

import (
	"context"
	"errors"
	"slices"

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
	rows := make([]PaymentLock, len(keys))
	for i, k := range keys {
		rows[i] = PaymentLock{Key: k}
	}
	if err := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return err
	}
	var locked []PaymentLock
	return s.with(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("key IN ?", keys).Order("key").Find(&locked).Error
}

// disputeRank orders dispute states: a closed dispute never reopens.
func disputeRank(status string) int {
	if status == referral.DisputeOpen {
		return 1
	}
	return 2
}

// SaveClaim stores or merges a claim; the caller holds the payment's locks.
func (s *Store) SaveClaim(ctx context.Context, c referral.Claim) (referral.Claim, bool, error) {
	var old RefundClaim
	err := s.with(ctx).Where("id = ?", c.ID).Take(&old).Error
	if err = notFound(err); errors.Is(err, referral.ErrNotFound) {
		m := RefundClaim{
			ID: c.ID, Kind: string(c.Kind), PaymentID: nullable(c.PaymentID), StripeCharge: nullable(c.StripeCharge),
			StripePaymentIntent: nullable(c.StripePaymentIntent), StripeInvoice: nullable(c.StripeInvoice),
			Amount: c.Amount, DisputeStatus: nullable(c.DisputeStatus), Source: c.Source, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt,
		}
		if err := s.with(ctx).Create(&m).Error; err != nil {
			return referral.Claim{}, false, err
		}
		return m.toDomain(), true, nil
	} else if err != nil {
		return referral.Claim{}, false, err
	}
	updates := map[string]any{}
	switch c.Kind {
	case referral.ClaimChargeRefunded:
		if c.Amount > old.Amount {
			updates["amount"] = c.Amount
		}
	case referral.ClaimDispute:
		if disputeRank(c.DisputeStatus) > disputeRank(deref(old.DisputeStatus)) {
			updates["dispute_status"] = c.DisputeStatus
			if c.Amount > 0 {
				updates["amount"] = c.Amount
			}
		}
	}
	if len(updates) == 0 {
		return old.toDomain(), false, nil
	}
	// Identifiers learned later help find the payment.
	for col, v := range map[string]string{"stripe_payment_intent": c.StripePaymentIntent, "stripe_invoice": c.StripeInvoice, "stripe_charge": c.StripeCharge} {
		if v != "" {
			updates[col] = clause.Expr{SQL: "COALESCE(" + col + ", ?)", Vars: []any{v}}
		}
	}
	updates["updated_at"] = c.CreatedAt
	if err := s.with(ctx).Model(&RefundClaim{}).Where("id = ?", c.ID).Updates(updates).Error; err != nil {
		return referral.Claim{}, false, err
	}
	if err := s.with(ctx).Where("id = ?", c.ID).Take(&old).Error; err != nil {
		return referral.Claim{}, false, err
	}
	return old.toDomain(), true, nil
}

// ClaimsForPayment returns the claims naming any identifier of p.
func (s *Store) ClaimsForPayment(ctx context.Context, p referral.Payment) ([]referral.Claim, error) {
	q := s.with(ctx).Where("payment_id = ?", p.ID)
	for col, v := range map[string]string{
		"stripe_charge":         p.StripeCharge,
		"stripe_payment_intent": p.StripePaymentIntent,
		"stripe_invoice":        p.StripeInvoice,
		"payment_id":            p.StripePaymentIntent, // a backend may report a Stripe payment by its intent
	} {
		if v != "" {
			q = q.Or(col+" = ?", v)
		}
	}
	var ms []RefundClaim
	if err := q.Order("id").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]referral.Claim, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// RewardByPaymentForUpdate returns and row-locks the payment's reward.
func (s *Store) RewardByPaymentForUpdate(ctx context.Context, paymentID string) (referral.Reward, error) {
	var m RewardRow
	err := s.with(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("payment_id = ?", paymentID).Take(&m).Error
	if err != nil {
		return referral.Reward{}, notFound(err)
	}
	return m.toDomain(), nil
}

// UpdateRewardKept records what the reward keeps and what was taken back.
func (s *Store) UpdateRewardKept(ctx context.Context, id string, kept, refunded int64) error {
	return s.with(ctx).Model(&RewardRow{}).Where("id = ?", id).
		Updates(map[string]any{"kept_amount": kept, "refunded_amount": refunded}).Error
}

// SettleReferral sets a referral's status and its reward to what its rewards keep.
func (s *Store) SettleReferral(ctx context.Context, id string, status referral.Status) error {
	kept := s.with(ctx).Model(&RewardRow{}).Select("COALESCE(SUM(kept_amount), 0)").Where("referral_id = ?", id)
	return s.with(ctx).Model(&Referral{}).Where("id = ?", id).
		Updates(map[string]any{"status": string(status), "reward_amount": kept}).Error
}

// CountRewards counts a referral's rewards.
func (s *Store) CountRewards(ctx context.Context, referralID string) (int, error) {
	var n int64
	err := s.with(ctx).Model(&RewardRow{}).Where("referral_id = ?", referralID).Count(&n).Error
	return int(n), err
}
