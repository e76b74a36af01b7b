package referral

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// FriendCreditGrant is the account credit a referred friend got through
// their referral: one standing grant per referral at most (the database
// keeps it so).
type FriendCreditGrant struct {
	ID         string
	UserID     string
	ReferralID string
	ProgramID  string
	Currency   string
	Amount     int64
	// PayoutID is the payout that claimed it; PaidOut when that payout was
	// paid (a credit is reversed only before).
	PayoutID    string
	PaidOut     bool
	AvailableAt time.Time
	CreatedAt   time.Time
}

// settleFriendCredit brings the friend's credit of ref in line with its
// status under the program: a cancelled referral loses a credit not yet
// paid out; a standing referral (from signup, or once qualified when the
// program credits on qualification) without one gets it. The caller holds
// the accounts of ref's referrer and friend.
func (s *Service) settleFriendCredit(ctx context.Context, tx Store, prog Program, ref Referral, now time.Time) error {
	cur, err := tx.FriendCreditOf(ctx, ref.ID)
	switch {
	case err == nil:
		if ref.Status != StatusCancelled || cur.PaidOut {
			return nil
		}
		return s.reverseFriendCredit(ctx, tx, cur, now)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("friend credit of referral %s: %w", ref.ID, err)
	}
	if ref.Status == StatusCancelled {
		return nil
	}
	// A restored referral gets back the credit it had, as granted then: a
	// program change since does not touch it.
	prev, err := tx.ReversedFriendCreditOf(ctx, ref.ID)
	switch {
	case err == nil:
		return s.grantFriendCredit(ctx, tx, ref, prev.ProgramID, prev.Currency, prev.Amount, now.Add(s.termsOf(prog, prev.Currency).hold), now)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("reversed friend credit of referral %s: %w", ref.ID, err)
	}
	c := prog.Friend.Credit
	if prog.Friend.Type != FriendCredit || c == nil {
		return nil
	}
	var currency string
	switch {
	case c.When == CreditAtSignup && ref.Status == StatusPending:
		currency = c.signupCurrency()
	case c.When == CreditAtSignup:
		return nil // the friend signed up before the program credited signups
	case earning(ref.Status):
		currency = ref.RewardCurrency
	default:
		return nil // credited on qualification, not qualified yet
	}
	amount := c.Amount.For(currency)
	if amount <= 0 || currency == "" {
		return nil
	}
	return s.grantFriendCredit(ctx, tx, ref, prog.ID, currency, amount, now.Add(s.termsOf(prog, currency).hold), now)
}

// grantFriendCredit records a credit for ref's friend and its ledger entry,
// unless the referral has a standing one.
func (s *Service) grantFriendCredit(ctx context.Context, tx Store, ref Referral, programID, currency string, amount int64, availableAt, now time.Time) error {
	id, err := s.ids.New("fc_", now)
	if err != nil {
		return err
	}
	prog := Program{ID: programID}
	g := FriendCreditGrant{
		ID: id, UserID: ref.ReferredUserID, ReferralID: ref.ID, ProgramID: programID, Currency: currency, Amount: amount,
		AvailableAt: availableAt, CreatedAt: now,
	}
	created, err := tx.CreateFriendCredit(ctx, g)
	if err != nil {
		return fmt.Errorf("record friend credit of referral %s: %w", ref.ID, err)
	}
	if !created {
		return nil
	}
	return s.appendEntry(ctx, tx, LedgerEntry{
		UserID: g.UserID, Currency: currency, Type: EntryCredit, Amount: amount, ReferralID: ref.ID,
		AvailableAt: g.AvailableAt, CreatedAt: now,
		Description: fmt.Sprintf("account credit for joining through a referral (program %s)", prog.ID),
	})
}

// reverseFriendCredit takes back a credit not yet paid out, like a
// reward's reversal: pending inside its hold, at once after it.
func (s *Service) reverseFriendCredit(ctx context.Context, tx Store, g FriendCreditGrant, now time.Time) error {
	ok, err := tx.ReverseFriendCredit(ctx, g.ID, now)
	if err != nil {
		return fmt.Errorf("reverse friend credit %s: %w", g.ID, err)
	}
	if !ok {
		return nil
	}
	availableAt := now
	if g.AvailableAt.After(now) {
		availableAt = g.AvailableAt
	}
	return s.appendEntry(ctx, tx, LedgerEntry{
		UserID: g.UserID, Currency: g.Currency, Type: EntryCredit, Amount: -g.Amount, ReferralID: g.ReferralID,
		AvailableAt: availableAt, CreatedAt: now,
		Description: fmt.Sprintf("account credit %s reversed: the referral was cancelled", g.ID),
	})
}
