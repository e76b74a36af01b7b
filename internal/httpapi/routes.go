// Package httpapi is the Echo transport: routes, auth, handlers, the one
// error handler and the swag annotations the OpenAPI documents come from.
//
//	@title						Referral Service API
//	@version					1.0
//	@description				Headless referral program service: referral codes and links, attribution at registration, payment qualification (product backends and Stripe webhooks), rewards, stats and history.
//	@description				Errors are RFC 9457 problem details (application/problem+json) with a stable `code`. Every response carries X-Request-Id.
//	@license.name				MIT
//	@license.url				https://opensource.org/licenses/MIT
//	@BasePath					/
//	@tag.name					me
//	@tag.description			The caller's own code, links, dashboard, history and balance (a user's token).
//	@tag.name					service
//	@tag.description			Product backends: attribution at registration, payments and refunds (role service).
//	@tag.name					admin
//	@tag.description			Operators: referrals, balances, payouts, program stats and API keys (role admin).
//	@tag.name					programs
//	@tag.description			Operators: referral programs as data (reward rules, their history and dry runs) (role admin).
//	@tag.name					events
//	@tag.description			Operators: the feed of business events, oldest first, to resume from any event (role admin).
//	@tag.name					webhooks
//	@tag.description			Operators: signed outgoing webhooks (Standard Webhooks), their endpoints, attempts and redeliveries (role admin).
//	@tag.name					links
//	@tag.description			Public: the short referral link and code checks.
//	@tag.name					stripe
//	@tag.description			Stripe's signed webhook events.
//	@tag.name					ops
//	@tag.description			Public: liveness and readiness probes.
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				"Bearer <credential>": a JWT from the product's identity provider (HS256 with JWT_SECRET, or RS256/ES256/EdDSA verified against its JWKS; exp required; roles from JWT_ROLES_CLAIM: service for product backends, admin for operators), or an API key (rk_...) created by an operator. Public operations declare no security.
package httpapi

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	echoSwagger "github.com/swaggo/echo-swagger"

	// The generated OpenAPI document, served at /swagger/doc.json.
	_ "github.com/refhub/referral-service/docs"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/outbox/webhook"
	"github.com/refhub/referral-service/internal/ratelimit"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/telemetry"
)

// Deps is what the HTTP layer needs.
type Deps struct {
	Service *referral.Service
	// Ready is the readiness check: the database answers.
	Ready               func(r *http.Request) error
	Auth                *auth.Authenticator
	AppURL              string
	StripeWebhookSecret string
	StripeTolerance     time.Duration
	CORSAllowedOrigins  []string
	Log                 *slog.Logger
	// Links builds short links and a code's links; Clicks records short-link visits.
	Links  LinkConfig
	Clicks ClickRecorder
	// VisitorKey keys the visitor hash of clicks.
	VisitorKey []byte
	// TrustedProxies may set X-Forwarded-For; without them the client IP is
	// the connection's peer.
	TrustedProxies []*net.IPNet
	// RequestTimeout bounds each request's work (0: 10s).
	RequestTimeout time.Duration
	// PublicRateLimit limits public routes (the short link, code checks)
	// per client address; UserRateLimit authenticated routes per subject or
	// API key. Zero: no limit.
	PublicRateLimit ratelimit.Rate
	UserRateLimit   ratelimit.Rate
	// Metrics counts requests and Stripe events; nil: none. ServeMetrics
	// adds GET /metrics to this router (else another listener serves it).
	Metrics      *telemetry.Metrics
	ServeMetrics bool
	// Webhooks runs the webhook endpoint operations.
	Webhooks *webhook.Service
	// Contacts keeps where users' email goes and what they want sent.
	Contacts *mail.Contacts
}

