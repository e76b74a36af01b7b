package referral

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultProgramID is the id of the default program: codes and referrals
// that name no program belong to it. It exists from the migration that
// introduced programs on, and cannot be archived.
const DefaultProgramID = "prog_default"

// AnyCurrency is the key of an Amounts entry that applies to every
// currency not listed on its own. The default program built from REWARD_*
// uses it: those variables are amounts in whatever currency is paid.
const AnyCurrency = "*"

// ProgramStatus is whether a program takes new codes and referrals.
type ProgramStatus string

// Program states. An archived program takes no new codes or referrals; the
// referrals it has keep earning under its rules.
const (
	ProgramActive   ProgramStatus = "active"
	ProgramArchived ProgramStatus = "archived"
)

// Who manages a program's rules.
const (
	// ManagedByEnvironment: the rules are the running service's REWARD_*
	// variables (the default program until an operator changes it).
	ManagedByEnvironment = "environment"
	// ManagedByAPI: the rules are the stored ones.
	ManagedByAPI = "api"
)

// Amounts maps a lower-case currency (or AnyCurrency) to an amount in its
// minor units.
type Amounts map[string]int64

// For returns the amount for currency: its own entry, else AnyCurrency's, else 0.
func (a Amounts) For(currency string) int64 {
	if v, ok := a[currency]; ok {
		return v
	}
	return a[AnyCurrency]
}

// ReferrerReward is what a program pays the referrer for a referred user's
// payments.
type ReferrerReward struct {
	// Percent of each earning payment.
	Percent Percent
	// Fixed is added per earning payment; Max caps one reward (0 or absent:
	// no cap); MinPayment is the smallest payment that earns.
	Fixed, Max, MinPayment Amounts
	// Payments is how many of a referred user's payments earn (≥ 1).
	Payments int
	// HoldDays is how long a reward stays pending before payout.
	HoldDays int
}

// RuleFor is the rule a payment in currency earns under, as stored with
// each reward.
func (r ReferrerReward) RuleFor(currency string) RewardRule {
	return RewardRule{Percent: r.Percent, Fixed: r.Fixed.For(currency), Cap: r.Max.For(currency)}
}

// Hold is HoldDays as a duration.
func (r ReferrerReward) Hold() time.Duration { return time.Duration(r.HoldDays) * 24 * time.Hour }

// FriendRewardType is what the referred friend gets.
type FriendRewardType string

// Kinds of friend rewards.
const (
	FriendNone     FriendRewardType = "none"
	FriendDiscount FriendRewardType = "discount"
	FriendCredit   FriendRewardType = "credit"
)

// FriendReward is what a program gives the referred user.
type FriendReward struct {
	Type FriendRewardType
	// Credit is set for FriendCredit.
	Credit *CreditReward
	// Discount is set for FriendDiscount.
	Discount *Discount
}

// Discount durations, Stripe's.
const (
	DurationOnce      = "once"
	DurationRepeating = "repeating"
	DurationForever   = "forever"
)

// Discount is what the friend saves at checkout: a Stripe coupon (percent
// or amount off, for once, some months, or forever) and a promotion code
// pointing at it, created when the program gets the discount.
type Discount struct {
	// PercentOff (0 < p ≤ 100, two decimals at most) or AmountOff (one
	// currency), exactly one of them.
	PercentOff     *Percent
	AmountOff      Amounts
	Duration       string
	DurationMonths int
	// Code is the promotion code asked for (empty: Stripe makes one up).
	Code string
	// PerReferrerCode gives each referrer code of the program a promotion
	// code of its own on the program's coupon, spelled as the referral code
	// (the friend types the code they were given); the program's own
	// promotion code exists too.
	PerReferrerCode bool
	// What Stripe created: set by the service, never by a request.
	StripeCouponID        string
	StripePromotionCodeID string
	PromotionCode         string
}

