package referral

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Errors of vanity codes and attribution windows.
var (
	ErrCodeInvalid        = errors.New("a vanity code has 4-20 letters, digits, '-' or '_' and is not a reserved word")
	ErrCodeTaken          = errors.New("this code belongs to someone else")
	ErrAttributionExpired = errors.New("the click is older than the attribution window")
	ErrClickInvalid       = errors.New("clickId is not a click id this service issued")
)

// vanityShape reports whether c has 4-20 characters from A-Z, 0-9, '-'
// and '_' (checked by hand: it runs on every short-link hit).
func vanityShape(c string) bool {
	if len(c) < 4 || len(c) > 20 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !(b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// reservedCodes are words a vanity code may not be: they read as the
// service's own paths or official accounts.
var reservedCodes = map[string]bool{
	"ADMIN": true, "ADMINISTRATOR": true, "API": true, "APP": true, "AUTH": true, "BILLING": true,
	"DOCS": true, "HEALTHZ": true, "HELP": true, "LOGIN": true, "LOGOUT": true, "NULL": true,
	"OFFICIAL": true, "OWNER": true, "READYZ": true, "REFERRAL": true, "REFERRALS": true, "ROOT": true,
	"SECURITY": true, "SIGNUP": true, "STAFF": true, "STRIPE": true, "SUPPORT": true, "SWAGGER": true,
	"SYSTEM": true, "TEST": true, "UNDEFINED": true, "WEBHOOK": true, "WEBHOOKS": true, "WWW": true,
}

// ValidVanityCode normalises a requested vanity code and reports whether it
// may be claimed.
func ValidVanityCode(code string) (string, bool) {
	c := NormalizeCode(code)
	return c, vanityShape(c) && !reservedCodes[c]
}

// ValidCodeSyntax reports whether s could be any code (generated or vanity),
// so malformed input never reaches the database.
func ValidCodeSyntax(s string) bool {
	return vanityShape(s)
}

// ResolveCode returns the code row any current or former code of a user
// resolves to; ErrCodeNotFound when none.
func (s *Service) ResolveCode(ctx context.Context, code string) (Code, error) {
	c := NormalizeCode(code)
	if !ValidCodeSyntax(c) {
		return Code{}, ErrCodeNotFound
	}
	found, err := s.store.CodeByValue(ctx, c)
	if errors.Is(err, ErrNotFound) {
		return Code{}, ErrCodeNotFound
	}
	return found, err
}

// SetVanityCode makes code the user's code. Links shared with earlier codes
// keep resolving to the user. Claiming one's current or an earlier own code
// again is allowed; a code another user has (or had) is ErrCodeTaken.
func (s *Service) SetVanityCode(ctx context.Context, userID, requested string) (Code, error) {
	code, ok := ValidVanityCode(requested)
	if !ok {
		return Code{}, ErrCodeInvalid
	}
	current, err := s.GetOrCreateCode(ctx, userID)
	if err != nil {
		return Code{}, err
	}
	if current.Code == code {
		return current, nil
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		claimed, err := tx.ClaimAlias(ctx, code, current.ID, userID, s.clock())
		if err != nil {
			return fmt.Errorf("claim code: %w", err)
		}
		if !claimed {
			owner, err := tx.CodeByValue(ctx, code)
			if err != nil {
				return fmt.Errorf("read code owner: %w", err)
			}
			if owner.UserID != userID {
				return ErrCodeTaken
			}
		}
		if err := tx.SetCurrentCode(ctx, current.ID, code); err != nil {
			return err
		}
		changed := current
		changed.Code = code
		return s.emit(ctx, tx, EventCodeChanged, userID, changed, s.clock())
	})
	if err != nil {
		return Code{}, err
	}
	current.Code = code
	return current, nil
}

// Click is one visit of a short link.
type Click struct {
	ID          string
	Code        string
	ReferrerID  string
	VisitorHash string
	Unique      bool
	Referer     string
	// UTM holds utm_source, utm_medium, utm_campaign, utm_term and
	// utm_content, in that order (empty when absent).
	UTM       [5]string
	CreatedAt time.Time
}

// UTMParams names the campaign parameters of Click.UTM, in order.
var UTMParams = [5]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

// UniqueWindow is how long repeated clicks of one visitor count once.
const UniqueWindow = time.Hour

// NewClickID returns the id of a click made at t. It is time-ordered, so
// the click's time can be read back from it (ClickTime).
func (s *Service) NewClickID(t time.Time) (string, error) { return s.ids.New("clk_", t) }

// Visitor is one visitor of one referrer's links.
type Visitor struct{ ReferrerID, VisitorHash string }

// clickBatchMemory is how long a stored batch is remembered, so that a
// retry of it (after a commit whose answer was lost) is recognised.
const clickBatchMemory = 7 * 24 * time.Hour

// SaveClicks stores a batch of clicks, deciding which are unique (a visitor's
// first click on a referrer's links within UniqueWindow), and adds them to
// the referrers' daily counters, in one transaction.
func (s *Service) SaveClicks(ctx context.Context, clicks []Click) error {
	if len(clicks) == 0 {
		return nil
	}
	return s.store.InTx(ctx, func(tx Store) error {
		// A batch is stored whole or not at all. One whose commit succeeded
		// but whose answer was lost is retried: store and count it once.
		now := s.now()
		if fresh, err := tx.MarkClickBatch(ctx, clicks[0].ID, now); err != nil {
			return fmt.Errorf("mark batch: %w", err)
		} else if !fresh {
			return nil
		}
		if s.clickBatches.Add(1)%64 == 1 {
			if err := tx.PruneClickBatches(ctx, now.Add(-clickBatchMemory)); err != nil {
				return fmt.Errorf("prune batch marks: %w", err)
			}
		}
		// Visitors whose last unique click is older than the window (with an
		// hour's margin for late batches) decide nothing. Pruning them scans
		// their table, so it is done every tenth of the window at most.
		if last := s.visitorsPrunedAt.Load(); now.UnixNano()-last >= int64(UniqueWindow/10) && s.visitorsPrunedAt.CompareAndSwap(last, now.UnixNano()) {
			if err := tx.PruneRecentVisitors(ctx, now.Add(-2*UniqueWindow)); err != nil {
				s.visitorsPrunedAt.Store(last) // the next batch tries again
				return fmt.Errorf("prune recent visitors: %w", err)
			}
		}
		// Each visitor's earliest click of the batch claims to be unique: the
		// store records it unless the visitor had a unique click within the
		// window before (one statement on PostgreSQL, and two transactions
		// cannot both claim the same visitor).
		first := map[Visitor]time.Time{}
		clicksOf := map[Visitor]int{}
		for _, c := range clicks {
			v := Visitor{c.ReferrerID, c.VisitorHash}
			if t, ok := first[v]; !ok || c.CreatedAt.Before(t) {
				first[v] = c.CreatedAt
			}
			clicksOf[v]++
		}
		claimed, err := tx.ClaimUniqueVisits(ctx, first, UniqueWindow)
		if err != nil {
			return fmt.Errorf("unique visits: %w", err)
		}
		// A visitor whose first click was not unique can still have a later
		// one that is, an hour after their last unique click: read that.
		var again []Visitor
		var earliest time.Time
		for v, n := range clicksOf {
			if n > 1 && !claimed[v] {
				again = append(again, v)
				if earliest.IsZero() || first[v].Before(earliest) {
					earliest = first[v]
				}
			}
		}
		last := map[Visitor]time.Time{}
		if len(again) > 0 {
			if last, err = tx.RecentVisitors(ctx, again, earliest.Add(-UniqueWindow)); err != nil {
				return fmt.Errorf("recent visitors: %w", err)
			}
		}
		firstDone := map[Visitor]bool{}
		noted := map[Visitor]time.Time{} // later unique clicks within the batch, recorded after
		type dayKey struct{ referrer, day string }
		counts := map[dayKey][2]int64{}
		var day string
		var dayStart, dayEnd time.Time // the UTC day of day, formatted once per day a batch spans
		for i := range clicks {
			c := &clicks[i]
			c.Unique = false // decided afresh if the transaction runs again
			key := Visitor{c.ReferrerID, c.VisitorHash}
			switch at, ok := last[key]; {
			case claimed[key] && !firstDone[key] && c.CreatedAt.Equal(first[key]):
				c.Unique, firstDone[key], last[key] = true, true, c.CreatedAt
			case ok && c.CreatedAt.Sub(at) >= UniqueWindow:
				c.Unique, last[key], noted[key] = true, c.CreatedAt, c.CreatedAt
			}
			if c.CreatedAt.Before(dayStart) || !c.CreatedAt.Before(dayEnd) {
				day = Day(c.CreatedAt)
				dayStart = c.CreatedAt.UTC().Truncate(24 * time.Hour)
				dayEnd = dayStart.Add(24 * time.Hour)
			}
			k := dayKey{c.ReferrerID, day}
			n := counts[k]
			n[0]++
			if c.Unique {
				n[1]++
			}
			counts[k] = n
		}
		if err := tx.InsertClicks(ctx, clicks); err != nil {
			return fmt.Errorf("insert clicks: %w", err)
		}
		if err := tx.NoteUniqueVisits(ctx, noted); err != nil {
			return fmt.Errorf("note unique visits: %w", err)
		}
		// In sorted order: two batches counting the same referrers lock
		// their counters in the same order and cannot deadlock.
		keys := slices.SortedFunc(maps.Keys(counts), func(a, b dayKey) int {
			return cmp.Or(cmp.Compare(a.referrer, b.referrer), cmp.Compare(a.day, b.day))
		})
		for _, k := range keys {
			n := counts[k]
			if err := tx.AddDaily(ctx, k.referrer, k.day, Daily{Clicks: n[0], UniqueClicks: n[1]}); err != nil {
				return fmt.Errorf("count clicks: %w", err)
			}
		}
		return nil
	})
}

// Day is the UTC date of t, the key of the daily counters.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// Daily is one referrer's counts on one day.
type Daily struct {
	Day          string
	Clicks       int64
	UniqueClicks int64
	Signups      int64
	Qualified    int64
}

// DailyReward is the rewards a referrer earned in one currency on one day.
type DailyReward struct {
	Day      string
	Currency string
	Amount   int64
}
