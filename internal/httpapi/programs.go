package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func toProgram(p referral.Program) referralapi.Program {
	r := p.Referrer
	milestones := make([]referralapi.Milestone, len(p.Milestones))
	for i, m := range p.Milestones {
		milestones[i] = referralapi.Milestone{QualifiedReferrals: m.QualifiedReferrals, Bonus: amounts(m.Bonus)}
	}
	return referralapi.Program{
		ID: p.ID, Name: p.Name, Default: p.Default, Status: string(p.Status), ManagedBy: p.ManagedBy,
		ReferrerReward: referralapi.ReferrerReward{
			Percent: r.Percent.String(), FixedAmount: amounts(r.Fixed), MaxAmount: amounts(r.Max), MinPayment: amounts(r.MinPayment),
			Payments: r.Payments, HoldDays: r.HoldDays,
		},
		FriendReward: toFriendReward(p.Friend),
		Milestones:   milestones,
		CreatedAt:    p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func toFriendReward(f referral.FriendReward) referralapi.FriendReward {
	out := referralapi.FriendReward{Type: string(f.Type)}
	if d := f.Discount; d != nil {
		out.Discount = &referralapi.FriendDiscount{AmountOff: d.AmountOff, Duration: d.Duration, DurationMonths: d.DurationMonths,
			StripeCouponID: d.StripeCouponID, StripePromotionCodeID: d.StripePromotionCodeID, PromotionCode: d.PromotionCode,
			PerReferrerCode: d.PerReferrerCode}
		if d.PercentOff != nil {
			pct := d.PercentOff.String()
			out.Discount.PercentOff = &pct
		}
		if out.Discount.PromotionCode == "" {
			out.Discount.PromotionCode = d.Code
		}
	}
	if c := f.Credit; c != nil {
		out.Credit = &referralapi.FriendCredit{Amount: amounts(c.Amount), When: c.When}
	}
	return out
}

// amounts is never nil, so the wire shows {} rather than null.
func amounts(a referral.Amounts) map[string]int64 {
	out := make(map[string]int64, len(a))
	for k, v := range a {
		out[k] = v
	}
	return out
}

// toPatch converts the wire's change (create or update) to the domain's.
func toPatch(name *string, rr *referralapi.ReferrerRewardChange, fr *referralapi.FriendReward, ms *[]referralapi.Milestone) (referral.ProgramPatch, error) {
	patch := referral.ProgramPatch{Name: name}
	if ms != nil {
		list := make([]referral.Milestone, len(*ms))
		for i, m := range *ms {
			list[i] = referral.Milestone{QualifiedReferrals: m.QualifiedReferrals, Bonus: referral.Amounts(m.Bonus)}
		}
		patch.Milestones = &list
	}
	if rr != nil {
		conv := func(m *map[string]int64) *referral.Amounts {
			if m == nil {
				return nil
			}
			a := referral.Amounts(*m)
			return &a
		}
		patch.Referrer = &referral.RewardPatch{
			Percent: rr.Percent, Fixed: conv(rr.FixedAmount), Max: conv(rr.MaxAmount), MinPayment: conv(rr.MinPayment),
			Payments: rr.Payments, HoldDays: rr.HoldDays,
		}
	}
	if fr != nil {
		patch.Friend = &referral.FriendReward{Type: referral.FriendRewardType(fr.Type)}
		if c := fr.Credit; c != nil {
			patch.Friend.Credit = &referral.CreditReward{Amount: referral.Amounts(c.Amount), When: c.When}
		}
		if d := fr.Discount; d != nil {
			patch.Friend.Discount = &referral.Discount{AmountOff: referral.Amounts(d.AmountOff), Duration: d.Duration, DurationMonths: d.DurationMonths,
				Code: d.PromotionCode, PerReferrerCode: d.PerReferrerCode}
			if d.PercentOff != nil {
				pct, err := referral.ParsePercent(*d.PercentOff)
				if err != nil {
					return patch, &referral.ValidationError{Fields: map[string]string{"friendReward.discount.percentOff": "must be a decimal string above 0 and at most 100"}}
				}
				patch.Friend.Discount.PercentOff = &pct
			}
		}
	}
	return patch, nil
}

// checkName refuses names with control characters or invalid UTF-8 (400);
// length and blankness are the program rules' (422).
func checkName(name *string) error {
	if name == nil {
		return nil
	}
	fe := fieldErrors{}
	fe.text("name", *name, false, 1000)
	return fe.err()
}

// adminCreateProgram godoc
//
//	@Summary		Create a program (operators)
//	@Description	A program holds the referrer's reward rules, the friend's reward and milestone bonuses. Fields not sent take defaults: percent 0, no fixed amount, cap or minimum, payments 1, holdDays 14, friendReward none, no milestones. Amount maps are keyed by lower-case currency ("*": any other currency). The change is recorded in the program's history with the caller's subject.
//	@ID				adminCreateProgram
//	@Tags			programs
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			body	body		referralapi.ProgramCreate	true	"The program"
//	@Success		201		{object}	referralapi.Program
//	@Failure		400		{object}	referralapi.Problem	"Malformed body or wrong types (code invalid_request)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		413	{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415	{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem	"Out-of-range values, named per field in errors: percent outside 0–100, unknown currency, negative amounts, payments or holdDays out of range, a program that would never earn, milestones repeated or without a positive bonus, a discount Stripe would refuse (code program_invalid); Stripe refused the discount (code discount_rejected); a discount without STRIPE_SECRET_KEY (code stripe_not_configured)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs [post]
func (h *handlers) adminCreateProgram(c echo.Context) error {
	var req referralapi.ProgramCreate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkName(&req.Name); err != nil {
		return err
	}
	patch, err := toPatch(&req.Name, req.ReferrerReward, req.FriendReward, req.Milestones)
	if err != nil {
		return err
	}
	p, err := h.svc.CreateProgram(c.Request().Context(), principal(c).Subject, patch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toProgram(p))
}

// adminListPrograms godoc
//
//	@Summary		List programs (operators)
//	@Description	Programs, active and archived: the default first, then newest first.
//	@ID				adminListPrograms
//	@Tags			programs
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.ProgramPage
//	@Failure		400		{object}	referralapi.Problem	"Bad limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs [get]
func (h *handlers) adminListPrograms(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	// The default program comes first; its fixed id is a cursor too.
	before := referral.DefaultProgramID
	if raw := c.QueryParam("cursor"); raw != encodeCursor(referral.DefaultProgramID) {
		if before, err = parseCursor(c, "prog_"); err != nil {
			return err
		}
	}
	ps, more, err := h.svc.Programs(c.Request().Context(), referral.ProgramFilter{BeforeID: before, Limit: limit})
	if err != nil {
		return err
	}
	out := referralapi.ProgramPage{Items: make([]referralapi.Program, len(ps))}
	for i, p := range ps {
		out.Items[i] = toProgram(p)
	}
	if more {
		next := encodeCursor(ps[len(ps)-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// adminGetProgram godoc
//
//	@Summary		A program (operators)
//	@Description	The program with the rules in force (for the default program while it follows the environment: the REWARD_* values).
//	@ID				adminGetProgram
//	@Tags			programs
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"The program's id"
//	@Success		200	{object}	referralapi.Program
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs/{id} [get]
func (h *handlers) adminGetProgram(c echo.Context) error {
	p, err := h.svc.Program(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProgram(p))
}

// adminUpdateProgram godoc
//
//	@Summary		Change a program (operators)
//	@Description	Merges the fields sent into the program (within referrerReward too; friendReward and milestones, when sent, are replaced whole). New rules apply to rewards earned from now on; every reward keeps the rule it was earned under. Changing the default program while it follows REWARD_* makes its rules the stored ones (managedBy api). Recorded in the history with the caller's subject.
//	@ID				adminUpdateProgram
//	@Tags			programs
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string						true	"The program's id"
//	@Param			body	body		referralapi.ProgramUpdate	true	"The fields to change"
//	@Success		200		{object}	referralapi.Program
//	@Failure		400		{object}	referralapi.Problem	"Malformed body or wrong types (code invalid_request)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		409	{object}	referralapi.Problem	"Another change of the friend's reward was saved while this one was prepared at Stripe (code program_conflict); read the program and send the change again"
//	@Failure		413	{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415	{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem	"Out-of-range values, named per field in errors (code program_invalid), or the program is archived (code program_archived), Stripe refused the discount (code discount_rejected) or Stripe is not configured for discounts (code stripe_not_configured)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs/{id} [patch]
func (h *handlers) adminUpdateProgram(c echo.Context) error {
	var req referralapi.ProgramUpdate
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkName(req.Name); err != nil {
		return err
	}
	patch, err := toPatch(req.Name, req.ReferrerReward, req.FriendReward, req.Milestones)
	if err != nil {
		return err
	}
	p, err := h.svc.UpdateProgram(c.Request().Context(), principal(c).Subject, c.Param("id"), patch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProgram(p))
}

// adminArchiveProgram godoc
//
//	@Summary		Archive a program (operators)
//	@Description	An archived program takes no new codes or referrals (422 program_archived); its referrals keep earning under its rules and its codes keep resolving. Archiving again changes nothing. The default program cannot be archived.
//	@ID				adminArchiveProgram
//	@Tags			programs
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id	path		string	true	"The program's id"
//	@Success		200	{object}	referralapi.Program
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		422	{object}	referralapi.Problem	"The default program cannot be archived (code program_default)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs/{id}/archive [post]
func (h *handlers) adminArchiveProgram(c echo.Context) error {
	p, err := h.svc.ArchiveProgram(c.Request().Context(), principal(c).Subject, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProgram(p))
}

// adminProgramHistory godoc
//
//	@Summary		A program's history (operators)
//	@Description	Every change, newest first: who made it (the admin token's subject, or environment for REWARD_* values recorded at a start), when, and the program's values after it; referrer overrides set or removed in the program too.
//	@ID				adminProgramHistory
//	@Tags			programs
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string	true	"The program's id"
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.ProgramChangePage
//	@Failure		400		{object}	referralapi.Problem	"Bad limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs/{id}/history [get]
func (h *handlers) adminProgramHistory(c echo.Context) error {
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	before, err := parseCursor(c, "pch_")
	if err != nil {
		return err
	}
	changes, more, err := h.svc.ProgramHistory(c.Request().Context(), c.Param("id"), before, limit)
	if err != nil {
		return err
	}
	out := referralapi.ProgramChangePage{Items: make([]referralapi.ProgramChange, len(changes))}
	for i, ch := range changes {
		out.Items[i] = referralapi.ProgramChange{ID: ch.ID, Action: ch.Action, Subject: ch.Subject, CreatedAt: ch.CreatedAt, Program: toProgram(ch.Program)}
		if oc := ch.Override; oc != nil {
			out.Items[i].Override = &referralapi.OverrideChange{UserID: oc.UserID}
			if oc.Percent != nil {
				pct := oc.Percent.String()
				out.Items[i].Override.Percent = &pct
			}
		}
	}
	if more {
		next := encodeCursor(changes[len(changes)-1].ID)
		out.NextCursor = &next
	}
	return c.JSON(http.StatusOK, out)
}

// adminPreviewProgram godoc
//
//	@Summary		Price a sample payment under a program (operators)
//	@Description	A dry run: what the payment would earn the referrer (with their override when referrerId is sent) as a referral's first earning payment, under the program as it is, or with draft (a change shaped like PATCH, validated the same way) merged in. Nothing is saved.
//	@ID				adminPreviewProgram
//	@Tags			programs
//	@Accept			json
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			id		path		string							true	"The program's id"
//	@Param			body	body		referralapi.ProgramPreviewRequest	true	"The sample payment and an optional draft"
//	@Success		200		{object}	referralapi.ProgramPreview
//	@Failure		400		{object}	referralapi.Problem	"Malformed body, wrong types, bad amount or currency (code invalid_request)"
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid credentials (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"Credentials lack the admin role (code forbidden)"
//	@Failure		404	{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		413	{object}	referralapi.Problem	"Body over 64 KiB (code payload_too_large)"
//	@Failure		415	{object}	referralapi.Problem	"Body is not application/json (code unsupported_media_type)"
//	@Failure		422		{object}	referralapi.Problem	"The draft has out-of-range values, named per field in errors as draft.… (code program_invalid)"
//	@Failure		429	{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429	{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429	{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429	{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500	{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503	{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503	{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all	{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/admin/programs/{id}/preview [post]
func (h *handlers) adminPreviewProgram(c echo.Context) error {
	var req referralapi.ProgramPreviewRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	fe := fieldErrors{}
	if req.Amount < 0 || req.Amount > maxPaymentAmount {
		fe["amount"] = fmt.Sprintf("must be a whole amount in minor units between 0 and %d", int64(maxPaymentAmount))
	}
	if !referral.ValidCurrency(req.Currency) {
		fe["currency"] = "must be a lower-case ISO 4217 code, e.g. usd"
	}
	fe.text("referrerId", req.ReferrerID, false, maxUserIDLength)
	if req.Draft != nil {
		if err := checkName(req.Draft.Name); err != nil {
			return err
		}
	}
	if err := fe.err(); err != nil {
		return err
	}
	pr := referral.PreviewRequest{Amount: req.Amount, Currency: req.Currency, ReferrerID: req.ReferrerID}
	if d := req.Draft; d != nil {
		patch, err := toPatch(d.Name, d.ReferrerReward, d.FriendReward, d.Milestones)
		if err != nil {
			return prefixFields(err, "draft.")
		}
		pr.Draft = &patch
	}
	pv, err := h.svc.PreviewProgram(c.Request().Context(), c.Param("id"), pr)
	if err != nil {
		return prefixFields(err, "draft.")
	}
	return c.JSON(http.StatusOK, referralapi.ProgramPreview{
		ProgramID: pv.ProgramID, Amount: pv.Amount, Currency: pv.Currency, Earns: pv.Earns, RewardAmount: pv.Reward,
		Rule:       referralapi.RewardRule{Percent: pv.Rule.Percent.String(), FixedAmount: pv.Rule.Fixed, MaxAmount: pv.Rule.Cap},
		MinPayment: pv.MinPayment, Payments: pv.Payments, HoldDays: int(pv.Hold.Hours() / 24), Overridden: pv.Overridden,
	})
}

// prefixFields names a draft's invalid fields as the request does.
func prefixFields(err error, prefix string) error {
	ae, ok := programError(err)
	if !ok {
		return err
	}
	fields := make(map[string]string, len(ae.Fields))
	for k, v := range ae.Fields {
		fields[prefix+k] = v
	}
	ae.Fields = fields
	return ae
}

// programError turns a program's validation error into its 422.
func programError(err error) (*apiError, bool) {
	var ve *referral.ValidationError
	if !errors.As(err, &ve) {
		return nil, false
	}
	return &apiError{Status: http.StatusUnprocessableEntity, Code: "program_invalid", Title: "Invalid program",
		Detail: "some program values are out of range; see errors", Fields: ve.Fields}, true
}

// toOffer is the wire form of what the friend gets (nil for nothing).
func toOffer(o *referral.Offer) *referralapi.Offer {
	if o == nil {
		return nil
	}
	out := &referralapi.Offer{Type: string(o.Type), AmountOff: o.AmountOff, Duration: o.Duration, DurationMonths: o.DurationMonths,
		PromotionCode: o.PromotionCode, StripePromotionCodeID: o.StripePromotionCodeID, Amount: o.Amount, Currency: o.Currency, When: o.When, Description: o.Description}
	if o.PercentOff != nil {
		pct := o.PercentOff.String()
		out.PercentOff = &pct
	}
	return out
}
