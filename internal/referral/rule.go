package referral

import "math/big"

// RewardRule is how a payment's reward is computed. It is stored with each
// reward, so changing the configuration never rewrites history.
type RewardRule struct {
	// Percent of the payment paid as reward.
	Percent Percent
	// Fixed is added per rewarded payment, in the payment's minor units.
	Fixed int64
	// Cap bounds one reward; 0 means no cap.
	Cap int64
}

// For returns the reward earned by a payment of amount.
func (r RewardRule) For(amount int64) int64 {
	return r.Kept(amount, 0)
}

// Kept returns the reward kept after refunds totalling refunded of a payment
// of paid: the percentage applies to the net paid, the fixed part shrinks pro
// rata, and the cap still holds. Nothing is kept once everything is refunded.
func (r RewardRule) Kept(paid, refunded int64) int64 {
	net := paid - refunded
	if paid <= 0 || net <= 0 {
		return 0
	}
	kept := r.Percent.Of(net)
	if r.Fixed > 0 {
		f := new(big.Int).Mul(big.NewInt(r.Fixed), big.NewInt(net))
		kept += f.Quo(f, big.NewInt(paid)).Int64()
	}
	if r.Cap > 0 && kept > r.Cap {
		kept = r.Cap
	}
	return kept
}

// Units returns the percentage in 1/10,000ths of a percent, for storage.
func (p Percent) Units() int64 { return p.units }

// PercentFromUnits rebuilds a stored percentage.
func PercentFromUnits(units int64) Percent { return Percent{units: units} }
