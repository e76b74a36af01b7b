package httpapi

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"

	"github.com/refhub/referral-service/internal/referral"
)

// codeCache keeps code lookups of the short-link path off the database.
// Known codes live in one LRU set, unknown ones in another, smaller one, so
// a flood of random codes can evict only other unknown codes, never the
// codes people share. A known code is looked up again after ttl; if the
// database does not answer then, the entry is served as it was (aliases
// never change owner, so it is still right). Concurrent misses of one code
// make one database lookup. The sets are sharded by code, so the hot path
// takes one small lock.
type codeCache struct {
	resolve func(ctx context.Context, code string) (referral.Code, error)
	build   func(referral.Code) *linkTarget
	ttl     time.Duration
	negTTL  time.Duration
	// timeout bounds a lookup in the database: a link whose code cannot be
	// read in time still redirects, to the app's home.
	timeout time.Duration
	seed    maphash.Seed
	shards  [cacheShards]cacheShard
	lookups singleflight.Group
}

const (
	cacheShards     = 32
	knownPerShard   = 4096 // 131,072 known codes
	unknownPerShard = 512  // 16,384 unknown codes
)

type cacheShard struct {
	mu      sync.Mutex
	known   *simplelru.LRU[string, cacheEntry]
	unknown *simplelru.LRU[string, time.Time] // code → when to ask again
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
	target  *linkTarget
	expires time.Time
}

func newCodeCache(resolve func(ctx context.Context, code string) (referral.Code, error), build func(referral.Code) *linkTarget, timeout time.Duration) *codeCache {
	cc := &codeCache{resolve: resolve, build: build, ttl: 5 * time.Minute, negTTL: 10 * time.Second, timeout: timeout, seed: maphash.MakeSeed()}
	for i := range cc.shards {
		cc.shards[i].known, _ = simplelru.NewLRU[string, cacheEntry](knownPerShard, nil)
		cc.shards[i].unknown, _ = simplelru.NewLRU[string, time.Time](unknownPerShard, nil)
	}
	return cc
}

// lookup returns the target a link's code resolves to, nil when the code
// does not exist.
func (cc *codeCache) lookup(ctx context.Context, code string, now time.Time) (*linkTarget, error) {
	s := &cc.shards[maphash.String(cc.seed, code)%cacheShards]
	s.mu.Lock()
	e, known := s.known.Get(code)
	if known && now.Before(e.expires) {
		s.mu.Unlock()
		return e.target, nil
	}
	if until, ok := s.unknown.Get(code); ok && now.Before(until) {
		s.mu.Unlock()
		return nil, nil
	}
	s.mu.Unlock()
	v, err, _ := cc.lookups.Do(code, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cc.timeout)
		defer cancel()
		found, err := cc.resolve(ctx, code)
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case errors.Is(err, referral.ErrCodeNotFound):
			s.unknown.Add(code, now.Add(cc.negTTL))
			return (*linkTarget)(nil), nil
		case err != nil:
			return nil, err
		}
		t := cc.build(found)
		s.known.Add(code, cacheEntry{target: t, expires: now.Add(cc.ttl)})
		s.unknown.Remove(code)
		return t, nil
	})
	if err != nil {
		if known {
			return e.target, nil // the database is down: the code is still the user's
		}
		return nil, err
	}
	return v.(*linkTarget), nil
}
