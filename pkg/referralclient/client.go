package referralclient

// The client itself (Client, ClientWithResponses, one method per operation,
// and the wire types) is generated from the published contract,
// api/openapi.json, into client.gen.go by `make docs`; do not edit it.
// This file adds what every caller needs around it:
//
//	c, err := referralclient.NewClientWithResponses("https://referrals.example.com",
//		referralclient.WithRequestEditorFn(referralclient.BearerToken(token)))
//	res, err := c.GetMyReferralCodeWithResponse(ctx)
//	if p := referralclient.ProblemOf(res); p != nil {
//		return p // e.g. "401 unauthorized: a valid bearer token is required"
//	}
//	fmt.Println(res.JSON200.Code)

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
)

// BearerToken sends credential (a JWT from the product's identity provider,
// or an API key rk_…) as "Authorization: Bearer <credential>". Give it to
// WithRequestEditorFn for every request of a client, or to one call.
func BearerToken(credential string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+credential)
		return nil
	}
}

// Error makes a problem an error, e.g. "409 referral_exists: the user was
// already referred with another code". Switch on Code.
func (p *Problem) Error() string {
	detail := p.Title
	if p.Detail != nil && *p.Detail != "" {
		detail = *p.Detail
	}
	return fmt.Sprintf("%d %s: %s", p.Status, p.Code, detail)
}

// Response is what every generated XxxResponse has.
type Response interface {
	StatusCode() int
	ContentType() string
	GetBody() []byte
}

// ProblemOf returns the RFC 9457 problem an error answer (status 400 or
// more) carries, nil for any other answer. An error answer without a
// readable problem body comes back as a problem with code http_error.
func ProblemOf(r Response) *Problem {
	status := r.StatusCode()
	if status < 400 {
		return nil
	}
	if mt, _, err := mime.ParseMediaType(r.ContentType()); err == nil && mt == "application/problem+json" {
		var p Problem
		if err := json.Unmarshal(r.GetBody(), &p); err == nil && p.Code != "" {
			return &p
		}
	}
	return &Problem{Status: status, Code: "http_error", Title: http.StatusText(status)}
}
