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
	build   func(referral.Code) *linkTarget
	ttl     time.Duration
	negTTL  time.Duration
	max     int
	// timeout bounds a lookup in the database: a link whose code cannot be
	// read in time still redirects, to the app's home.
	timeout time.Duration

	mu sync.RWMutex
	m  map[string]cacheEntry
}

// linkTarget is what a short link of a known code answers with, built once
// per cache entry so a hit formats nothing that does not change.
type linkTarget struct {
	code referral.Code
	// location is APP_URL/?ref=CODE, escaped; utm_* and click are appended.
	location string
	// cookie holds the Set-Cookie header value without and with Secure.
	// The slices are shared and never written to.
	cookie [2][]string
}

type cacheEntry struct {
	target  *linkTarget // nil: no such code
	expires time.Time
}

func newCodeCache(resolve func(ctx context.Context, code string) (referral.Code, error), build func(referral.Code) *linkTarget, timeout time.Duration) *codeCache {
	return &codeCache{resolve: resolve, build: build, ttl: 5 * time.Minute, negTTL: 10 * time.Second, max: 100_000, timeout: timeout, m: map[string]cacheEntry{}}
}

// lookup returns the target a link's code resolves to, nil when the code
// does not exist.
func (cc *codeCache) lookup(ctx context.Context, code string, now time.Time) (*linkTarget, error) {
	cc.mu.RLock()
	e, ok := cc.m[code]
	cc.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.target, nil
	}
	ctx, cancel := context.WithTimeout(ctx, cc.timeout)
	found, err := cc.resolve(ctx, code)
	cancel()
	switch {
	case errors.Is(err, referral.ErrCodeNotFound):
		e = cacheEntry{expires: now.Add(cc.negTTL)}
	case err != nil:
		return nil, err
	default:
		e = cacheEntry{target: cc.build(found), expires: now.Add(cc.ttl)}
	}
	cc.mu.Lock()
	if len(cc.m) >= cc.max {
		clear(cc.m) // crude but bounded: refills from the database
	}
	cc.m[code] = e
	cc.mu.Unlock()
	return e.target, nil
}
