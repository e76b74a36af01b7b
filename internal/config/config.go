// Package config loads and validates every setting of the service from the
// environment. Invalid values fail fast with an error naming the variable.
package config

import (
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/ratelimit"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/schedule"
	"github.com/refhub/referral-service/internal/store"
)

// DefaultSQLitePath is the embedded database used when DATABASE_URL is empty.
const DefaultSQLitePath = "data/referrals.db"

// minSecretLength is the shortest accepted HS256 key: 256 bits.
const minSecretLength = 32

// WriteTimeout is the HTTP server's write timeout; MaxRequestTimeout keeps
// REQUEST_TIMEOUT (and a second for a frozen database to be given up on)
// well inside it.
const (
	WriteTimeout      = 30 * time.Second
	MaxRequestTimeout = 25 * time.Second
)

// Config is every setting of the service.
type Config struct {
	HTTPAddr string

	DatabaseDialect store.Dialect
	DatabaseDSN     string
	AutoMigrate     bool

	AppURL string

	JWTSecret     string
	JWTIssuer     string
	JWTAudience   string
	JWTRolesClaim string
	// JWTJWKSURLs are the identity provider's key sets (JWT_JWKS_URLS).
	JWTJWKSURLs []string
	// JWTAlgorithms is the allow-list of token algorithms (JWT_ALGORITHMS).
	JWTAlgorithms []string
	// JWTRoleMap adds service roles for the product's roles (JWT_ROLE_MAP).
	JWTRoleMap map[string][]string
	// DevMode is true when no JWT_SECRET is set on the embedded database: the
	// server then signs with a local development key and says how to get a token.
	DevMode bool

	StripeWebhookSecret    string
	StripeWebhookTolerance time.Duration

	StripeSecretKey string
	StripeAPIURL    string

	// PayoutMinAmount is the smallest available balance a payout run pays.
	PayoutMinAmount int64
	// PayoutSchedule runs payouts in the server (one replica at a time);
	// nil: never. PayoutScheduleSpec is the expression it came from.
	PayoutSchedule     cron.Schedule
	PayoutScheduleSpec string
	// ReconcileSchedule runs reconciliation in the server likewise.
	ReconcileSchedule     cron.Schedule
	ReconcileScheduleSpec string

	RewardPercent referral.Percent
	// RewardFixed is added to each reward (REWARD_FIXED_AMOUNT, minor units).
	RewardFixed int64
	// RewardCap bounds one reward (REWARD_MAX_AMOUNT; 0: no cap).
	RewardCap int64
	// RewardMinPayment is the smallest payment that earns (REWARD_MIN_PAYMENT).
	RewardMinPayment int64
	// RewardPayments is how many of a referred user's payments earn (REWARD_PAYMENTS).
	RewardPayments int
	// RewardHold is how long a reward stays pending before payout (REWARD_HOLD_DAYS).
	RewardHold time.Duration

	// PublicURL is this service's public base, for PUBLIC_URL/r/CODE share links.
	PublicURL           string
	CookieDays          int
	CookieDomain        string
	AttributionWindow   time.Duration
	LinkTemplateIOS     string
	LinkTemplateAndroid string
	TrustedProxies      []*net.IPNet
	CORSAllowedOrigins  []string
	ShutdownTimeout     time.Duration
	// RateLimitPublic limits public routes per client address;
	// RateLimitUser authenticated routes per subject or API key.
	RateLimitPublic ratelimit.Rate
	RateLimitUser   ratelimit.Rate
	// WebhookAllowPrivateURLs lets webhook endpoints be on private,
	// loopback and link-local addresses (tests, on-premises receivers).
	WebhookAllowPrivateURLs bool
	// SMTP is where email goes (SMTP_URL); nil: emails are logged, not sent.
	SMTP *mail.SMTP
	// MailFrom is the sender of emails (MAIL_FROM).
	MailFrom string
	// MailTemplatesDir holds templates that replace the built-in ones
	// (MAIL_TEMPLATES_DIR); empty: the built-in ones.
	MailTemplatesDir string
	// MetricsAddr moves GET /metrics to a listener of its own; empty: the
	// main listener serves it.
	MetricsAddr string
	// ShutdownDrain is how long, after SIGTERM, /readyz answers 503 while
	// the server still serves, so load balancers stop sending first.
	ShutdownDrain time.Duration
	// RequestTimeout bounds each API request, and so every database call it
	// makes; past it the request answers 503. It stays below the server's
	// write timeout, so a client always learns what became of its request.
	RequestTimeout time.Duration
	LogLevel       string
	LogFormat      string
}

