package httpapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// codeCache keeps code lookups of the short-link path off the database:
// found codes for a few minutes, unknown ones briefly (so a new code works
// within seconds). Aliases never change owner, so a stale entry still
// resolves to the right user. It holds at most max entries.
type codeCache struct {
	resolve func(ctx context.Context, code string) (referral.Code, error)
	ttl     time.Duration
	negTTL  time.Duration
	max     int

	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	code    referral.Code
	found   bool
	expires time.Time
}

func newCodeCache(resolve func(ctx context.Context, code string) (referral.Code, error)) *codeCache {
	return &codeCache{resolve: resolve, ttl: 5 * time.Minute, negTTL: 10 * time.Second, max: 100_000, m: map[string]cacheEntry{}}
}

// lookup returns the code a link's code resolves to and whether it exists.
func (cc *codeCache) lookup(ctx context.Context, code string, now time.Time) (referral.Code, bool, error) {
	cc.mu.RLock()
	e, ok := cc.m[code]
	cc.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.code, e.found, nil
	}
	found, err := cc.resolve(ctx, code)
	switch {
	case errors.Is(err, referral.ErrCodeNotFound):
		e = cacheEntry{expires: now.Add(cc.negTTL)}
	case err != nil:
		return referral.Code{}, false, err
	default:
		e = cacheEntry{code: found, found: true, expires: now.Add(cc.ttl)}
	}
	cc.mu.Lock()
	if len(cc.m) >= cc.max {
		clear(cc.m) // crude but bounded: refills from the database
	}
	cc.m[code] = e
	cc.mu.Unlock()
	return e.code, e.found, nil
}
