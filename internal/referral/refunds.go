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
	Source              string
	CreatedAt           time.Time
}

// paymentKeys are the identifiers that tie a payment and its claims together.
func paymentKeys(paymentID, charge, intent, invoice string) []string {
	var keys []string
	for _, k := range []string{paymentID, charge, intent, invoice} {
		if k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

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
// payment's identifiers are locked first, so a claim and its payment arriving
// at once are applied one after the other, never past each other.
func (s *Service) RecordClaim(ctx context.Context, c Claim) (ClaimResult, error) {
	var res ClaimResult
	err := s.store.InTx(ctx, func(tx Store) error {
		var err error
		res, err = s.recordClaim(ctx, tx, c)
		return err
	})
	return res, err
}

func (s *Service) recordClaim(ctx context.Context, tx Store, c Claim) (ClaimResult, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.clock()
	}
	if err := tx.LockPaymentKeys(ctx, append(paymentKeys(c.PaymentID, c.StripeCharge, c.StripePaymentIntent, c.StripeInvoice), c.ID)); err != nil {
		return ClaimResult{}, fmt.Errorf("lock payment: %w", err)
	}
	stored, changed, err := tx.SaveClaim(ctx, c)
	if err != nil {
		return ClaimResult{}, fmt.Errorf("save claim %s: %w", c.ID, err)
	}
	res := ClaimResult{Claim: stored, Duplicate: !changed}
	if c.Kind == ClaimRefund && !changed && (stored.Amount != c.Amount || stored.PaymentID != c.PaymentID) {
		return ClaimResult{}, ErrRefundConflict
	}
	pay, err := tx.FindPayment(ctx, Payment{
		ID: c.PaymentID, StripeCharge: c.StripeCharge, StripePaymentIntent: c.StripePaymentIntent, StripeInvoice: c.StripeInvoice,
	})
	if errors.Is(err, ErrNotFound) {
		return res, nil // the payment has not arrived yet; it will settle then
	}
	if err != nil {
		return ClaimResult{}, fmt.Errorf("find refunded payment: %w", err)
	}
	ref, err := s.settlePayment(ctx, tx, pay)
	if err != nil {
		return ClaimResult{}, err
	}
	res.Referral = ref
	return res, nil
}

// settlePayment brings the reward of payment pay in line with every claim
// against it and returns its referral (nil when the payment earned nothing).
func (s *Service) settlePayment(ctx context.Context, tx Store, pay Payment) (*Referral, error) {
	rw, err := tx.RewardByPaymentForUpdate(ctx, pay.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock reward of payment %s: %w", pay.ID, err)
	}
	ref, err := tx.ReferralByID(ctx, rw.ReferralID)
	if err != nil {
		return nil, fmt.Errorf("read referral %s: %w", rw.ReferralID, err)
	}
	claims, err := tx.ClaimsForPayment(ctx, pay)
	if err != nil {
		return nil, fmt.Errorf("claims of payment %s: %w", pay.ID, err)
	}
	if err := s.settle(ctx, tx, &ref, rw, claims); err != nil {
		return nil, err
	}
	return &ref, nil
}

// claimTotals sums the claims against one payment of amount paid: refunded is
// the larger of the refunds reported one by one and Stripe's cumulative total
// (two views of the same refunds), plus what open disputes hold back.
func claimTotals(paid int64, claims []Claim) (taken int64, fullyRefunded, lost bool) {
	var refunds, chargeRefunded, disputed int64
	for _, c := range claims {
		switch c.Kind {
		case ClaimRefund:
			refunds += c.Amount
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
	refunded := max(refunds, chargeRefunded)
	return min(paid, refunded+disputed), refunded >= paid, lost
}

// settle computes the reward rw should keep and appends the difference to
// the ledger: a reversal (or a clawback once paid out) when it shrinks, a
// reward when a won dispute restores it. The referral is cancelled when
// nothing can come back (full refund, lost dispute, operator cancellation)
// and restored when a won dispute gives its reward back.
func (s *Service) settle(ctx context.Context, tx Store, ref *Referral, rw Reward, claims []Claim) error {
	now := s.clock()
	taken, fullyRefunded, lost := claimTotals(rw.PaymentAmount, claims)
	operatorCancelled := ref.CancelReason != ""
	target := rw.Rule.Kept(rw.PaymentAmount, taken)
	if lost || operatorCancelled {
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
		case rw.PayoutID != "":
			e.Type, e.Description = EntryClawback, fmt.Sprintf("paid-out reward clawed back: payment %s refunded, disputed or cancelled", rw.PaymentID)
		default:
			e.Type, e.Description = EntryRewardReversal, fmt.Sprintf("reward reversed: payment %s refunded, disputed or cancelled", rw.PaymentID)
		}
		if err := s.appendEntry(ctx, tx, e); err != nil {
			return err
		}
		if err := tx.UpdateRewardKept(ctx, rw.ID, target, min(taken, rw.PaymentAmount)); err != nil {
			return fmt.Errorf("update reward %s: %w", rw.ID, err)
		}
	}
	// Only the qualifying payment decides whether the referral stands; a
	// later (recurring) payment refunded in full just loses its reward.
	status := ref.Status
	qualifying := rw.PaymentID == ref.QualifyingPaymentID
	switch {
	case operatorCancelled || (qualifying && (fullyRefunded || lost)):
		status = StatusCancelled
	case qualifying && status == StatusCancelled:
		status = StatusQualified
		if ref.RewardPaidAt != nil {
			status = StatusRewarded
		}
	}
	if err := tx.SettleReferral(ctx, ref.ID, status); err != nil {
		return fmt.Errorf("settle referral %s: %w", ref.ID, err)
	}
	updated, err := tx.ReferralByID(ctx, ref.ID)
	if err != nil {
		return fmt.Errorf("read referral %s: %w", ref.ID, err)
	}
	*ref = updated
	return nil
}
