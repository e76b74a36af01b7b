// Package app wires the service together and runs its subcommands: serve
// (the default), migrate, token, payouts run, reconcile and healthcheck.
package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/refhub/referral-service/internal/auth"
	"github.com/refhub/referral-service/internal/clicks"
	"github.com/refhub/referral-service/internal/config"
	"github.com/refhub/referral-service/internal/httpapi"
	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/outbox/webhook"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/schedule"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/stripeapi"
	"github.com/refhub/referral-service/internal/stripehook"
	"github.com/refhub/referral-service/internal/telemetry"
)

const usage = `referral-api: the referral service.

Usage:
  referral-api [serve]          serve the HTTP API (migrates first unless AUTO_MIGRATE=false)
  referral-api migrate          apply pending database migrations and exit
  referral-api payouts run      pay every available balance of at least PAYOUT_MIN_AMOUNT as
                                Stripe credit (resuming pending payouts first) and exit
  referral-api reconcile [-since 72h]
                                list recent Stripe events through the API and feed any
                                the webhook missed through the same idempotent path
  referral-api token [flags]    print a bearer token signed with the configured key
                                (or the development key), for trying the API
  referral-api api-keys create -name NAME [-role service|admin]
                                create an API key (the first admin key, say) and print
                                it; it is shown only once
  referral-api healthcheck      GET /healthz on 127.0.0.1 at the port of HTTP_ADDR (or PORT)
                                within 3s; exit 0 on 200, else 1 (container health checks)
  referral-api help             show this text

Configuration comes from environment variables; see configs/referral-api.env.
`

// Run executes the subcommand named by args (without the program name) until
// ctx is cancelled or the command finishes.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "healthcheck":
		// Only the listen address: a probe must not depend on (or fail
		// over) the rest of the configuration.
		return healthcheck(ctx, getenv, args)
	case "serve", "migrate", "token", "payouts", "reconcile", "api-keys":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	switch cmd {
	case "migrate":
		return migrate(ctx, cfg, log)
	case "token":
		return token(cfg, args, stdout, stderr)
	case "reconcile":
		return reconcile(ctx, cfg, log, args, stdout, stderr)
	case "api-keys":
		return apiKeys(ctx, cfg, log, args, stdout, stderr)
	case "payouts":
		if len(args) != 1 || args[0] != "run" {
			fmt.Fprint(stderr, usage)
			return errors.New("usage: referral-api payouts run")
		}
		return runPayouts(ctx, cfg, log, stdout)
	default:
		return serve(ctx, cfg, getenv, log)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(telemetry.LogHandler(h))
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.DatabaseDialect, cfg.DatabaseDSN)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx, log)
	if err != nil {
		return err
	}
	log.Info("database is up to date", "dialect", cfg.DatabaseDialect, "applied", len(applied))
	return nil
}

