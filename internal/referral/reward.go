package referral

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// percentScale is how many parts a percentage point is split into: Percent
// stores percentages with up to four decimals as an integer.
const percentScale = 10_000

// Percent is a percentage with up to four decimal places, held as an integer
// number of 1/10,000ths of a percent so that rewards never touch floats.
type Percent struct {
	units int64
}

// ParsePercent parses a decimal percentage such as "20" or "12.5" in [0, 100].
func ParsePercent(s string) (Percent, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && frac == "") {
		return Percent{}, fmt.Errorf("%q is not a decimal number", s)
	}
	if len(frac) > 4 {
		return Percent{}, fmt.Errorf("%q has more than 4 decimal places", s)
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return Percent{}, fmt.Errorf("%q is not a decimal number", s)
			}
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 100 {
		return Percent{}, fmt.Errorf("%q is not between 0 and 100", s)
	}
	frac += strings.Repeat("0", 4-len(frac))
	f, _ := strconv.ParseInt(frac, 10, 64)
	units := w*percentScale + f
	if units > 100*percentScale {
		return Percent{}, fmt.Errorf("%q is not between 0 and 100", s)
	}
	return Percent{units: units}, nil
}

// MustPercent is ParsePercent for constants known to be valid; it panics otherwise.
func MustPercent(s string) Percent {
	p, err := ParsePercent(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String renders the percentage without trailing zeros, e.g. "12.5".
func (p Percent) String() string {
	whole := p.units / percentScale
	frac := p.units % percentScale
	if frac == 0 {
		return strconv.FormatInt(whole, 10)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%04d", whole, frac), "0")
}

// Of returns floor(amount × p / 100) for a non-negative amount, exactly.
func (p Percent) Of(amount int64) int64 {
	if amount <= 0 || p.units == 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(amount), big.NewInt(p.units))
	n.Quo(n, big.NewInt(100*percentScale))
	return n.Int64()
}
