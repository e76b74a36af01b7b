// Package ratelimit limits requests per key (a client address, a subject):
// a token bucket per key, the buckets in bounded LRU sets sharded by key so
// that the short link's hot path takes one small lock.
package ratelimit

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Rate is N requests per period, with bursts of N.
type Rate struct {
	N      int
	Period time.Duration
}

// Off is no limit.
var Off = Rate{}

// Enabled reports whether the rate limits anything.
func (r Rate) Enabled() bool { return r.N > 0 && r.Period > 0 }

func (r Rate) String() string {
	if !r.Enabled() {
		return "off"
	}
	unit := "s"
	if r.Period == time.Minute {
		unit = "m"
	}
	return strconv.Itoa(r.N) + "/" + unit
}

// Parse reads "N/s", "N/m" or "off".
func Parse(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Off, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 || count > 1_000_000 {
		return Rate{}, fmt.Errorf("%q is not N/s, N/m or off", s)
	}
	switch unit {
	case "s":
		return Rate{N: count, Period: time.Second}, nil
	case "m":
		return Rate{N: count, Period: time.Minute}, nil
	}
	return Rate{}, fmt.Errorf("%q is not N/s, N/m or off", s)
}

// Decision is what the limiter says of one request.
type Decision struct {
	Allowed bool
	// Limit is the bucket's size (RateLimit-Limit).
	Limit int
	// Remaining is the whole requests left now (RateLimit-Remaining).
	Remaining int
	// Reset is when the bucket is full again (RateLimit-Reset).
	Reset time.Duration
	// RetryAfter is when the next request would be allowed (only when not allowed).
	RetryAfter time.Duration
}

const (
	shards      = 64
	maxPerShard = 4096 // 262,144 keys in all; the least recently seen go first
)

// Limiter holds a bucket per key, as the generic cell rate algorithm keeps
// it: the time the bucket would be full again, in integer nanoseconds, so
// that exactly N requests fit in a burst and one more every Period/N.
type Limiter struct {
	rate     Rate
	interval time.Duration // one request's share of the period
	seed     maphash.Seed
	shards   [shards]shard
}

type shard struct {
	mu      sync.Mutex
	buckets *simplelru.LRU[string, time.Time] // key → when the bucket is full again
}

// New returns a limiter of rate per key.
func New(rate Rate) (*Limiter, error) {
	if !rate.Enabled() {
		return nil, errors.New("a limiter needs a rate")
	}
	l := &Limiter{rate: rate, interval: rate.Period / time.Duration(rate.N), seed: maphash.MakeSeed()}
	for i := range l.shards {
		lru, err := simplelru.NewLRU[string, time.Time](maxPerShard, nil)
		if err != nil {
			return nil, err
		}
		l.shards[i].buckets = lru
	}
	return l, nil
}

// Allow takes one request from key's bucket at now.
func (l *Limiter) Allow(key string, now time.Time) Decision {
	s := &l.shards[maphash.String(l.seed, key)%shards]
	s.mu.Lock()
	full, ok := s.buckets.Get(key)
	if !ok || full.Before(now) {
		full = now
	}
	next := full.Add(l.interval)
	d := Decision{Limit: l.rate.N}
	if used := next.Sub(now); used <= l.rate.Period {
		s.buckets.Add(key, next)
		full, d.Allowed = next, true
	} else {
		d.RetryAfter = used - l.rate.Period
	}
	s.mu.Unlock()
	d.Reset = full.Sub(now)
	d.Remaining = int((l.rate.Period - d.Reset) / l.interval)
	return d
}
