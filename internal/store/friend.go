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
	// PaidOut is read: whether the payout that claimed it was paid.
	PaidOut bool `gorm:"->;-:migration"`
}

// FriendCreditOf returns a referral's standing friend credit.
func (s *Store) FriendCreditOf(ctx context.Context, referralID string) (referral.FriendCreditGrant, error) {
	var m FriendCredit
	if err := s.with(ctx).Select("*, "+paidOut+" AS paid_out").Where("referral_id = ? AND status = ?", referralID, bonusGranted).
		Take(&m).Error; err != nil {
		return referral.FriendCreditGrant{}, notFound(err)
	}
	return m.toDomain(), nil
}

func (m FriendCredit) toDomain() referral.FriendCreditGrant {
	return referral.FriendCreditGrant{
		ID: m.ID, UserID: m.UserID, ReferralID: m.ReferralID, ProgramID: m.ProgramID, Currency: m.Currency, Amount: m.Amount,
		PayoutID: deref(m.PayoutID), PaidOut: m.PaidOut, AvailableAt: m.AvailableAt.UTC(), CreatedAt: m.CreatedAt.UTC(),
	}
}

// ReversedFriendCreditOf returns the referral's latest reversed credit
// (what a restored referral gets back).
func (s *Store) ReversedFriendCreditOf(ctx context.Context, referralID string) (referral.FriendCreditGrant, error) {
	var m FriendCredit
	if err := s.with(ctx).Where("referral_id = ? AND status = ?", referralID, bonusReversed).Order("created_at DESC, id DESC").
		Take(&m).Error; err != nil {
		return referral.FriendCreditGrant{}, notFound(err)
	}
	return m.toDomain(), nil
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

// ReverseFriendCredit marks a standing credit not paid out reversed (as
// ReverseBonus).
func (s *Store) ReverseFriendCredit(ctx context.Context, id string, at time.Time) (bool, error) {
	res := s.with(ctx).Model(&FriendCredit{}).Where("id = ? AND status = ? AND NOT "+paidOut, id, bonusGranted).
		Updates(map[string]any{"status": bonusReversed, "reversed_at": at})
	return res.RowsAffected == 1, res.Error
}