// terms identify what a discount gives: two discounts with the same terms
// share their Stripe coupon and promotion code.
// sameAs reports whether d, as an operator sent it, is the discount cur
// already is: the same terms, and no code or cur's own (a program read and
// sent back unchanged names the code Stripe generated).
func (d Discount) sameAs(cur Discount) bool {
	a, b := d, cur
	a.Code, b.Code = "", ""
	return a.terms() == b.terms() && (d.Code == "" || d.Code == cur.Code || d.Code == cur.PromotionCode)
}

func (d Discount) terms() string {
	pct := ""
	if d.PercentOff != nil {
		pct = d.PercentOff.String()
	}
	cur, amount := d.amountOff()
	return fmt.Sprintf("%s|%s|%d|%s|%d|%s", pct, cur, amount, d.Duration, d.DurationMonths, d.Code)
}

// amountOff is the discount's one currency and amount (empty for percent).
func (d Discount) amountOff() (string, int64) {
	for cur, v := range d.AmountOff {
		return cur, v
	}
	return "", 0
}

// When a friend's credit is granted.
const (
	CreditAtSignup    = "signup"
	CreditAtQualified = "qualified"
)

// CreditReward is account credit for the referred friend: a ledger entry of
// theirs, held like rewards and paid out like any balance. At signup it is
// granted in the one currency Amount names; on qualification in the
// qualifying payment's currency (Amount.For). It is reversed if the
// referral is cancelled before the credit is paid out.
type CreditReward struct {
	Amount Amounts
	When   string
}

// Equal reports whether two friend rewards are the same.
func (f FriendReward) Equal(g FriendReward) bool {
	if f.Type != g.Type || (f.Credit == nil) != (g.Credit == nil) || (f.Discount == nil) != (g.Discount == nil) {
		return false
	}
	if f.Discount != nil && (f.Discount.terms() != g.Discount.terms() || f.Discount.StripeCouponID != g.Discount.StripeCouponID) {
		return false
	}
	return f.Credit == nil || (f.Credit.When == g.Credit.When && maps.Equal(f.Credit.Amount, g.Credit.Amount))
}

// signupCurrency is the one currency a signup credit is granted in.
func (c CreditReward) signupCurrency() string {
	for cur := range c.Amount {
		return cur
	}
	return ""
}

// Milestone pays the referrer a fixed bonus once when their QUALIFIED and
// REWARDED referrals in the program reach QualifiedReferrals. The bonus is
// paid in the currency of the referral that reaches it (Bonus.For), held
// like rewards, and reversed if the count falls back below it (a refund,
// a lost dispute, a cancellation) before it is paid out.
type Milestone struct {
	QualifiedReferrals int
	Bonus              Amounts
}

