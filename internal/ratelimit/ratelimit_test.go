package ratelimit_test

import (
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/ratelimit"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"60/s": "60/s", "100/m": "100/m", "off": "off", " 5/s ": "5/s"} {
		r, err := ratelimit.Parse(in)
		if err != nil || r.String() != want {
			t.Errorf("Parse(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, bad := range []string{"", "60", "60/h", "0/s", "-1/s", "x/s", "60 per second"} {
		if _, err := ratelimit.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestBucket: a burst of N, then one request per 1/N of the period, each
// key on its own, and the decision's headers' values.
func TestBucket(t *testing.T) {
	l, err := ratelimit.New(ratelimit.Rate{N: 3, Period: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		d := l.Allow("a", t0)
		if !d.Allowed || d.Limit != 3 || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	near := func(got, want time.Duration) bool { return got > want-time.Microsecond && got < want+time.Microsecond }
	d := l.Allow("a", t0)
	if d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, time.Second/3) || !near(d.Reset, time.Second) {
		t.Fatalf("over the burst: %+v", d)
	}
	if d := l.Allow("b", t0); !d.Allowed {
		t.Fatalf("another key: %+v", d)
	}
	if d := l.Allow("a", t0.Add(time.Second/3)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("a third of a second later: %+v", d)
	}
	if d := l.Allow("a", t0.Add(10*time.Second)); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after a long pause the bucket is full, not more: %+v", d)
	}
}
