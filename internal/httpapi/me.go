package httpapi

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// Page sizes of list endpoints.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// getMyReferralCode godoc
//
//	@Summary		Get or create the caller's referral code
//	@Description	Returns the caller's referral code and link, creating the code on the first call (get-or-create). One code per user and program, ever (a vanity code replaces it, and earlier codes keep resolving): concurrent first calls all return the same code. Generated codes are 8 characters from ABCDEFGHJKLMNPQRSTUVWXYZ23456789; the link is APP_URL/?ref=CODE; links adds the short link PUBLIC_URL/r/CODE and app deep links when configured.
//	@ID				getMyReferralCode
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			program	query		string	false	"A program's id: the caller's code in that program (default: the default program)"
//	@Success		200		{object}	referralapi.ReferralCode
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
//	@Failure		404		{object}	referralapi.Problem	"No program has this id (code program_not_found)"
//	@Failure		422		{object}	referralapi.Problem	"The caller has no code in this program and it is archived (code program_archived)"
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
//	@Router			/v1/me/referral-code [get]
func (h *handlers) getMyReferralCode(c echo.Context) error {
	program := c.QueryParam("program")
	if program == "" {
		program = referral.DefaultProgramID
	}
	if len(program) > 64 {
		return invalid("program is too long", map[string]string{"program": "must be at most 64 characters"})
	}
	code, err := h.svc.GetOrCreateProgramCode(c.Request().Context(), principal(c).Subject, program)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.codeResponse(code))
}

func (h *handlers) referralURL(code string) string { return h.appURL + "/?ref=" + code }

// getMyReferralStats godoc
//
//	@Summary		The caller's referral numbers
//	@Description	Count and reward sums per referral status, the reward sums per currency in minor units. All four statuses are always present. A user without a code yet gets code null and zero counts.
//	@ID				getMyReferralStats
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Success		200	{object}	referralapi.ReferralStats
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
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
//	@Router			/v1/me/referrals/stats [get]
func (h *handlers) getMyReferralStats(c echo.Context) error {
	st, err := h.svc.Stats(c.Request().Context(), principal(c).Subject)
	if err != nil {
		return err
	}
	out := referralapi.ReferralStats{
		Total:      st.Total,
		Clicks:     referralapi.ClickCounts{Total: st.Clicks, Unique: st.UniqueClicks},
		Conversion: referralapi.Conversion{SignupRate: st.SignupRate(), PaidRate: st.PaidRate()},
	}
	if st.Code != nil {
		out.Code = &st.Code.Code
	}
	conv := func(s referral.Status) referralapi.StatusStats {
		b := st.ByStatus[s]
		return referralapi.StatusStats{Count: b.Count, RewardAmount: b.Reward}
	}
	out.ByStatus = referralapi.StatsByStatus{
		Pending: conv(referral.StatusPending), Qualified: conv(referral.StatusQualified),
		Rewarded: conv(referral.StatusRewarded), Cancelled: conv(referral.StatusCancelled),
	}
	return c.JSON(http.StatusOK, out)
}

// listMyReferrals godoc
//
//	@Summary		The caller's referral history
//	@Description	Referrals made with the caller's code, newest first, in cursor pages. Referred users appear only as masked labels.
//	@ID				listMyReferrals
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			status	query		string	false	"Only referrals in this status"							Enums(PENDING, QUALIFIED, REWARDED, CANCELLED)
//	@Param			limit	query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor	query		string	false	"nextCursor of the previous page"
//	@Success		200		{object}	referralapi.ReferralPage
//	@Failure		400		{object}	referralapi.Problem	"Bad status, limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
//	@Failure		429		{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429		{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429		{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429		{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500		{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503		{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503		{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all		{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/me/referrals [get]
func (h *handlers) listMyReferrals(c echo.Context) error {
	f := referral.ReferralFilter{ReferrerID: principal(c).Subject}
	var err error
	if f.Limit, err = parseLimit(c); err != nil {
		return err
	}
	if f.BeforeID, err = parseCursor(c, "ref_"); err != nil {
		return err
	}
	if s := c.QueryParam("status"); s != "" {
		status, ok := referral.ParseStatus(s)
		if !ok {
			return invalid("unknown status", map[string]string{"status": "must be one of PENDING, QUALIFIED, REWARDED, CANCELLED"})
		}
		f.Status = status
	}
	items, more, err := h.svc.ListReferrals(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := referralapi.ReferralPage{Items: make([]referralapi.ReferralHistoryItem, len(items))}
	for i, r := range items {
		page.Items[i] = toHistoryItem(r)
	}
	if more {
		next := encodeCursor(items[len(items)-1].ID)
		page.NextCursor = &next
	}
	return c.JSON(http.StatusOK, page)
}

func parseLimit(c echo.Context) (int, error) {
	raw := c.QueryParam("limit")
	if raw == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, invalid("limit must be a positive integer", map[string]string{"limit": "must be an integer of at least 1"})
	}
	return min(n, maxLimit), nil
}

