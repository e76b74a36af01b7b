package referral

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Program returns one program with the rules in force; ErrProgramNotFound
// when there is none.
func (s *Service) Program(ctx context.Context, id string) (Program, error) {
	return s.programOf(ctx, s.store, id)
}

// programOf reads a program through st (a transaction or the store), with
// the rules in force.
func (s *Service) programOf(ctx context.Context, st Store, id string) (Program, error) {
	p, err := st.ProgramByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Program{}, ErrProgramNotFound
	}
	if err != nil {
		return Program{}, fmt.Errorf("read program %s: %w", id, err)
	}
	return s.effective(p), nil
}

// Programs returns a page of programs (the default first, then newest
// first) and whether more follow.
func (s *Service) Programs(ctx context.Context, f ProgramFilter) ([]Program, bool, error) {
	ps, more, err := page(f.Limit, func(n int) ([]Program, error) {
		f.Limit = n
		return s.store.ListPrograms(ctx, f)
	})
	for i := range ps {
		ps[i] = s.effective(ps[i])
	}
	return ps, more, err
}

// CreateProgram validates and stores a new program, recording who created
// it. Fields the patch does not set take the defaults: no friend reward,
// one earning payment, 14 days' hold.
func (s *Service) CreateProgram(ctx context.Context, subject string, patch ProgramPatch) (Program, error) {
	p, err := patch.apply(newProgramDefaults())
	if err != nil {
		return Program{}, err
	}
	now := s.clock()
	if p.ID, err = s.ids.New("prog_", now); err != nil {
		return Program{}, err
	}
	p.CreatedAt, p.UpdatedAt = now, now
	if d := p.Friend.Discount; p.Friend.Type == FriendDiscount {
		if err := s.issueDiscount(ctx, p.ID, p.Name, d, ""); err != nil {
			return Program{}, err
		}
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return fmt.Errorf("create program: %w", err)
		}
		return s.recordChange(ctx, tx, p, ChangeCreate, subject, now)
	})
	if err != nil {
		// No program refers to the promotion code: it must not go on
		// giving discounts, and a retry may take its code again (Stripe
		// keeps codes unique among active ones).
		if d := p.Friend.Discount; p.Friend.Type == FriendDiscount && d != nil && d.StripePromotionCodeID != "" {
			s.setActive(ctx, d.StripePromotionCodeID, false)
		}
		return Program{}, err
	}
	return p, nil
}