// New returns the router with every route of the service.
func New(d Deps) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.IPExtractor = echo.ExtractIPDirect()
	if len(d.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range d.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 10 * time.Second
	}
	mws := []echo.MiddlewareFunc{withRequestID(), accessLog(d.Log)}
	if d.Metrics != nil {
		mws = append(mws, observe(d.Metrics))
	}
	e.Use(append(mws, recoverPanics(d.Log), deadline(d.RequestTimeout), securityHeaders(), cors(d.CORSAllowedOrigins))...)

	if d.Links.AppURL == "" {
		d.Links.AppURL = d.AppURL
	}
	h := &handlers{svc: d.Service, auth: d.Auth, appURL: d.AppURL, ready: d.Ready,
		stripeSecret: d.StripeWebhookSecret, stripeTolerance: d.StripeTolerance, log: d.Log,
		links: d.Links, clicks: d.Clicks, visitorKey: d.VisitorKey, clientIP: e.IPExtractor, webhooks: d.Webhooks,
		contacts: d.Contacts}
	h.home = d.Links.AppURL + "/"
	h.codes = newCodeCache(d.Service.ResolveCode, h.buildTarget, min(d.RequestTimeout, 2*time.Second))
	if d.PublicRateLimit.Enabled() {
		h.publicLimit, _ = ratelimit.New(d.PublicRateLimit)
	}
	if d.UserRateLimit.Enabled() {
		h.userLimit, _ = ratelimit.New(d.UserRateLimit)
	}
	if d.Metrics != nil {
		h.metrics = d.Metrics
		h.shortLinkGet = d.Metrics.Route("/r/:code", http.MethodGet, http.StatusFound, http.StatusTooManyRequests)
		h.shortLinkHead = d.Metrics.Route("/r/:code", http.MethodHead, http.StatusFound, http.StatusTooManyRequests)
	}

	if d.Metrics != nil && d.ServeMetrics {
		e.GET("/metrics", echo.WrapHandler(d.Metrics.Handler()))
	}
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	// The OpenAPI 3 document (HTTP bearer, nullable and format details
	// Swagger 2.0 cannot say), also offered in the UI's document list
	// (relative, so it works behind a path prefix); /swagger/doc.json stays,
	// the same contract in Swagger 2.0.
	e.GET("/openapi.json", serveOpenAPI)
	e.GET("/swagger/*", echoSwagger.EchoWrapHandler(echoSwagger.URL("../openapi.json")))
	e.GET("/r/:code", h.redirect, h.limitByAddress)
	e.HEAD("/r/:code", h.redirectHead, h.limitByAddress)
	e.GET("/v1/codes/:code", h.checkCode, h.limitByAddress)

	// Middleware is attached per route, not per group: an Echo group with
	// middleware catches unknown paths too, which would answer 401, not 404.
	authn := authenticate(d.Auth)
	user := func(next echo.HandlerFunc) echo.HandlerFunc { return authn(h.limitByCaller(next)) }
	backend := requireRole(RoleService)
	e.POST("/v1/webhooks/stripe", h.stripeWebhook)
	// Every /v1/me call remembers the email claim of the caller's token.
	me := []echo.MiddlewareFunc{user, requireUser, h.rememberEmail}
	e.GET("/v1/me/referral-code", h.getMyReferralCode, me...)
	e.PUT("/v1/me/referral-code", h.putMyReferralCode, me...)
	e.GET("/v1/me/referrals/stats", h.getMyReferralStats, me...)
	e.GET("/v1/me/referrals/timeseries", h.getMyTimeSeries, me...)
	e.GET("/v1/me/referrals", h.listMyReferrals, me...)
	e.GET("/v1/me/balance", h.getMyBalance, me...)
	e.GET("/v1/me/balance/transactions", h.listMyTransactions, me...)
	e.GET("/v1/me/events", h.listMyEvents, me...)
	e.GET("/v1/me/notifications", h.getMyNotifications, me...)
	e.PUT("/v1/me/notifications", h.putMyNotifications, me...)
	e.PUT("/v1/users/:userId/contact", h.putUserContact, user, backend)
	e.POST("/v1/referrals", h.createReferral, user, backend)
	e.POST("/v1/payments", h.reportPayment, user, backend)
	e.POST("/v1/refunds", h.reportRefund, user, backend)

	admin := requireRole(RoleAdmin)
	e.GET("/v1/admin/referrals", h.adminListReferrals, user, admin)
	e.GET("/v1/admin/referrals/:id", h.adminGetReferral, user, admin)
	e.POST("/v1/admin/referrals/:id/cancel", h.adminCancelReferral, user, admin)
	e.GET("/v1/admin/users/:userId/balance", h.adminGetUserBalance, user, admin)
	e.GET("/v1/admin/users/:userId/transactions", h.adminListUserTransactions, user, admin)
	e.GET("/v1/admin/stats", h.adminProgramStats, user, admin)
	e.GET("/v1/admin/leaderboard", h.adminLeaderboard, user, admin)
	e.POST("/v1/admin/payouts", h.adminCreatePayout, user, admin)
	e.GET("/v1/admin/payouts", h.adminListPayouts, user, admin)
	e.GET("/v1/admin/payouts/:id", h.adminGetPayout, user, admin)
	e.POST("/v1/admin/api-keys", h.adminCreateAPIKey, user, admin)
	e.GET("/v1/admin/api-keys", h.adminListAPIKeys, user, admin)
	e.DELETE("/v1/admin/api-keys/:id", h.adminRevokeAPIKey, user, admin)
	e.GET("/v1/admin/events", h.adminListEvents, user, admin)
	e.POST("/v1/admin/events/:id/redeliver", h.adminRedeliverEvent, user, admin)
	e.POST("/v1/admin/programs", h.adminCreateProgram, user, admin)
	e.GET("/v1/admin/programs", h.adminListPrograms, user, admin)
	e.GET("/v1/admin/programs/:id", h.adminGetProgram, user, admin)
	e.PATCH("/v1/admin/programs/:id", h.adminUpdateProgram, user, admin)
	e.POST("/v1/admin/programs/:id/archive", h.adminArchiveProgram, user, admin)
	e.GET("/v1/admin/programs/:id/history", h.adminProgramHistory, user, admin)
	e.POST("/v1/admin/programs/:id/preview", h.adminPreviewProgram, user, admin)
	e.PUT("/v1/admin/referrers/:userId/override", h.adminPutOverride, user, admin)
	e.DELETE("/v1/admin/referrers/:userId/override", h.adminDeleteOverride, user, admin)
	e.POST("/v1/admin/webhook-endpoints", h.adminCreateWebhookEndpoint, user, admin)
	e.GET("/v1/admin/webhook-endpoints", h.adminListWebhookEndpoints, user, admin)
	e.GET("/v1/admin/webhook-endpoints/:id", h.adminGetWebhookEndpoint, user, admin)
	e.PATCH("/v1/admin/webhook-endpoints/:id", h.adminUpdateWebhookEndpoint, user, admin)
	e.DELETE("/v1/admin/webhook-endpoints/:id", h.adminDeleteWebhookEndpoint, user, admin)
	e.POST("/v1/admin/webhook-endpoints/:id/rotate-secret", h.adminRotateWebhookSecret, user, admin)
	e.POST("/v1/admin/webhook-endpoints/:id/test", h.adminTestWebhookEndpoint, user, admin)
	e.GET("/v1/admin/webhook-endpoints/:id/deliveries", h.adminListWebhookDeliveries, user, admin)
	e.POST("/v1/admin/webhook-endpoints/:id/replay", h.adminReplayWebhookEndpoint, user, admin)
	return &router{echo: e, h: h}
}

