package referral

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ClaimKind says what a refund claim records.
type ClaimKind string

// Kinds of refund claims.
const (
	// ClaimRefund is one refund reported with its own id; refunds add up.
	ClaimRefund ClaimKind = "refund"
	// ClaimChargeRefunded is Stripe's cumulative amount refunded on a charge;
	// only the largest value seen counts, so reordered events converge.
	ClaimChargeRefunded ClaimKind = "charge_refunded"
	// ClaimDispute is a dispute on a charge, open, won or lost.
	ClaimDispute ClaimKind = "dispute"
)

// Dispute states, ordered: a closed dispute never reopens.
const (
	DisputeOpen = "open"
	DisputeWon  = "won"
	DisputeLost = "lost"
)

// Claim is something that takes (part of) a payment back: a refund, Stripe's
// refunded total of a charge, or a dispute. It names the payment by whatever
// identifiers its source knows; it is kept even when that payment is not
// known yet, so a claim that arrives first ends in the same state.
type Claim struct {
	ID                  string
	Kind                ClaimKind
	PaymentID           string
	StripeCharge        string
	StripePaymentIntent string
	StripeInvoice       string
	Amount              int64
	DisputeStatus       string
	// RefundStatus is a Stripe refund's state (empty for a backend's
	// refund, which has happened).
	RefundStatus string
	Source       string
	CreatedAt    time.Time
}

// paymentKeys are the identifiers the claim names its payment by; all of
// them belong to that one payment.
func (c Claim) paymentKeys() []string {
	return uniqueKeys(c.PaymentID, c.StripeCharge, c.StripePaymentIntent, c.StripeInvoice)
}

// Stripe refund states.
const (
	RefundPending        = "pending"
	RefundRequiresAction = "requires_action"
	RefundSucceeded      = "succeeded"
	RefundFailed         = "failed"
	RefundCanceled       = "canceled"
)

// RefundStatusRank orders a Stripe refund's states so that reordered
// events converge: pending (1) before succeeded (2) before failed or
// canceled (3), which are final (a succeeded refund can still fail).
func RefundStatusRank(status string) int {
	switch status {
	case RefundSucceeded:
		return 2
	case RefundFailed, RefundCanceled:
		return 3
	case "":
		return 0
	}
	return 1
}

// refundCounts reports whether a refund in this state takes money back:
// pending ones do (Stripe counts them in amount_refunded), failed and
// canceled ones do not.
func refundCounts(status string) bool { return RefundStatusRank(status) < 3 }

// ClaimResult is the outcome of recording a claim.
type ClaimResult struct {
	// Duplicate is true when this exact claim was already recorded.
	Duplicate bool
	// Claim is the stored claim (the original one for a duplicate).
	Claim Claim
	// Referral is the referral whose reward the claim touched, if any yet.
	Referral *Referral
}

// ErrRefundConflict means a refund id was reused for a different refund.
var ErrRefundConflict = errors.New("refund id was already used for a different refund")

// RecordClaim stores a refund, a charge's refunded total or a dispute and
// settles the reward of the payment it concerns, in one transaction. The
// payment's keys are locked first, so a claim and its payment arriving at
// once are applied one after the other, never past each other.
func (s *Service) RecordClaim(ctx context.Context, c Claim) (ClaimResult, error) {
	var res ClaimResult
	err := s.paymentTx(ctx, append(c.paymentKeys(), c.ID), func(tx Store, held keySet) error {
		var err error
		res, err = s.recordClaim(ctx, tx, held, c)
		return err
	})
	return res, err
}

func (s *Service) recordClaim(ctx context.Context, tx Store, held keySet, c Claim) (ClaimResult, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.clock()
	}
	stored, changed, err := tx.SaveClaim(ctx, c)
	if err != nil {
		return ClaimResult{}, fmt.Errorf("save claim %s: %w", c.ID, err)
	}
	res := ClaimResult{Claim: stored, Duplicate: !changed}
	if c.Kind == ClaimRefund && c.Source == SourceAPI && stored.Source == SourceAPI && !changed && (stored.Amount != c.Amount || stored.PaymentID != c.PaymentID) {
		return ClaimResult{}, ErrRefundConflict
	}
	// Every identifier a claim names belongs to its payment, so the claim
	// also teaches the payment's keys (a charge and its payment intent).
	pay, err := s.resolvePayment(ctx, tx, held, c.paymentKeys())
	if err != nil || pay == nil {
		return res, err // no payment yet: it settles when the payment arrives
	}
	ref, err := s.settlePayment(ctx, tx, *pay)
	if err != nil {
		return ClaimResult{}, err
	}
	res.Referral = ref
	return res, nil
}