// serve runs the HTTP API until ctx is cancelled, then shuts down gracefully:
// it stops accepting connections and lets in-flight requests finish within
// SHUTDOWN_TIMEOUT.
func serve(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger) error {
	secret, err := signingKey(cfg)
	if err != nil {
		return err
	}
	// The email templates before anything else: a broken override stops
	// the start, not an email.
	templates, err := mail.LoadTemplates(cfg.MailTemplatesDir)
	if err != nil {
		return fmt.Errorf("MAIL_TEMPLATES_DIR: %w", err)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	authn, err := newAuthenticator(ctx, cfg, secret, st, log)
	if err != nil {
		return err
	}
	tracing, err := telemetry.NewTracing(ctx, getenv, version(), log)
	if err != nil {
		return err
	}
	if tracing != nil {
		defer func() {
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tracing.Shutdown(flushCtx); err != nil {
				log.Warn("traces not all sent at shutdown", "error", err)
			}
		}()
		if err := st.Trace(tracing.Provider()); err != nil {
			return err
		}
		log.Info("tracing on: OpenTelemetry spans are exported as the OTEL_* variables say")
	}
	metrics := telemetry.New()
	for name, pool := range st.Pools() {
		metrics.WatchDB(name, pool)
	}
	metrics.Expect(expectedSeries())
	svc := newService(cfg, st, log, metrics, tracing)
	syncDefaultProgram(ctx, svc, getenv, log)
	sched := newScheduler(cfg, st, svc, log, tracing)
	sched.Start()
	// The outbox: events to webhooks and email, after their transactions.
	guard := webhook.Guard{AllowPrivate: cfg.WebhookAllowPrivateURLs}
	hookSink := webhook.NewSink(st, guard, webhook.SinkOptions{Log: log})
	mailSink := mail.NewSink(st, templates, newMailSender(cfg, log), mail.SinkOptions{From: cfg.MailFrom, AppURL: cfg.AppURL, Log: log})
	sinks := []outbox.Sink{hookSink, mailSink}
	var sinkNames []string
	for _, s := range sinks {
		sinkNames = append(sinkNames, s.Name())
	}
	metrics.ExpectOutbox(sinkNames)
	worker := outbox.New(st, sinks, outbox.Options{Log: log, Observer: metrics, Every: []outbox.Periodic{{
		Name: "announce available rewards", Interval: 10 * time.Second,
		Run: func(ctx context.Context) error {
			_, err := svc.AnnounceAvailableRewards(ctx, 500)
			return err
		},
	}, {
		Name: "prune delivery history", Interval: time.Hour,
		Run: func(ctx context.Context) error {
			now := time.Now().UTC()
			_, err := st.PruneOutbox(ctx, now.Add(-deliveryHistory), now)
			return err
		},
	}}})
	st.OnEvents(worker.Wake)
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		worker.Run(workerCtx)
	}()
	defer func() {
		stopWorker()
		<-workerDone
	}()
	hooks := webhook.NewService(st, guard, eventTypes(), referral.NewIDGenerator(nil).New, hookSink, worker.Wake)
	var draining atomic.Bool
	recorder := clicks.NewRecorder(svc, log, clicks.Options{})
	metrics.WatchClicks(func() telemetry.ClickStats {
		st := recorder.Stats()
		return telemetry.ClickStats{Batches: st.Batches, Written: st.Written, Lost: st.Lost, Failures: st.Failures, Backlog: st.Backlog}
	})
	visitorKey := sha256.Sum256(append([]byte("referral-service visitor hash\x00"), secret...))
	router := httpapi.New(httpapi.Deps{
		Service: svc, Auth: authn, AppURL: cfg.AppURL, Log: log,
		Ready: func(r *http.Request) error {
			if draining.Load() {
				return errDraining
			}
			return ready(r.Context(), st)
		},
		StripeWebhookSecret: cfg.StripeWebhookSecret, StripeTolerance: cfg.StripeWebhookTolerance,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins, RequestTimeout: cfg.RequestTimeout,
		Links:  linkConfig(cfg),
		Clicks: recorder, VisitorKey: visitorKey[:], TrustedProxies: cfg.TrustedProxies,
		Metrics: metrics, ServeMetrics: cfg.MetricsAddr == "",
		PublicRateLimit: cfg.RateLimitPublic, UserRateLimit: cfg.RateLimitUser,
		Webhooks: hooks, Contacts: mail.NewContacts(st),
	})

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: listen on %s: %w", cfg.HTTPAddr, err)
	}
	var handler http.Handler = router
	if tracing != nil {
		handler = tracing.Handler(router)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      config.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The metrics listener before anything says the server is up: a port
	// that is taken stops the start.
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("METRICS_ADDR: listen on %s: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	log.Info("referral-api listening", "addr", ln.Addr().String(), "database", cfg.DatabaseDialect,
		"reward_percent", cfg.RewardPercent.String(), "reward_hold", cfg.RewardHold, "stripe_webhooks", cfg.StripeWebhookSecret != "",
		"docs", "http://"+displayAddr(ln.Addr())+"/swagger/index.html")
	if cfg.DevMode {
		logDevMode(log, cfg)
	}
	if cfg.StripeWebhookSecret == "" {
		log.Warn("STRIPE_WEBHOOK_SECRET is not set: POST /v1/webhooks/stripe answers 503")
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-ctx.Done():
	}
	// Drain: readiness fails at once, so load balancers stop sending, while
	// the server keeps answering whatever still arrives.
	draining.Store(true)
	log.Info("draining", "for", cfg.ShutdownDrain)
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve HTTP: %w", err)
	case <-time.After(cfg.ShutdownDrain):
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := sched.Stop(shutdownCtx); err != nil {
		log.Warn("scheduled jobs still running at shutdown", "error", err)
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	// Every answered request is done; write the clicks they queued.
	if err := recorder.Close(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	// Deliveries in flight finish (each within its timeout) and are
	// recorded; what is left is another replica's, or this one's next start.
	stopWorker()
	<-workerDone
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve HTTP: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newMailSender sends through SMTP_URL, or logs each email without it.
func newMailSender(cfg config.Config, log *slog.Logger) mail.Sender {
	if cfg.SMTP == nil {
		log.Info("email: SMTP_URL is not set, so emails are logged (recipient and subject), not sent")
		return mail.LogSender{Log: log}
	}
	helo, _ := os.Hostname()
	log.Info("email: sending through SMTP", "server", cfg.SMTP.String(), "from", cfg.MailFrom)
	return mail.NewSMTPSender(*cfg.SMTP, helo, mail.Timeout)
}

// newAuthenticator builds who-is-calling from the configuration: HS256
// with the secret, the identity provider's JWKS, and API keys from st.
func newAuthenticator(ctx context.Context, cfg config.Config, secret []byte, st *store.Store, log *slog.Logger) (*auth.Authenticator, error) {
	a, err := auth.New(ctx, auth.Config{
		Secret: secret, JWKSURLs: cfg.JWTJWKSURLs, Algorithms: cfg.JWTAlgorithms, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		RolesClaim: cfg.JWTRolesClaim, RoleMap: cfg.JWTRoleMap, Keys: st, JWKS: auth.JWKSOptions{Log: log},
		NewID: referral.NewIDGenerator(nil).New,
	})
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	return a, nil
}

// apiKeys is `referral-api api-keys create -name NAME -role admin`: the
// first key (or any) without an existing one; it prints the secret once.
func apiKeys(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, usage)
		return errors.New("usage: referral-api api-keys create -name NAME -role service|admin")
	}
	fs := flag.NewFlagSet("api-keys create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "what the key is for, e.g. billing backend (required)")
	role := fs.String("role", auth.RoleService, "service or admin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("api-keys create: -name is required")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := auth.New(ctx, auth.Config{Keys: st, NewID: referral.NewIDGenerator(nil).New})
	if err != nil {
		return err
	}
	k, secret, err := a.CreateAPIKey(ctx, strings.TrimSpace(*name), *role, "cli")
	if err != nil {
		return fmt.Errorf("api-keys create: %w", err)
	}
	fmt.Fprintf(stderr, "created API key %s (%s, role %s); it is shown only now:\n", k.ID, k.Name, k.Role)
	fmt.Fprintln(stdout, secret)
	return nil
}

// errDraining is readiness during the drain after SIGTERM.
var errDraining = errors.New("shutting down")

// The scheduled jobs, and the names of their locks (shared by the CLI).
const (
	payoutsJob   = "schedule:payouts"
	reconcileJob = "schedule:reconcile"
)

// reconcileWindow is how far back a scheduled reconciliation looks.
const reconcileWindow = 72 * time.Hour

// newScheduler schedules the configured jobs, each run by one replica at a
// time.
func newScheduler(cfg config.Config, st *store.Store, svc *referral.Service, log *slog.Logger, tracing *telemetry.Tracing) *schedule.Scheduler {
	sched := schedule.New(st, log)
	if cfg.PayoutSchedule != nil {
		name := strings.TrimPrefix(payoutsJob, "schedule:")
		sched.Add(schedule.Job{Name: name, Schedule: cfg.PayoutSchedule, Run: tracing.Job(name, func(ctx context.Context) error {
			rep, err := svc.RunPayouts(ctx, cfg.PayoutMinAmount)
			log.InfoContext(ctx, "scheduled payout run", "paid", rep.Paid, "pending", rep.Pending, "failed", rep.Failed, "skipped", rep.Skipped, "amounts", rep.Amounts)
			return err
		})})
	}
	if cfg.ReconcileSchedule != nil {
		name := strings.TrimPrefix(reconcileJob, "schedule:")
		sched.Add(schedule.Job{Name: name, Schedule: cfg.ReconcileSchedule, Run: tracing.Job(name, func(ctx context.Context) error {
			rep, err := reconcileEvents(ctx, cfg, svc, log, reconcileWindow, tracing)
			log.InfoContext(ctx, "scheduled reconciliation", "result", rep.String())
			return err
		})})
	}
	return sched
}

// connectTimeout bounds connecting to the database at start.
const connectTimeout = 30 * time.Second

// openStore connects to the database and, unless AUTO_MIGRATE=false,
// applies pending migrations.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	// A database that does not answer stops the start with an error rather
	// than a hang; migrations themselves may take as long as they need.
	connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	st, err := store.Open(connectCtx, cfg.DatabaseDialect, cfg.DatabaseDSN)
	cancel()
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		if _, err := st.Migrate(ctx, log); err != nil {
			st.Close()
			return nil, err
		}
	}
	return st, nil
}

// syncDefaultProgram records the REWARD_* values in the default program's
// history while it follows them, and says so when an operator's change
// made them irrelevant. It never stops the start: a schema that lags the
// binary is readiness's to report.
func syncDefaultProgram(ctx context.Context, svc *referral.Service, getenv func(string) string, log *slog.Logger) {
	apiManaged, err := svc.SyncEnvironmentProgram(ctx)
	if err != nil {
		log.WarnContext(ctx, "could not record the default program's REWARD_* values", "error", err)
		return
	}
	if !apiManaged {
		return
	}
	var set []string
	for _, name := range []string{"REWARD_PERCENT", "REWARD_FIXED_AMOUNT", "REWARD_MAX_AMOUNT", "REWARD_MIN_PAYMENT", "REWARD_PAYMENTS", "REWARD_HOLD_DAYS"} {
		if getenv(name) != "" {
			set = append(set, name)
		}
	}
	if len(set) > 0 {
		log.WarnContext(ctx, "the default program is managed through /v1/admin/programs: these variables no longer apply", "variables", strings.Join(set, ","))
	}
}

// newService builds the referral service from the configuration; observer
// (may be nil) counts its outcomes.
func newService(cfg config.Config, st *store.Store, log *slog.Logger, observer referral.Observer, tracing *telemetry.Tracing) *referral.Service {
	opts := referral.Options{
		Rule:       referral.RewardRule{Percent: cfg.RewardPercent, Fixed: cfg.RewardFixed, Cap: cfg.RewardCap},
		MinPayment: cfg.RewardMinPayment, Payments: cfg.RewardPayments, Hold: cfg.RewardHold, Log: log,
		AttributionWindow: cfg.AttributionWindow,
	}
	if cfg.StripeSecretKey != "" {
		api := stripeapi.NewWithTransport(cfg.StripeSecretKey, cfg.StripeAPIURL, tracing.Transport(nil))
		opts.Credits, opts.Discounts = api, api
	}
	opts.Observer = observer
	opts.EncodeEvent = httpapi.EventEncoder(cfg.AppURL, linkConfig(cfg))
	return referral.NewService(st, opts)
}

// runPayouts is `referral-api payouts run`.
func runPayouts(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	if cfg.StripeSecretKey == "" {
		return errors.New("STRIPE_SECRET_KEY: payouts run pays as Stripe credit and needs a key")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := newService(cfg, st, log, nil, nil)
	// One payout run at a time, shared with the in-server schedule, so
	// Stripe sees one credit call per payout.
	return st.Exclusive(ctx, payoutsJob, func(ctx context.Context) error {
		rep, err := svc.RunPayouts(ctx, cfg.PayoutMinAmount)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "paid %d, pending %d, failed %d, skipped %d, amounts %v\n", rep.Paid, rep.Pending, rep.Failed, rep.Skipped, rep.Amounts)
		return nil
	})
}

// ready reports whether the database answers and its schema is current.
func ready(ctx context.Context, st *store.Store) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	current, latest, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	if current < latest {
		return fmt.Errorf("schema version %d is behind %d: run referral-api migrate", current, latest)
	}
	return nil
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return s
}

