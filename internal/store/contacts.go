package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/outbox/mail"
)

// UserContactRow is where a user's email goes.
type UserContactRow struct {
	UserID    string `gorm:"primaryKey"`
	Email     string
	Locale    string
	Source    string
	UpdatedAt time.Time
}

// TableName names the contacts table.
func (UserContactRow) TableName() string { return "user_contacts" }

// NotificationPreferenceRow is which emails a user wants.
type NotificationPreferenceRow struct {
	UserID            string `gorm:"primaryKey"`
	ReferralCreated   bool
	ReferralQualified bool
	RewardAvailable   bool
	PayoutPaid        bool
	UpdatedAt         time.Time
}

// TableName names the preferences table.
func (NotificationPreferenceRow) TableName() string { return "notification_preferences" }

var _ mail.Store = (*Store)(nil)

// Contact returns a user's contact, or mail.ErrNoContact.
func (s *Store) Contact(ctx context.Context, userID string) (mail.Contact, error) {
	var m UserContactRow
	err := s.with(ctx).Where("user_id = ?", userID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return mail.Contact{}, mail.ErrNoContact
	}
	if err != nil {
		return mail.Contact{}, err
	}
	return mail.Contact{UserID: m.UserID, Email: m.Email, Locale: m.Locale, Source: m.Source, UpdatedAt: m.UpdatedAt.UTC()}, nil
}

// SaveContact writes a user's contact whole.
func (s *Store) SaveContact(ctx context.Context, c mail.Contact) error {
	m := UserContactRow{UserID: c.UserID, Email: c.Email, Locale: c.Locale, Source: c.Source, UpdatedAt: c.UpdatedAt}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"email", "locale", "source", "updated_at"}),
	}).Create(&m).Error
}

// RememberEmail stores a token's address when the user has no contact, or
// one from a token with another address, in one statement (no read first,
// so two requests cannot both decide to write).
func (s *Store) RememberEmail(ctx context.Context, userID, email string, at time.Time) (bool, error) {
	res := s.with(ctx).Exec(`INSERT INTO user_contacts (user_id, email, locale, source, updated_at) VALUES (?, ?, '', ?, ?)
ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, updated_at = excluded.updated_at
WHERE user_contacts.source = ? AND user_contacts.email <> excluded.email`,
		userID, email, mail.SourceToken, at, mail.SourceToken)
	return res.RowsAffected > 0, res.Error
}

// Preferences returns a user's preferences, and false when they never chose.
func (s *Store) Preferences(ctx context.Context, userID string) (mail.Preferences, bool, error) {
	var m NotificationPreferenceRow
	err := s.with(ctx).Where("user_id = ?", userID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return mail.Preferences{}, false, nil
	}
	if err != nil {
		return mail.Preferences{}, false, err
	}
	return mail.Preferences{ReferralCreated: m.ReferralCreated, ReferralQualified: m.ReferralQualified,
		RewardAvailable: m.RewardAvailable, PayoutPaid: m.PayoutPaid}, true, nil
}

// SavePreferences replaces a user's preferences.
func (s *Store) SavePreferences(ctx context.Context, userID string, p mail.Preferences, at time.Time) error {
	m := NotificationPreferenceRow{UserID: userID, ReferralCreated: p.ReferralCreated, ReferralQualified: p.ReferralQualified,
		RewardAvailable: p.RewardAvailable, PayoutPaid: p.PayoutPaid, UpdatedAt: at}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"referral_created", "referral_qualified", "reward_available", "payout_paid", "updated_at"}),
	}).Create(&m).Error
}
