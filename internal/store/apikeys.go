package store

import (
	"context"
	"errors"
	"time"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/referral"
)

// APIKeyRow is a stored API key: its hash, never its secret.
type APIKeyRow struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Role       string
	SecretHash string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// TableName names the api_keys table.
func (APIKeyRow) TableName() string { return "api_keys" }

func (m APIKeyRow) toAuth() auth.APIKey {
	return auth.APIKey{ID: m.ID, Name: m.Name, Role: m.Role, CreatedBy: m.CreatedBy, CreatedAt: m.CreatedAt.UTC(),
		LastUsedAt: utc(m.LastUsedAt), RevokedAt: utc(m.RevokedAt)}
}

var _ auth.KeyStore = (*Store)(nil)

// CreateAPIKey stores a key by the hash of its secret.
func (s *Store) CreateAPIKey(ctx context.Context, k auth.APIKey, hash string) error {
	return s.tx(ctx, func(tx *Store) error {
		m := APIKeyRow{ID: k.ID, Name: k.Name, Role: k.Role, SecretHash: hash, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
		return tx.with(ctx).Create(&m).Error
	})
}

// APIKeyByHash returns the key with this hash and the hash stored.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (auth.APIKey, string, error) {
	var m APIKeyRow
	if err := s.with(ctx).Where("secret_hash = ?", hash).Take(&m).Error; err != nil {
		if err = notFound(err); errors.Is(err, referral.ErrNotFound) {
			return auth.APIKey{}, "", auth.ErrKeyNotFound
		}
		return auth.APIKey{}, "", err
	}
	return m.toAuth(), m.SecretHash, nil
}

// ListAPIKeys returns up to limit keys not revoked, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, beforeID string, limit int) ([]auth.APIKey, error) {
	q := s.with(ctx).Where("revoked_at IS NULL")
	if beforeID != "" {
		q = q.Where("id < ?", beforeID)
	}
	var ms []APIKeyRow
	if err := q.Order("id DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make([]auth.APIKey, len(ms))
	for i, m := range ms {
		out[i] = m.toAuth()
	}
	return out, nil
}

// RevokeAPIKey marks an active key revoked.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) (bool, error) {
	var ok bool
	err := s.tx(ctx, func(tx *Store) error {
		res := tx.with(ctx).Model(&APIKeyRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", at)
		ok = res.RowsAffected == 1
		return res.Error
	})
	return ok, err
}

// TouchAPIKey records a key's last use (a later time only).
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx *Store) error {
		return tx.with(ctx).Model(&APIKeyRow{}).Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, at).
			Update("last_used_at", at).Error
	})
}
