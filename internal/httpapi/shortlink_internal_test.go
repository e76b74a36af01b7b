package httpapi

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/refhub/referral-service/internal/referral"
)

// The short link's hand-written helpers must agree with the standard
// library code they replace, on random and hostile input.

func randomString(rng *rand.Rand, alphabet string, maxLen int) string {
	var b strings.Builder
	for range rng.IntN(maxLen + 1) {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

const hostile = "aZ09-_.~ %+&=;?#/\\:@!$'()*,\x00\x7f\xff\xc3\xa9\r\nutm_sourceUTM"

func TestAppendQueryEscapeMatchesQueryEscape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := randomString(rng, hostile, 40)
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Fatalf("appendQueryEscape(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestUTMParamsMatchesParseQuery(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	parts := []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "utm%5Fsource", "ref", "=", "&", ";", "%", "%zz", "%41", "+", "x", "é", "\x00"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		raw := b.String()
		q, _ := url.ParseQuery(raw)
		got := utmParams(raw)
		for i, p := range referral.UTMParams {
			if want := cleanParam(q.Get(p)); got[i] != want {
				t.Fatalf("utmParams(%q)[%s] = %q, want %q", raw, p, got[i], want)
			}
		}
	}
}

// countedReference is the plain version: lower-case and search.
func countedReference(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	p := strings.ToLower(r.Header.Get("Sec-Purpose") + r.Header.Get("Purpose") + r.Header.Get("X-Purpose"))
	if strings.Contains(p, "prefetch") {
		return false
	}
	ua := strings.ToLower(r.UserAgent())
	if ua == "" {
		return false
	}
	for _, m := range botMarkers {
		if strings.Contains(ua, m) {
			return false
		}
	}
	return true
}

func TestCountedMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	agents := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "facebookexternalhit/1.1", "WhatsApp/2.23.20.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.5.0", "TelegramBot (like TwitterBot)",
		"Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0", "", strings.Repeat("Mozilla ", 100) + "SPIDER",
	}
	for range 5000 {
		r, _ := http.NewRequest(http.MethodGet, "/r/ABCD2345", nil)
		if rng.IntN(10) == 0 {
			r.Method = http.MethodHead
		}
		ua := agents[rng.IntN(len(agents))]
		if rng.IntN(3) == 0 { // change the case of some letters
			b := []byte(ua)
			for i := range b {
				if rng.IntN(2) == 0 && b[i] >= 'a' && b[i] <= 'z' {
					b[i] -= 'a' - 'A'
				}
			}
			ua = string(b)
		}
		r.Header.Set("User-Agent", ua)
		if rng.IntN(4) == 0 {
			r.Header.Set([]string{"Sec-Purpose", "Purpose", "X-Purpose"}[rng.IntN(3)], []string{"prefetch;prerender", "PREFETCH", "preview"}[rng.IntN(3)])
		}
		if got, want := counted(r), countedReference(r); got != want {
			t.Fatalf("counted(%s, UA %q, %v) = %v, want %v", r.Method, ua, r.Header, got, want)
		}
	}
}

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler alone.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

type nopRecorder struct{}

func (nopRecorder) Record(referral.Click) bool { return true }

// BenchmarkShortLink is the handler's own cost per hit (no network, no
// database): lookup from the cache, click id, visitor hash, cookie,
// destination and the hand-off to the recorder.
func BenchmarkShortLink(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &handlers{
		svc: referral.NewService(nil, referral.Options{}), log: log, clicks: nopRecorder{}, visitorKey: []byte("bench"),
		links:    LinkConfig{AppURL: "https://app.example.com", PublicURL: "https://refer.example.com", CookieDays: 30},
		clientIP: func(r *http.Request) string { return "203.0.113.7" }, home: "https://app.example.com/",
	}
	h.codes = newCodeCache(func(context.Context, string) (referral.Code, error) {
		return referral.Code{Code: "ABCD2345", UserID: "user-1"}, nil
	}, h.buildTarget, time.Second)
	r, _ := http.NewRequest(http.MethodGet, "http://refer.example.com/r/ABCD2345?utm_source=newsletter&utm_campaign=winter", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
	r.RemoteAddr = "203.0.113.7:50000"
	w := &discardWriter{}
	b.ReportAllocs()
	for b.Loop() {
		w.h = http.Header{}
		h.serveShortLink(w, r)
	}
}

type panickingRecorder struct{}

func (panickingRecorder) Record(referral.Click) bool { panic("recorder broke") }

// TestShortLinkRecoversFromPanic: a panic on the fast path is logged with
// the request id and the visitor still gets a redirect to the app.
func TestShortLinkRecoversFromPanic(t *testing.T) {
	var logged strings.Builder
	h := &handlers{
		svc: referral.NewService(nil, referral.Options{}), log: slog.New(slog.NewTextHandler(&logged, nil)),
		clicks: panickingRecorder{}, visitorKey: []byte("k"), home: "https://app.example.com/",
		links:    LinkConfig{AppURL: "https://app.example.com", CookieDays: 30},
		clientIP: func(r *http.Request) string { return "203.0.113.7" },
	}
	h.codes = newCodeCache(func(context.Context, string) (referral.Code, error) {
		return referral.Code{Code: "ABCD2345", UserID: "user-1"}, nil
	}, h.buildTarget, time.Second)
	r, _ := http.NewRequest(http.MethodGet, "/r/ABCD2345", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0")
	r.Header.Set("X-Request-Id", "req-42")
	w := httptest.NewRecorder()
	h.serveShortLink(w, r)
	if w.Code != http.StatusFound || w.Header().Get("Location") != "https://app.example.com/" {
		t.Fatalf("after a panic: %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	if !strings.Contains(logged.String(), "recorder broke") || !strings.Contains(logged.String(), "req-42") {
		t.Fatalf("panic not logged with the request id: %s", logged.String())
	}
}
