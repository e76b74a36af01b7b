package referral_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/internal/testdb"
)

func BenchmarkCodeGenerator(b *testing.B) {
	gen := referral.NewCodeGenerator(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gen(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRewardPercent(b *testing.B) {
	p := referral.MustPercent("12.5")
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Of(123456789)
	}
}

// BenchmarkAttributeAndQualify measures the write path per referral: a new
// code, an attribution and a qualifying payment, on each database.
func BenchmarkAttributeAndQualify(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			svc := referral.NewService(backend.Open(b), referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}})
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				code, err := svc.GetOrCreateCode(ctx, fmt.Sprintf("r%d", i))
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: fmt.Sprintf("f%d", i), Code: code.Code}); err != nil {
					b.Fatal(err)
				}
				if _, err := svc.RecordPayment(ctx, referral.Payment{ID: fmt.Sprintf("p%d", i), UserID: fmt.Sprintf("f%d", i), Amount: 10000, Currency: "usd", Source: referral.SourceAPI}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStats measures the dashboard read for a referrer with 1,000 referrals.
func BenchmarkStats(b *testing.B) {
	for _, backend := range testdb.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			svc := referral.NewService(backend.Open(b), referral.Options{Rule: referral.RewardRule{Percent: referral.MustPercent("20")}})
			code, err := svc.GetOrCreateCode(ctx, "big")
			if err != nil {
				b.Fatal(err)
			}
			for i := range 1000 {
				if _, _, err := svc.Attribute(ctx, referral.Attribution{ReferredUserID: fmt.Sprintf("f%d", i), Code: code.Code}); err != nil {
					b.Fatal(err)
				}
				if i%3 == 0 {
					if _, err := svc.RecordPayment(ctx, referral.Payment{ID: fmt.Sprintf("p%d", i), UserID: fmt.Sprintf("f%d", i), Amount: 5000, Currency: "usd", Source: referral.SourceAPI}); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := svc.Stats(ctx, "big"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
