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
	// PayoutID is the payout that paid it, once claimed by one.
	PayoutID    string
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
		if ref.Status != StatusCancelled || cur.PayoutID != "" {
			return nil
		}
		return s.reverseFriendCredit(ctx, tx, cur, now)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("friend credit of referral %s: %w", ref.ID, err)
	}
	c := prog.Friend.Credit
	if prog.Friend.Type != FriendCredit || c == nil || ref.Status == StatusCancelled {
		return nil
	}
	var currency string
	switch {
	case c.When == CreditAtSignup:
		currency = c.signupCurrency()
	case earning(ref.Status):
		currency = ref.RewardCurrency
	default:
		return nil // credited on qualification, not qualified yet
	}
	amount := c.Amount.For(currency)
	if amount <= 0 || currency == "" {
		return nil
	}
	id, err := s.ids.New("fc_", now)
	if err != nil {
		return err
	}
	g := FriendCreditGrant{
		ID: id, UserID: ref.ReferredUserID, ReferralID: ref.ID, ProgramID: prog.ID, Currency: currency, Amount: amount,
		AvailableAt: now.Add(s.termsOf(prog, currency).hold), CreatedAt: now,
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