// settlePayment brings the reward of payment pay in line with every claim
// against it and returns its referral (nil when the payment earned nothing).
// It takes the accounts of the referrer and the friend before changing anything, and does
// as much as it can before: the claims are the payment's (its key locks
// keep them as read), and a reward's referrer never changes.
func (s *Service) settlePayment(ctx context.Context, tx Store, pay Payment) (*Referral, error) {
	rw, err := tx.RewardByPayment(ctx, pay.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reward of payment %s: %w", pay.ID, err)
	}
	claims, err := tx.ClaimsForPayment(ctx, pay)
	if err != nil {
		return nil, fmt.Errorf("claims of payment %s: %w", pay.ID, err)
	}
	// The referral's friend never changes: read before the lock, so that
	// both accounts are locked in one call (the friend's credit follows
	// the referral's status).
	pre, err := tx.ReferralByID(ctx, rw.ReferralID)
	if err != nil {
		return nil, fmt.Errorf("read referral %s: %w", rw.ReferralID, err)
	}
	if err := tx.LockAccounts(ctx, rw.ReferrerID, pre.ReferredUserID); err != nil {
		return nil, fmt.Errorf("lock account: %w", err)
	}
	// What a payout may have changed: the reward's payout, the referral's status.
	if rw, err = tx.RewardByPayment(ctx, pay.ID); err != nil {
		return nil, fmt.Errorf("read reward of payment %s: %w", pay.ID, err)
	}
	ref, err := tx.ReferralByID(ctx, rw.ReferralID)
	if err != nil {
		return nil, fmt.Errorf("read referral %s: %w", rw.ReferralID, err)
	}
	if err := s.settle(ctx, tx, &ref, rw, claims, pay.MergedInto != ""); err != nil {
		return nil, err
	}
	return &ref, nil
}

// claimTotals sums the claims against one payment of amount paid: refunded
// is the largest of three views of the same refunds (those a backend
// reported one by one, Stripe's refunds one by one, and Stripe's cumulative
// total on the charge, less the refunds known to have failed since, which
// that total counted while they were pending), plus what open disputes hold
// back.
func claimTotals(paid int64, claims []Claim) (taken int64, fullyRefunded, lost bool) {
	var backendRefunds, stripeRefunds, stripeFailed, chargeRefunded, disputed int64
	for _, c := range claims {
		switch c.Kind {
		case ClaimRefund:
			switch {
			case !refundCounts(c.RefundStatus) && c.Source == SourceStripe:
				stripeFailed += c.Amount
			case !refundCounts(c.RefundStatus):
			case c.Source == SourceStripe:
				stripeRefunds += c.Amount
			default:
				backendRefunds += c.Amount
			}
		case ClaimChargeRefunded:
			chargeRefunded = max(chargeRefunded, c.Amount)
		case ClaimDispute:
			switch c.DisputeStatus {
			case DisputeOpen:
				disputed += c.Amount
			case DisputeLost:
				lost = true
			}
		}
	}
	refunded := max(backendRefunds, stripeRefunds, chargeRefunded-stripeFailed)
	return min(paid, refunded+disputed), refunded >= paid, lost
}

