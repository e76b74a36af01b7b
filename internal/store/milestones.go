package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// MilestoneBonus is a referrer's bonus for reaching a program's milestone.
type MilestoneBonus struct {
	ID          string `gorm:"primaryKey"`
	ReferrerID  string
	ProgramID   string
	Milestone   int
	Currency    string
	Amount      int64
	ReferralID  string
	Status      string
	PayoutID    *string
	AvailableAt time.Time
	CreatedAt   time.Time
	ReversedAt  *time.Time
	// PaidOut is read: whether the payout that claimed it was paid.
	PaidOut bool `gorm:"->;-:migration"`
}

// paidOut is true for a bonus or credit whose claiming payout was paid; a
// pending or failed payout leaves it reversible.
const paidOut = "(payout_id IS NOT NULL AND payout_id IN (SELECT id FROM payouts WHERE status = 'paid'))"

// TableName names the bonuses table.
func (MilestoneBonus) TableName() string { return "milestone_bonuses" }

// Milestone bonus states.
const (
	bonusGranted  = "granted"
	bonusReversed = "reversed"
)

func (m MilestoneBonus) toDomain() referral.MilestoneBonus {
	return referral.MilestoneBonus{
		ID: m.ID, ReferrerID: m.ReferrerID, ProgramID: m.ProgramID, Milestone: m.Milestone, Currency: m.Currency,
		Amount: m.Amount, ReferralID: m.ReferralID, PayoutID: deref(m.PayoutID), PaidOut: m.PaidOut,
		AvailableAt: m.AvailableAt.UTC(), CreatedAt: m.CreatedAt.UTC(),
	}
}

// CountEarningReferrals counts a referrer's QUALIFIED and REWARDED
// referrals in a program.
func (s *Store) CountEarningReferrals(ctx context.Context, referrerID, programID string) (int, error) {
	var n int64
	err := s.with(ctx).Model(&Referral{}).
		Where("referrer_id = ? AND program_id = ? AND status IN ?", referrerID, programID,
			[]string{string(referral.StatusQualified), string(referral.StatusRewarded)}).
		Count(&n).Error
	return int(n), err
}

// LiveBonuses returns a referrer's standing bonuses in a program.
func (s *Store) LiveBonuses(ctx context.Context, referrerID, programID string) ([]referral.MilestoneBonus, error) {
	var ms []MilestoneBonus
	err := s.with(ctx).Select("*, "+paidOut+" AS paid_out").
		Where("referrer_id = ? AND program_id = ? AND status = ?", referrerID, programID, bonusGranted).
		Order("milestone").Find(&ms).Error
	if err != nil {
		return nil, err
	}
	out := make([]referral.MilestoneBonus, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// CreateBonus inserts a granted bonus unless its milestone has a standing
// one (the partial unique index decides, also between transactions).
func (s *Store) CreateBonus(ctx context.Context, b referral.MilestoneBonus) (bool, error) {
	m := MilestoneBonus{
		ID: b.ID, ReferrerID: b.ReferrerID, ProgramID: b.ProgramID, Milestone: b.Milestone, Currency: b.Currency,
		Amount: b.Amount, ReferralID: b.ReferralID, Status: bonusGranted, AvailableAt: b.AvailableAt, CreatedAt: b.CreatedAt,
	}
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m)
	return res.RowsAffected == 1, res.Error
}

// ReverseBonus marks a standing bonus not paid out reversed (one a
// pending payout claimed too: if that payout is paid after all, the
// reversal is a clawback; if it fails, the amount is not paid twice).
func (s *Store) ReverseBonus(ctx context.Context, id string, at time.Time) (bool, error) {
	res := s.with(ctx).Model(&MilestoneBonus{}).Where("id = ? AND status = ? AND NOT "+paidOut, id, bonusGranted).
		Updates(map[string]any{"status": bonusReversed, "reversed_at": at})
	return res.RowsAffected == 1, res.Error
}
