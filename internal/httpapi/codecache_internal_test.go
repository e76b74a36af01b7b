package httpapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// countingResolver resolves codes that start with "KNOWN", counting calls;
// it can be made to fail as a database that is down.
type countingResolver struct {
	calls atomic.Int64
	down  atomic.Bool
	delay time.Duration
}

func (r *countingResolver) resolve(_ context.Context, code string) (referral.Code, error) {
	r.calls.Add(1)
	time.Sleep(r.delay)
	if r.down.Load() {
		return referral.Code{}, errors.New("database down")
	}
	if len(code) >= 5 && code[:5] == "KNOWN" {
		return referral.Code{Code: code, UserID: "owner-of-" + code}, nil
	}
	return referral.Code{}, referral.ErrCodeNotFound
}

func newTestCache(r *countingResolver) *codeCache {
	return newCodeCache(r.resolve, func(c referral.Code) *linkTarget { return &linkTarget{code: c, location: "/?ref=" + c.Code} }, time.Second)
}

// TestCodeCacheRandomCodesEvictNothing: a flood of random unknown codes
// (more than the unknown set holds) evicts no known code.
func TestCodeCacheRandomCodesEvictNothing(t *testing.T) {
	r := &countingResolver{}
	cc := newTestCache(r)
	ctx, now := context.Background(), time.Now()
	for i := range 1000 {
		if tgt, err := cc.lookup(ctx, fmt.Sprintf("KNOWN%04d", i), now); err != nil || tgt == nil {
			t.Fatalf("known code: %v %v", tgt, err)
		}
	}
	for i := range 120_000 { // more than any bounded cache of all codes would hold
		if tgt, err := cc.lookup(ctx, fmt.Sprintf("RAND%06d", i), now); err != nil || tgt != nil {
			t.Fatalf("random code: %v %v", tgt, err)
		}
	}
	before := r.calls.Load()
	for i := range 1000 {
		if tgt, _ := cc.lookup(ctx, fmt.Sprintf("KNOWN%04d", i), now); tgt == nil || tgt.code.UserID != fmt.Sprintf("owner-of-KNOWN%04d", i) {
			t.Fatalf("known code %d lost", i)
		}
	}
	if extra := r.calls.Load() - before; extra != 0 {
		t.Fatalf("%d known codes went back to the database after the flood", extra)
	}
}

// TestCodeCacheOneLookupPerCode: concurrent misses of one code make one
// database lookup.
func TestCodeCacheOneLookupPerCode(t *testing.T) {
	r := &countingResolver{delay: 300 * time.Millisecond} // long enough for every goroutine to join, even on a loaded machine
	cc := newTestCache(r)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			if tgt, err := cc.lookup(context.Background(), "KNOWNHOT", time.Now()); err != nil || tgt == nil {
				t.Errorf("lookup: %v %v", tgt, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := r.calls.Load(); n != 1 {
		t.Fatalf("%d database lookups for one code", n)
	}
}

// TestCodeCacheServesKnownCodesWhileTheDatabaseIsDown: an entry past its
// time is looked up again; when the database does not answer, the known
// code still resolves; an unknown one is an error (the link goes home).
func TestCodeCacheServesKnownCodesWhileTheDatabaseIsDown(t *testing.T) {
	r := &countingResolver{}
	cc := newTestCache(r)
	ctx, now := context.Background(), time.Now()
	if tgt, _ := cc.lookup(ctx, "KNOWNAAA", now); tgt == nil {
		t.Fatal("known code")
	}
	r.down.Store(true)
	later := now.Add(time.Hour)
	tgt, err := cc.lookup(ctx, "KNOWNAAA", later)
	if err != nil || tgt == nil || tgt.code.UserID != "owner-of-KNOWNAAA" {
		t.Fatalf("known code with the database down: %v %v", tgt, err)
	}
	if _, err := cc.lookup(ctx, "KNOWNBBB", later); err == nil {
		t.Fatal("a code never seen resolved with the database down")
	}
}
