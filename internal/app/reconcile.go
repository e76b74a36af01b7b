package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/refhub/referral-service/internal/config"
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/stripeapi"
	"github.com/refhub/referral-service/internal/stripehook"
	"github.com/refhub/referral-service/internal/telemetry"
)

// reconcile is `referral-api reconcile`: it lists the Stripe events of the
// last -since through the API and feeds each through the webhook's own
// idempotent path, so a missed delivery, or an outage longer than Stripe's
// retries, heals itself. Events already processed come out as duplicates.
func reconcile(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	since := fs.Duration("since", 72*time.Hour, "how far back to list events (Stripe keeps 30 days)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *since <= 0 || *since > 30*24*time.Hour {
		return errors.New("reconcile: -since must be between 1s and 720h (Stripe keeps 30 days of events)")
	}
	if cfg.StripeSecretKey == "" {
		return errors.New("STRIPE_SECRET_KEY: reconcile lists events through the Stripe API and needs a key")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := newService(cfg, st, log, nil, nil)
	// One reconciliation at a time, shared with the in-server schedule.
	return st.Exclusive(ctx, reconcileJob, func(ctx context.Context) error {
		rep, err := reconcileEvents(ctx, cfg, svc, log, *since, nil)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, rep)
		return nil
	})
}

// reconcileReport counts what a reconciliation did.
type reconcileReport struct {
	listed int
	counts map[string]int
}

func (r reconcileReport) String() string {
	return fmt.Sprintf("listed %d, processed %d, duplicate %d, ignored %d, invalid %d",
		r.listed, r.counts["processed"], r.counts["duplicate"], r.counts["ignored"], r.counts["invalid"])
}

// reconcileEvents lists the Stripe events of the handled types created in
// the last since and feeds them through the webhook's path: each takes
// effect once, so events the webhook already saw are duplicates.
func reconcileEvents(ctx context.Context, cfg config.Config, svc *referral.Service, log *slog.Logger, since time.Duration, tracing *telemetry.Tracing) (reconcileReport, error) {
	rep := reconcileReport{counts: map[string]int{}}
	events, err := stripeapi.NewWithTransport(cfg.StripeSecretKey, cfg.StripeAPIURL, tracing.Transport(nil)).Events(ctx, time.Now().Add(-since), stripehook.HandledTypes())
	if err != nil {
		return rep, err
	}
	rep.listed = len(events)
	for _, le := range events {
		ev, err := stripehook.ParseObject(le.ID, le.Type, le.APIVersion, le.Object)
		if err != nil {
			rep.counts["invalid"]++
			log.WarnContext(ctx, "unreadable Stripe event skipped", "event_id", le.ID, "type", le.Type, "error", err)
			continue
		}
		if !ev.Handled {
			rep.counts["ignored"]++
			continue
		}
		outcome, err := svc.HandleStripeEvent(ctx, referral.StripeEvent{ID: ev.ID, Type: ev.Type}, ev.Effects())
		if err != nil {
			return rep, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		rep.counts[string(outcome)]++
		if outcome == referral.StripeProcessed {
			log.InfoContext(ctx, "missed Stripe event processed", "event_id", ev.ID, "type", ev.Type)
		}
	}
	return rep, nil
}
