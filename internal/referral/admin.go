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
// no longer qualify; a qualified one loses its rewards (reversed, or clawed
// back when already paid out). Cancelling again changes nothing.
func (s *Service) Cancel(ctx context.Context, id, reason string) (Referral, error) {
	// The keys of the payments that earned the referral's rewards, read
	// ahead so that the transaction usually holds them from the start.
	keys, _ := s.rewardPaymentKeys(ctx, s.store, id)
	var out Referral
	err := s.paymentTx(ctx, keys, func(tx Store, held keySet) error {
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
		if err := tx.LockAccounts(ctx, ref.ReferrerID, ref.ReferredUserID); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		// Under the account lock the referral and its rewards stay as read.
		if ref, err = tx.ReferralByID(ctx, id); err != nil {
			return fmt.Errorf("read referral %s: %w", id, err)
		}
		payments, err := s.rewardPayments(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := needAll(held, payments...); err != nil {
			return err
		}
		ok, err := tx.CancelReferral(ctx, id, ref.Status, reason)
		if err != nil {
			return fmt.Errorf("cancel referral %s: %w", id, err)
		}
		if !ok {
			return fmt.Errorf("cancel referral %s: its status changed under the account lock", id)
		}
		before := ref.Status
		ref.Status, ref.CancelReason = StatusCancelled, reason
		out = ref
		for _, pay := range payments {
			settled, err := s.settlePayment(ctx, tx, pay)
			if err != nil {
				return err
			}
			if settled != nil {
				out = *settled
			}
		}
		if before == StatusCancelled {
			return nil
		}
		if earning(before) {
			if err := s.settleMilestones(ctx, tx, out, s.clock()); err != nil {
				return err
			}
		}
		prog, err := s.programOf(ctx, tx, out.ProgramID)
		if err != nil {
			return err
		}
		if err := s.settleFriendCredit(ctx, tx, prog, out, s.clock()); err != nil {
			return err
		}
		return s.emit(ctx, tx, EventReferralCancelled, out.ReferrerID, out, s.clock())
	})
	return out, err
}

// rewardPayments returns the payments that earned the referral's rewards.
func (s *Service) rewardPayments(ctx context.Context, st Store, referralID string) ([]Payment, error) {
	rewards, err := st.RewardsOfReferral(ctx, referralID)
	if err != nil {
		return nil, fmt.Errorf("rewards of referral %s: %w", referralID, err)
	}
	payments := make([]Payment, 0, len(rewards))
	for _, rw := range rewards {
		p, err := st.PaymentByID(ctx, rw.PaymentID)
		if err != nil {
			return nil, fmt.Errorf("read payment %s: %w", rw.PaymentID, err)
		}
		payments = append(payments, p)
	}
	return payments, nil
}

// rewardPaymentKeys returns every key of the payments that earned the
// referral's rewards.
func (s *Service) rewardPaymentKeys(ctx context.Context, st Store, referralID string) ([]string, error) {
	payments, err := s.rewardPayments(ctx, st, referralID)
	var keys []string
	for _, p := range payments {
		keys = append(append(keys, p.ID), p.Keys...)
	}
	return keys, err
}
