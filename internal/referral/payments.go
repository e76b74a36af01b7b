package referral

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// A payment is known by many keys: a product backend's payment id, and
// Stripe's payment intent, charge, invoice, invoice payment and checkout
// session. Events name it by some of them, in any order; each key leads to
// one stored payment (payment_keys), and keys learned from any event join
// it. Two stored payments that an event shows to be one are merged.
//
// A transaction that changes a payment holds the locks of all its keys, so
// any two transactions touching the same payment run one after the other.
// Locks are taken in one sorted batch at the start of the transaction
// (paymentTx); a transaction that finds it touches keys it does not hold
// rolls back and starts again holding them, so locks are never taken out
// of order.

// keySet is the set of payment keys a transaction holds.
type keySet map[string]bool

func newKeySet(keys []string) keySet {
	ks := keySet{}
	ks.add(keys...)
	return ks
}

func (ks keySet) add(keys ...string) {
	for _, k := range keys {
		if k != "" {
			ks[k] = true
		}
	}
}

// missing returns the keys not in the set, each once.
func (ks keySet) missing(keys []string) []string {
	var out []string
	for _, k := range keys {
		if k != "" && !ks[k] && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func (ks keySet) sorted() []string {
	out := make([]string, 0, len(ks))
	for k := range ks {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// needKeys rolls a payment transaction back to run it again holding keys too.
type needKeys struct{ keys []string }

func (e *needKeys) Error() string {
	return fmt.Sprintf("payment transaction needs %d more key locks", len(e.keys))
}

// maxLockRounds bounds how often a payment transaction restarts for more
// keys; each round adds at least one key, and payments have a handful.
const maxLockRounds = 8

// paymentTx runs fn in a transaction that first locks keys (and, after a
// restart, every key fn asked for).
func (s *Service) paymentTx(ctx context.Context, keys []string, fn func(tx Store, held keySet) error) error {
	held := newKeySet(keys)
	for range maxLockRounds {
		err := s.store.InTx(ctx, func(tx Store) error {
			if err := tx.LockPaymentKeys(ctx, held.sorted()); err != nil {
				return fmt.Errorf("lock payment: %w", err)
			}
			return fn(tx, held)
		})
		var nk *needKeys
		if !errors.As(err, &nk) {
			return err
		}
		held.add(nk.keys...)
	}
	return errors.New("lock payment: its keys kept changing")
}

// needAll asks for the keys of payments that are not held.
func needAll(held keySet, payments ...Payment) error {
	var missing []string
	for _, p := range payments {
		missing = append(missing, held.missing(append([]string{p.ID}, p.Keys...))...)
	}
	if len(missing) > 0 {
		return &needKeys{keys: missing}
	}
	return nil
}

// resolvePayment returns the stored payment that keys name (nil when none),
// first merging stored payments that keys show to be one, and makes every
// key lead to it. Claims naming the payment by one key name it by others
// too (a charge and its payment intent, an invoice): those join as well.
func (s *Service) resolvePayment(ctx context.Context, tx Store, held keySet, keys []string) (*Payment, error) {
	for {
		pay, err := s.resolveKeys(ctx, tx, held, keys)
		if err != nil || pay == nil {
			return pay, err
		}
		claims, err := tx.ClaimsForPayment(ctx, *pay)
		if err != nil {
			return nil, fmt.Errorf("claims of payment %s: %w", pay.ID, err)
		}
		known := newKeySet(append(pay.Keys, pay.ID))
		var more []string
		for _, c := range claims {
			more = append(more, known.missing(c.paymentKeys())...)
		}
		if len(more) == 0 {
			return pay, nil
		}
		if missing := held.missing(more); len(missing) > 0 {
			return nil, &needKeys{keys: missing}
		}
		keys = append(append([]string{pay.ID}, pay.Keys...), more...)
	}
}

// resolveKeys is one round of resolvePayment: the payments keys lead to,
// merged into one, which keys then all lead to.
func (s *Service) resolveKeys(ctx context.Context, tx Store, held keySet, keys []string) (*Payment, error) {
	found, err := tx.PaymentsByKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("find payment: %w", err)
	}
	if err := needAll(held, found...); err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, nil
	}
	// The survivor is the payment that qualified a referral, else one that
	// earned a reward, else one whose user is known, else the oldest:
	// merging never moves a reward or a referral's qualification, it only
	// takes back a duplicate's reward.
	if len(found) > 1 {
		ranks := map[string]int{}
		for _, p := range found {
			switch {
			case p.ReferralID != "":
				ranks[p.ID] = 1
				ref, err := tx.ReferralByID(ctx, p.ReferralID)
				if err != nil {
					return nil, fmt.Errorf("read referral %s: %w", p.ReferralID, err)
				}
				if ref.QualifyingPaymentID == p.ID {
					ranks[p.ID] = 0
				}
			case p.UserID != "":
				ranks[p.ID] = 2
			default:
				ranks[p.ID] = 3
			}
		}
		slices.SortStableFunc(found, func(a, b Payment) int { return cmp.Compare(ranks[a.ID], ranks[b.ID]) })
	}
	pay := found[0]
	for _, loser := range found[1:] {
		if err := tx.MergePayment(ctx, loser.ID, pay.ID); err != nil {
			return nil, fmt.Errorf("merge payment %s into %s: %w", loser.ID, pay.ID, err)
		}
		loser.MergedInto = pay.ID
		if _, err := s.settlePayment(ctx, tx, loser); err != nil {
			return nil, err
		}
		pay.Keys = append(pay.Keys, loser.Keys...)
		pay, _ = fill(pay, loser)
	}
	if fresh := newKeySet(append(pay.Keys, pay.ID)).missing(keys); len(fresh) > 0 {
		if err := tx.LearnPayment(ctx, pay.ID, Payment{}, fresh); err != nil {
			return nil, fmt.Errorf("learn keys of payment %s: %w", pay.ID, err)
		}
		pay.Keys = append(pay.Keys, fresh...)
	}
	return &pay, nil
}

// fill returns p with the Stripe ids, customer and user it lacks taken
// from other, and the larger amount (an invoice's total over one of its
// partial payments), and whether it took any.
func fill(p, other Payment) (Payment, bool) {
	changed := false
	if other.Currency == p.Currency && other.Amount > p.Amount {
		p.Amount, changed = other.Amount, true
	}
	for _, f := range []struct{ dst, src *string }{
		{&p.StripePaymentIntent, &other.StripePaymentIntent}, {&p.StripeInvoice, &other.StripeInvoice},
		{&p.StripeCharge, &other.StripeCharge}, {&p.StripeCheckoutSession, &other.StripeCheckoutSession},
		{&p.StripeInvoicePayment, &other.StripeInvoicePayment}, {&p.StripeCustomer, &other.StripeCustomer},
		{&p.UserID, &other.UserID},
	} {
		if *f.dst == "" && *f.src != "" {
			*f.dst, changed = *f.src, true
		}
	}
	return p, changed
}

// PaymentResult is the outcome of recording a payment.
type PaymentResult struct {
	// Payment is the stored payment (the original one for a repeat).
	Payment Payment
	// Duplicate is true when the payment was already recorded.
	Duplicate bool
	// Qualified is true when this call earned a referral's reward.
	Qualified bool
	// Referral is the referral this payment earned for (now or originally), if any.
	Referral *Referral
}

// RecordPayment records a successful payment reported by a product backend
// and, when it is the referred user's first payment with a positive amount
// while their referral is PENDING, qualifies the referral and credits the
// referrer — all in one transaction. Repeats of the same payment change
// nothing.
func (s *Service) RecordPayment(ctx context.Context, p Payment) (PaymentResult, error) {
	var res PaymentResult
	err := s.paymentTx(ctx, p.identifiers(), func(tx Store, held keySet) error {
		var err error
		res, err = s.applyPayment(ctx, tx, held, p)
		return err
	})
	if err != nil {
		return PaymentResult{}, err
	}
	return res, nil
}

// applyPayment records what an event or report says of a payment: a new
// payment, or more about a stored one (keys, customer, user). A payment
// whose user becomes known is then considered for a reward, once: a
// payment has a user exactly when it was considered.
func (s *Service) applyPayment(ctx context.Context, tx Store, held keySet, p Payment) (PaymentResult, error) {
	ids := p.identifiers()
	pay, err := s.resolvePayment(ctx, tx, held, ids)
	if err != nil {
		return PaymentResult{}, err
	}
	duplicate := pay != nil
	if pay == nil {
		// Stored without its user first: claims that arrived before it may
		// name more of its keys, even another stored payment it is; the
		// user is learned once it is whole.
		fresh := p
		fresh.UserID, fresh.CreatedAt, fresh.Keys = "", s.clock(), ids
		if err := tx.CreatePayment(ctx, fresh); err != nil {
			return PaymentResult{}, fmt.Errorf("record payment %s: %w", p.ID, err)
		}
		if pay, err = s.resolvePayment(ctx, tx, held, ids); err != nil {
			return PaymentResult{}, err
		}
	} else if p.Source == SourceAPI && pay.Source == SourceAPI && (pay.UserID != p.UserID || pay.Amount != p.Amount || pay.Currency != p.Currency) {
		return PaymentResult{}, ErrPaymentConflict
	}
	attributed := pay.UserID == "" && p.UserID != ""
	if learned, changed := fill(*pay, p); changed {
		if err := tx.LearnPayment(ctx, pay.ID, p, nil); err != nil {
			return PaymentResult{}, fmt.Errorf("update payment %s: %w", pay.ID, err)
		}
		*pay = learned
	}
	switch {
	case attributed:
		return s.evaluatePayment(ctx, tx, *pay)
	case pay.UserID == "":
		return PaymentResult{Payment: *pay, Duplicate: duplicate}, nil // kept until an event names the user
	}
	// New keys may lead to claims that arrived first.
	ref, err := s.settlePayment(ctx, tx, *pay)
	if err != nil {
		return PaymentResult{}, err
	}
	res := PaymentResult{Payment: *pay, Duplicate: duplicate, Referral: ref}
	if ref == nil && pay.ReferralID != "" {
		r, err := tx.ReferralByID(ctx, pay.ReferralID)
		if err != nil {
			return PaymentResult{}, fmt.Errorf("read referral %s: %w", pay.ReferralID, err)
		}
		res.Referral = &r
	}
	return res, nil
}

// evaluatePayment considers a stored payment whose user is known for a
// reward: the referred user's first payment with a positive amount (of at
// least the minimum) qualifies their PENDING referral; later ones earn when
// the program rewards more than the first payment. Refunds or disputes that
// arrived first apply at once. What can be read before the referrer's
// account lock is: the lock is held until commit, so the work under it is
// what serialises a busy referrer's payments.
func (s *Service) evaluatePayment(ctx context.Context, tx Store, p Payment) (PaymentResult, error) {
	res := PaymentResult{Payment: p}
	if p.Amount <= 0 {
		return res, nil
	}
	ref, err := tx.ReferralByReferredUser(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return PaymentResult{}, fmt.Errorf("find referral of payer: %w", err)
	}
	// The program in force now: a change committed later applies to later
	// rewards; this one is stored with the rule it earns under.
	prog, err := s.programOf(ctx, tx, ref.ProgramID)
	if err != nil {
		return PaymentResult{}, err
	}
	t, err := s.referrerTerms(ctx, tx, prog, ref.ReferrerID, p.Currency)
	if err != nil {
		return PaymentResult{}, err
	}
	if !t.earns(p.Amount) {
		return res, nil
	}
	claims, err := tx.ClaimsForPayment(ctx, p)
	if err != nil {
		return PaymentResult{}, fmt.Errorf("claims of payment %s: %w", p.ID, err)
	}
	// The friend's account too: a program may credit them on qualification.
	if err := tx.LockAccounts(ctx, ref.ReferrerID, ref.ReferredUserID); err != nil {
		return PaymentResult{}, fmt.Errorf("lock account: %w", err)
	}
	now := s.clock()
	amount := t.rule.For(p.Amount)
	qualified := false
	if ref.Status == StatusPending {
		q := Qualification{RewardAmount: amount, RewardCurrency: p.Currency, PaymentID: p.ID, QualifiedAt: now}
		if qualified, err = tx.QualifyReferral(ctx, ref.ID, q); err != nil {
			return PaymentResult{}, fmt.Errorf("qualify referral %s: %w", ref.ID, err)
		}
		if qualified {
			ref.Status, ref.RewardAmount, ref.RewardCurrency, ref.QualifyingPaymentID, ref.QualifiedAt = StatusQualified, &amount, p.Currency, p.ID, &now
			if err := tx.AddDaily(ctx, ref.ReferrerID, Day(now), Daily{Qualified: 1}); err != nil {
				return PaymentResult{}, fmt.Errorf("count qualification: %w", err)
			}
		}
	}
	if !qualified {
		// Read under the lock: a cancellation or payout may have changed it.
		if ref, err = tx.ReferralByID(ctx, ref.ID); err != nil {
			return PaymentResult{}, fmt.Errorf("read referral %s: %w", ref.ID, err)
		}
		if earns, err := s.recurring(ctx, tx, ref, t); err != nil || !earns {
			return res, err
		}
	}
	if err := s.earnReward(ctx, tx, ref, p, t, amount, now); err != nil {
		return PaymentResult{}, err
	}
	if err := tx.MarkPaymentQualified(ctx, p.ID, ref.ID); err != nil {
		return PaymentResult{}, fmt.Errorf("link payment to referral: %w", err)
	}
	p.ReferralID = ref.ID
	if qualified {
		if err := s.emit(ctx, tx, EventReferralQualified, ref.ReferrerID, ref, now); err != nil {
			return PaymentResult{}, err
		}
	}
	if !qualified {
		// A recurring reward makes the referral QUALIFIED again until paid out.
		if ref, err = tx.SettleReferral(ctx, ref.ID, StatusQualified); err != nil {
			return PaymentResult{}, fmt.Errorf("update referral %s: %w", ref.ID, err)
		}
	}
	if len(claims) > 0 {
		settled, err := s.settlePayment(ctx, tx, p)
		if err != nil {
			return PaymentResult{}, err
		}
		ref = *settled
	}
	if qualified && earning(ref.Status) {
		// One more referral counts towards the program's milestones, and
		// the friend may be credited.
		if err := s.settleMilestones(ctx, tx, ref, now); err != nil {
			return PaymentResult{}, err
		}
		if err := s.settleFriendCredit(ctx, tx, prog, ref, now); err != nil {
			return PaymentResult{}, err
		}
	}
	return PaymentResult{Payment: p, Qualified: true, Referral: &ref}, nil
}

// recurring reports whether a later payment of an already qualified
// referral earns: the program rewards more than the first payment, the
// referral stands, and it has earned fewer rewards than that.
func (s *Service) recurring(ctx context.Context, tx Store, ref Referral, t terms) (bool, error) {
	if t.payments <= 1 || ref.CancelReason != "" || (ref.Status != StatusQualified && ref.Status != StatusRewarded) {
		return false, nil
	}
	n, err := tx.CountRewards(ctx, ref.ID)
	if err != nil {
		return false, fmt.Errorf("count rewards of %s: %w", ref.ID, err)
	}
	return n < t.payments, nil
}

// earnReward records the reward of payment p for ref's referrer, with the
// terms it earns under, and credits it to the ledger, pending until the
// hold ends.
func (s *Service) earnReward(ctx context.Context, tx Store, ref Referral, p Payment, t terms, amount int64, now time.Time) error {
	rewardID, err := s.ids.New("rw_", now)
	if err != nil {
		return err
	}
	rw := Reward{
		ID: rewardID, ReferralID: ref.ID, ReferrerID: ref.ReferrerID, PaymentID: p.ID, Currency: p.Currency,
		PaymentAmount: p.Amount, ProgramID: t.programID, Rule: t.rule, Amount: amount, KeptAmount: amount,
		AvailableAt: now.Add(t.hold), CreatedAt: now,
	}
	if err := tx.CreateReward(ctx, rw); err != nil {
		return fmt.Errorf("record reward of referral %s: %w", ref.ID, err)
	}
	if err := tx.AddDailyReward(ctx, ref.ReferrerID, Day(now), p.Currency, amount); err != nil {
		return fmt.Errorf("count reward: %w", err)
	}
	if amount == 0 {
		return nil
	}
	return s.appendEntry(ctx, tx, LedgerEntry{
		UserID: ref.ReferrerID, Currency: p.Currency, Type: EntryReward, Amount: amount,
		ReferralID: ref.ID, RewardID: rw.ID, AvailableAt: rw.AvailableAt, CreatedAt: now,
		Description: fmt.Sprintf("reward for payment %s by a referred user", p.ID),
	})
}

// StripeEffects is what one Stripe event means for the program.
type StripeEffects struct {
	// CustomerID and UserID, when both known, teach the customer → user mapping.
	CustomerID string
	UserID     string
	// Payment, when not nil, is a successful payment by UserID (or, when
	// UserID is empty, by the user the customer maps to, or by a user a
	// later event names).
	Payment *Payment
	// Claim, when not nil, is a refund, a refund total or a dispute.
	Claim *Claim
}

// keys are the payment keys the event's transaction locks.
func (fx StripeEffects) keys() []string {
	var keys []string
	if fx.Payment != nil {
		keys = append(keys, fx.Payment.identifiers()...)
	}
	if fx.Claim != nil {
		keys = append(keys, fx.Claim.paymentKeys()...)
		keys = append(keys, fx.Claim.ID)
	}
	return keys
}

// StripeOutcome says what a Stripe event did.
type StripeOutcome string

// Stripe event outcomes.
const (
	StripeProcessed StripeOutcome = "processed"
	StripeDuplicate StripeOutcome = "duplicate"
)

// HandleStripeEvent applies one verified Stripe event exactly once: the event
// id is recorded in the same transaction as its effects, so a concurrent or
// repeated delivery either waits for the first and sees it done, or takes over
// after a failed attempt.
func (s *Service) HandleStripeEvent(ctx context.Context, ev StripeEvent, fx StripeEffects) (StripeOutcome, error) {
	var outcome StripeOutcome
	err := s.paymentTx(ctx, fx.keys(), func(tx Store, held keySet) error {
		outcome = StripeProcessed
		ev.ReceivedAt = s.clock()
		fresh, err := tx.RecordStripeEvent(ctx, ev)
		if err != nil {
			return fmt.Errorf("record stripe event %s: %w", ev.ID, err)
		}
		if !fresh {
			outcome = StripeDuplicate
			return nil
		}
		if fx.CustomerID != "" && fx.UserID != "" {
			if err := s.linkCustomer(ctx, tx, held, fx.CustomerID, fx.UserID); err != nil {
				return err
			}
		}
		if fx.Claim != nil {
			if _, err := s.recordClaim(ctx, tx, held, *fx.Claim); err != nil {
				return err
			}
		}
		if fx.Payment == nil {
			return nil
		}
		p := *fx.Payment
		p.UserID = fx.UserID
		if p.UserID == "" && fx.CustomerID != "" {
			p.UserID, err = tx.UserByStripeCustomer(ctx, fx.CustomerID)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("resolve stripe customer: %w", err)
			}
		}
		_, err = s.applyPayment(ctx, tx, held, p)
		return err
	})
	if err != nil {
		return "", err
	}
	return outcome, nil
}

// linkCustomer remembers that a Stripe customer is a user (the first link
// learned is kept) and gives that user the customer's payments that were
// waiting for one.
func (s *Service) linkCustomer(ctx context.Context, tx Store, held keySet, customerID, userID string) error {
	if err := tx.LinkStripeCustomer(ctx, customerID, userID, s.clock()); err != nil {
		return fmt.Errorf("link stripe customer: %w", err)
	}
	waiting, err := tx.UnattributedPayments(ctx, customerID)
	if err != nil || len(waiting) == 0 {
		return err
	}
	if err := needAll(held, waiting...); err != nil {
		return err
	}
	if userID, err = tx.UserByStripeCustomer(ctx, customerID); err != nil {
		return fmt.Errorf("resolve stripe customer: %w", err)
	}
	for _, p := range waiting {
		if err := tx.LearnPayment(ctx, p.ID, Payment{UserID: userID}, nil); err != nil {
			return fmt.Errorf("attribute payment %s: %w", p.ID, err)
		}
		p.UserID = userID
		if _, err := s.evaluatePayment(ctx, tx, p); err != nil {
			return err
		}
	}
	return nil
}
