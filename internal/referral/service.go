package referral

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync/atomic"
	"time"
)

// maxCodeAttempts bounds how many generated codes are tried before giving up;
// with 32^8 codes a collision is rare and five in a row means something is wrong.
const maxCodeAttempts = 5

// Options configures a Service. Zero values pick production defaults.
type Options struct {
	// Rule computes rewards (the share of the qualifying payment credited to
	// the referrer); it is stored with each reward.
	Rule RewardRule
	// MinPayment is the smallest payment that earns a reward (0: any > 0).
	MinPayment int64
	// Payments is how many of a referred user's payments earn (0 or 1: the first).
	Payments int
	// Hold is how long a reward stays pending before it can be paid out.
	Hold time.Duration
	// AttributionWindow is the oldest click an attribution may come from
	// (0: no limit).
	AttributionWindow time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// NewCode generates candidate referral codes; NewCodeGenerator(nil) when nil.
	NewCode func() (string, error)
	// IDs makes object ids; NewIDGenerator(nil) when nil.
	IDs *IDGenerator
	// Credits pays stripe_credit payouts; nil disables that method.
	Credits CreditIssuer
	// Discounts creates the Stripe coupons of friend discounts; nil
	// refuses programs with one.
	Discounts DiscountIssuer
	// Log receives what happens outside requests (payout retries, runs).
	Log *slog.Logger
	// Observer is told of outcomes worth counting; nil: nobody.
	Observer Observer
	// EncodeEvent turns what an event reports into its data (the API's
	// wire object); JSON of the domain value when nil (tests).
	EncodeEvent EventEncoder
}

// Observer is told what the service did, for metrics. Calls come after the
// transaction that recorded it committed.
type Observer interface {
	// PayoutFinished reports a payout's recorded outcome (paid or failed).
	PayoutFinished(method, status string)
}

// Service applies the referral program's rules on top of a Store.
type Service struct {
	store     Store
	rule      RewardRule
	minPay    int64
	payN      int
	hold      time.Duration
	window    time.Duration
	now       func() time.Time
	newCode   func() (string, error)
	ids       *IDGenerator
	credits   CreditIssuer
	discounts DiscountIssuer
	log       *slog.Logger
	observer  Observer
	encode    EventEncoder
	// clickBatches counts stored click batches, to prune their marks now and then.
	clickBatches atomic.Uint64
	// visitorsPrunedAt is when recent visitors were last pruned (Unix
	// nanoseconds): a scan of their table, done every few minutes.
	visitorsPrunedAt atomic.Int64
}