// HTTPAddr is the listen address: HTTP_ADDR, else ":$PORT" when PORT is
// set, else ":8080". Load uses it, and so does the healthcheck command, which
// needs the port without the rest of the configuration.
func HTTPAddr(getenv func(string) string) (string, error) {
	if addr := strings.TrimSpace(getenv("HTTP_ADDR")); addr != "" {
		return addr, nil
	}
	port := strings.TrimSpace(getenv("PORT"))
	if port == "" {
		return ":8080", nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return ":" + port, fmt.Errorf("PORT: %q is not a TCP port", port)
	}
	return ":" + port, nil
}

// Load reads the configuration through getenv (os.Getenv in production).
func Load(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}

	c := Config{}
	addr, err := HTTPAddr(getenv)
	if err != nil {
		errs = append(errs, err)
	}
	c.HTTPAddr = addr

	dialect, dsn, err := store.ParseDatabaseURL(get("DATABASE_URL", ""), DefaultSQLitePath)
	if err != nil {
		bad("DATABASE_URL", "%v", err)
	}
	c.DatabaseDialect, c.DatabaseDSN = dialect, dsn
	c.AutoMigrate = parseBool(get("AUTO_MIGRATE", "true"), "AUTO_MIGRATE", bad)

	c.AppURL = strings.TrimRight(get("APP_URL", "http://localhost:3000"), "/")
	if u, err := url.Parse(c.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("APP_URL", "%q must be an absolute http(s) URL without query or fragment", c.AppURL)
	}

	c.JWTSecret = getenv("JWT_SECRET")
	c.JWTIssuer = get("JWT_ISSUER", "")
	c.JWTAudience = get("JWT_AUDIENCE", "")
	c.JWTRolesClaim = get("JWT_ROLES_CLAIM", "roles")
	if slices.Contains(strings.Split(c.JWTRolesClaim, "."), "") {
		// An exact claim name is tried first, so namespaced URLs with dots
		// work; an empty path segment can only be a typo, and would leave
		// every token without roles.
		bad("JWT_ROLES_CLAIM", "%q has an empty path segment: use a claim name or a dotted path such as realm_access.roles", c.JWTRolesClaim)
	}
	for _, u := range splitList(get("JWT_JWKS_URLS", "")) {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			bad("JWT_JWKS_URLS", "%q is not an absolute http(s) URL", u)
			continue
		}
		if pu.Scheme == "http" && !loopbackHost(pu.Hostname()) {
			bad("JWT_JWKS_URLS", "%q must use https (plain http only for loopback)", u)
			continue
		}
		c.JWTJWKSURLs = append(c.JWTJWKSURLs, u)
	}
	switch {
	case c.JWTSecret == "" && len(c.JWTJWKSURLs) == 0 && c.DatabaseDialect == store.SQLite:
		c.DevMode = true
	case c.JWTSecret == "" && len(c.JWTJWKSURLs) == 0:
		bad("JWT_SECRET or JWT_JWKS_URLS", "one is required with PostgreSQL (development mode, without a key, exists only on the embedded database)")
	case c.JWTSecret != "" && len(c.JWTSecret) < minSecretLength:
		bad("JWT_SECRET", "must be at least %d bytes long for HS256", minSecretLength)
	}
	c.JWTAlgorithms = splitList(get("JWT_ALGORITHMS", ""))
	if len(c.JWTAlgorithms) == 0 {
		c.JWTAlgorithms = auth.DefaultAlgorithms(c.JWTSecret != "" || c.DevMode, len(c.JWTJWKSURLs) > 0)
	}
	for _, alg := range c.JWTAlgorithms {
		switch {
		case !auth.KnownAlgorithm(alg):
			bad("JWT_ALGORITHMS", "%q is not one of HS256, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (never none)", alg)
		case alg == "HS256" && c.JWTSecret == "" && !c.DevMode:
			bad("JWT_ALGORITHMS", "HS256 needs JWT_SECRET")
		case alg != "HS256" && len(c.JWTJWKSURLs) == 0:
			bad("JWT_ALGORITHMS", "%s needs JWT_JWKS_URLS", alg)
		}
	}
	c.JWTRoleMap = map[string][]string{}
	for _, pair := range splitList(get("JWT_ROLE_MAP", "")) {
		from, to, ok := strings.Cut(pair, ":")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || (to != auth.RoleService && to != auth.RoleAdmin) {
			bad("JWT_ROLE_MAP", "%q is not product-role:service or product-role:admin", pair)
			continue
		}
		c.JWTRoleMap[from] = append(c.JWTRoleMap[from], to)
	}

	c.StripeWebhookSecret = get("STRIPE_WEBHOOK_SECRET", "")
	if c.StripeWebhookSecret != "" && !strings.HasPrefix(c.StripeWebhookSecret, "whsec_") {
		bad("STRIPE_WEBHOOK_SECRET", "must be a Stripe signing secret starting with whsec_")
	}
	c.StripeWebhookTolerance = parseDuration(get("STRIPE_WEBHOOK_TOLERANCE", "5m"), "STRIPE_WEBHOOK_TOLERANCE", bad)

	c.StripeSecretKey = get("STRIPE_SECRET_KEY", "")
	if c.StripeSecretKey != "" && !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
		bad("STRIPE_SECRET_KEY", "must be a Stripe secret or restricted key (sk_... or rk_...)")
	}
	c.StripeAPIURL = strings.TrimRight(get("STRIPE_API_URL", ""), "/")
	if c.StripeAPIURL != "" {
		if u, err := url.Parse(c.StripeAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("STRIPE_API_URL", "%q must be an absolute http(s) URL", c.StripeAPIURL)
		}
	}
	minAmount := get("PAYOUT_MIN_AMOUNT", "0")
	if n, err := strconv.ParseInt(minAmount, 10, 64); err != nil || n < 0 {
		bad("PAYOUT_MIN_AMOUNT", "%q is not a non-negative whole amount in minor units", minAmount)
	} else {
		c.PayoutMinAmount = n
	}
	for _, sc := range []struct {
		name  string
		sched *cron.Schedule
		spec  *string
	}{{"PAYOUT_SCHEDULE", &c.PayoutSchedule, &c.PayoutScheduleSpec}, {"RECONCILE_SCHEDULE", &c.ReconcileSchedule, &c.ReconcileScheduleSpec}} {
		if spec := get(sc.name, ""); spec != "" && spec != "off" {
			parsed, err := schedule.Parse(spec)
			if err != nil {
				bad(sc.name, "%v", err)
				continue
			}
			*sc.sched, *sc.spec = parsed, spec
		}
	}
	if c.ReconcileSchedule != nil && c.StripeSecretKey == "" {
		bad("RECONCILE_SCHEDULE", "needs STRIPE_SECRET_KEY: reconciliation lists events through the Stripe API")
	}

	pct, err := referral.ParsePercent(get("REWARD_PERCENT", "20"))
	if err != nil {
		bad("REWARD_PERCENT", "%v", err)
	}
	c.RewardPercent = pct
	amount := func(name string) int64 {
		v := get(name, "0")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > 1_000_000_000_000 {
			bad(name, "%q is not a whole amount in minor units between 0 and 10^12", v)
		}
		return n
	}
	c.RewardFixed = amount("REWARD_FIXED_AMOUNT")
	c.RewardCap = amount("REWARD_MAX_AMOUNT")
	c.RewardMinPayment = amount("REWARD_MIN_PAYMENT")
	payments := get("REWARD_PAYMENTS", "1")
	if n, err := strconv.Atoi(payments); err != nil || n < 1 || n > 1000 {
		bad("REWARD_PAYMENTS", "%q is not a whole number of payments between 1 and 1000", payments)
	} else {
		c.RewardPayments = n
	}
	if c.RewardPercent.Units() == 0 && c.RewardFixed == 0 {
		bad("REWARD_PERCENT", "and REWARD_FIXED_AMOUNT are both zero: no referral would ever earn anything")
	}
	holdDays := get("REWARD_HOLD_DAYS", "14")
	if n, err := strconv.Atoi(holdDays); err != nil || n < 0 || n > 3650 {
		bad("REWARD_HOLD_DAYS", "%q is not a whole number of days between 0 and 3650", holdDays)
	} else {
		c.RewardHold = time.Duration(n) * 24 * time.Hour
	}

	c.PublicURL = strings.TrimRight(get("PUBLIC_URL", ""), "/")
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			bad("PUBLIC_URL", "%q must be an absolute http(s) URL", c.PublicURL)
		}
	}
	days := func(name, def string, min, max int) int {
		v := get(name, def)
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			bad(name, "%q is not a whole number of days between %d and %d", v, min, max)
		}
		return n
	}
	c.CookieDays = days("REFERRAL_COOKIE_DAYS", "30", 1, 400)
	c.AttributionWindow = time.Duration(days("ATTRIBUTION_WINDOW_DAYS", "30", 1, 3650)) * 24 * time.Hour
	c.CookieDomain = get("COOKIE_DOMAIN", "")
	if c.CookieDomain != "" && strings.ContainsAny(c.CookieDomain, " ;,/:") {
		bad("COOKIE_DOMAIN", "%q is not a domain like .example.com", c.CookieDomain)
	}
	for name, tmpl := range map[string]*string{"LINK_TEMPLATE_IOS": &c.LinkTemplateIOS, "LINK_TEMPLATE_ANDROID": &c.LinkTemplateAndroid} {
		*tmpl = get(name, "")
		if *tmpl != "" && !strings.Contains(*tmpl, "{code}") {
			bad(name, "%q must contain {code}, e.g. myapp://invite?ref={code}", *tmpl)
		}
	}
	if proxies := get("TRUSTED_PROXIES", ""); proxies != "" {
		for _, p := range strings.Split(proxies, ",") {
			p = strings.TrimSpace(p)
			if !strings.Contains(p, "/") {
				if strings.Contains(p, ":") {
					p += "/128"
				} else {
					p += "/32"
				}
			}
			_, n, err := net.ParseCIDR(p)
			if err != nil {
				bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR range", p)
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, n)
		}
	}
	if origins := get("CORS_ALLOWED_ORIGINS", ""); origins != "" {
		for _, o := range strings.Split(origins, ",") {
			o = strings.TrimRight(strings.TrimSpace(o), "/")
			if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
				bad("CORS_ALLOWED_ORIGINS", "%q is not an origin like https://app.example.com", o)
				continue
			}
			c.CORSAllowedOrigins = append(c.CORSAllowedOrigins, o)
		}
	}
	for _, rl := range []struct {
		name, def string
		rate      *ratelimit.Rate
	}{{"RATE_LIMIT_PUBLIC", "100/s", &c.RateLimitPublic}, {"RATE_LIMIT_USER", "1000/s", &c.RateLimitUser}} {
		r, err := ratelimit.Parse(get(rl.name, rl.def))
		if err != nil {
			bad(rl.name, "%v", err)
		}
		*rl.rate = r
	}
	c.WebhookAllowPrivateURLs = parseBool(get("WEBHOOK_ALLOW_PRIVATE_URLS", "false"), "WEBHOOK_ALLOW_PRIVATE_URLS", bad)
	if raw := get("SMTP_URL", ""); raw != "" {
		smtp, err := mail.ParseSMTPURL(raw)
		if err != nil {
			bad("SMTP_URL", "%v", err) // never the URL itself: it may hold the password
		} else {
			c.SMTP = &smtp
		}
	}
	c.MailFrom = get("MAIL_FROM", "")
	switch {
	case c.MailFrom == "" && c.SMTP != nil:
		bad("MAIL_FROM", "is required with SMTP_URL: the sender of emails, e.g. Referrals <referrals@example.com>")
	case c.MailFrom != "":
		if a, err := netmail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
			bad("MAIL_FROM", "%q is not an address like referrals@example.com or Referrals <referrals@example.com>", c.MailFrom)
		}
	}
	c.MailTemplatesDir = get("MAIL_TEMPLATES_DIR", "")
	if c.MailTemplatesDir != "" {
		if info, err := os.Stat(c.MailTemplatesDir); err != nil || !info.IsDir() {
			bad("MAIL_TEMPLATES_DIR", "%q is not a directory", c.MailTemplatesDir)
		}
	}
	c.MetricsAddr = get("METRICS_ADDR", "")
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("METRICS_ADDR", "%q is not a listen address like :9090", c.MetricsAddr)
		}
	}
	c.ShutdownTimeout = parseDuration(get("SHUTDOWN_TIMEOUT", "15s"), "SHUTDOWN_TIMEOUT", bad)
	drain := get("SHUTDOWN_DRAIN", "5s")
	if d, err := time.ParseDuration(drain); err != nil || d < 0 || d > 10*time.Minute {
		bad("SHUTDOWN_DRAIN", "%q is not a duration between 0s and 10m", drain)
	} else {
		c.ShutdownDrain = d
	}
	c.RequestTimeout = parseDuration(get("REQUEST_TIMEOUT", "10s"), "REQUEST_TIMEOUT", bad)
	if c.RequestTimeout < 100*time.Millisecond || c.RequestTimeout > MaxRequestTimeout {
		bad("REQUEST_TIMEOUT", "%s is not between 100ms and %s (the server's write timeout is %s)", c.RequestTimeout, MaxRequestTimeout, WriteTimeout)
	}
	c.LogLevel = strings.ToLower(get("LOG_LEVEL", "info"))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	c.LogFormat = strings.ToLower(get("LOG_FORMAT", "text"))
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

func parseBool(v, name string, bad func(string, string, ...any)) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		bad(name, "%q is not true or false", v)
	}
	return b
}

func parseDuration(v, name string, bad func(string, string, ...any)) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		bad(name, "%q is not a positive duration like 30s", v)
	}
	return d
}

// splitList splits a comma-separated value, trimming spaces and dropping
// empty items.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