// UpdateProgram merges patch into the program (fields not set keep their
// values) and records the change. Rewards already earned keep the rule
// they were earned under; the new rules apply to rewards earned from the
// commit on. Changing the environment-managed default program makes its
// rules the stored ones from then on (REWARD_* no longer apply).
func (s *Service) UpdateProgram(ctx context.Context, subject, id string, patch ProgramPatch) (Program, error) {
	var undo func(conflict bool)
	var seen string
	var replaced *Discount
	if patch.Friend != nil {
		var err error
		if undo, seen, replaced, err = s.prepareFriendReward(ctx, id, &patch); err != nil {
			return Program{}, err
		}
	}
	conflict := false
	var out Program
	err := s.store.InTx(ctx, func(tx Store) error {
		cur, err := lockProgram(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur.Status == ProgramArchived {
			return ErrProgramArchived
		}
		if patch.Friend != nil && promotionCodeOf(s.effective(cur)) != seen {
			// Another change of the discount committed since it was read:
			// what was done at Stripe was based on a state that is gone.
			conflict = true
			return ErrProgramChanged
		}
		next, err := patch.apply(s.effective(cur))
		if err != nil {
			return err
		}
		now := s.clock()
		next.ManagedBy, next.UpdatedAt = ManagedByAPI, now
		if err := tx.UpdateProgram(ctx, next); err != nil {
			return fmt.Errorf("update program %s: %w", id, err)
		}
		out = next
		return s.recordChange(ctx, tx, next, ChangeUpdate, subject, now)
	})
	if err != nil && undo != nil {
		undo(conflict)
	}
	if err == nil {
		s.retireCoupon(ctx, id, replaced)
	}
	return out, err
}

// promotionCodeOf is the Stripe promotion code of p's discount ("" if none).
func promotionCodeOf(p Program) string {
	if d := p.Friend.Discount; p.Friend.Type == FriendDiscount && d != nil {
		return d.StripePromotionCodeID
	}
	return ""
}

// prepareFriendReward does the Stripe part of a change of the friend's
// reward, before the transaction (never inside one), and returns how to
// undo it should the transaction fail. A discount with the same terms
// keeps its coupon and promotion code. Otherwise the old promotion code is
// deactivated first (a new discount may reuse its code, which Stripe keeps
// unique among active ones) and the new coupon and code are created; if
// that fails, the old code is activated again. friendReward is replaced
// whole, so what the transaction stores is this friend reward whatever
// changed meanwhile.
func (s *Service) prepareFriendReward(ctx context.Context, id string, patch *ProgramPatch) (undo func(conflict bool), seen string, replaced *Discount, err error) {
	cur, err := s.Program(ctx, id)
	if err != nil {
		return nil, "", nil, err
	}
	if cur.Status == ProgramArchived {
		return nil, "", nil, ErrProgramArchived
	}
	seen = promotionCodeOf(cur)
	next, err := patch.apply(cur)
	if err != nil {
		return nil, "", nil, err
	}
	old := cur.Friend.Discount
	if old != nil && old.StripePromotionCodeID == "" {
		old = nil
	}
	var d *Discount
	if next.Friend.Type == FriendDiscount {
		d = next.Friend.Discount
	}
	switch {
	case old == nil && d == nil:
		return nil, seen, nil, nil
	case old != nil && d != nil && d.sameAs(*old):
		d.Code, d.StripeCouponID, d.StripePromotionCodeID, d.PromotionCode = old.Code, old.StripeCouponID, old.StripePromotionCodeID, old.PromotionCode
	default:
		if s.discounts == nil {
			return nil, "", nil, ErrDiscountsDisabled
		}
		if old != nil {
			if err := s.discounts.SetPromotionCodeActive(ctx, old.StripePromotionCodeID, false); err != nil {
				return nil, "", nil, fmt.Errorf("deactivate promotion code of program %s: %w", id, err)
			}
		}
		if d != nil {
			replaced := ""
			if old != nil {
				replaced = old.StripePromotionCodeID
			}
			if err := s.issueDiscount(ctx, id, next.Name, d, replaced); err != nil {
				if old != nil {
					s.setActive(ctx, old.StripePromotionCodeID, true)
				}
				return nil, "", nil, err
			}
		}
		// Undone, the new code stops; the old one works again unless the
		// change lost to another (which retired the old code itself).
		undo = func(conflict bool) {
			if d != nil {
				s.setActive(ctx, d.StripePromotionCodeID, false)
			}
			if old != nil && !conflict {
				s.setActive(ctx, old.StripePromotionCodeID, true)
			}
		}
	}
	fr := next.Friend
	patch.Friend = &fr
	if undo != nil {
		replaced = old // its coupon is replaced or gone once this commits
	}
	return undo, seen, replaced, nil
}

// setActive is a best-effort undo: a failure is logged, the operator's
// request has failed already.
func (s *Service) setActive(ctx context.Context, promotionCodeID string, active bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.discounts.SetPromotionCodeActive(ctx, promotionCodeID, active); err != nil {
		s.log.WarnContext(ctx, "could not undo a promotion code change", "promotion_code", promotionCodeID, "active", active, "error", err)
	}
}

// ArchiveProgram stops a program taking new codes and referrals; its
// referrals keep earning under its rules. Archiving an archived program
// changes nothing. The default program cannot be archived.
func (s *Service) ArchiveProgram(ctx context.Context, subject, id string) (Program, error) {
	var out Program
	err := s.store.InTx(ctx, func(tx Store) error {
		cur, err := lockProgram(ctx, tx, id)
		if err != nil {
			return err
		}
		out = s.effective(cur)
		if cur.Default {
			return ErrProgramDefault
		}
		if cur.Status == ProgramArchived {
			return nil // the promotion code is deactivated again below
		}
		now := s.clock()
		cur.Status, cur.UpdatedAt = ProgramArchived, now
		if err := tx.UpdateProgram(ctx, cur); err != nil {
			return fmt.Errorf("archive program %s: %w", id, err)
		}
		out = s.effective(cur)
		return s.recordChange(ctx, tx, out, ChangeArchive, subject, now)
	})
	if err != nil {
		return out, err
	}
	// After the commit (no network call inside a transaction): the
	// program's promotion code stops working at Stripe too. A failure is
	// logged; archiving again retries it.
	if d := out.Friend.Discount; out.Friend.Type == FriendDiscount && d != nil && d.StripePromotionCodeID != "" && s.discounts != nil {
		if err := s.discounts.SetPromotionCodeActive(ctx, d.StripePromotionCodeID, false); err != nil {
			s.log.WarnContext(ctx, "archived program's promotion code still active at Stripe", "program_id", out.ID,
				"promotion_code", d.StripePromotionCodeID, "error", err)
		}
		s.retireCoupon(ctx, out.ID, d) // and those of its referrer codes
	}
	return out, nil
}

// ProgramHistory returns a page of a program's changes, newest first, and
// whether more follow.
func (s *Service) ProgramHistory(ctx context.Context, id, beforeID string, limit int) ([]ProgramChange, bool, error) {
	if _, err := s.Program(ctx, id); err != nil {
		return nil, false, err
	}
	return page(limit, func(n int) ([]ProgramChange, error) {
		return s.store.ProgramChanges(ctx, id, beforeID, n)
	})
}

// SyncEnvironmentProgram runs at start: while the default program follows
// the environment, a start with REWARD_* values other than those recorded
// last records them (subject "environment"), so the history shows what
// paid when. It reports whether the default program is managed through
// the API instead, so that REWARD_* values no longer apply.
func (s *Service) SyncEnvironmentProgram(ctx context.Context) (apiManaged bool, err error) {
	err = s.store.InTx(ctx, func(tx Store) error {
		cur, err := tx.LockProgram(ctx, DefaultProgramID)
		if err != nil {
			return fmt.Errorf("lock default program: %w", err)
		}
		if cur.ManagedBy != ManagedByEnvironment {
			apiManaged = true
			return nil
		}
		want := s.effective(cur)
		last, err := tx.ProgramChanges(ctx, DefaultProgramID, "", 1)
		if err != nil {
			return fmt.Errorf("default program history: %w", err)
		}
		if len(last) == 1 && sameRules(last[0].Program, want) {
			return nil
		}
		now := s.clock()
		want.UpdatedAt = now
		if err := tx.UpdateProgram(ctx, want); err != nil {
			return fmt.Errorf("update default program: %w", err)
		}
		return s.recordChange(ctx, tx, want, ChangeEnvironment, ChangeEnvironment, now)
	})
	return apiManaged, err
}

func (s *Service) recordChange(ctx context.Context, tx Store, p Program, action, subject string, now time.Time) error {
	id, err := s.ids.New("pch_", now)
	if err != nil {
		return err
	}
	if err := tx.AppendProgramChange(ctx, ProgramChange{ID: id, ProgramID: p.ID, Action: action, Subject: subject, Program: p, CreatedAt: now}); err != nil {
		return fmt.Errorf("record change of program %s: %w", p.ID, err)
	}
	return nil
}

// PreviewRequest is a sample payment to price under a program.
type PreviewRequest struct {
	Amount     int64
	Currency   string
	ReferrerID string
	// Draft, when set, is merged into the program for the preview only.
	Draft *ProgramPatch
}

// Preview is what a sample payment would earn the referrer.
type Preview struct {
	ProgramID string
	Amount    int64
	Currency  string
	// Earns is false when the payment is under the minimum (or not positive).
	Earns  bool
	Reward int64
	// Rule is the rule the reward would be stored with.
	Rule       RewardRule
	MinPayment int64
	Payments   int
	Hold       time.Duration
	// Overridden is set when the referrer's override set the percent.
	Overridden bool
}

// PreviewProgram prices a sample payment under the program, or under the
// program with a draft change merged in; nothing is stored.
func (s *Service) PreviewProgram(ctx context.Context, id string, req PreviewRequest) (Preview, error) {
	p, err := s.Program(ctx, id)
	if err != nil {
		return Preview{}, err
	}
	if req.Draft != nil {
		if p, err = req.Draft.apply(p); err != nil {
			return Preview{}, err
		}
		p.ManagedBy = ManagedByAPI
	}
	t, err := s.referrerTerms(ctx, s.store, p, req.ReferrerID, req.Currency)
	if err != nil {
		return Preview{}, err
	}
	out := Preview{ProgramID: p.ID, Amount: req.Amount, Currency: req.Currency, Rule: t.rule, MinPayment: t.minPayment,
		Payments: t.payments, Hold: t.hold, Overridden: t.overridden}
	if t.earns(req.Amount) {
		out.Earns, out.Reward = true, t.rule.For(req.Amount)
	}
	return out, nil
}

// terms are the rules a payment in one currency earns under.
type terms struct {
	programID  string
	rule       RewardRule
	minPayment int64
	payments   int
	hold       time.Duration
	// overridden is set when the referrer's override replaced the percent.
	overridden bool
}

// earns reports whether a payment of amount earns at all.
func (t terms) earns(amount int64) bool { return amount > 0 && amount >= t.minPayment }

// termsOf are program p's terms for a payment in currency. An
// environment-managed program holds rewards for exactly the configured
// duration.
func (s *Service) termsOf(p Program, currency string) terms {
	t := terms{
		programID: p.ID, rule: p.Referrer.RuleFor(currency), minPayment: p.Referrer.MinPayment.For(currency),
		payments: max(p.Referrer.Payments, 1), hold: p.Referrer.Hold(),
	}
	if p.ManagedBy == ManagedByEnvironment {
		t.hold = s.hold
	}
	return t
}

// SetOverride gives a referrer another percent in a program (the default
// program when programID is empty) for rewards earned from now on, and
// records who did it in the program's history.
func (s *Service) SetOverride(ctx context.Context, subject, userID, programID, percent string) (Override, error) {
	if programID == "" {
		programID = DefaultProgramID
	}
	pct, err := ParsePercent(percent)
	if err != nil || strings.TrimSpace(percent) != percent {
		return Override{}, &ValidationError{Fields: map[string]string{"percent": "must be a decimal string between 0 and 100 with at most 4 decimals, e.g. \"30\""}}
	}
	var out Override
	err = s.store.InTx(ctx, func(tx Store) error {
		cur, err := lockProgram(ctx, tx, programID)
		if err != nil {
			return err
		}
		now := s.clock()
		out = Override{UserID: userID, ProgramID: programID, Percent: pct, SetBy: subject, CreatedAt: now, UpdatedAt: now}
		if old, err := tx.OverrideOf(ctx, userID, programID); err == nil {
			out.CreatedAt = old.CreatedAt
		} else if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("read override: %w", err)
		}
		if err := tx.SaveOverride(ctx, out); err != nil {
			return fmt.Errorf("save override: %w", err)
		}
		return s.recordOverride(ctx, tx, s.effective(cur), subject, &OverrideChange{UserID: userID, Percent: &pct}, now)
	})
	return out, err
}

