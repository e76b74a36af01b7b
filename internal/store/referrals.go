package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// CodeByUser returns the user's code in a program.
func (s *Store) CodeByUser(ctx context.Context, userID, programID string) (referral.Code, error) {
	var m ReferralCode
	if err := s.with(ctx).Where("user_id = ? AND program_id = ?", userID, programOrDefault(programID)).Take(&m).Error; err != nil {
		return referral.Code{}, notFound(err)
	}
	return m.toDomain(), nil
}

// CodeByValue returns the code row a current or former code (already
// normalised) resolves to.
func (s *Store) CodeByValue(ctx context.Context, code string) (referral.Code, error) {
	var m ReferralCode
	err := s.with(ctx).Joins("JOIN code_aliases ON code_aliases.referral_code_id = referral_codes.id").
		Where("code_aliases.code = ?", code).Take(&m).Error
	if err != nil {
		return referral.Code{}, notFound(err)
	}
	return m.toDomain(), nil
}

// errCodeTaken rolls back a code insert whose value resolves already.
var errCodeTaken = errors.New("code value resolves already")

// CreateCode inserts c and its alias unless the user has a code in its program or the
// value resolves already (a current or former code of anyone).
func (s *Store) CreateCode(ctx context.Context, c referral.Code) (bool, error) {
	err := s.retry(ctx, func() error { return s.createCode(ctx, c) })
	if errors.Is(err, errCodeTaken) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) createCode(ctx context.Context, c referral.Code) error {
	return s.with(ctx).Transaction(func(tx *gorm.DB) error {
		m := ReferralCode{ID: c.ID, Code: c.Code, UserID: c.UserID, ProgramID: programOrDefault(c.ProgramID), CreatedAt: c.CreatedAt}
		alias := CodeAlias{Code: c.Code, ReferralCodeID: c.ID, UserID: c.UserID, CreatedAt: c.CreatedAt}
		for _, row := range []any{&m, &alias} {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(row)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return errCodeTaken
			}
		}
		return nil
	})
}

// ClaimAlias makes code resolve to codeID unless it resolves already.
func (s *Store) ClaimAlias(ctx context.Context, code, codeID, userID string, at time.Time) (bool, error) {
	alias := CodeAlias{Code: code, ReferralCodeID: codeID, UserID: userID, CreatedAt: at}
	res := s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&alias)
	return res.RowsAffected == 1, res.Error
}

// SetCurrentCode makes code the row's current code.
func (s *Store) SetCurrentCode(ctx context.Context, codeID, code string) error {
	return s.with(ctx).Model(&ReferralCode{}).Where("id = ?", codeID).Update("code", code).Error
}

// CreateReferral inserts r unless the referred user already has a referral.
func (s *Store) CreateReferral(ctx context.Context, r referral.Referral) (bool, error) {
	m := referralModel(r)
	res := s.with(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "referred_user_id"}},
		DoNothing: true,
	}).Create(&m)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// ReferralByID returns one referral.
func (s *Store) ReferralByID(ctx context.Context, id string) (referral.Referral, error) {
	var m Referral
	if err := s.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return referral.Referral{}, notFound(err)
	}
	return m.toDomain(), nil
}

// ReferralByReferredUser returns the referral of a referred user.
func (s *Store) ReferralByReferredUser(ctx context.Context, userID string) (referral.Referral, error) {
	var m Referral
	if err := s.with(ctx).Where("referred_user_id = ?", userID).Take(&m).Error; err != nil {
		return referral.Referral{}, notFound(err)
	}
	return m.toDomain(), nil
}

// QualifyReferral moves a PENDING referral to QUALIFIED with its reward. The
// status condition makes it a compare-and-set: of two racing payments only one
// sees a row affected.
func (s *Store) QualifyReferral(ctx context.Context, id string, q referral.Qualification) (bool, error) {
	res := s.with(ctx).Model(&Referral{}).
		Where("id = ? AND status = ?", id, string(referral.StatusPending)).
		Updates(map[string]any{
			"status":                string(referral.StatusQualified),
			"reward_amount":         q.RewardAmount,
			"reward_currency":       q.RewardCurrency,
			"qualifying_payment_id": q.PaymentID,
			"qualified_at":          q.QualifiedAt,
		})
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// ReferralStats returns the referrer's counts and reward sums per status and
// reward currency, from the totals the referrals triggers keep: a handful of
// rows whatever the number of referrals.
func (s *Store) ReferralStats(ctx context.Context, referrerID string) ([]referral.StatRow, error) {
	var rows []struct {
		Status   string
		Currency string
		Count    int64
		Reward   int64
	}
	err := s.with(ctx).Table("referrer_status_totals").
		Select("status, currency, count, reward").
		Where("referrer_id = ? AND (count <> 0 OR reward <> 0)", referrerID).
		Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]referral.StatRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, referral.StatRow{Status: referral.Status(r.Status), Currency: r.Currency, Count: r.Count, Reward: r.Reward})
	}
	return out, nil
}

// ListReferrals returns up to f.Limit of the referrer's referrals, newest
// first. Ids are time-ordered, so the id is both sort key and cursor.
func (s *Store) ListReferrals(ctx context.Context, f referral.ReferralFilter) ([]referral.Referral, error) {
	q := s.with(ctx)
	if f.ReferrerID != "" {
		q = q.Where("referrer_id = ?", f.ReferrerID)
	}
	if f.ReferredUserID != "" {
		q = q.Where("referred_user_id = ?", f.ReferredUserID)
	}
	if f.Code != "" {
		q = q.Where("code = ?", f.Code)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.BeforeID != "" {
		q = q.Where("id < ?", f.BeforeID)
	}
	var ms []Referral
	if err := q.Order("id DESC").Limit(f.Limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list referrals of %s: %w", f.ReferrerID, err)
	}
	out := make([]referral.Referral, len(ms))
	for i, m := range ms {
		out[i] = m.toDomain()
	}
	return out, nil
}

// CancelReferral sets status CANCELLED and the operator's reason, if the
// referral is still in status from.
func (s *Store) CancelReferral(ctx context.Context, id string, from referral.Status, reason string) (bool, error) {
	res := s.with(ctx).Model(&Referral{}).Where("id = ? AND status = ?", id, string(from)).
		Updates(map[string]any{"status": string(referral.StatusCancelled), "cancel_reason": reason})
	return res.RowsAffected == 1, res.Error
}
