package auth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// JWKSOptions tunes how the identity provider's key sets are fetched.
type JWKSOptions struct {
	// Client fetches the key sets (default: a client with FetchTimeout).
	Client *http.Client
	// FetchTimeout bounds one fetch (default 3 s): a slow or hanging JWKS
	// endpoint costs a request at most this long.
	FetchTimeout time.Duration
	// RefreshInterval is how often each key set is fetched again in the
	// background (default 10 min).
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two fetches of one URL
	// caused by tokens naming a key it does not have (default 5 s): a key
	// the provider rotated in is accepted within it, and a flood of random
	// key ids fetches each URL at most once per interval.
	UnknownKIDInterval time.Duration
	// Log receives fetch failures (cached keys keep verifying).
	Log *slog.Logger
}

// jwksKeys holds the key sets of the configured URLs.
type jwksKeys struct {
	sets []*keySet
}

// keySet is one JWKS URL's keys, replaced whole by each successful fetch,
// so a failed fetch keeps the keys known before.
type keySet struct {
	url     string
	opts    JWKSOptions
	current atomic.Pointer[jwkset.Storage]
	unknown *rate.Limiter
	// fetching lets one fetch run at a time; the others use what it brings.
	fetching sync.Mutex
	fetched  atomic.Int64 // fetches made, for tests and metrics
}

func newJWKSKeys(ctx context.Context, urls []string, opts JWKSOptions) (*jwksKeys, error) {
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 3 * time.Second
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 10 * time.Minute
	}
	if opts.UnknownKIDInterval <= 0 {
		opts.UnknownKIDInterval = 5 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: opts.FetchTimeout}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	k := &jwksKeys{}
	var wg sync.WaitGroup
	for _, u := range urls {
		s := &keySet{url: u, opts: opts, unknown: rate.NewLimiter(rate.Every(opts.UnknownKIDInterval), 1)}
		var empty jwkset.Storage = jwkset.NewMemoryStorage()
		s.current.Store(&empty)
		k.sets = append(k.sets, s)
		// The first fetch of each URL, together: a provider that is down
		// delays the start by FetchTimeout at most, then its tokens are
		// refused until a later fetch succeeds.
		wg.Go(func() { s.fetch(ctx) })
		go s.refreshEvery(ctx)
	}
	wg.Wait()
	return k, nil
}

// fetch replaces the key set with the URL's current one; on failure the
// keys known before stay.
func (s *keySet) fetch(ctx context.Context) {
	s.fetching.Lock()
	defer s.fetching.Unlock()
	s.fetched.Add(1)
	ctx, cancel := context.WithTimeout(ctx, s.opts.FetchTimeout)
	defer cancel()
	fresh, err := jwkset.NewStorageFromHTTP(s.url, jwkset.HTTPClientStorageOptions{
		Client: s.opts.Client, Ctx: ctx, HTTPTimeout: s.opts.FetchTimeout,
	})
	if err != nil {
		s.opts.Log.WarnContext(ctx, "fetching a JWKS failed; the keys known before stay", "url", s.url, "error", err)
		return
	}
	s.current.Store(&fresh)
}

func (s *keySet) refreshEvery(ctx context.Context) {
	t := time.NewTicker(s.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.fetch(ctx)
		}
	}
}

// read returns the key with kid, fetching the URL again (at most once per
// UnknownKIDInterval) when it does not know it.
func (s *keySet) read(ctx context.Context, kid string) (jwkset.JWK, bool) {
	if jwk, err := (*s.current.Load()).KeyRead(ctx, kid); err == nil {
		return jwk, true
	}
	before := s.current.Load()
	if !s.unknown.Allow() {
		return jwkset.JWK{}, false
	}
	// Another request may have fetched while this one waited for the lock.
	if s.current.Load() == before {
		s.fetch(context.WithoutCancel(ctx))
	}
	jwk, err := (*s.current.Load()).KeyRead(ctx, kid)
	return jwk, err == nil
}

// errUnknownKey means no configured key set has the token's key.
var errUnknownKey = errors.New("no JWKS has the token's key")

// key returns what verifies token t: the JWK its kid names (its alg, if
// set, matching the token's, and its use "sig"), or every suitable key
// when the token names none.
func (k *jwksKeys) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	kid, hasKID := t.Header["kid"].(string)
	if hasKID {
		for _, s := range k.sets {
			if jwk, ok := s.read(ctx, kid); ok {
				return publicKey(jwk, alg)
			}
		}
		return nil, errUnknownKey
	}
	var set jwt.VerificationKeySet
	for _, s := range k.sets {
		all, err := (*s.current.Load()).KeyReadAll(ctx)
		if err != nil {
			continue
		}
		for _, jwk := range all {
			if key, err := publicKey(jwk, alg); err == nil {
				set.Keys = append(set.Keys, key)
			}
		}
	}
	if len(set.Keys) == 0 {
		return nil, errUnknownKey
	}
	return set, nil
}

// publicKey returns the JWK's public key if it may verify a token of alg.
func publicKey(jwk jwkset.JWK, alg string) (any, error) {
	m := jwk.Marshal()
	if a := m.ALG.String(); a != "" && a != alg {
		return nil, fmt.Errorf("the key is for %s, the token uses %s", a, alg)
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, errors.New("the key is not for signatures")
	}
	key := jwk.Key()
	if pk, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = pk.Public() // a private key published by mistake: use its public half
	}
	return key, nil
}
