package httpapi

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/refhub/referral-service/internal/telemetry"
)

const (
	headerRequestID = "X-Request-Id"
	requestIDKey    = "request_id"
	maxRequestIDLen = 128
)

// withRequestID echoes a well-formed incoming X-Request-Id (letters, digits,
// "-", "_", ".", ":"; up to 128) or makes a new one, on every response.
func withRequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(headerRequestID)
			if !validRequestID(id) {
				id = newRequestID()
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(headerRequestID, id)
			// Every line the request logs, the service's own included, names it.
			c.SetRequest(c.Request().WithContext(telemetry.WithRequestID(c.Request().Context(), id)))
			telemetry.NameServerSpan(c.Request().Context(), c.Request().Method, routeLabel(c), id)
			return next(c)
		}
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':'
		if !ok {
			return false
		}
	}
	return true
}

// newRequestID makes a 128-bit random id. Request ids need to be unique,
// not secret, so the fast non-cryptographic generator serves: no syscall
// on the short link's hot path.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// accessLog writes one line per request, after the error handler ran.
// Short-link hits, the high-volume public path that is recorded as clicks
// anyway, are logged at debug level only.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			shortLink := strings.HasPrefix(c.Path(), "/r/")
			if shortLink && !log.Enabled(c.Request().Context(), slog.LevelDebug) {
				return next(c) // no clock reads on the hot path when nothing is logged
			}
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			level := slog.LevelInfo
			if shortLink && c.Response().Status < 500 {
				level = slog.LevelDebug
			}
			if !log.Enabled(c.Request().Context(), level) {
				return nil
			}
			// The route template; for a path no route matched, the path
			// itself (metrics never label by it, a log line may).
			path := routeLabel(c)
			if path == "unmatched" {
				path = c.Request().URL.Path
			}
			log.Log(c.Request().Context(), level, "request",
				"request_id", requestID(c), "method", c.Request().Method, "path", path,
				"status", c.Response().Status, "bytes", c.Response().Size, "duration", time.Since(start))
			return nil
		}
	}
}

// recoverPanics turns a handler panic into an ordinary error, so the error
// handler answers 500 and logs it once with the stack.
func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "panic", "request_id", requestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

// deadline bounds each request: its context, which every database call
// runs under, ends after d, and a request that could not finish answers
// 503 (see the error handler) well inside the server's write timeout.
func deadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// observe counts each request by its route template (never its raw path),
// method and status, after the error handler wrote the answer.
func observe(m *telemetry.Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			m.ObserveRequest(routeLabel(c), c.Request().Method, c.Response().Status, time.Since(start))
			return nil
		}
	}
}

// routeLabel is the request's route template, "unmatched" when no route
// matched: what metrics and traces name a request by, never its raw path.
func routeLabel(c echo.Context) string {
	route := c.Path()
	if route == "" || route == "/*" { // no "/*" route exists: Echo's not-found path
		return "unmatched"
	}
	return route
}

// securityHeaders sets headers every API response should carry.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			// Never cache: a cached short-link redirect would reuse its click id.
			h.Set("Cache-Control", "no-store")
			if !strings.HasPrefix(c.Path(), "/r/") { // redirects have no body to sniff
				h.Set("X-Content-Type-Options", "nosniff")
			}
			return next(c)
		}
	}
}

// cors allows browser calls from the configured origins only; with none
// configured it adds nothing (Echo's default would allow every origin).
func cors(origins []string) echo.MiddlewareFunc {
	if len(origins) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:  origins,
		AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, headerRequestID, "Idempotency-Key"},
		ExposeHeaders: []string{headerRequestID},
		MaxAge:        600,
	})
}
