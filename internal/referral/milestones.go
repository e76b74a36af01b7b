package referral

import (
	"context"
	"fmt"
	"time"
)

// MilestoneBonus is a bonus one referrer earned by reaching a milestone of
// a program. At most one per milestone stands at a time (the database
// keeps it so); a reversed one makes room for a new one if the count
// reaches the milestone again.
type MilestoneBonus struct {
	ID         string
	ReferrerID string
	ProgramID  string
	// Milestone is the number of QUALIFIED and REWARDED referrals it was
	// earned at.
	Milestone  int
	Currency   string
	Amount     int64
	ReferralID string
	// PayoutID is the payout that claimed it; PaidOut when that payout was
	// paid (a bonus is reversed only before).
	PayoutID    string
	PaidOut     bool
	AvailableAt time.Time
	CreatedAt   time.Time
}

// earning reports whether a referral in status st counts towards milestones.
func earning(st Status) bool { return st == StatusQualified || st == StatusRewarded }

// settleMilestones brings a referrer's milestone bonuses in ref's program
// in line with their count of QUALIFIED and REWARDED referrals there:
// milestones reached without a standing bonus earn one (in the currency of
// ref's reward), standing bonuses above the count that were not paid out
// yet are reversed. The caller holds the referrer's account lock, which
// every change of their referrals' statuses holds too, so the count cannot
// move under it: of two referrals reaching a milestone at once, the second
// finds the first's bonus.
func (s *Service) settleMilestones(ctx context.Context, tx Store, ref Referral, now time.Time) error {
	prog, err := s.programOf(ctx, tx, ref.ProgramID)
	if err != nil {
		return err
	}
	live, err := tx.LiveBonuses(ctx, ref.ReferrerID, ref.ProgramID)
	if err != nil {
		return fmt.Errorf("milestone bonuses of %s: %w", ref.ReferrerID, err)
	}
	if len(prog.Milestones) == 0 && len(live) == 0 {
		return nil
	}
	count, err := tx.CountEarningReferrals(ctx, ref.ReferrerID, ref.ProgramID)
	if err != nil {
		return fmt.Errorf("count referrals of %s: %w", ref.ReferrerID, err)
	}
	standing := map[int]bool{}
	for _, b := range live {
		if b.Milestone <= count || b.PaidOut {
			standing[b.Milestone] = true
			continue
		}
		if err := s.reverseBonus(ctx, tx, b, now); err != nil {
			return err
		}
	}
	for _, m := range prog.Milestones {
		if count < m.QualifiedReferrals || standing[m.QualifiedReferrals] || ref.RewardCurrency == "" {
			continue
		}
		amount := m.Bonus.For(ref.RewardCurrency)
		if amount <= 0 {
			continue
		}
		if err := s.grantBonus(ctx, tx, prog, ref, m.QualifiedReferrals, amount, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) grantBonus(ctx context.Context, tx Store, prog Program, ref Referral, milestone int, amount int64, now time.Time) error {
	id, err := s.ids.New("mb_", now)
	if err != nil {
		return err
	}
	b := MilestoneBonus{
		ID: id, ReferrerID: ref.ReferrerID, ProgramID: prog.ID, Milestone: milestone, Currency: ref.RewardCurrency,
		Amount: amount, ReferralID: ref.ID, AvailableAt: now.Add(s.termsOf(prog, ref.RewardCurrency).hold), CreatedAt: now,
	}
	created, err := tx.CreateBonus(ctx, b)
	if err != nil {
		return fmt.Errorf("record milestone bonus of %s: %w", ref.ReferrerID, err)
	}
	if !created {
		return nil
	}
	return s.appendEntry(ctx, tx, LedgerEntry{
		UserID: b.ReferrerID, Currency: b.Currency, Type: EntryBonus, Amount: b.Amount, ReferralID: ref.ID,
		AvailableAt: b.AvailableAt, CreatedAt: now,
		Description: fmt.Sprintf("milestone bonus %s: %d qualified referrals in program %s", b.ID, milestone, prog.ID),
	})
}

// reverseBonus takes back a bonus not yet paid out: inside its hold the
// reversal stays pending with it; after, it counts against the available
// balance at once.
func (s *Service) reverseBonus(ctx context.Context, tx Store, b MilestoneBonus, now time.Time) error {
	ok, err := tx.ReverseBonus(ctx, b.ID, now)
	if err != nil {
		return fmt.Errorf("reverse milestone bonus %s: %w", b.ID, err)
	}
	if !ok {
		return nil
	}
	availableAt := now
	if b.AvailableAt.After(now) {
		availableAt = b.AvailableAt
	}
	return s.appendEntry(ctx, tx, LedgerEntry{
		UserID: b.ReferrerID, Currency: b.Currency, Type: EntryBonus, Amount: -b.Amount, ReferralID: b.ReferralID,
		AvailableAt: availableAt, CreatedAt: now,
		Description: fmt.Sprintf("milestone bonus %s reversed: fewer than %d qualified referrals in program %s", b.ID, b.Milestone, b.ProgramID),
	})
}
