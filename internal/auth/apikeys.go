package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// APIKeyPrefix starts every API key: rk_ and 32 URL-safe characters.
const APIKeyPrefix = "rk_"

// APIKey is a product backend's credential. Its secret is shown once, when
// it is created; only its SHA-256 is stored.
type APIKey struct {
	ID         string
	Name       string
	Role       string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// KeyStore keeps API keys by the hash of their secret.
type KeyStore interface {
	// CreateAPIKey stores k with the hash of its secret.
	CreateAPIKey(ctx context.Context, k APIKey, hash string) error
	// APIKeyByHash returns the key with this hash; ErrKeyNotFound when none.
	APIKeyByHash(ctx context.Context, hash string) (APIKey, string, error)
	// ListAPIKeys returns up to limit keys not revoked, newest first, with
	// ids before beforeID when it is set.
	ListAPIKeys(ctx context.Context, beforeID string, limit int) ([]APIKey, error)
	// RevokeAPIKey marks a key revoked; false when no such key (or revoked already).
	RevokeAPIKey(ctx context.Context, id string, at time.Time) (bool, error)
	// TouchAPIKey records that a key was used at at.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// Errors of API keys.
var (
	ErrKeyNotFound = errors.New("API key not found")
	ErrKeyRole     = errors.New("an API key's role is service or admin")
)

// Timing of API keys: a key is read from the database at least once a
// second per replica (so a revocation elsewhere takes effect within it),
// and its last use is written at most every touchEvery.
const (
	keyCacheTTL = time.Second
	touchEvery  = 10 * time.Second
	keyCacheMax = 10_000
)

// apiKeys checks API keys, with a short cache in front of the store.
type apiKeys struct {
	store KeyStore
	now   func() time.Time
	mu    sync.Mutex
	cache map[string]cachedKey // by hash
}

type cachedKey struct {
	key     APIKey
	hash    string
	found   bool
	expires time.Time
	touched time.Time
}

func newAPIKeys(store KeyStore, now func() time.Time) *apiKeys {
	return &apiKeys{store: store, now: now, cache: map[string]cachedKey{}}
}

// hashKey is the stored form of a key's secret.
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func (k *apiKeys) authenticate(ctx context.Context, secret string) (Principal, error) {
	hash := hashKey(secret)
	now := k.now()
	k.mu.Lock()
	c, ok := k.cache[hash]
	k.mu.Unlock()
	if !ok || now.After(c.expires) {
		key, stored, err := k.store.APIKeyByHash(ctx, hash)
		switch {
		case errors.Is(err, ErrKeyNotFound):
			c = cachedKey{hash: hash, expires: now.Add(keyCacheTTL), touched: c.touched}
		case err != nil:
			return Principal{}, fmt.Errorf("read API key: %w", err)
		default:
			c = cachedKey{key: key, hash: stored, found: true, expires: now.Add(keyCacheTTL), touched: c.touched}
		}
		k.remember(c)
	}
	// The stored hash is compared in constant time, not only matched by
	// the index.
	if !c.found || c.key.RevokedAt != nil || subtle.ConstantTimeCompare([]byte(c.hash), []byte(hash)) != 1 {
		return Principal{}, fmt.Errorf("%w: unknown or revoked API key", ErrInvalid)
	}
	if now.Sub(c.touched) >= touchEvery {
		if err := k.store.TouchAPIKey(ctx, c.key.ID, now); err == nil {
			c.touched = now
			k.remember(c)
		}
	}
	return Principal{Subject: c.key.ID, Roles: []string{c.key.Role}, APIKeyID: c.key.ID}, nil
}

func (k *apiKeys) remember(c cachedKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.cache) >= keyCacheMax {
		clear(k.cache) // bounded: a flood of random keys cannot grow it
	}
	k.cache[c.hash] = c
}

// forget drops a key from the cache, so its revocation takes effect on
// this replica at once.
func (k *apiKeys) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, c := range k.cache {
		if c.key.ID == id {
			delete(k.cache, h)
		}
	}
}

// CreateAPIKey makes a key with a role (service or admin) and returns it
// with its secret, which is not stored and cannot be shown again.
func (a *Authenticator) CreateAPIKey(ctx context.Context, name, role, createdBy string) (APIKey, string, error) {
	if a.keys == nil {
		return APIKey{}, "", errors.New("API keys are not configured")
	}
	if role != RoleService && role != RoleAdmin {
		return APIKey{}, "", ErrKeyRole
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return APIKey{}, "", err
	}
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	if a.cfg.NewID == nil {
		return APIKey{}, "", errors.New("API keys need an id generator")
	}
	now := a.cfg.Now().UTC().Truncate(time.Microsecond)
	// Ids sort by creation time, so they page newest first.
	id, err := a.cfg.NewID("key_", now)
	if err != nil {
		return APIKey{}, "", err
	}
	k := APIKey{ID: id, Name: name, Role: role, CreatedBy: createdBy, CreatedAt: now}
	if err := a.keys.store.CreateAPIKey(ctx, k, hashKey(secret)); err != nil {
		return APIKey{}, "", fmt.Errorf("store API key: %w", err)
	}
	return k, secret, nil
}

// ListAPIKeys returns a page of keys not revoked, newest first, and
// whether more follow.
func (a *Authenticator) ListAPIKeys(ctx context.Context, beforeID string, limit int) ([]APIKey, bool, error) {
	if a.keys == nil {
		return nil, false, nil
	}
	keys, err := a.keys.store.ListAPIKeys(ctx, beforeID, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(keys) > limit {
		return keys[:limit], true, nil
	}
	return keys, false, nil
}

// RevokeAPIKey revokes a key; ErrKeyNotFound when there is no such active
// key. It takes effect on this replica at once and on the others within
// a second.
func (a *Authenticator) RevokeAPIKey(ctx context.Context, id string) error {
	if a.keys == nil || !strings.HasPrefix(id, "key_") {
		return ErrKeyNotFound
	}
	ok, err := a.keys.store.RevokeAPIKey(ctx, id, a.cfg.Now().UTC())
	if err != nil {
		return err
	}
	a.keys.forget(id)
	if !ok {
		return ErrKeyNotFound
	}
	return nil
}