// RemoveOverride takes a referrer's override in a program away: their
// rewards earned from now on follow the program. ErrOverrideMissing when
// there is none.
func (s *Service) RemoveOverride(ctx context.Context, subject, userID, programID string) error {
	if programID == "" {
		programID = DefaultProgramID
	}
	return s.store.InTx(ctx, func(tx Store) error {
		cur, err := lockProgram(ctx, tx, programID)
		if err != nil {
			return err
		}
		removed, err := tx.DeleteOverride(ctx, userID, programID)
		if err != nil {
			return fmt.Errorf("remove override: %w", err)
		}
		if !removed {
			return ErrOverrideMissing
		}
		return s.recordOverride(ctx, tx, s.effective(cur), subject, &OverrideChange{UserID: userID}, s.clock())
	})
}

func (s *Service) recordOverride(ctx context.Context, tx Store, p Program, subject string, oc *OverrideChange, now time.Time) error {
	id, err := s.ids.New("pch_", now)
	if err != nil {
		return err
	}
	action := ChangeOverrideSet
	if oc.Percent == nil {
		action = ChangeOverrideDel
	}
	c := ProgramChange{ID: id, ProgramID: p.ID, Action: action, Subject: subject, Program: p, Override: oc, CreatedAt: now}
	if err := tx.AppendProgramChange(ctx, c); err != nil {
		return fmt.Errorf("record override in program %s: %w", p.ID, err)
	}
	return nil
}

// referrerTerms are the terms of a referrer's payment in currency under
// program p: the program's, with the referrer's override applied.
func (s *Service) referrerTerms(ctx context.Context, st Store, p Program, referrerID, currency string) (terms, error) {
	t := s.termsOf(p, currency)
	if referrerID == "" {
		return t, nil
	}
	o, err := st.OverrideOf(ctx, referrerID, p.ID)
	if errors.Is(err, ErrNotFound) {
		return t, nil
	}
	if err != nil {
		return terms{}, fmt.Errorf("read override of %s: %w", referrerID, err)
	}
	t.rule.Percent, t.overridden = o.Percent, true
	return t, nil
}

// lockProgram locks program id in tx (see Store.LockProgram): a program
// that does not exist is ErrProgramNotFound.
func lockProgram(ctx context.Context, tx Store, id string) (Program, error) {
	p, err := tx.LockProgram(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return Program{}, ErrProgramNotFound
	case err != nil:
		return Program{}, fmt.Errorf("lock program %s: %w", id, err)
	}
	return p, nil
}
