package referral

import (
	"context"
	"errors"
	"fmt"
)

// Referral returns one referral by id; ErrReferralMissing when there is none.
func (s *Service) Referral(ctx context.Context, id string) (Referral, error) {
	r, err := s.store.ReferralByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Referral{}, ErrReferralMissing
	}
	return r, err
}

// Cancel cancels a referral for an operator's reason: a pending referral can
// no longer qualify; a qualified one loses its reward (reversed, or clawed
// back when already paid out). Cancelling again changes nothing.
func (s *Service) Cancel(ctx context.Context, id, reason string) (Referral, error) {
	var out Referral
	err := s.store.InTx(ctx, func(tx Store) error {
		for {
			ref, err := tx.ReferralByID(ctx, id)
			if errors.Is(err, ErrNotFound) {
				return ErrReferralMissing
			}
			if err != nil {
				return fmt.Errorf("read referral %s: %w", id, err)
			}
			if ref.CancelReason != "" {
				out = ref
				return nil
			}
			var pay Payment
			if ref.QualifyingPaymentID != "" {
				if pay, err = tx.FindPayment(ctx, Payment{ID: ref.QualifyingPaymentID}); err != nil {
					return fmt.Errorf("read qualifying payment: %w", err)
				}
				if err := tx.LockPaymentKeys(ctx, paymentKeys(pay.ID, pay.StripeCharge, pay.StripePaymentIntent, pay.StripeInvoice)); err != nil {
					return fmt.Errorf("lock payment: %w", err)
				}
			}
			// Compare-and-set on the status read: a payment qualifying the
			// referral meanwhile makes this fail, and the loop reads again.
			ok, err := tx.CancelReferral(ctx, id, ref.Status, reason)
			if err != nil {
				return fmt.Errorf("cancel referral %s: %w", id, err)
			}
			if !ok {
				continue
			}
			if pay.ID != "" {
				settled, err := s.settlePayment(ctx, tx, pay)
				if err != nil {
					return err
				}
				out = *settled
				return nil
			}
			ref.Status, ref.CancelReason = StatusCancelled, reason
			out = ref
			return nil
		}
	})
	return out, err
}
