package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/refhub/referral-service/internal/referral"
)

// Program is a program row; its rules are a JSON document (rulesDoc).
type Program struct {
	ID        string `gorm:"primaryKey"`
	Name      string
	IsDefault bool
	Status    string
	ManagedBy string
	Rules     string
	CreatedAt time.Time
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

// ProgramChange is one entry of a program's history.
type ProgramChange struct {
	ID        string `gorm:"primaryKey"`
	ProgramID string
	Action    string
	Subject   string
	Program   string
	Override  *string
	CreatedAt time.Time
}

// ReferrerOverride is a referrer's own percent in a program.
type ReferrerOverride struct {
	UserID       string `gorm:"primaryKey"`
	ProgramID    string `gorm:"primaryKey"`
	PercentUnits int64
	SetBy        string
	CreatedAt    time.Time
	UpdatedAt    time.Time `gorm:"autoUpdateTime:false"`
}

// overrideDoc is an override change as a history entry stores it.
type overrideDoc struct {
	UserID  string  `json:"userId"`
	Percent *string `json:"percent"`
}

// rulesDoc is how a program's rules are stored: a storage format of this
// package (the API's wire types live in pkg/referralapi).
type rulesDoc struct {
	Percent    string           `json:"percent"`
	Fixed      referral.Amounts `json:"fixedAmount,omitempty"`
	Max        referral.Amounts `json:"maxAmount,omitempty"`
	MinPayment referral.Amounts `json:"minPayment,omitempty"`
	Payments   int              `json:"payments"`
	HoldDays   int              `json:"holdDays"`
	Friend     string           `json:"friendReward"`
	Credit     *creditDoc       `json:"friendCredit,omitempty"`
	Discount   *discountDoc     `json:"friendDiscount,omitempty"`
	Milestones []milestoneDoc   `json:"milestones,omitempty"`
}

type discountDoc struct {
	PercentOff            string           `json:"percentOff,omitempty"`
	AmountOff             referral.Amounts `json:"amountOff,omitempty"`
	Duration              string           `json:"duration"`
	DurationMonths        int              `json:"durationMonths,omitempty"`
	Code                  string           `json:"code,omitempty"`
	PerReferrerCode       bool             `json:"perReferrerCode,omitempty"`
	StripeCouponID        string           `json:"stripeCouponId"`
	StripePromotionCodeID string           `json:"stripePromotionCodeId"`
	PromotionCode         string           `json:"promotionCode"`
}

type creditDoc struct {
	Amount referral.Amounts `json:"amount"`
	When   string           `json:"when"`
}

type milestoneDoc struct {
	QualifiedReferrals int              `json:"qualifiedReferrals"`
	Bonus              referral.Amounts `json:"bonus"`
}

// programDoc is a whole program as a history entry stores it.
type programDoc struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Default   bool      `json:"default"`
	Status    string    `json:"status"`
	ManagedBy string    `json:"managedBy"`
	Rules     rulesDoc  `json:"rules"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// programOrDefault maps an empty program id to the default program.
func programOrDefault(id string) string {
	if id == "" {
		return referral.DefaultProgramID
	}
	return id
}

func toRulesDoc(p referral.Program) rulesDoc {
	r := p.Referrer
	d := rulesDoc{
		Percent: r.Percent.String(), Fixed: r.Fixed, Max: r.Max, MinPayment: r.MinPayment,
		Payments: r.Payments, HoldDays: r.HoldDays, Friend: string(p.Friend.Type),
	}
	for _, m := range p.Milestones {
		d.Milestones = append(d.Milestones, milestoneDoc{QualifiedReferrals: m.QualifiedReferrals, Bonus: m.Bonus})
	}
	if c := p.Friend.Credit; c != nil {
		d.Credit = &creditDoc{Amount: c.Amount, When: c.When}
	}
	if x := p.Friend.Discount; x != nil {
		d.Discount = &discountDoc{AmountOff: x.AmountOff, Duration: x.Duration, DurationMonths: x.DurationMonths, Code: x.Code,
			PerReferrerCode: x.PerReferrerCode, StripeCouponID: x.StripeCouponID, StripePromotionCodeID: x.StripePromotionCodeID, PromotionCode: x.PromotionCode}
		if x.PercentOff != nil {
			d.Discount.PercentOff = x.PercentOff.String()
		}
	}
	return d
}

func (d rulesDoc) apply(p *referral.Program) error {
	pct, err := referral.ParsePercent(d.Percent)
	if err != nil {
		return fmt.Errorf("stored percent: %w", err)
	}
	orEmpty := func(a referral.Amounts) referral.Amounts {
		if a == nil {
			return referral.Amounts{}
		}
		return a
	}
	p.Referrer = referral.ReferrerReward{
		Percent: pct, Fixed: orEmpty(d.Fixed), Max: orEmpty(d.Max), MinPayment: orEmpty(d.MinPayment),
		Payments: d.Payments, HoldDays: d.HoldDays,
	}
	p.Friend = referral.FriendReward{Type: referral.FriendRewardType(d.Friend)}
	if p.Friend.Type == "" {
		p.Friend.Type = referral.FriendNone
	}
	if d.Credit != nil {
		p.Friend.Credit = &referral.CreditReward{Amount: orEmpty(d.Credit.Amount), When: d.Credit.When}
	}
	if x := d.Discount; x != nil {
		p.Friend.Discount = &referral.Discount{AmountOff: orEmpty(x.AmountOff), Duration: x.Duration, DurationMonths: x.DurationMonths,
			Code: x.Code, PerReferrerCode: x.PerReferrerCode, StripeCouponID: x.StripeCouponID, StripePromotionCodeID: x.StripePromotionCodeID, PromotionCode: x.PromotionCode}
		if x.PercentOff != "" {
			pct, err := referral.ParsePercent(x.PercentOff)
			if err != nil {
				return fmt.Errorf("stored percentOff: %w", err)
			}
			p.Friend.Discount.PercentOff = &pct
		}
	}
	p.Milestones = make([]referral.Milestone, len(d.Milestones))
	for i, m := range d.Milestones {
		p.Milestones[i] = referral.Milestone{QualifiedReferrals: m.QualifiedReferrals, Bonus: orEmpty(m.Bonus)}
	}
	return nil
}

func programModel(p referral.Program) (Program, error) {
	rules, err := json.Marshal(toRulesDoc(p))
	if err != nil {
		return Program{}, err
	}
	return Program{
		ID: p.ID, Name: p.Name, IsDefault: p.Default, Status: string(p.Status), ManagedBy: p.ManagedBy,
		Rules: string(rules), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}, nil
}

func (m Program) toDomain() (referral.Program, error) {
	p := referral.Program{
		ID: m.ID, Name: m.Name, Default: m.IsDefault, Status: referral.ProgramStatus(m.Status), ManagedBy: m.ManagedBy,
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	if m.ManagedBy == referral.ManagedByEnvironment && (m.Rules == "" || m.Rules == "{}") {
		// Never recorded yet: the service fills in the environment's rules.
		p.Friend.Type = referral.FriendNone
		p.Milestones = []referral.Milestone{}
		return p, nil
	}
	var d rulesDoc
	if err := json.Unmarshal([]byte(m.Rules), &d); err != nil {
		return referral.Program{}, fmt.Errorf("program %s rules: %w", m.ID, err)
	}
	if err := d.apply(&p); err != nil {
		return referral.Program{}, fmt.Errorf("program %s: %w", m.ID, err)
	}
	return p, nil
}

// ProgramByID returns one program.
func (s *Store) ProgramByID(ctx context.Context, id string) (referral.Program, error) {
	var m Program
	if err := s.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return referral.Program{}, notFound(err)
	}
	return m.toDomain()
}

// LockProgram returns a program and locks its row (FOR NO KEY UPDATE on
// PostgreSQL, which rows referring to the program by foreign key do not
// wait for: money transactions never queue behind a program change;
// SQLite's transactions are serial already).
func (s *Store) LockProgram(ctx context.Context, id string) (referral.Program, error) {
	q := s.with(ctx).Where("id = ?", id)
	if s.dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	var m Program
	if err := q.Take(&m).Error; err != nil {
		return referral.Program{}, notFound(err)
	}
	return m.toDomain()
}

// ListPrograms returns up to f.Limit programs, the default first, then
// newest first (the default program's id sorts above generated ones).
func (s *Store) ListPrograms(ctx context.Context, f referral.ProgramFilter) ([]referral.Program, error) {
	q := s.with(ctx)
	if f.BeforeID != "" {
		q = q.Where("id < ?", f.BeforeID)
	}
	var ms []Program
	if err := q.Order("id DESC").Limit(f.Limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list programs: %w", err)
	}
	out := make([]referral.Program, len(ms))
	for i, m := range ms {
		p, err := m.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// CreateProgram inserts a program.
func (s *Store) CreateProgram(ctx context.Context, p referral.Program) error {
	m, err := programModel(p)
	if err != nil {
		return err
	}
	return s.with(ctx).Create(&m).Error
}

// UpdateProgram stores a program's name, status, manager and rules.
func (s *Store) UpdateProgram(ctx context.Context, p referral.Program) error {
	m, err := programModel(p)
	if err != nil {
		return err
	}
	return s.with(ctx).Model(&Program{}).Where("id = ?", p.ID).Updates(map[string]any{
		"name": m.Name, "status": m.Status, "managed_by": m.ManagedBy, "rules": m.Rules, "updated_at": m.UpdatedAt,
	}).Error
}

// AppendProgramChange records a change of a program.
func (s *Store) AppendProgramChange(ctx context.Context, c referral.ProgramChange) error {
	doc, err := json.Marshal(programDoc{
		ID: c.Program.ID, Name: c.Program.Name, Default: c.Program.Default, Status: string(c.Program.Status),
		ManagedBy: c.Program.ManagedBy, Rules: toRulesDoc(c.Program), CreatedAt: c.Program.CreatedAt, UpdatedAt: c.Program.UpdatedAt,
	})
	if err != nil {
		return err
	}
	m := ProgramChange{ID: c.ID, ProgramID: c.ProgramID, Action: c.Action, Subject: c.Subject, Program: string(doc), CreatedAt: c.CreatedAt}
	if oc := c.Override; oc != nil {
		od := overrideDoc{UserID: oc.UserID}
		if oc.Percent != nil {
			pct := oc.Percent.String()
			od.Percent = &pct
		}
		raw, err := json.Marshal(od)
		if err != nil {
			return err
		}
		m.Override = nullable(string(raw))
	}
	return s.with(ctx).Create(&m).Error
}

// ProgramChanges returns up to limit of a program's changes, newest first.
func (s *Store) ProgramChanges(ctx context.Context, programID, beforeID string, limit int) ([]referral.ProgramChange, error) {
	q := s.with(ctx).Where("program_id = ?", programID)
	if beforeID != "" {
		q = q.Where("id < ?", beforeID)
	}
	var ms []ProgramChange
	if err := q.Order("id DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("program changes of %s: %w", programID, err)
	}
	out := make([]referral.ProgramChange, len(ms))
	for i, m := range ms {
		var d programDoc
		if err := json.Unmarshal([]byte(m.Program), &d); err != nil {
			return nil, fmt.Errorf("program change %s: %w", m.ID, err)
		}
		p := referral.Program{
			ID: d.ID, Name: d.Name, Default: d.Default, Status: referral.ProgramStatus(d.Status), ManagedBy: d.ManagedBy,
			CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		}
		if err := d.Rules.apply(&p); err != nil {
			return nil, fmt.Errorf("program change %s: %w", m.ID, err)
		}
		out[i] = referral.ProgramChange{ID: m.ID, ProgramID: m.ProgramID, Action: m.Action, Subject: m.Subject, Program: p, CreatedAt: m.CreatedAt.UTC()}
		if m.Override != nil {
			var od overrideDoc
			if err := json.Unmarshal([]byte(*m.Override), &od); err != nil {
				return nil, fmt.Errorf("program change %s override: %w", m.ID, err)
			}
			oc := &referral.OverrideChange{UserID: od.UserID}
			if od.Percent != nil {
				pct, err := referral.ParsePercent(*od.Percent)
				if err != nil {
					return nil, fmt.Errorf("program change %s override: %w", m.ID, err)
				}
				oc.Percent = &pct
			}
			out[i].Override = oc
		}
	}
	return out, nil
}

// OverrideOf returns a referrer's override in a program.
func (s *Store) OverrideOf(ctx context.Context, userID, programID string) (referral.Override, error) {
	var m ReferrerOverride
	if err := s.with(ctx).Where("user_id = ? AND program_id = ?", userID, programID).Take(&m).Error; err != nil {
		return referral.Override{}, notFound(err)
	}
	return referral.Override{
		UserID: m.UserID, ProgramID: m.ProgramID, Percent: referral.PercentFromUnits(m.PercentUnits), SetBy: m.SetBy,
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}, nil
}

// SaveOverride creates or replaces an override.
func (s *Store) SaveOverride(ctx context.Context, o referral.Override) error {
	m := ReferrerOverride{UserID: o.UserID, ProgramID: o.ProgramID, PercentUnits: o.Percent.Units(), SetBy: o.SetBy, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
	return s.with(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}, {Name: "program_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"percent_units", "set_by", "updated_at"}),
	}).Create(&m).Error
}

// DeleteOverride removes an override.
func (s *Store) DeleteOverride(ctx context.Context, userID, programID string) (bool, error) {
	res := s.with(ctx).Where("user_id = ? AND program_id = ?", userID, programID).Delete(&ReferrerOverride{})
	return res.RowsAffected == 1, res.Error
}

// CodePromotion is a referrer code's promotion code on a coupon.
type CodePromotion struct {
	CodeID                string `gorm:"primaryKey"`
	CouponID              string `gorm:"primaryKey"`
	StripePromotionCodeID string
	PromotionCode         string
	CreatedAt             time.Time
}

// CodePromotionOf returns the promotion code of a referrer code on a
// coupon; ErrNotFound when none was recorded.
func (s *Store) CodePromotionOf(ctx context.Context, codeID, couponID string) (referral.CodePromotion, error) {
	var m CodePromotion
	if err := s.with(ctx).Where("code_id = ? AND coupon_id = ?", codeID, couponID).Take(&m).Error; err != nil {
		return referral.CodePromotion{}, notFound(err)
	}
	return referral.CodePromotion{CodeID: m.CodeID, CouponID: m.CouponID, StripePromotionCodeID: m.StripePromotionCodeID,
		PromotionCode: m.PromotionCode, CreatedAt: m.CreatedAt.UTC()}, nil
}

// SaveCodePromotion records a promotion code unless one is recorded for
// the code and coupon (two requests creating it at once got the same
// object from Stripe, under one idempotency key).
func (s *Store) SaveCodePromotion(ctx context.Context, p referral.CodePromotion) error {
	m := CodePromotion{CodeID: p.CodeID, CouponID: p.CouponID, StripePromotionCodeID: p.StripePromotionCodeID,
		PromotionCode: p.PromotionCode, CreatedAt: p.CreatedAt}
	return s.with(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error
}
