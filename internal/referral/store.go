package referral

import (
	"context"
	"time"
)

// Store is the persistence the referral service needs. Every uniqueness rule
// the service relies on is enforced by the store's database constraints: the
// Create* methods report false, not an error, when a constraint already holds a
// row, so concurrent callers converge on one winner.
type Store interface {
	// InTx runs fn in one database transaction, passing a Store bound to it.
	//
	// Lock order. Every transaction that changes money or referrals takes
	// its locks in this order, so that no mix of them can deadlock:
	//  1. payment keys (LockPaymentKeys), all keys of the payments it
	//     touches, in sorted order, in one call;
	//  2. the accounts of the users whose referrals, rewards or balances
	//     change (LockAccounts), in one call: the referrer's and, where
	//     the friend's credit can change (attribution, qualification,
	//     settling or cancelling a referral), the referred friend's;
	//  3. then rows, all owned by those payments and accounts: referral
	//     (and, through its trigger, the referrer's status totals), rewards,
	//     ledger and balance, payouts, daily counters.
	// Click batches touch recent visitors and daily counters of many
	// referrers, each in sorted order, and hold nothing a money transaction
	// waits for. Program changes lock one program row (LockProgram) and
	// write only programs and their history; money transactions read
	// programs without locking them, so neither waits for the other.
	InTx(ctx context.Context, fn func(tx Store) error) error

	// LockAccounts takes the transaction-scoped lock of each user's account
	// (step 2 of the lock order). Every change of a user's referrals as
	// referrer, rewards, ledger, balance or payouts holds it.
	LockAccounts(ctx context.Context, userIDs ...string) error

	// CodeByUser returns the user's code in a program.
	CodeByUser(ctx context.Context, userID, programID string) (Code, error)
	CodeByValue(ctx context.Context, code string) (Code, error)
	// CreateCode inserts c (and its alias); false when the user already has a
	// code in its program or the code is taken (now or formerly, by anyone).
	CreateCode(ctx context.Context, c Code) (bool, error)

	// CreateReferral inserts r; false when the referred user already has a referral.
	CreateReferral(ctx context.Context, r Referral) (bool, error)
	ReferralByID(ctx context.Context, id string) (Referral, error)
	ReferralByReferredUser(ctx context.Context, userID string) (Referral, error)
	// QualifyReferral moves a PENDING referral to QUALIFIED; false when it was not PENDING.
	QualifyReferral(ctx context.Context, id string, q Qualification) (bool, error)
	ReferralStats(ctx context.Context, referrerID string) ([]StatRow, error)
	ListReferrals(ctx context.Context, f ReferralFilter) ([]Referral, error)

	// PaymentsByKeys returns the stored payments (not merged into another)
	// that any of keys leads to, each with all its keys, oldest first.
	PaymentsByKeys(ctx context.Context, keys []string) ([]Payment, error)
	// PaymentByID returns one stored payment, merged or not, with its keys.
	PaymentByID(ctx context.Context, id string) (Payment, error)
	// CreatePayment inserts p and makes p.Keys lead to it; the caller holds
	// the keys' locks and found that none leads to a payment yet.
	CreatePayment(ctx context.Context, p Payment) error
	// LearnPayment makes keys lead to the stored payment id and fills in the
	// Stripe ids, customer and user it did not have from learned.
	LearnPayment(ctx context.Context, id string, learned Payment, keys []string) error
	// MergePayment records that loser is the same payment as survivor: every
	// key of loser then leads to survivor.
	MergePayment(ctx context.Context, loserID, survivorID string) error
	// UnattributedPayments returns a Stripe customer's payments whose user
	// is not known yet.
	UnattributedPayments(ctx context.Context, customerID string) ([]Payment, error)
	// MarkPaymentQualified records that payment id earned a reward of referral referralID.
	MarkPaymentQualified(ctx context.Context, paymentID, referralID string) error

	// CreateReward inserts a reward.
	CreateReward(ctx context.Context, r Reward) error
	// AppendLedger writes an entry and moves the cached balance by its amount.
	AppendLedger(ctx context.Context, e LedgerEntry) error
	// BalanceViews returns the user's balances, with what is still on hold at now.
	BalanceViews(ctx context.Context, userID string, now time.Time) ([]BalanceView, error)
	ListLedger(ctx context.Context, f LedgerFilter) ([]LedgerEntry, error)

	// LockPaymentKeys serialises the transactions that touch one payment: it
	// locks a row per key (payment id and each Stripe id), in sorted order
	// (step 1 of the lock order).
	LockPaymentKeys(ctx context.Context, keys []string) error
	// SaveClaim stores c or merges it into the stored claim with its id (a
	// larger cumulative refund, a dispute moving from open to closed); changed
	// is false when nothing new was learned. It returns the stored claim.
	SaveClaim(ctx context.Context, c Claim) (stored Claim, changed bool, err error)
	// ClaimsForPayment returns the claims naming any of p's identifiers.
	ClaimsForPayment(ctx context.Context, p Payment) ([]Claim, error)
	// RewardByPayment returns the payment's reward.
	RewardByPayment(ctx context.Context, paymentID string) (Reward, error)
	// RewardsOfReferral returns the rewards a referral earned, oldest first.
	RewardsOfReferral(ctx context.Context, referralID string) ([]Reward, error)
	// UpdateRewardKept also reports whether the reward's availability was
	// announced (reward.available).
	UpdateRewardKept(ctx context.Context, id string, kept, refunded int64) (announced bool, err error)
	// CancelReferral marks a referral cancelled by an operator, if its status
	// is still from; false when it changed meanwhile.
	CancelReferral(ctx context.Context, id string, from Status, reason string) (bool, error)
	// SettleReferral sets a referral's status and its reward amount to the
	// sum its rewards keep, and returns it.
	SettleReferral(ctx context.Context, id string, status Status) (Referral, error)
	// CountRewards counts the rewards a referral has earned, but for those of
	// payments merged into another.
	CountRewards(ctx context.Context, referralID string) (int, error)

	// CreatePayout inserts p; false when its idempotency key is taken.
	CreatePayout(ctx context.Context, p Payout) (bool, error)
	PayoutByID(ctx context.Context, id string) (Payout, error)
	PayoutByIdempotencyKey(ctx context.Context, key string) (Payout, error)
	SetPayoutAmount(ctx context.Context, id string, amount int64) error
	// ClaimRewardsForPayout assigns the user's unpaid rewards, standing
	// milestone bonuses and friend credits in currency whose hold ended by now to the payout
	// (locking them).
	ClaimRewardsForPayout(ctx context.Context, userID, currency, payoutID string, now time.Time) error
	// FinishPayout moves a pending payout to paid or failed; false when it
	// was no longer pending.
	FinishPayout(ctx context.Context, id string, status PayoutStatus, txn, reason string, at time.Time) (bool, error)
	MarkPayoutReferralsRewarded(ctx context.Context, payoutID string, at time.Time) error
	ReleasePayoutRewards(ctx context.Context, payoutID string) error
	ListPayouts(ctx context.Context, f PayoutFilter) ([]Payout, error)
	// PayableBalances lists balances of at least minAmount (before holds).
	PayableBalances(ctx context.Context, minAmount int64) ([]BalanceView, error)
	StripeCustomerOfUser(ctx context.Context, userID string) (string, error)

	// ClaimAlias makes code resolve to the code row codeID; false when the
	// code already resolves somewhere (possibly to the same row).
	ClaimAlias(ctx context.Context, code, codeID, userID string, at time.Time) (bool, error)
	// SetCurrentCode makes code the row's current code.
	SetCurrentCode(ctx context.Context, codeID, code string) error
	// ClaimUniqueVisits records, for each visitor, at as their last unique
	// click if they had none in the window before it, and reports those it
	// recorded. RecentVisitors returns the last unique click, if at or
	// after since, of each of the visitors; NoteUniqueVisits records later
	// ones (a later time wins), and PruneRecentVisitors forgets visitors
	// last seen before before.
	ClaimUniqueVisits(ctx context.Context, visits map[Visitor]time.Time, window time.Duration) (map[Visitor]bool, error)
	RecentVisitors(ctx context.Context, visitors []Visitor, since time.Time) (map[Visitor]time.Time, error)
	NoteUniqueVisits(ctx context.Context, visits map[Visitor]time.Time) error
	PruneRecentVisitors(ctx context.Context, before time.Time) error
	InsertClicks(ctx context.Context, clicks []Click) error
	// MarkClickBatch records, in the batch's transaction, that the batch
	// whose first click has this id is stored; false if it already was.
	MarkClickBatch(ctx context.Context, firstClickID string, at time.Time) (bool, error)
	// PruneClickBatches forgets batches marked before before.
	PruneClickBatches(ctx context.Context, before time.Time) error
	// AddDaily adds d's counts to the referrer's counters of day.
	AddDaily(ctx context.Context, referrerID, day string, d Daily) error
	// DailyTotals sums a referrer's daily counters over all days.
	DailyTotals(ctx context.Context, referrerID string) (Daily, error)
	// DailyRange sums the counters per day between the dates (inclusive),
	// of one referrer or, with referrerID empty, of everyone.
	DailyRange(ctx context.Context, referrerID, fromDay, toDay string) ([]Daily, error)
	// DailyRewardRange sums rewards per day and currency likewise.
	DailyRewardRange(ctx context.Context, referrerID, fromDay, toDay string) ([]DailyReward, error)
	// CountRewarded counts referrals whose reward was paid in [from, to).
	CountRewarded(ctx context.Context, from, to time.Time) (int64, error)
	// TopReferrers ranks referrers since fromDay by qualified, then signups.
	TopReferrers(ctx context.Context, fromDay string, limit int) ([]Leader, error)
	// RewardsOf sums the users' rewards per currency since fromDay.
	RewardsOf(ctx context.Context, userIDs []string, fromDay string) (map[string]map[string]int64, error)
	// AddDailyReward adds amount to the referrer's rewards of day in currency.
	AddDailyReward(ctx context.Context, referrerID, day, currency string, amount int64) error

	// RecordStripeEvent marks an event processed; false when it already was.
	RecordStripeEvent(ctx context.Context, e StripeEvent) (bool, error)
	// LinkStripeCustomer remembers that a Stripe customer is a product user.
	// The first link learned for a customer is kept.
	LinkStripeCustomer(ctx context.Context, customerID, userID string, at time.Time) error
	UserByStripeCustomer(ctx context.Context, customerID string) (string, error)

	// ProgramByID returns one program as stored.
	ProgramByID(ctx context.Context, id string) (Program, error)
	// LockProgram returns a program, locking its row until the transaction
	// ends (program changes are serialised per program; money transactions
	// only read programs and take no program lock).
	LockProgram(ctx context.Context, id string) (Program, error)
	// ListPrograms returns up to f.Limit programs: the default first, then
	// newest first.
	ListPrograms(ctx context.Context, f ProgramFilter) ([]Program, error)
	CreateProgram(ctx context.Context, p Program) error
	// UpdateProgram stores p's name, status, manager and rules.
	UpdateProgram(ctx context.Context, p Program) error
	AppendProgramChange(ctx context.Context, c ProgramChange) error
	// CountEarningReferrals counts a referrer's QUALIFIED and REWARDED
	// referrals in a program.
	CountEarningReferrals(ctx context.Context, referrerID, programID string) (int, error)
	// LiveBonuses returns a referrer's milestone bonuses in a program that
	// stand (granted, not reversed), paid out or not.
	LiveBonuses(ctx context.Context, referrerID, programID string) ([]MilestoneBonus, error)
	// CreateBonus records a granted bonus; false when the milestone already
	// has one that stands.
	CreateBonus(ctx context.Context, b MilestoneBonus) (bool, error)
	// ReverseBonus marks a standing bonus not yet paid out reversed; false
	// when it was paid out or reversed meanwhile.
	ReverseBonus(ctx context.Context, id string, at time.Time) (bool, error)
	// FriendCreditOf returns the standing (granted, not reversed) credit
	// of a referral's friend; ErrNotFound when none.
	FriendCreditOf(ctx context.Context, referralID string) (FriendCreditGrant, error)
	// ReversedFriendCreditOf returns the referral's latest reversed credit;
	// ErrNotFound when there is none.
	ReversedFriendCreditOf(ctx context.Context, referralID string) (FriendCreditGrant, error)
	// CodePromotionOf returns a referrer code's promotion code on a coupon;
	// ErrNotFound when there is none.
	CodePromotionOf(ctx context.Context, codeID, couponID string) (CodePromotion, error)
	// SaveCodePromotion records one unless the code and coupon have one.
	SaveCodePromotion(ctx context.Context, p CodePromotion) error
	// CreateFriendCredit records a granted credit; false when the referral
	// has a standing one.
	CreateFriendCredit(ctx context.Context, c FriendCreditGrant) (bool, error)
	// ReverseFriendCredit marks a standing credit not yet paid out
	// reversed; false when it was paid out or reversed meanwhile.
	ReverseFriendCredit(ctx context.Context, id string, at time.Time) (bool, error)
	// OverrideOf returns a referrer's override in a program; ErrNotFound when none.
	OverrideOf(ctx context.Context, userID, programID string) (Override, error)
	// SaveOverride creates or replaces an override.
	SaveOverride(ctx context.Context, o Override) error
	// DeleteOverride removes an override; false when there was none.
	DeleteOverride(ctx context.Context, userID, programID string) (bool, error)
	// ProgramChanges returns up to limit of a program's changes, newest
	// first, before beforeID (empty: from the newest).
	ProgramChanges(ctx context.Context, programID, beforeID string, limit int) ([]ProgramChange, error)

	// AppendEvent stores an event in the caller's transaction.
	AppendEvent(ctx context.Context, e Event) error
	// EventByID returns one event (Seq 0 while not yet dispatched).
	EventByID(ctx context.Context, id string) (Event, error)
	// ListEvents lists dispatched events: of f.UserID newest first before
	// f.BeforeSeq, else all oldest first after f.AfterSeq; of f.Type only
	// when set; up to f.Limit.
	ListEvents(ctx context.Context, f EventFilter) ([]Event, error)
	// ClaimAvailableRewards marks up to limit rewards whose hold ended by
	// now and that were not announced yet as announced, and returns them;
	// rewards another transaction holds are skipped.
	ClaimAvailableRewards(ctx context.Context, now time.Time, limit int) ([]Reward, error)
}
