package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// CreateReward inserts a reward.
func (s *Store) CreateReward(ctx context.Context, r referral.Reward) error {
	m := rewardModel(r)
	return s.with(ctx).Create(&m).Error
}

// AppendLedger writes an entry and moves the cached balance by its amount,
// in the caller's transaction: the balance always equals the sum of entries.
func (s *Store) AppendLedger(ctx context.Context, e referral.LedgerEntry) error {
	m := LedgerEntry{
		ID: e.ID, UserID: e.UserID, Currency: e.Currency, Type: string(e.Type), Amount: e.Amount,
		ReferralID: nullable(e.ReferralID), RewardID: nullable(e.RewardID), PayoutID: nullable(e.PayoutID),
		Description: e.Description, AvailableAt: e.AvailableAt, CreatedAt: e.CreatedAt,
	}
	if err := s.with(ctx).Create(&m).Error; err != nil {
		return fmt.Errorf("append ledger entry: %w", err)
	}
	bal := UserBalance{UserID: e.UserID, Currency: e.Currency, Balance: e.Amount, UpdatedAt: e.CreatedAt}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "user_id"}, {Name: "currency"}},
		DoUpdates: clause.Assignments(map[string]any{
			"balance":    clause.Expr{SQL: "user_balances.balance + excluded.balance"},
			"updated_at": clause.Expr{SQL: "excluded.updated_at"},
		}),
	}).Create(&bal).Error
}

// BalanceViews returns the user's balances with the part still on hold at
// now. What is on hold is what the user's rewards still inside their hold
// keep, and their standing milestone bonuses and friend credits still
// inside theirs: a fact of the rewards, never of when other entries (payouts,
// clawbacks) were dated, so a payout committed by another transaction
// counts against the balance whatever either clock said.
func (s *Store) BalanceViews(ctx context.Context, userID string, now time.Time) ([]referral.BalanceView, error) {
	var bals []UserBalance
	if err := s.with(ctx).Where("user_id = ?", userID).Order("currency").Find(&bals).Error; err != nil {
		return nil, err
	}
	// One statement for the three kinds of held amounts: a payout reads
	// this under the account lock, where every statement counts.
	var pending []struct {
		Currency string
		Amount   int64
	}
	err := s.with(ctx).Raw(`SELECT currency, COALESCE(SUM(amount), 0) AS amount FROM (
		SELECT currency, kept_amount AS amount FROM rewards WHERE referrer_id = ? AND payout_id IS NULL AND available_at > ?
		UNION ALL
		SELECT currency, amount FROM milestone_bonuses WHERE referrer_id = ? AND status = ? AND payout_id IS NULL AND available_at > ?
		UNION ALL
		SELECT currency, amount FROM friend_credits WHERE user_id = ? AND status = ? AND payout_id IS NULL AND available_at > ?
	) held GROUP BY currency`, userID, now, userID, bonusGranted, now, userID, bonusGranted, now).Find(&pending).Error
	if err != nil {
		return nil, err
	}
	held := make(map[string]int64, len(pending))
	for _, p := range pending {
		held[p.Currency] += p.Amount
	}
	out := make([]referral.BalanceView, len(bals))
	for i, b := range bals {
		out[i] = referral.BalanceView{UserID: userID, Currency: b.Currency, Amount: b.Balance, Pending: held[b.Currency], Available: b.Balance - held[b.Currency]}
	}
	return out, nil
}

// ListLedger returns up to f.Limit of the user's entries, newest first.
func (s *Store) ListLedger(ctx context.Context, f referral.LedgerFilter) ([]referral.LedgerEntry, error) {
	q := s.with(ctx).Where("user_id = ?", f.UserID)
	if f.Currency != "" {
		q = q.Where("currency = ?", f.Currency)
	}
	if f.BeforeID != "" {
		q = q.Where("id < ?", f.BeforeID)
	}
	var ms []LedgerEntry
	if err := q.Order("id DESC").Limit(f.Limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list ledger of %s: %w", f.UserID, err)
	}
	out := make([]referral.LedgerEntry, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}
