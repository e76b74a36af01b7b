package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/refhub/referral-service/pkg/referralapi"
)

// TestGoClient drives the service through the published Go client.
func TestGoClient(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		ctx := context.Background()
		user := referralapi.NewClient(s.url, s.token("u1"))
		backend := referralapi.NewClient(s.url, s.token("backend", "service"))

		code, err := user.ReferralCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ref, created, err := backend.CreateReferral(ctx, referralapi.CreateReferralRequest{ReferredUserID: "u2", Code: code.Code})
		if err != nil || !created || ref.Status != "PENDING" {
			t.Fatalf("create: %+v %v %v", ref, created, err)
		}
		if _, created, err := backend.CreateReferral(ctx, referralapi.CreateReferralRequest{ReferredUserID: "u2", Code: code.Code}); err != nil || created {
			t.Fatalf("retry: created=%v err=%v", created, err)
		}
		_, _, err = backend.CreateReferral(ctx, referralapi.CreateReferralRequest{ReferredUserID: "u1", Code: code.Code})
		var p *referralapi.Problem
		if !errors.As(err, &p) || p.Code != "self_referral" || p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("self referral error = %v", err)
		}
		res, err := backend.ReportPayment(ctx, referralapi.PaymentRequest{PaymentID: "pay_1", UserID: "u2", Amount: 10000, Currency: "usd"})
		if err != nil || !res.Qualified {
			t.Fatalf("payment: %+v %v", res, err)
		}
		stats, err := user.Stats(ctx)
		if err != nil || stats.ByStatus.Qualified.RewardAmount["usd"] != 2000 {
			t.Fatalf("stats: %+v %v", stats, err)
		}
		page, err := user.Referrals(ctx, referralapi.ListOptions{Status: "QUALIFIED", Limit: 5})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("referrals: %+v %v", page, err)
		}
		bal, err := user.Balance(ctx)
		if err != nil || len(bal.Balances) != 1 || bal.Balances[0].Amount != 2000 {
			t.Fatalf("balance: %+v %v", bal, err)
		}
		if _, err := referralapi.NewClient(s.url, "").Balance(ctx); !errors.As(err, &p) || p.Code != "unauthorized" {
			t.Fatalf("no token: %v", err)
		}
	})
}
