package httpapi

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/refhub/referral-service/internal/ratelimit"
)

// seconds rounds a duration up to whole seconds, at least one.
func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// rateHeaders sets the IETF RateLimit fields of a decision.
func rateHeaders(h http.Header, d ratelimit.Decision) {
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("RateLimit-Reset", seconds(d.Reset))
}

// tooMany is the 429 of a refused request.
func tooMany(h http.Header, d ratelimit.Decision) *apiError {
	h.Set("Retry-After", seconds(d.RetryAfter))
	return &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited", Title: "Too many requests",
		Detail: "this client sent more requests than its rate limit allows; retry after Retry-After seconds"}
}

// limitByAddress limits a public route per client address (as
// TRUSTED_PROXIES allow it to be read).
func (h *handlers) limitByAddress(next echo.HandlerFunc) echo.HandlerFunc {
	if h.publicLimit == nil {
		return next
	}
	return func(c echo.Context) error {
		d := h.publicLimit.Allow(c.RealIP(), time.Now())
		rateHeaders(c.Response().Header(), d)
		if !d.Allowed {
			return tooMany(c.Response().Header(), d)
		}
		return next(c)
	}
}

// limitByCaller limits an authenticated route per subject or API key.
func (h *handlers) limitByCaller(next echo.HandlerFunc) echo.HandlerFunc {
	if h.userLimit == nil {
		return next
	}
	return func(c echo.Context) error {
		p := principal(c)
		key := "sub:" + p.Subject
		if p.APIKeyID != "" {
			key = "key:" + p.APIKeyID
		}
		d := h.userLimit.Allow(key, time.Now())
		rateHeaders(c.Response().Header(), d)
		if !d.Allowed {
			return tooMany(c.Response().Header(), d)
		}
		return next(c)
	}
}
