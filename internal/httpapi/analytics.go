package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// dateRange reads from and to (YYYY-MM-DD or RFC 3339; inclusive), by
// default the last 30 days.
func dateRange(c echo.Context) (from, to time.Time, err error) {
	parse := func(name string, def time.Time) (time.Time, error) {
		v := c.QueryParam(name)
		if v == "" {
			return def, nil
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, invalid("bad date", map[string]string{name: "must be a date like 2026-11-24 or an RFC 3339 time"})
	}
	today := time.Now().UTC()
	if to, err = parse("to", today); err != nil {
		return
	}
	from, err = parse("from", to.AddDate(0, 0, -29))
	return
}

func rangeError(err error) error {
	if errors.Is(err, referral.ErrRangeInvalid) {
		return invalid(err.Error(), nil)
	}
	return err
}

// getMyTimeSeries godoc
//
//	@Summary		The caller's referral activity over time
//	@Description	Per day, ISO week (starting Monday) or month between from and to (inclusive, UTC dates; by default the last 30 days): clicks, unique clicks, signups, qualified referrals and rewards earned per currency. Every bucket is present, empty ones with zeros. At most 400 buckets.
//	@ID				getMyTimeSeries
//	@Tags			me
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			from		query		string	false	"First date (YYYY-MM-DD or RFC 3339)"
//	@Param			to			query		string	false	"Last date (YYYY-MM-DD or RFC 3339); default today"
//	@Param			interval	query		string	false	"Bucket size"	Enums(day, week, month)	default(day)
//	@Success		200			{object}	referralapi.TimeSeries
//	@Failure		400			{object}	referralapi.Problem	"Bad date, interval or range (code invalid_request)"
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
//	@Router			/v1/me/referrals/timeseries [get]
func (h *handlers) getMyTimeSeries(c echo.Context) error {
	from, to, err := dateRange(c)
	if err != nil {
		return err
	}
	interval := c.QueryParam("interval")
	if interval == "" {
		interval = referral.IntervalDay
	}
	buckets, err := h.svc.TimeSeries(c.Request().Context(), principal(c).Subject, from, to, interval)
	if err != nil {
		return rangeError(err)
	}
	out := referralapi.TimeSeries{Interval: interval, From: referral.Day(from), To: referral.Day(to), Buckets: make([]referralapi.Bucket, len(buckets))}
	for i, b := range buckets {
		out.Buckets[i] = referralapi.Bucket{Start: b.Start, Clicks: b.Clicks, UniqueClicks: b.UniqueClicks, Signups: b.Signups, Qualified: b.Qualified, Rewards: b.Rewards}
	}
	return c.JSON(http.StatusOK, out)
}

// adminProgramStats godoc
//
//	@Summary		The program funnel (operators)
//	@Description	Clicks → signups → qualified → rewarded (paid out) for the whole program between from and to (inclusive, UTC dates; by default the last 30 days), the rates between the steps, and rewards earned per currency.
//	@ID				adminProgramStats
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			from	query		string	false	"First date (YYYY-MM-DD or RFC 3339)"
//	@Param			to		query		string	false	"Last date (YYYY-MM-DD or RFC 3339); default today"
//	@Success		200		{object}	referralapi.ProgramStats
//	@Failure		400		{object}	referralapi.Problem	"Bad date or range (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
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
//	@Router			/v1/admin/stats [get]
func (h *handlers) adminProgramStats(c echo.Context) error {
	from, to, err := dateRange(c)
	if err != nil {
		return err
	}
	f, err := h.svc.ProgramFunnel(c.Request().Context(), from, to)
	if err != nil {
		return rangeError(err)
	}
	return c.JSON(http.StatusOK, referralapi.ProgramStats{
		From: referral.Day(from), To: referral.Day(to),
		Clicks:  referralapi.ClickCounts{Total: f.Clicks, Unique: f.UniqueClicks},
		Signups: f.Signups, Qualified: f.Qualified, Rewarded: f.Rewarded, Rewards: f.Rewards,
		Conversion: referralapi.Funnel{
			SignupRate: referral.Ratio(f.Signups, f.UniqueClicks), QualifyRate: referral.Ratio(f.Qualified, f.Signups),
			RewardRate: referral.Ratio(f.Rewarded, f.Qualified),
		},
	})
}

// periods maps a leaderboard period to its length in days (0: all time).
var periods = map[string]int{"week": 7, "month": 30, "year": 365, "all": 0}

// adminLeaderboard godoc
//
//	@Summary		Top referrers (operators)
//	@Description	Referrers ranked by qualified referrals, then signups, over the last week, month (30 days), year or all time.
//	@ID				adminLeaderboard
//	@Tags			admin
//	@Produce		json
//	@Produce		application/problem+json
//	@Param			period	query		string	false	"How far back"										Enums(week, month, year, all)	default(month)
//	@Param			limit	query		int		false	"How many, 1-100 (larger values are capped at 100)"	default(20)						minimum(1)
//	@Success		200		{object}	referralapi.Leaderboard
//	@Failure		400		{object}	referralapi.Problem	"Bad period or limit (code invalid_request)"
//	@Failure		401		{object}	referralapi.Problem	"Missing or invalid token (code unauthorized)"
//	@Failure		403		{object}	referralapi.Problem	"Token lacks the admin role (code forbidden)"
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
//	@Router			/v1/admin/leaderboard [get]
func (h *handlers) adminLeaderboard(c echo.Context) error {
	period := c.QueryParam("period")
	if period == "" {
		period = "month"
	}
	days, ok := periods[period]
	if !ok {
		return invalid("unknown period", map[string]string{"period": "must be one of week, month, year, all"})
	}
	limit, err := parseLimit(c)
	if err != nil {
		return err
	}
	from := time.Time{}
	if days > 0 {
		from = time.Now().UTC().AddDate(0, 0, -(days - 1))
	}
	leaders, err := h.svc.Leaderboard(c.Request().Context(), from, limit)
	if err != nil {
		return err
	}
	out := referralapi.Leaderboard{Period: period, From: referral.Day(from), Items: make([]referralapi.Leader, len(leaders))}
	for i, l := range leaders {
		out.Items[i] = referralapi.Leader{Rank: i + 1, UserID: l.UserID, Clicks: l.Clicks, Signups: l.Signups, Qualified: l.Qualified, Rewards: l.Rewards}
	}
	return c.JSON(http.StatusOK, out)
}
