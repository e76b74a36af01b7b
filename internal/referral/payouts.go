package referral

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// PayoutMethod is how a payout reaches the referrer.
type PayoutMethod string

// Payout methods.
const (
	// PayoutManual records a payment made outside the service, with a reference.
	PayoutManual PayoutMethod = "manual"
	// PayoutStripeCredit credits the referrer's Stripe customer balance
	// (the seed's "account credit"): their next invoices draw it down.
	PayoutStripeCredit PayoutMethod = "stripe_credit"
)

// PayoutStatus is a payout's state: pending, then paid or failed.
type PayoutStatus string

// Payout states.
const (
	PayoutPending PayoutStatus = "pending"
	PayoutPaid    PayoutStatus = "paid"
	PayoutFailed  PayoutStatus = "failed"
)

// Payout pays a user's available rewards in one currency.
type Payout struct {
	ID                  string
	UserID              string
	Currency            string
	Amount              int64
	Method              PayoutMethod
	Status              PayoutStatus
	Reference           string
	StripeCustomerID    string
	StripeTransactionID string
	FailureReason       string
	IdempotencyKey      string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	PaidAt              *time.Time
}

// PayoutRequest asks to pay a user's available balance in a currency.
type PayoutRequest struct {
	UserID           string
	Currency         string
	Method           PayoutMethod
	Reference        string
	StripeCustomerID string
	// IdempotencyKey makes the request safe to repeat; empty: none.
	IdempotencyKey string
	// MinAmount is the smallest available balance worth paying.
	MinAmount int64
}

// PayoutFilter selects a page of payouts, newest first.
type PayoutFilter struct {
	UserID   string
	Status   PayoutStatus
	BeforeID string
	Limit    int
}

// CustomerCredit is a credit to a Stripe customer's balance.
type CustomerCredit struct {
	CustomerID     string
	Currency       string
	Amount         int64
	IdempotencyKey string
	Description    string
}

// CreditIssuer credits Stripe customer balances. Errors wrapping
// ErrCreditRejected are final (the payout fails); any other error is treated
// as transient and the payout stays pending to be retried.
type CreditIssuer interface {
	Credit(ctx context.Context, c CustomerCredit) (transactionID string, err error)
}

// Payout errors.
var (
	ErrCreditRejected        = errors.New("the credit was rejected")
	ErrNothingToPay          = errors.New("no available balance to pay out")
	ErrIdempotencyConflict   = errors.New("idempotency key was used for a different payout request")
	ErrStripeCustomerUnknown = errors.New("no Stripe customer is known for this user")
	ErrCreditsDisabled       = errors.New("Stripe credits need STRIPE_SECRET_KEY")
	ErrPayoutMissing         = errors.New("payout not found")
)

// stripeIdempotencyKey is sent with the Stripe call of a payout: the same
// for every attempt, so Stripe performs the credit at most once.
func stripeIdempotencyKey(payoutID string) string { return "referral-payout-" + payoutID }

// RequestPayout pays out the user's available balance in a currency. The
// amount is reserved in the ledger with the payout record in one
// transaction; the Stripe credit, if any, happens after it. It returns the
// payout and whether this call created it (false: an earlier request with
// the same idempotency key, returned as it is now).
func (s *Service) RequestPayout(ctx context.Context, req PayoutRequest) (Payout, bool, error) {
	p, created, _, err := s.requestPayout(ctx, req)
	return p, created, err
}

