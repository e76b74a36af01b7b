package schedule_test

import (
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/schedule"
)

func TestParse(t *testing.T) {
	base := time.Date(2026, 11, 30, 10, 17, 0, 0, time.UTC)
	for spec, next := range map[string]time.Time{
		"0 3 * * *":    time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC),
		"*/15 * * * *": time.Date(2026, 11, 30, 10, 30, 0, 0, time.UTC),
		"@daily":       time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		"@every 6h":    base.Add(6 * time.Hour),
		"24h":          base.Add(24 * time.Hour), // the older PAYOUT_SCHEDULE form
	} {
		s, err := schedule.Parse(spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if got := s.Next(base); !got.Equal(next) {
			t.Errorf("%q: next after %s = %s, want %s", spec, base, got, next)
		}
	}
	for _, bad := range []string{"", "every day", "61 * * * *", "* * * *", "30s", "@yearly-ish", "* * * * * * *"} {
		if _, err := schedule.Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
