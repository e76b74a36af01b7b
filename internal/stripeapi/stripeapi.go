// Package stripeapi calls Stripe's API through stripe-go v76: customer
// balance credits for payouts and the event list for reconciliation.
// STRIPE_API_URL points it at stripe-mock in tests.
package stripeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/refhub/referral-service/internal/referral"
)

// Client is a Stripe API client.
type Client struct {
	api *client.API
}

// New returns a client using secretKey, against apiURL when not empty.
func New(secretKey, apiURL string) *Client { return NewWithTransport(secretKey, apiURL, nil) }

// NewWithTransport is New with the HTTP transport its calls go through
// (nil: Go's default), e.g. one that traces them.
func NewWithTransport(secretKey, apiURL string, rt http.RoundTripper) *Client {
	cfg := &stripe.BackendConfig{
		HTTPClient:    &http.Client{Timeout: 30 * time.Second, Transport: rt},
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if apiURL != "" {
		cfg.URL = stripe.String(apiURL)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	return &Client{api: client.New(secretKey, &stripe.Backends{API: b, Connect: b, Uploads: b})}
}

// Credit adds amount to the customer's credit balance (a negative customer
// balance transaction), which their next invoices draw down. Stripe
// performs it once per idempotency key. Errors Stripe will answer the same
// way again (bad request, unknown customer, currency mismatch) wrap
// referral.ErrCreditRejected; others are transient.
func (c *Client) Credit(ctx context.Context, cc referral.CustomerCredit) (string, error) {
	params := &stripe.CustomerBalanceTransactionParams{
		Customer:    stripe.String(cc.CustomerID),
		Amount:      stripe.Int64(-cc.Amount),
		Currency:    stripe.String(cc.Currency),
		Description: stripe.String(cc.Description),
	}
	params.Context = ctx
	params.SetIdempotencyKey(cc.IdempotencyKey)
	txn, err := c.api.CustomerBalanceTransactions.New(params)
	if err != nil {
		return "", classify(err)
	}
	return txn.ID, nil
}

// classify marks errors that retrying cannot fix as rejections.
func classify(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		switch se.HTTPStatusCode {
		case http.StatusBadRequest, http.StatusPaymentRequired, http.StatusForbidden, http.StatusNotFound:
			return fmt.Errorf("%w: Stripe answered %d %s: %s", referral.ErrCreditRejected, se.HTTPStatusCode, se.Code, se.Msg)
		}
	}
	return fmt.Errorf("stripe: %w", err)
}

// ListedEvent is one event from Stripe's event list, read tolerantly: only
// the parts the webhook path reads, whatever the event's API version.
type ListedEvent struct {
	ID         string
	Type       string
	APIVersion string
	Object     json.RawMessage
}

// Events returns the events of the given types created since, oldest first
// (Stripe lists newest first; replaying in creation order mirrors delivery).
func (c *Client) Events(ctx context.Context, since time.Time, types []string) ([]ListedEvent, error) {
	params := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	for _, t := range types {
		params.Types = append(params.Types, stripe.String(t))
	}
	var out []ListedEvent
	it := c.api.Events.List(params)
	for it.Next() {
		e := it.Event()
		le := ListedEvent{ID: e.ID, Type: string(e.Type), APIVersion: e.APIVersion}
		if e.Data != nil {
			le.Object = e.Data.Raw
		}
		out = append(out, le)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("list Stripe events: %w", classify(err))
	}
	slices.Reverse(out)
	return out, nil
}

// CreateDiscount creates a coupon and a promotion code pointing at it, each
// once per idempotency key (the same key, suffixed, for both calls), so a
// retried program change creates them once. Errors Stripe will answer the
// same way again (a taken code, an unsupported currency) wrap
// referral.ErrDiscountRejected.
func (c *Client) CreateDiscount(ctx context.Context, d referral.DiscountSpec) (referral.IssuedDiscount, error) {
	cp := &stripe.CouponParams{Duration: stripe.String(d.Duration), Name: stripe.String(truncate(d.Name, 40))}
	if d.PercentOff != nil {
		// Stripe takes a float; two decimals at most (checked before), so
		// the value is exact enough for Stripe's own rounding.
		cp.PercentOff = stripe.Float64(float64(d.PercentOff.Units()) / 10_000)
	} else {
		cp.AmountOff, cp.Currency = stripe.Int64(d.AmountOff), stripe.String(d.Currency)
	}
	if d.Duration == referral.DurationRepeating {
		cp.DurationInMonths = stripe.Int64(int64(d.DurationMonths))
	}
	cp.Context = ctx
	cp.SetIdempotencyKey(d.IdempotencyKey + "-coupon")
	cp.AddMetadata("referral_program_id", d.ProgramID)
	coupon, err := c.api.Coupons.New(cp)
	if err != nil {
		return referral.IssuedDiscount{}, classifyDiscount(err)
	}
	pp := &stripe.PromotionCodeParams{Coupon: stripe.String(coupon.ID)}
	if d.Code != "" {
		pp.Code = stripe.String(d.Code)
	}
	pp.Context = ctx
	pp.SetIdempotencyKey(d.IdempotencyKey + "-promotion-code")
	pp.AddMetadata("referral_program_id", d.ProgramID)
	promo, err := c.api.PromotionCodes.New(pp)
	if err != nil {
		return referral.IssuedDiscount{}, classifyDiscount(err)
	}
	return referral.IssuedDiscount{CouponID: coupon.ID, PromotionCodeID: promo.ID, Code: promo.Code}, nil
}

// CreatePromotionCode makes a promotion code for an existing coupon.
func (c *Client) CreatePromotionCode(ctx context.Context, d referral.PromotionCodeSpec) (referral.IssuedDiscount, error) {
	pp := &stripe.PromotionCodeParams{Coupon: stripe.String(d.CouponID), Code: stripe.String(d.Code)}
	pp.Context = ctx
	pp.SetIdempotencyKey(d.IdempotencyKey)
	pp.AddMetadata("referral_program_id", d.ProgramID)
	pp.AddMetadata("referral_code_id", d.CodeID)
	promo, err := c.api.PromotionCodes.New(pp)
	if err != nil {
		return referral.IssuedDiscount{}, classifyDiscount(err)
	}
	return referral.IssuedDiscount{CouponID: d.CouponID, PromotionCodeID: promo.ID, Code: promo.Code}, nil
}

// DeleteCoupon deletes a coupon, which ends its promotion codes.
func (c *Client) DeleteCoupon(ctx context.Context, id string) error {
	params := &stripe.CouponParams{}
	params.Context = ctx
	if _, err := c.api.Coupons.Del(id, params); err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound {
			return nil // deleted already
		}
		return classifyDiscount(err)
	}
	return nil
}

func classifyDiscount(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest {
		return fmt.Errorf("%w: %s", referral.ErrDiscountRejected, se.Msg)
	}
	return fmt.Errorf("stripe: %w", err)
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// SetPromotionCodeActive activates or deactivates a promotion code (a
// program's discount replaced or removed; a failed change undone).
func (c *Client) SetPromotionCodeActive(ctx context.Context, id string, active bool) error {
	params := &stripe.PromotionCodeParams{Active: stripe.Bool(active)}
	params.Context = ctx
	if _, err := c.api.PromotionCodes.Update(id, params); err != nil {
		return classifyDiscount(err)
	}
	return nil
}