// NewService returns a Service using store and opts.
func NewService(store Store, opts Options) *Service {
	s := &Service{store: store, rule: opts.Rule, minPay: opts.MinPayment, payN: max(opts.Payments, 1), hold: opts.Hold, window: opts.AttributionWindow, now: opts.Now, newCode: opts.NewCode, ids: opts.IDs, credits: opts.Credits, discounts: opts.Discounts, log: opts.Log, observer: opts.Observer, encode: opts.EncodeEvent}
	if s.encode == nil {
		s.encode = func(v any) (json.RawMessage, error) { return json.Marshal(v) }
	}
	if s.log == nil {
		s.log = discardLogger()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newCode == nil {
		s.newCode = NewCodeGenerator(nil)
	}
	if s.ids == nil {
		s.ids = NewIDGenerator(nil)
	}
	return s
}

// Rule is the reward rule in force for new rewards.
func (s *Service) Rule() RewardRule { return s.rule }

// clock returns the current time in UTC at microsecond precision, what
// PostgreSQL stores, so a value returned on creation equals the value read later.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// GetOrCreateCode returns the user's referral code in the default
// program, creating it on first call.
func (s *Service) GetOrCreateCode(ctx context.Context, userID string) (Code, error) {
	return s.GetOrCreateProgramCode(ctx, userID, DefaultProgramID)
}

// GetOrCreateProgramCode returns the user's referral code in a program,
// creating it on first call (ErrProgramNotFound for an unknown program,
// ErrProgramArchived for a new code in an archived one). Concurrent first
// calls for one user all return the same code: the database keeps one
// code per user and program and the losers read the winner's row.
func (s *Service) GetOrCreateProgramCode(ctx context.Context, userID, programID string) (Code, error) {
	code, err := s.store.CodeByUser(ctx, userID, programID)
	if err == nil {
		return code, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Code{}, fmt.Errorf("look up code of user: %w", err)
	}
	prog, err := s.Program(ctx, programID)
	if err != nil {
		return Code{}, err
	}
	if prog.Status != ProgramActive {
		return Code{}, ErrProgramArchived
	}
	for range maxCodeAttempts {
		value, err := s.newCode()
		if err != nil {
			return Code{}, fmt.Errorf("generate code: %w", err)
		}
		now := s.clock()
		id, err := s.ids.New("rc_", now)
		if err != nil {
			return Code{}, err
		}
		candidate := Code{ID: id, Code: value, UserID: userID, ProgramID: programID, CreatedAt: now}
		created, err := s.store.CreateCode(ctx, candidate)
		if err != nil {
			return Code{}, fmt.Errorf("create code: %w", err)
		}
		if created {
			// A discount per referrer code: the code's promotion code is made
			// now, before the referrer shares it (best effort: the offer
			// makes it later otherwise).
			if d := prog.Friend.Discount; prog.Friend.Type == FriendDiscount && d != nil && d.PerReferrerCode {
				s.codePromotion(ctx, candidate, prog)
			}
			return candidate, nil
		}
		// Either another request created this user's code, or the value collided.
		code, err := s.store.CodeByUser(ctx, userID, programID)
		if err == nil {
			return code, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return Code{}, fmt.Errorf("look up code of user: %w", err)
		}
	}
	return Code{}, ErrCodeExhausted
}

// CodeOf returns the user's code in the default program, or ErrNotFound
// when they have none yet.
func (s *Service) CodeOf(ctx context.Context, userID string) (Code, error) {
	return s.store.CodeByUser(ctx, userID, DefaultProgramID)
}

// Attribution is a registration reported by a product backend.
type Attribution struct {
	ReferredUserID string
	Code           string
	Email          string
	IP             string
	UserAgent      string
	// ClickID is the short-link click the user came from, if known.
	ClickID string
	// ClickedAt is when the user followed the link, if known without a click id.
	ClickedAt *time.Time
	// ProgramID, when set, is the program the referral earns under (else
	// the code's).
	ProgramID string
}

// Attribute records that a newly registered user came through a referral code.
// It returns the referral and whether it was created now (false: the same
// attribution was already recorded, a retry). Errors: ErrCodeNotFound,
// ErrSelfReferral, ErrReferralExists, ErrProgramNotFound and
// ErrProgramArchived (for a new referral in an archived program).
func (s *Service) Attribute(ctx context.Context, a Attribution) (Referral, bool, error) {
	code, err := s.ResolveCode(ctx, a.Code)
	if err != nil {
		return Referral{}, false, err
	}
	if code.UserID == a.ReferredUserID {
		return Referral{}, false, ErrSelfReferral
	}
	programID := code.ProgramID
	if a.ProgramID != "" {
		programID = a.ProgramID
	}
	prog, err := s.Program(ctx, programID)
	if err != nil {
		return Referral{}, false, err
	}
	now := s.clock()
	// The click's own id says when it happened; clickedAt is the fallback.
	clickedAt := a.ClickedAt
	if a.ClickID != "" {
		t, ok := IDTime(a.ClickID, "clk_")
		if !ok || t.After(now.Add(time.Minute)) {
			return Referral{}, false, ErrClickInvalid
		}
		clickedAt = &t
	}
	if clickedAt != nil && s.window > 0 && now.Sub(*clickedAt) > s.window {
		return Referral{}, false, ErrAttributionExpired
	}
	id, err := s.ids.New("ref_", now)
	if err != nil {
		return Referral{}, false, err
	}
	r := Referral{
		ID: id, CodeID: code.ID, Code: code.Code, ReferrerID: code.UserID,
		ReferredUserID: a.ReferredUserID, ProgramID: programID, Status: StatusPending,
		ReferredEmail: a.Email, SignupIP: a.IP, UserAgent: a.UserAgent, CreatedAt: now,
		ClickID: a.ClickID, ClickedAt: clickedAt,
	}
	var created, tooLate bool
	err = s.store.InTx(ctx, func(tx Store) error {
		created, tooLate = false, false
		// The friend's account too: a program may credit them at signup.
		if err := tx.LockAccounts(ctx, r.ReferrerID, r.ReferredUserID); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		if prog.Status != ProgramActive {
			// A retry of an attribution recorded before the archive still
			// answers the referral; a new one is refused.
			tooLate = true
			return nil
		}
		var err error
		if created, err = tx.CreateReferral(ctx, r); err != nil || !created {
			return err
		}
		if err := tx.AddDaily(ctx, r.ReferrerID, Day(now), Daily{Signups: 1}); err != nil {
			return err
		}
		if err := s.settleFriendCredit(ctx, tx, prog, r, now); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventReferralCreated, r.ReferrerID, r, now)
	})
	if err != nil {
		return Referral{}, false, fmt.Errorf("create referral: %w", err)
	}
	if created {
		return r, true, nil
	}
	existing, err := s.store.ReferralByReferredUser(ctx, a.ReferredUserID)
	if tooLate && errors.Is(err, ErrNotFound) {
		return Referral{}, false, ErrProgramArchived
	}
	if err != nil {
		return Referral{}, false, fmt.Errorf("read existing referral: %w", err)
	}
	if existing.CodeID != code.ID {
		return existing, false, ErrReferralExists
	}
	return existing, false, nil
}

