package referral_test

import (
	"bytes"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

func TestPercent(t *testing.T) {
	cases := []struct {
		in     string
		amount int64
		want   int64
	}{
		{"20", 10000, 2000},
		{"20", 10001, 2000},
		{"20", 4, 0},
		{"12.5", 999, 124},
		{"12.5", 1000, 125},
		{"0.0001", 1_000_000, 1},
		{"100", 123, 123},
		{"0", 5000, 0},
		{"33.3333", 300, 99},
		{"20", math.MaxInt64, math.MaxInt64 / 5},
	}
	for _, tc := range cases {
		p, err := referral.ParsePercent(tc.in)
		if err != nil {
			t.Fatalf("ParsePercent(%q): %v", tc.in, err)
		}
		if got := p.Of(tc.amount); got != tc.want {
			t.Errorf("%s%% of %d = %d, want %d", tc.in, tc.amount, got, tc.want)
		}
	}
	for _, bad := range []string{"", "abc", "-5", "100.5", "101", "12.", ".5", "1e2", "12.34567", "20%", " 2 0"} {
		if _, err := referral.ParsePercent(bad); err == nil {
			t.Errorf("ParsePercent(%q) accepted", bad)
		}
	}
	if s := referral.MustPercent("12.50").String(); s != "12.5" {
		t.Errorf("String() = %q", s)
	}
}

func TestCodeGeneratorUsesAlphabetUniformly(t *testing.T) {
	gen := referral.NewCodeGenerator(nil)
	counts := map[rune]int{}
	const n = 4000
	for range n {
		c, err := gen()
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != referral.CodeLength {
			t.Fatalf("code %q has length %d", c, len(c))
		}
		for _, r := range c {
			if !strings.ContainsRune(referral.CodeAlphabet, r) {
				t.Fatalf("code %q has %q outside the alphabet", c, r)
			}
			counts[r]++
		}
	}
	// 32,000 draws over 32 symbols: each expected 1,000 times; a biased
	// generator (e.g. byte % 32 on a 36-symbol alphabet) would skew far more.
	for _, r := range referral.CodeAlphabet {
		if counts[r] < 800 || counts[r] > 1200 {
			t.Errorf("%q drawn %d times of an expected 1000", r, counts[r])
		}
	}
}

func TestCodeGeneratorReportsRandomnessFailure(t *testing.T) {
	if _, err := referral.NewCodeGenerator(bytes.NewReader(nil))(); err == nil {
		t.Fatal("no error from an empty random source")
	}
}

func TestIDsSortByCreation(t *testing.T) {
	g := referral.NewIDGenerator(nil)
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 500 {
		// Many ids share a millisecond; they must still sort in creation order.
		id, err := g.New("ref_", base.Add(time.Duration(i/100)*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != len("ref_")+26 {
			t.Fatalf("id %q has the wrong length", id)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids are not in creation order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func TestMaskedLabel(t *testing.T) {
	cases := []struct{ email, id, want string }{
		{"jane@example.com", "u2", "j***@example.com"},
		{"", "user_1042", "u***42"},
		{"", "u2", "u***"},
		{"", "", "***"},
		{"broken", "user_1042", "u***42"},
		{"", "éléonore99", "é***99"},
	}
	for _, tc := range cases {
		if got := referral.MaskedLabel(tc.email, tc.id); got != tc.want {
			t.Errorf("MaskedLabel(%q, %q) = %q, want %q", tc.email, tc.id, got, tc.want)
		}
	}
}