// Program is a set of reward rules that codes and referrals belong to.
type Program struct {
	ID         string
	Name       string
	Default    bool
	Status     ProgramStatus
	ManagedBy  string
	Referrer   ReferrerReward
	Friend     FriendReward
	Milestones []Milestone
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Override gives one referrer another percent in one program (a partner
// at 30%): it replaces the program's percent for that referrer's rewards;
// the fixed part, cap, minimum, payments and hold stay the program's.
type Override struct {
	UserID    string
	ProgramID string
	Percent   Percent
	// SetBy is the subject of the operator who set it.
	SetBy     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProgramChange is one entry of a program's history: who changed it, when,
// and the program as it was after the change.
type ProgramChange struct {
	ID        string
	ProgramID string
	// Action is create, update, archive, environment (the service started
	// with REWARD_* values other than those recorded last), override_set or
	// override_removed.
	Action  string
	Subject string
	Program Program
	// Override is the referrer's override set (Percent) or removed (nil
	// Percent) by an override action.
	Override  *OverrideChange
	CreatedAt time.Time
}

// OverrideChange is what an override action changed.
type OverrideChange struct {
	UserID string
	// Percent is the new percent; nil when the override was removed.
	Percent *Percent
}

// Program change actions.
const (
	ChangeCreate      = "create"
	ChangeUpdate      = "update"
	ChangeArchive     = "archive"
	ChangeEnvironment = "environment"
	ChangeOverrideSet = "override_set"
	ChangeOverrideDel = "override_removed"
)

// ProgramFilter selects a page of programs.
type ProgramFilter struct {
	BeforeID string
	Limit    int
}

// RewardPatch changes some fields of a ReferrerReward; nil fields keep
// their values.
type RewardPatch struct {
	Percent    *string
	Fixed      *Amounts
	Max        *Amounts
	MinPayment *Amounts
	Payments   *int
	HoldDays   *int
}

// ProgramPatch changes some fields of a program (or describes a new one);
// nil fields keep their values.
type ProgramPatch struct {
	Name     *string
	Referrer *RewardPatch
	Friend   *FriendReward
	// Milestones, when set, replaces the milestones whole.
	Milestones *[]Milestone
}

// ValidationError lists what is wrong with a program, by field path
// ("referrerReward.percent"), for a 422.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := slices.Sorted(maps.Keys(e.Fields))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + e.Fields[k]
	}
	return "invalid program: " + strings.Join(parts, "; ")
}

// Program errors.
var (
	ErrProgramNotFound = errors.New("program not found")
	ErrProgramArchived = errors.New("the program is archived")
	ErrProgramDefault  = errors.New("the default program cannot be archived")
	// ErrProgramChanged: the friend's reward changed while this change of
	// it was being prepared at Stripe (another operator's change won).
	ErrProgramChanged  = errors.New("the program's friend reward changed meanwhile")
	ErrOverrideMissing = errors.New("the referrer has no override in this program")
)

// Limits of program values.
const (
	maxProgramName  = 100
	maxRewardAmount = 1_000_000_000_000
	maxPayments     = 1000
	maxHoldDays     = 3650
	maxMilestones   = 20
	maxMilestoneN   = 1_000_000
)

// apply returns p with patch applied and checks the result; errors are a
// *ValidationError.
func (patch ProgramPatch) apply(p Program) (Program, error) {
	bad := map[string]string{}
	if patch.Name != nil {
		p.Name = strings.TrimSpace(*patch.Name)
	}
	if p.Name == "" {
		bad["name"] = "is required"
	} else if utf8.RuneCountInString(p.Name) > maxProgramName {
		bad["name"] = fmt.Sprintf("is longer than %d characters", maxProgramName)
	}
	if rp := patch.Referrer; rp != nil {
		r := &p.Referrer
		if rp.Percent != nil {
			pct, err := ParsePercent(*rp.Percent)
			if err != nil || strings.TrimSpace(*rp.Percent) != *rp.Percent {
				bad["referrerReward.percent"] = "must be a decimal string between 0 and 100 with at most 4 decimals, e.g. \"12.5\""
			}
			r.Percent = pct
		}
		for _, f := range []struct {
			name string
			src  *Amounts
			dst  *Amounts
		}{{"fixedAmount", rp.Fixed, &r.Fixed}, {"maxAmount", rp.Max, &r.Max}, {"minPayment", rp.MinPayment, &r.MinPayment}} {
			if f.src != nil {
				*f.dst = maps.Clone(*f.src)
			}
		}
		if rp.Payments != nil {
			r.Payments = *rp.Payments
		}
		if rp.HoldDays != nil {
			r.HoldDays = *rp.HoldDays
		}
	}
	r := p.Referrer
	for name, a := range map[string]Amounts{"fixedAmount": r.Fixed, "maxAmount": r.Max, "minPayment": r.MinPayment} {
		checkAmounts(bad, "referrerReward."+name, a)
	}
	if r.Payments < 1 || r.Payments > maxPayments {
		bad["referrerReward.payments"] = fmt.Sprintf("must be between 1 and %d", maxPayments)
	}
	if r.HoldDays < 0 || r.HoldDays > maxHoldDays {
		bad["referrerReward.holdDays"] = fmt.Sprintf("must be between 0 and %d", maxHoldDays)
	}
	if _, bad1 := bad["referrerReward.percent"]; !bad1 && r.Percent.Units() == 0 && !anyPositive(r.Fixed) {
		bad["referrerReward.percent"] = "and fixedAmount are both zero: no referral would ever earn anything"
	}
	if patch.Milestones != nil {
		p.Milestones = slices.Clone(*patch.Milestones)
		for i := range p.Milestones {
			p.Milestones[i].Bonus = maps.Clone(p.Milestones[i].Bonus)
		}
		slices.SortStableFunc(p.Milestones, func(a, b Milestone) int { return a.QualifiedReferrals - b.QualifiedReferrals })
	}
	checkMilestones(bad, p.Milestones)
	if patch.Friend != nil {
		p.Friend = *patch.Friend
		if c := p.Friend.Credit; c != nil {
			p.Friend.Credit = &CreditReward{Amount: maps.Clone(c.Amount), When: c.When}
		}
		if d := p.Friend.Discount; d != nil {
			dd := *d
			dd.AmountOff = maps.Clone(d.AmountOff)
			p.Friend.Discount = &dd
		}
	}
	checkFriendReward(bad, p.Friend)
	if len(bad) > 0 {
		return Program{}, &ValidationError{Fields: bad}
	}
	return p, nil
}

// checkFriendReward records what is wrong with a friend's reward.
func checkFriendReward(bad map[string]string, f FriendReward) {
	switch f.Type {
	case FriendNone:
		if f.Credit != nil {
			bad["friendReward.credit"] = "is only for type credit"
		}
		if f.Discount != nil {
			bad["friendReward.discount"] = "is only for type discount"
		}
	case FriendCredit:
		c := f.Credit
		if c == nil {
			bad["friendReward.credit"] = "is required for type credit"
			return
		}
		checkAmounts(bad, "friendReward.credit.amount", c.Amount)
		if _, ok := bad["friendReward.credit.amount"]; !ok && !anyPositive(c.Amount) {
			bad["friendReward.credit.amount"] = "must be a positive amount in at least one currency"
		}
		switch c.When {
		case CreditAtQualified:
		case CreditAtSignup:
			// At signup no payment says the currency: the amount names one.
			if _, ok := bad["friendReward.credit.amount"]; !ok && (len(c.Amount) != 1 || c.Amount[AnyCurrency] != 0) {
				bad["friendReward.credit.amount"] = "must name exactly one currency (not \"*\") for a credit at signup"
			}
		default:
			bad["friendReward.credit.when"] = "must be signup or qualified"
		}
	case FriendDiscount:
		checkDiscount(bad, f.Discount)
	default:
		bad["friendReward.type"] = "must be none, discount or credit"
	}
}

// maxPromotionCode is the longest promotion code asked for.
const maxPromotionCode = 40

// checkDiscount refuses what Stripe would: it runs before any Stripe call.
func checkDiscount(bad map[string]string, d *Discount) {
	const f = "friendReward.discount"
	if d == nil {
		bad[f] = "is required for type discount"
		return
	}
	switch {
	case d.PercentOff != nil && len(d.AmountOff) > 0, d.PercentOff == nil && len(d.AmountOff) == 0:
		bad[f] = "needs exactly one of percentOff and amountOff"
	case d.PercentOff != nil && (d.PercentOff.Units() == 0 || d.PercentOff.Units()%100 != 0):
		bad[f+".percentOff"] = "must be above 0 and at most 100, with at most 2 decimals"
	case len(d.AmountOff) > 1:
		bad[f+".amountOff"] = "must name exactly one currency"
	case len(d.AmountOff) == 1:
		cur, v := d.amountOff()
		if !KnownCurrency(cur) {
			bad[f+".amountOff"] = fmt.Sprintf("has %q, not a lower-case ISO 4217 currency", cur)
		} else if v <= 0 || v > maxRewardAmount {
			bad[f+".amountOff"] = "must be a positive whole amount in minor units up to 10^12"
		}
	}
	switch d.Duration {
	case DurationOnce, DurationForever:
		if d.DurationMonths != 0 {
			bad[f+".durationMonths"] = "is only for duration repeating"
		}
	case DurationRepeating:
		if d.DurationMonths < 1 || d.DurationMonths > 120 {
			bad[f+".durationMonths"] = "must be between 1 and 120 for duration repeating"
		}
	default:
		bad[f+".duration"] = "must be once, repeating or forever"
	}
	if d.Code != "" && !validPromotionCode(d.Code) {
		bad[f+".promotionCode"] = fmt.Sprintf("must be 3-%d upper-case letters and digits", maxPromotionCode)
	}
}

func validPromotionCode(c string) bool {
	if len(c) < 3 || len(c) > maxPromotionCode {
		return false
	}
	for _, r := range c {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// checkMilestones records what is wrong with a program's milestones.
func checkMilestones(bad map[string]string, ms []Milestone) {
	if len(ms) > maxMilestones {
		bad["milestones"] = fmt.Sprintf("has more than %d milestones", maxMilestones)
		return
	}
	for i, m := range ms {
		field := fmt.Sprintf("milestones[%d]", i)
		switch {
		case m.QualifiedReferrals < 1 || m.QualifiedReferrals > maxMilestoneN:
			bad[field+".qualifiedReferrals"] = fmt.Sprintf("must be between 1 and %d", maxMilestoneN)
		case i > 0 && ms[i-1].QualifiedReferrals == m.QualifiedReferrals:
			bad[field+".qualifiedReferrals"] = fmt.Sprintf("%d is listed twice", m.QualifiedReferrals)
		}
		checkAmounts(bad, field+".bonus", m.Bonus)
		if _, ok := bad[field+".bonus"]; !ok && !anyPositive(m.Bonus) {
			bad[field+".bonus"] = "must pay a positive amount in at least one currency"
		}
	}
}

// checkAmounts records what is wrong with an amounts map under field.
func checkAmounts(bad map[string]string, field string, a Amounts) {
	for cur, v := range a {
		switch {
		case cur != AnyCurrency && !KnownCurrency(cur):
			bad[field] = fmt.Sprintf("has %q, not a lower-case ISO 4217 currency", cur)
		case v < 0 || v > maxRewardAmount:
			bad[field] = fmt.Sprintf("%s must be a whole amount in minor units between 0 and 10^12", cur)
		}
	}
}

func anyPositive(a Amounts) bool {
	for _, v := range a {
		if v > 0 {
			return true
		}
	}
	return false
}

// newProgramDefaults are the values of a new program's fields not sent.
func newProgramDefaults() Program {
	return Program{
		Status: ProgramActive, ManagedBy: ManagedByAPI, Friend: FriendReward{Type: FriendNone}, Milestones: []Milestone{},
		Referrer: ReferrerReward{Fixed: Amounts{}, Max: Amounts{}, MinPayment: Amounts{}, Payments: 1, HoldDays: 14},
	}
}

// environmentReward is the referrer reward the service's options (the
// REWARD_* variables) describe: their amounts apply to any currency.
func (s *Service) environmentReward() ReferrerReward {
	amounts := func(v int64) Amounts {
		if v == 0 {
			return Amounts{}
		}
		return Amounts{AnyCurrency: v}
	}
	return ReferrerReward{
		Percent: s.rule.Percent, Fixed: amounts(s.rule.Fixed), Max: amounts(s.rule.Cap), MinPayment: amounts(s.minPay),
		Payments: s.payN, HoldDays: int(s.hold / (24 * time.Hour)),
	}
}

// effective returns p with the rules in force: an environment-managed
// program's are the service's options.
func (s *Service) effective(p Program) Program {
	if p.ManagedBy == ManagedByEnvironment {
		p.Referrer = s.environmentReward()
		p.Friend = FriendReward{Type: FriendNone}
		p.Milestones = []Milestone{}
	}
	return p
}

// sameRules reports whether two programs pay the same.
func sameRules(a, b Program) bool {
	ra, rb := a.Referrer, b.Referrer
	return ra.Percent == rb.Percent && maps.Equal(ra.Fixed, rb.Fixed) && maps.Equal(ra.Max, rb.Max) &&
		maps.Equal(ra.MinPayment, rb.MinPayment) && ra.Payments == rb.Payments && ra.HoldDays == rb.HoldDays &&
		a.Friend.Equal(b.Friend) && slices.EqualFunc(a.Milestones, b.Milestones, func(x, y Milestone) bool {
		return x.QualifiedReferrals == y.QualifiedReferrals && maps.Equal(x.Bonus, y.Bonus)
	})
}