// appendEntry gives e an id and appends it to the ledger.
func (s *Service) appendEntry(ctx context.Context, tx Store, e LedgerEntry) error {
	id, err := s.ids.New("le_", e.CreatedAt)
	if err != nil {
		return err
	}
	e.ID = id
	if err := tx.AppendLedger(ctx, e); err != nil {
		return fmt.Errorf("ledger entry for %s: %w", e.UserID, err)
	}
	return nil
}

// StatusStats is the count and reward sums (per currency) of one status.
type StatusStats struct {
	Count  int64
	Reward map[string]int64
}

// Stats is a referrer's dashboard: their code (nil if none yet) and numbers
// for every status.
type Stats struct {
	Code         *Code
	Total        int64
	ByStatus     map[Status]StatusStats
	Clicks       int64
	UniqueClicks int64
}

// SignupRate is signups per unique click (0 without clicks).
func (st Stats) SignupRate() float64 { return ratio(st.Total, st.UniqueClicks) }

// PaidRate is the share of signups whose referral qualified (and stands or was paid).
func (st Stats) PaidRate() float64 {
	return ratio(st.ByStatus[StatusQualified].Count+st.ByStatus[StatusRewarded].Count, st.Total)
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// Stats returns the user's referral numbers: count and reward sum per status
// and currency, every status present.
func (s *Service) Stats(ctx context.Context, userID string) (Stats, error) {
	st := Stats{ByStatus: make(map[Status]StatusStats, len(Statuses))}
	for _, status := range Statuses {
		st.ByStatus[status] = StatusStats{Reward: map[string]int64{}}
	}
	code, err := s.store.CodeByUser(ctx, userID, DefaultProgramID)
	if errors.Is(err, ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return Stats{}, fmt.Errorf("look up code of user: %w", err)
	}
	st.Code = &code
	totals, err := s.store.DailyTotals(ctx, userID)
	if err != nil {
		return Stats{}, fmt.Errorf("click totals: %w", err)
	}
	st.Clicks, st.UniqueClicks = totals.Clicks, totals.UniqueClicks
	rows, err := s.store.ReferralStats(ctx, userID)
	if err != nil {
		return Stats{}, fmt.Errorf("referral stats: %w", err)
	}
	for _, row := range rows {
		bucket, ok := st.ByStatus[row.Status]
		if !ok {
			continue
		}
		bucket.Count += row.Count
		if row.Currency != "" {
			bucket.Reward[row.Currency] += row.Reward
		}
		st.ByStatus[row.Status] = bucket
		st.Total += row.Count
	}
	return st, nil
}

// ListReferrals returns a page of the referrer's referrals, newest first,
// and whether more follow.
func (s *Service) ListReferrals(ctx context.Context, f ReferralFilter) ([]Referral, bool, error) {
	return page(f.Limit, func(n int) ([]Referral, error) {
		f.Limit = n
		return s.store.ListReferrals(ctx, f)
	})
}

// page fetches one item more than limit to learn whether more follow.
func page[T any](limit int, fetch func(n int) ([]T, error)) ([]T, bool, error) {
	items, err := fetch(limit + 1)
	if err != nil {
		return nil, false, err
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// Balances returns the user's balance per currency, split into what is still
// on hold (pending) and what can be paid out (available).
func (s *Service) Balances(ctx context.Context, userID string) ([]BalanceView, error) {
	return s.store.BalanceViews(ctx, userID, s.clock())
}

// Ledger returns a page of the user's ledger, newest first, and whether more follow.
func (s *Service) Ledger(ctx context.Context, f LedgerFilter) ([]LedgerEntry, bool, error) {
	return page(f.Limit, func(n int) ([]LedgerEntry, error) {
		f.Limit = n
		return s.store.ListLedger(ctx, f)
	})
}
