package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

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
			Amount: c.Amount, DisputeStatus: nullable(c.DisputeStatus), RefundStatus: nullable(c.RefundStatus),
			Source: c.Source, CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt,
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
	case referral.ClaimRefund:
		if c.RefundStatus != "" && referral.RefundStatusRank(c.RefundStatus) > referral.RefundStatusRank(deref(old.RefundStatus)) {
			updates["refund_status"] = c.RefundStatus
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

// ClaimsForPayment returns the claims naming any key of p.
func (s *Store) ClaimsForPayment(ctx context.Context, p referral.Payment) ([]referral.Claim, error) {
	keys := append([]string{p.ID}, p.Keys...)
	var ms []RefundClaim
	err := s.with(ctx).Where("payment_id IN ? OR stripe_charge IN ? OR stripe_payment_intent IN ? OR stripe_invoice IN ?", keys, keys, keys, keys).
		Order("id").Find(&ms).Error
	if err != nil {
		return nil, err
	}
	out := make([]referral.Claim, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// RewardByPayment returns the payment's reward.
func (s *Store) RewardByPayment(ctx context.Context, paymentID string) (referral.Reward, error) {
	var m RewardRow
	if err := s.with(ctx).Where("payment_id = ?", paymentID).Take(&m).Error; err != nil {
		return referral.Reward{}, notFound(err)
	}
	return m.toDomain(), nil
}

// RewardsOfReferral returns the referral's rewards, oldest first.
func (s *Store) RewardsOfReferral(ctx context.Context, referralID string) ([]referral.Reward, error) {
	var ms []RewardRow
	if err := s.with(ctx).Where("referral_id = ?", referralID).Order("created_at, id").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]referral.Reward, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// UpdateRewardKept records what the reward keeps and what was taken back,
// and reports whether the reward's availability was announced: read in
// the same statement, after any announcing scan holding the row committed.
func (s *Store) UpdateRewardKept(ctx context.Context, id string, kept, refunded int64) (bool, error) {
	var rows []struct{ AnnouncedAt *time.Time }
	err := s.with(ctx).Raw(`UPDATE rewards SET kept_amount = ?, refunded_amount = ? WHERE id = ? RETURNING announced_at`,
		kept, refunded, id).Scan(&rows).Error
	if err != nil {
		return false, err
	}
	if len(rows) != 1 {
		return false, fmt.Errorf("reward %s: %w", id, referral.ErrNotFound)
	}
	return rows[0].AnnouncedAt != nil, nil
}

// SettleReferral sets a referral's status and its reward to what its
// rewards keep, and returns the referral as it now is.
func (s *Store) SettleReferral(ctx context.Context, id string, status referral.Status) (referral.Referral, error) {
	kept := s.with(ctx).Model(&RewardRow{}).Select("COALESCE(SUM(kept_amount), 0)").Where("referral_id = ?", id)
	var ms []Referral
	err := s.with(ctx).Model(&ms).Clauses(clause.Returning{}).Where("id = ?", id).
		Updates(map[string]any{"status": string(status), "reward_amount": kept}).Error
	if err != nil {
		return referral.Referral{}, err
	}
	if len(ms) != 1 {
		return referral.Referral{}, referral.ErrNotFound
	}
	return ms[0].toDomain(), nil
}

// CountRewards counts a referral's rewards, but for those of payments that
// turned out to duplicate another.
func (s *Store) CountRewards(ctx context.Context, referralID string) (int, error) {
	var n int64
	err := s.with(ctx).Model(&RewardRow{}).Where("referral_id = ? AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.id = rewards.payment_id AND p.merged_into IS NOT NULL)", referralID).
		Count(&n).Error
	return int(n), err
}