// router sends short-link hits straight to their handler and everything
// else through Echo. The short link is the one public, high-volume route;
// Echo's per-request context, routing and middleware closures were a
// third of its cost, and the fast path keeps the same headers, recovery
// and logging (see serveShortLink).
type router struct {
	echo *echo.Echo
	h    *handlers
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if shortLinkPath(r) {
		rt.h.serveShortLink(w, r)
		return
	}
	rt.echo.ServeHTTP(w, r)
}

// handlers holds what the route handlers share.
type handlers struct {
	svc             *referral.Service
	auth            *auth.Authenticator
	appURL          string
	ready           func(r *http.Request) error
	stripeSecret    string
	stripeTolerance time.Duration
	log             *slog.Logger
	links           LinkConfig
	clicks          ClickRecorder
	visitorKey      []byte
	macs            sync.Pool // *visitorState: HMACs keyed with visitorKey, reused across requests
	codes           *codeCache
	clientIP        echo.IPExtractor
	home            string // APP_URL/, where unknown codes go
	// metrics, when set, counts Stripe events; shortLinkGet and
	// shortLinkHead the short link's fast path.
	metrics       *telemetry.Metrics
	shortLinkGet  *telemetry.Route
	shortLinkHead *telemetry.Route
	// webhooks runs the webhook endpoint operations.
	webhooks *webhook.Service
	// contacts keeps users' email addresses and settings.
	contacts *mail.Contacts
	// publicLimit and userLimit are the rate limits; nil: none.
	publicLimit, userLimit *ratelimit.Limiter
}
