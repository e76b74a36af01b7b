package httpapi

import (
	"encoding/json"
	"fmt"

	"github.com/refhub/referral-service/internal/referral"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// EventEncoder returns the encoder of event data: each domain value as the
// API shows it, so feeds and webhooks carry the API's own objects.
func EventEncoder(appURL string, links LinkConfig) referral.EventEncoder {
	return func(subject any) (json.RawMessage, error) {
		var v any
		switch s := subject.(type) {
		case referral.Referral:
			v = toReferral(s)
		case referral.Payout:
			v = toPayout(s)
		case referral.Code:
			v = codeObject(appURL, links, s)
		case referral.RewardChange:
			v = referralapi.RewardEventData{ReferralID: s.ReferralID, ReferrerID: s.ReferrerID, Amount: s.Amount, Currency: s.Currency}
		default:
			return nil, fmt.Errorf("no event data for %T", subject)
		}
		return json.Marshal(v)
	}
}
