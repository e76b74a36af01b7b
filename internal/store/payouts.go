package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// CreatePayout inserts p unless its idempotency key is taken. On PostgreSQL
// a concurrent request with the same key waits for the first to commit.
func (s *Store) CreatePayout(ctx context.Context, p referral.Payout) (bool, error) {
	m := Payout{
		ID: p.ID, UserID: p.UserID, Currency: p.Currency, Amount: p.Amount, Method: string(p.Method),
		Status: string(p.Status), Reference: p.Reference, StripeCustomerID: p.StripeCustomerID,
		IdempotencyKey: nullable(p.IdempotencyKey), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	return res.RowsAffected == 1, res.Error
}

// PayoutByID returns one payout.
func (s *Store) PayoutByID(ctx context.Context, id string) (referral.Payout, error) {
	var m Payout
	if err := s.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return referral.Payout{}, notFound(err)
	}
	return m.toDomain(), nil
}

// PayoutByIdempotencyKey returns the payout created with key.
func (s *Store) PayoutByIdempotencyKey(ctx context.Context, key string) (referral.Payout, error) {
	var m Payout
	if err := s.with(ctx).Where("idempotency_key = ?", key).Take(&m).Error; err != nil {
		return referral.Payout{}, notFound(err)
	}
	return m.toDomain(), nil
}

// SetPayoutAmount records the amount reserved for a payout.
func (s *Store) SetPayoutAmount(ctx context.Context, id string, amount int64) error {
	return s.with(ctx).Model(&Payout{}).Where("id = ?", id).Update("amount", amount).Error
}

// ClaimRewardsForPayout assigns matured, unpaid rewards, standing
// milestone bonuses and friend credits to the payout: a bonus or credit
// claimed by a payout is never reversed.
func (s *Store) ClaimRewardsForPayout(ctx context.Context, userID, currency, payoutID string, now time.Time) error {
	err := s.with(ctx).Model(&RewardRow{}).
		Where("referrer_id = ? AND currency = ? AND payout_id IS NULL AND available_at <= ? AND kept_amount > 0", userID, currency, now).
		Update("payout_id", payoutID).Error
	if err != nil {
		return err
	}
	err = s.with(ctx).Model(&MilestoneBonus{}).
		Where("referrer_id = ? AND currency = ? AND status = ? AND payout_id IS NULL AND available_at <= ?", userID, currency, bonusGranted, now).
		Update("payout_id", payoutID).Error
	if err != nil {
		return err
	}
	return s.with(ctx).Model(&FriendCredit{}).
		Where("user_id = ? AND currency = ? AND status = ? AND payout_id IS NULL AND available_at <= ?", userID, currency, bonusGranted, now).
		Update("payout_id", payoutID).Error
}

// FinishPayout moves a pending payout to its outcome.
func (s *Store) FinishPayout(ctx context.Context, id string, status referral.PayoutStatus, txn, reason string, at time.Time) (bool, error) {
	updates := map[string]any{"status": string(status), "stripe_transaction_id": txn, "failure_reason": reason, "updated_at": at}
	if status == referral.PayoutPaid {
		updates["paid_at"] = at
	}
	res := s.with(ctx).Model(&Payout{}).Where("id = ? AND status = ?", id, string(referral.PayoutPending)).Updates(updates)
	return res.RowsAffected == 1, res.Error
}

// MarkPayoutReferralsRewarded moves the payout's qualified referrals to REWARDED.
func (s *Store) MarkPayoutReferralsRewarded(ctx context.Context, payoutID string, at time.Time) error {
	return s.with(ctx).Model(&Referral{}).
		Where("status = ? AND id IN (?)", string(referral.StatusQualified),
			s.with(ctx).Model(&RewardRow{}).Select("referral_id").Where("payout_id = ?", payoutID)).
		Updates(map[string]any{"status": string(referral.StatusRewarded), "reward_paid_at": at}).Error
}

// ReleasePayoutRewards frees a failed payout's rewards and bonuses for a later one.
func (s *Store) ReleasePayoutRewards(ctx context.Context, payoutID string) error {
	if err := s.with(ctx).Model(&RewardRow{}).Where("payout_id = ?", payoutID).Update("payout_id", nil).Error; err != nil {
		return err
	}
	if err := s.with(ctx).Model(&MilestoneBonus{}).Where("payout_id = ?", payoutID).Update("payout_id", nil).Error; err != nil {
		return err
	}
	return s.with(ctx).Model(&FriendCredit{}).Where("payout_id = ?", payoutID).Update("payout_id", nil).Error
}

// ListPayouts returns up to f.Limit payouts, newest first.
func (s *Store) ListPayouts(ctx context.Context, f referral.PayoutFilter) ([]referral.Payout, error) {
	q := s.with(ctx)
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.BeforeID != "" {
		q = q.Where("id < ?", f.BeforeID)
	}
	var ms []Payout
	if err := q.Order("id DESC").Limit(f.Limit).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]referral.Payout, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// PayableBalances lists balances of at least minAmount.
func (s *Store) PayableBalances(ctx context.Context, minAmount int64) ([]referral.BalanceView, error) {
	var ms []UserBalance
	if err := s.with(ctx).Where("balance >= ?", minAmount).Order("user_id, currency").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]referral.BalanceView, len(ms))
	for i, m := range ms {
		out[i] = referral.BalanceView{UserID: m.UserID, Currency: m.Currency, Amount: m.Balance}
	}
	return out, nil
}

// StripeCustomerOfUser returns the Stripe customer learned for a user.
func (s *Store) StripeCustomerOfUser(ctx context.Context, userID string) (string, error) {
	var m StripeCustomer
	if err := s.with(ctx).Where("user_id = ?", userID).Order("created_at").Take(&m).Error; err != nil {
		return "", notFound(err)
	}
	return m.CustomerID, nil
}