// cursorID is the shape of the ids cursors carry, after their type prefix.
var cursorID = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// parseCursor decodes the cursor parameter: the id, with the given prefix, of
// the last item of the previous page.
func parseCursor(c echo.Context, prefix string) (string, error) {
	raw := c.QueryParam("cursor")
	if raw == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || !strings.HasPrefix(string(b), prefix) || !cursorID.MatchString(strings.TrimPrefix(string(b), prefix)) {
		return "", &apiError{Status: http.StatusBadRequest, Code: "invalid_cursor", Title: "Invalid cursor",
			Detail: "cursor must be a nextCursor value returned by this endpoint", Fields: map[string]string{"cursor": "is not a cursor issued by this service"}}
	}
	return string(b), nil
}

// getMyBalance godoc
//
//	@Summary		The caller's reward balance
//	@Description	The caller's reward balance per currency, in minor units (the seed's UserBalance): amount = pending (rewards still inside the hold period) + available (payable). It may be negative after a clawback.
//	@ID				getMyBalance
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Success		200	{object}	referralapi.Balances
//	@Failure		401	{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403	{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
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
//	@Router			/v1/me/balance [get]
func (h *handlers) getMyBalance(c echo.Context) error {
	return h.writeBalances(c, principal(c).Subject)
}

func (h *handlers) writeBalances(c echo.Context, userID string) error {
	bs, err := h.svc.Balances(c.Request().Context(), userID)
	if err != nil {
		return err
	}
	out := referralapi.Balances{Balances: make([]referralapi.Balance, len(bs))}
	for i, b := range bs {
		out.Balances[i] = referralapi.Balance{Currency: b.Currency, Amount: b.Amount, Pending: b.Pending, Available: b.Available}
	}
	return c.JSON(http.StatusOK, out)
}

// listMyTransactions godoc
//
//	@Summary		The caller's ledger
//	@Description	Every change of the caller's balances, newest first: rewards, reward reversals (refunds, disputes, cancellations), payouts, clawbacks of rewards already paid out, adjustments, milestone bonuses and a referred friend's account credit (negative when reversed). Entries are never edited or deleted.
//	@ID				listMyTransactions
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			currency	query		string	false	"Only entries in this currency (ISO 4217, e.g. usd)"
//	@Param			limit		query		int		false	"Page size, 1-100 (larger values are capped at 100)"	default(20)	minimum(1)
//	@Param			cursor		query		string	false	"nextCursor of the previous page"
//	@Success		200			{object}	referralapi.LedgerPage
//	@Failure		400			{object}	referralapi.Problem	"Bad currency, limit or cursor (code invalid_request or invalid_cursor)"
//	@Failure		401			{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403			{object}	referralapi.Problem	"An API key acts for no user: /v1/me needs a user's token (code forbidden)"
//	@Failure		429			{object}	referralapi.Problem	"Over the rate limit: RATE_LIMIT_PUBLIC per client address, RATE_LIMIT_USER per subject or API key (code rate_limited); retry after Retry-After seconds"
//	@Header			429			{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			429			{string}	RateLimit-Limit		"Requests allowed in a burst"
//	@Header			429			{string}	RateLimit-Remaining	"Requests left now (0)"
//	@Header			429			{string}	RateLimit-Reset		"Seconds until the limit is whole again"
//	@Failure		500			{object}	referralapi.Problem	"Unexpected error (code internal_error)"
//	@Failure		503			{object}	referralapi.Problem	"The database did not answer in time (code database_unavailable); nothing was changed, or repeating the request is safe. Retry after Retry-After seconds"
//	@Header			503			{string}	Retry-After			"Seconds to wait before retrying"
//	@Header			all			{string}	X-Request-Id		"Request id: the caller's valid X-Request-Id, else a new one"
//	@Security		BearerAuth
//	@Router			/v1/me/balance/transactions [get]
func (h *handlers) listMyTransactions(c echo.Context) error {
	return h.writeLedger(c, principal(c).Subject)
}

func (h *handlers) writeLedger(c echo.Context, userID string) error {
	f := referral.LedgerFilter{UserID: userID}
	var err error
	if f.Limit, err = parseLimit(c); err != nil {
		return err
	}
	if f.BeforeID, err = parseCursor(c, "le_"); err != nil {
		return err
	}
	if cur := c.QueryParam("currency"); cur != "" {
		f.Currency = strings.ToLower(cur)
		if !referral.ValidCurrency(f.Currency) {
			return invalid("unknown currency", map[string]string{"currency": "must be a three-letter ISO 4217 code such as usd"})
		}
	}
	items, more, err := h.svc.Ledger(c.Request().Context(), f)
	if err != nil {
		return err
	}
	page := referralapi.LedgerPage{Items: make([]referralapi.LedgerEntry, len(items))}
	for i, e := range items {
		page.Items[i] = referralapi.LedgerEntry{
			ID: e.ID, Type: string(e.Type), Amount: e.Amount, Currency: e.Currency,
			ReferralID: optional(e.ReferralID), Description: e.Description, CreatedAt: e.CreatedAt,
		}
	}
	if more {
		next := encodeCursor(items[len(items)-1].ID)
		page.NextCursor = &next
	}
	return c.JSON(http.StatusOK, page)
}
