package referralapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Error returns the problem as a Go error, e.g. "409 referral_exists: ...".
func (p *Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
}

// Client calls the referral service. Token is the bearer token sent with
// every request: a user's token for the /me endpoints, a token with the
// service role for CreateReferral and ReportPayment.
type Client struct {
	BaseURL    string
	Token      string
	HTTPClient *http.Client
}

// NewClient returns a client for the service at baseURL acting with token.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTPClient: http.DefaultClient}
}

// ReferralCode returns the caller's code, creating it on the first call.
func (c *Client) ReferralCode(ctx context.Context) (ReferralCode, error) {
	var out ReferralCode
	_, err := c.do(ctx, http.MethodGet, "/v1/me/referral-code", nil, &out)
	return out, err
}

// Stats returns the caller's referral numbers.
func (c *Client) Stats(ctx context.Context) (ReferralStats, error) {
	var out ReferralStats
	_, err := c.do(ctx, http.MethodGet, "/v1/me/referrals/stats", nil, &out)
	return out, err
}

// ListOptions selects a page of referral history.
type ListOptions struct {
	Status string
	Limit  int
	Cursor string
}

// Referrals returns a page of the caller's referral history.
func (c *Client) Referrals(ctx context.Context, o ListOptions) (ReferralPage, error) {
	q := url.Values{}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	path := "/v1/me/referrals"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out ReferralPage
	_, err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// Balance returns the caller's balance per currency.
func (c *Client) Balance(ctx context.Context) (Balances, error) {
	var out Balances
	_, err := c.do(ctx, http.MethodGet, "/v1/me/balance", nil, &out)
	return out, err
}

// CreateReferral attributes a new user to a code; created is false when the
// same attribution was already recorded.
func (c *Client) CreateReferral(ctx context.Context, req CreateReferralRequest) (ref Referral, created bool, err error) {
	status, err := c.do(ctx, http.MethodPost, "/v1/referrals", req, &ref)
	return ref, status == http.StatusCreated, err
}

// ReportPayment reports a successful payment.
func (c *Client) ReportPayment(ctx context.Context, req PaymentRequest) (PaymentResult, error) {
	var out PaymentResult
	_, err := c.do(ctx, http.MethodPost, "/v1/payments", req, &out)
	return out, err
}

// do sends one request; a problem answer comes back as a *Problem error.
func (c *Client) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode >= 400 {
		p := &Problem{Status: res.StatusCode}
		if err := json.Unmarshal(data, p); err != nil || p.Code == "" {
			return res.StatusCode, &Problem{Status: res.StatusCode, Code: "http_error", Detail: http.StatusText(res.StatusCode)}
		}
		return res.StatusCode, p
	}
	if err := json.Unmarshal(data, out); err != nil {
		return res.StatusCode, fmt.Errorf("decode %s %s response: %w", method, path, err)
	}
	return res.StatusCode, nil
}