// token prints a signed bearer token for trying the API.
func token(cfg config.Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "user id the token acts for (required)")
	roles := fs.String("roles", "", "comma-separated roles, e.g. service or admin")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("token: -sub is required")
	}
	secret, err := signingKey(cfg)
	if err != nil {
		return err
	}
	var roleList []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roleList = append(roleList, r)
		}
	}
	minter, err := auth.New(context.Background(), auth.Config{Secret: secret, Algorithms: []string{"HS256"}, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, RolesClaim: cfg.JWTRolesClaim})
	if err != nil {
		return err
	}
	tok, err := minter.Mint(*sub, roleList, *ttl, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// expectedSeries are the Stripe event and payout series /metrics shows at
// zero from the start: each handled event type by the outcomes it can
// have, the two rejections, and each payout method by status.
func expectedSeries() (stripe, payouts [][2]string) {
	for _, typ := range stripehook.HandledTypes() {
		for _, outcome := range []string{string(referral.StripeProcessed), string(referral.StripeDuplicate), "failed"} {
			stripe = append(stripe, [2]string{typ, outcome})
		}
	}
	stripe = append(stripe, [2]string{"", "bad_signature"}, [2]string{"", "invalid"})
	for _, method := range []referral.PayoutMethod{referral.PayoutManual, referral.PayoutStripeCredit} {
		for _, status := range []referral.PayoutStatus{referral.PayoutPaid, referral.PayoutFailed} {
			payouts = append(payouts, [2]string{string(method), string(status)})
		}
	}
	return stripe, payouts
}

// linkConfig is how links are built, for the API and for event data.
func linkConfig(cfg config.Config) httpapi.LinkConfig {
	return httpapi.LinkConfig{
		AppURL: cfg.AppURL, PublicURL: cfg.PublicURL, CookieDays: cfg.CookieDays, CookieDomain: cfg.CookieDomain,
		IOSTemplate: cfg.LinkTemplateIOS, AndroidTemplate: cfg.LinkTemplateAndroid,
	}
}

// deliveryHistory is how long delivery attempts are kept (events stay).
const deliveryHistory = 30 * 24 * time.Hour

// eventTypes are the business event types webhook endpoints may name.
func eventTypes() []string {
	out := make([]string, len(referral.EventTypes))
	for i, t := range referral.EventTypes {
		out[i] = string(t)
	}
	return out
}

// version is the module version the binary was built from, as Go recorded
// it ("(devel)" for a local build).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