// settle computes the reward rw should keep and appends the difference to
// the ledger: a reversal (or a clawback once paid out) when it shrinks, a
// reward when a won dispute restores it. The referral is cancelled when
// nothing can come back (full refund, lost dispute, operator cancellation)
// and restored when a won dispute gives its reward back. A reward of a
// payment merged into another (a duplicate) keeps nothing.
func (s *Service) settle(ctx context.Context, tx Store, ref *Referral, rw Reward, claims []Claim, duplicate bool) error {
	now := s.clock()
	taken, fullyRefunded, lost := claimTotals(rw.PaymentAmount, claims)
	operatorCancelled := ref.CancelReason != ""
	target := rw.Rule.Kept(rw.PaymentAmount, taken)
	if lost || operatorCancelled || duplicate {
		target = 0
	}
	if delta := target - rw.KeptAmount; delta != 0 {
		// A change inside the hold stays pending with the reward; after it,
		// it counts against (or towards) the available balance at once.
		availableAt := now
		if rw.AvailableAt.After(now) {
			availableAt = rw.AvailableAt
		}
		e := LedgerEntry{
			UserID: rw.ReferrerID, Currency: rw.Currency, Amount: delta, ReferralID: rw.ReferralID, RewardID: rw.ID,
			AvailableAt: availableAt, CreatedAt: now,
		}
		switch {
		case delta > 0:
			e.Type, e.Description = EntryReward, fmt.Sprintf("reward restored for payment %s", rw.PaymentID)
		case duplicate && rw.PayoutID != "":
			e.Type, e.Description = EntryClawback, fmt.Sprintf("paid-out reward clawed back: payment %s was the same payment as another", rw.PaymentID)
		case duplicate:
			e.Type, e.Description = EntryRewardReversal, fmt.Sprintf("reward reversed: payment %s was the same payment as another", rw.PaymentID)
		case rw.PayoutID != "":
			e.Type, e.Description = EntryClawback, fmt.Sprintf("paid-out reward clawed back: payment %s refunded, disputed or cancelled", rw.PaymentID)
		default:
			e.Type, e.Description = EntryRewardReversal, fmt.Sprintf("reward reversed: payment %s refunded, disputed or cancelled", rw.PaymentID)
		}
		if err := s.appendEntry(ctx, tx, e); err != nil {
			return err
		}
		announced, err := tx.UpdateRewardKept(ctx, rw.ID, target, min(taken, rw.PaymentAmount))
		if err != nil {
			return fmt.Errorf("update reward %s: %w", rw.ID, err)
		}
		// A reversal is reported as such; an amount coming back (a won
		// dispute, a failed refund) is payable again: reward.available, if
		// the reward's availability was announced already (otherwise the
		// announcement at the end of the hold carries what it keeps).
		change := RewardChange{ReferralID: rw.ReferralID, ReferrerID: rw.ReferrerID, Amount: -delta, Currency: rw.Currency}
		switch {
		case delta < 0:
			if err := s.emit(ctx, tx, EventRewardReversed, rw.ReferrerID, change, now); err != nil {
				return err
			}
		case announced:
			change.Amount = delta
			if err := s.emit(ctx, tx, EventRewardAvailable, rw.ReferrerID, change, now); err != nil {
				return err
			}
		}
	}
	// Only the qualifying payment decides whether the referral stands; a
	// later (recurring) payment refunded in full just loses its reward.
	status := ref.Status
	qualifying := rw.PaymentID == ref.QualifyingPaymentID
	switch {
	case operatorCancelled || (qualifying && (fullyRefunded || lost || duplicate)):
		status = StatusCancelled
	case qualifying && status == StatusCancelled:
		status = StatusQualified
		if ref.RewardPaidAt != nil {
			status = StatusRewarded
		}
	}
	if status == ref.Status && target == rw.KeptAmount {
		return nil // nothing changed
	}
	updated, err := tx.SettleReferral(ctx, ref.ID, status)
	if err != nil {
		return fmt.Errorf("settle referral %s: %w", ref.ID, err)
	}
	before := ref.Status
	*ref = updated
	if earning(before) != earning(updated.Status) {
		// The referral left (or rejoined) the count milestones go by.
		if err := s.settleMilestones(ctx, tx, updated, now); err != nil {
			return err
		}
	}
	if before != updated.Status && (before == StatusCancelled || updated.Status == StatusCancelled) {
		// A cancelled referral loses the friend's unpaid credit; a
		// restored one gets it back.
		prog, err := s.programOf(ctx, tx, updated.ProgramID)
		if err != nil {
			return err
		}
		if err := s.settleFriendCredit(ctx, tx, prog, updated, now); err != nil {
			return err
		}
	}
	return s.emitStatusChange(ctx, tx, before, updated, now)
}