// requestPayout is RequestPayout, also saying whether this call recorded the
// payout's outcome (for run reports that count each payout once).
func (s *Service) requestPayout(ctx context.Context, req PayoutRequest) (p Payout, created, finished bool, err error) {
	if req.Method == PayoutStripeCredit {
		if s.credits == nil {
			return Payout{}, false, false, ErrCreditsDisabled
		}
		if req.StripeCustomerID == "" {
			cus, err := s.store.StripeCustomerOfUser(ctx, req.UserID)
			if errors.Is(err, ErrNotFound) {
				return Payout{}, false, false, ErrStripeCustomerUnknown
			}
			if err != nil {
				return Payout{}, false, false, fmt.Errorf("find Stripe customer: %w", err)
			}
			req.StripeCustomerID = cus
		}
	}
	id, err := s.ids.New("po_", s.clock())
	if err != nil {
		return Payout{}, false, false, err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		// The account lock serialises everything that changes this user's
		// money; what is payable is decided under it, from the balance a
		// competing payout would already have reduced.
		if err := tx.LockAccounts(ctx, req.UserID); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		now := s.clock()
		p = Payout{
			ID: id, UserID: req.UserID, Currency: req.Currency, Method: req.Method, Status: PayoutPending,
			Reference: req.Reference, StripeCustomerID: req.StripeCustomerID, IdempotencyKey: req.IdempotencyKey,
			CreatedAt: now, UpdatedAt: now,
		}
		created, finished = true, false
		ok, err := tx.CreatePayout(ctx, p)
		if err != nil {
			return fmt.Errorf("create payout: %w", err)
		}
		if !ok {
			// This transaction's own payout, committed by an earlier run of it
			// whose answer was lost: it is this call's.
			if own, err := tx.PayoutByID(ctx, p.ID); err == nil {
				p, finished = own, own.Status != PayoutPending
				return nil
			} else if !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("read payout %s: %w", p.ID, err)
			}
			// The idempotency key is taken: answer the earlier payout.
			earlier, err := tx.PayoutByIdempotencyKey(ctx, req.IdempotencyKey)
			if err != nil {
				return fmt.Errorf("read payout by idempotency key: %w", err)
			}
			if earlier.UserID != req.UserID || earlier.Currency != req.Currency || earlier.Method != req.Method {
				return ErrIdempotencyConflict
			}
			p, created = earlier, false
			return nil
		}
		if err := tx.ClaimRewardsForPayout(ctx, req.UserID, req.Currency, p.ID, now); err != nil {
			return fmt.Errorf("claim rewards: %w", err)
		}
		available, err := s.available(ctx, tx, req.UserID, req.Currency, now)
		if err != nil {
			return err
		}
		if available <= 0 || available < req.MinAmount {
			return ErrNothingToPay
		}
		p.Amount = available
		if err := tx.SetPayoutAmount(ctx, p.ID, p.Amount); err != nil {
			return fmt.Errorf("set payout amount: %w", err)
		}
		if err := s.appendEntry(ctx, tx, LedgerEntry{
			UserID: p.UserID, Currency: p.Currency, Type: EntryPayout, Amount: -p.Amount, PayoutID: p.ID,
			AvailableAt: now, CreatedAt: now, Description: payoutDescription(p),
		}); err != nil {
			return err
		}
		if p.Method == PayoutManual {
			finished = true
			return s.finishPaid(ctx, tx, &p, "")
		}
		return nil
	})
	if err != nil {
		return Payout{}, false, false, err
	}
	if finished {
		s.observed(p)
	}
	if p.Status == PayoutPending {
		// Also on a repeat: a retry completes a payout an earlier attempt left pending.
		p, finished, err = s.complete(ctx, p.ID)
	}
	return p, created, finished, err
}

// available is the user's payable balance in currency at now; the caller
// holds the user's account lock.
func (s *Service) available(ctx context.Context, tx Store, userID, currency string, now time.Time) (int64, error) {
	views, err := tx.BalanceViews(ctx, userID, now)
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	for _, v := range views {
		if v.Currency == currency {
			return v.Available, nil
		}
	}
	return 0, nil
}

func payoutDescription(p Payout) string {
	if p.Method == PayoutManual {
		return fmt.Sprintf("payout %s (manual, reference %q)", p.ID, p.Reference)
	}
	return fmt.Sprintf("payout %s as credit to Stripe customer %s", p.ID, p.StripeCustomerID)
}

// CompletePayout performs the Stripe credit of a pending payout and records
// the outcome. It is safe to call again at any time, from any replica: the
// Stripe call carries the payout's idempotency key and only the first
// recorded outcome counts. A transient failure leaves the payout pending.
func (s *Service) CompletePayout(ctx context.Context, id string) (Payout, error) {
	p, _, err := s.complete(ctx, id)
	return p, err
}

// complete is CompletePayout, also saying whether this call recorded the
// outcome (another attempt may have recorded it first).
func (s *Service) complete(ctx context.Context, id string) (p Payout, finished bool, err error) {
	p, err = s.Payout(ctx, id)
	if err != nil || p.Status != PayoutPending || p.Method != PayoutStripeCredit {
		return p, false, err
	}
	if s.credits == nil {
		return p, false, ErrCreditsDisabled
	}
	txn, err := s.credits.Credit(ctx, CustomerCredit{
		CustomerID: p.StripeCustomerID, Currency: p.Currency, Amount: p.Amount,
		IdempotencyKey: stripeIdempotencyKey(p.ID), Description: fmt.Sprintf("Referral rewards (payout %s)", p.ID),
	})
	if err != nil && !errors.Is(err, ErrCreditRejected) {
		s.log.WarnContext(ctx, "payout credit failed, will retry", "payout_id", p.ID, "error", err)
		return p, false, nil
	}
	err2 := s.store.InTx(ctx, func(tx Store) error {
		finished = false
		if err2 := tx.LockAccounts(ctx, p.UserID); err2 != nil {
			return fmt.Errorf("lock account: %w", err2)
		}
		current, err2 := tx.PayoutByID(ctx, id)
		if err2 != nil {
			return err2
		}
		p = current
		if p.Status != PayoutPending {
			return nil // another attempt recorded the outcome first
		}
		finished = true
		if err != nil {
			return s.finishFailed(ctx, tx, &p, err.Error())
		}
		return s.finishPaid(ctx, tx, &p, txn)
	})
	if finished && err2 == nil {
		s.observed(p)
	}
	return p, finished && err2 == nil, err2
}

