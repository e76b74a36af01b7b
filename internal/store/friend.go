package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// FriendCredit is a referred friend's account credit.
type FriendCredit struct {
	ID          string `gorm:"primaryKey"`
	UserID      string
	ReferralID  string
	ProgramID   string
	Currency    string
	Amount      int64
	Status      string
	PayoutID    *string
	AvailableAt time.Time
	CreatedAt   time.Time
	ReversedAt  *time.Time
}

// FriendCreditOf returns a referral's standing friend credit.
func (s *Store) FriendCreditOf(ctx context.Context, referralID string) (referral.FriendCreditGrant, error) {
	var m FriendCredit
	if err := s.with(ctx).Where("referral_id = ? AND status = ?", referralID, bonusGranted).Take(&m).Error; err != nil {
		return referral.FriendCreditGrant{}, notFound(err)
	}
	return referral.FriendCreditGrant{
		ID: m.ID, UserID: m.UserID, ReferralID: m.ReferralID, ProgramID: m.ProgramID, Currency: m.Currency, Amount: m.Amount,
		PayoutID: deref(m.PayoutID), AvailableAt: m.AvailableAt.UTC(), CreatedAt: m.CreatedAt.UTC(),
	}, nil
}

// CreateFriendCredit inserts a granted credit unless the referral has a
// standing one (the partial unique index decides).
func (s *Store) CreateFriendCredit(ctx context.Context, c referral.FriendCreditGrant) (bool, error) {
	m := FriendCredit{
		ID: c.ID, UserID: c.UserID, ReferralID: c.ReferralID, ProgramID: c.ProgramID, Currency: c.Currency, Amount: c.Amount,
		Status: bonusGranted, AvailableAt: c.AvailableAt, CreatedAt: c.CreatedAt,
	}
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	return res.RowsAffected == 1, res.Error
}

// ReverseFriendCredit marks a standing, unpaid credit reversed.
func (s *Store) ReverseFriendCredit(ctx context.Context, id string, at time.Time) (bool, error) {
	res := s.with(ctx).Model(&FriendCredit{}).Where("id = ? AND status = ? AND payout_id IS NULL", id, bonusGranted).
		Updates(map[string]any{"status": bonusReversed, "reversed_at": at})
	return res.RowsAffected == 1, res.Error
}
