package httpapi

import (
	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

func toReferral(r referral.Referral) referralapi.Referral {
	return referralapi.Referral{
		ID: r.ID, Code: r.Code, ReferrerID: r.ReferrerID, ReferredUserID: r.ReferredUserID, ProgramID: r.ProgramID,
		Status: string(r.Status), RewardAmount: r.RewardAmount, RewardCurrency: optional(r.RewardCurrency),
		QualifiedAt: r.QualifiedAt, RewardPaidAt: r.RewardPaidAt, CreatedAt: r.CreatedAt,
		CancelReason: optional(r.CancelReason),
	}
}

func toHistoryItem(r referral.Referral) referralapi.ReferralHistoryItem {
	return referralapi.ReferralHistoryItem{
		ID: r.ID, Status: string(r.Status), RewardAmount: r.RewardAmount, RewardCurrency: optional(r.RewardCurrency),
		QualifiedAt: r.QualifiedAt, RewardPaidAt: r.RewardPaidAt, CreatedAt: r.CreatedAt,
		ReferredUser: referral.MaskedLabel(r.ReferredEmail, r.ReferredUserID),
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