// observed tells the observer of a payout's recorded outcome.
func (s *Service) observed(p Payout) {
	if s.observer != nil {
		s.observer.PayoutFinished(string(p.Method), string(p.Status))
	}
}

// finishPaid marks a pending payout paid and its rewards' referrals REWARDED.
func (s *Service) finishPaid(ctx context.Context, tx Store, p *Payout, txn string) error {
	now := s.clock()
	ok, err := tx.FinishPayout(ctx, p.ID, PayoutPaid, txn, "", now)
	if err != nil || !ok {
		return err
	}
	if err := tx.MarkPayoutReferralsRewarded(ctx, p.ID, now); err != nil {
		return fmt.Errorf("mark referrals rewarded: %w", err)
	}
	p.Status, p.StripeTransactionID, p.PaidAt, p.UpdatedAt = PayoutPaid, txn, &now, now
	return s.emit(ctx, tx, EventPayoutPaid, p.UserID, *p, now)
}

// finishFailed marks a pending payout failed, returns its amount to the
// balance and releases its rewards for a later payout.
func (s *Service) finishFailed(ctx context.Context, tx Store, p *Payout, reason string) error {
	now := s.clock()
	ok, err := tx.FinishPayout(ctx, p.ID, PayoutFailed, "", reason, now)
	if err != nil || !ok {
		return err
	}
	if err := tx.ReleasePayoutRewards(ctx, p.ID); err != nil {
		return fmt.Errorf("release rewards: %w", err)
	}
	if err := s.appendEntry(ctx, tx, LedgerEntry{
		UserID: p.UserID, Currency: p.Currency, Type: EntryPayout, Amount: p.Amount, PayoutID: p.ID,
		AvailableAt: now, CreatedAt: now, Description: fmt.Sprintf("payout %s failed; amount returned", p.ID),
	}); err != nil {
		return err
	}
	p.Status, p.FailureReason, p.UpdatedAt = PayoutFailed, reason, now
	return s.emit(ctx, tx, EventPayoutFailed, p.UserID, *p, now)
}

// Payout returns one payout; ErrPayoutMissing when there is none.
func (s *Service) Payout(ctx context.Context, id string) (Payout, error) {
	p, err := s.store.PayoutByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Payout{}, ErrPayoutMissing
	}
	return p, err
}

// ListPayouts returns a page of payouts, newest first, and whether more follow.
func (s *Service) ListPayouts(ctx context.Context, f PayoutFilter) ([]Payout, bool, error) {
	return page(f.Limit, func(n int) ([]Payout, error) {
		f.Limit = n
		return s.store.ListPayouts(ctx, f)
	})
}

// RunReport counts what a payout run did.
type RunReport struct {
	Paid, Pending, Failed, Skipped int
	// Amounts maps currency → amount paid in this run.
	Amounts map[string]int64
}

// RunPayouts resumes pending Stripe payouts, then pays every user whose
// available balance is at least minAmount as Stripe credit (users without a
// known Stripe customer are skipped: they need a manual payout). Several
// replicas may run it at once: the balance lock lets one pay each balance,
// and the others find nothing left to pay.
func (s *Service) RunPayouts(ctx context.Context, minAmount int64) (RunReport, error) {
	rep := RunReport{Amounts: map[string]int64{}}
	count := func(p Payout) {
		switch p.Status {
		case PayoutPaid:
			rep.Paid++
			rep.Amounts[p.Currency] += p.Amount
		case PayoutFailed:
			rep.Failed++
		default:
			rep.Pending++
		}
	}
	pending, err := s.store.ListPayouts(ctx, PayoutFilter{Status: PayoutPending, Limit: 1000})
	if err != nil {
		return rep, fmt.Errorf("list pending payouts: %w", err)
	}
	for _, p := range pending {
		done, finished, err := s.complete(ctx, p.ID)
		if err != nil {
			return rep, err
		}
		if finished || done.Status == PayoutPending {
			count(done) // not a payout another run or request just finished
		}
	}
	if s.credits == nil {
		return rep, nil
	}
	candidates, err := s.store.PayableBalances(ctx, max(minAmount, 1))
	if err != nil {
		return rep, fmt.Errorf("list payable balances: %w", err)
	}
	for _, b := range candidates {
		p, _, finished, err := s.requestPayout(ctx, PayoutRequest{UserID: b.UserID, Currency: b.Currency, Method: PayoutStripeCredit, MinAmount: minAmount})
		switch {
		case errors.Is(err, ErrNothingToPay), errors.Is(err, ErrStripeCustomerUnknown):
			rep.Skipped++
		case err != nil:
			return rep, fmt.Errorf("pay %s in %s: %w", b.UserID, b.Currency, err)
		case finished || p.Status == PayoutPending:
			count(p)
		}
	}
	return rep, nil
}

// discardLogger is used when no logger is given.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
