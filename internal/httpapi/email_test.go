package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/outbox/mail/mailtest"
	"github.com/refhub/referral-service/internal/store"
	"github.com/refhub/referral-service/internal/testdb"
	"github.com/refhub/referral-service/pkg/referralapi"
)

// smtpServer starts a real SMTP server and the options of a test server
// whose email sink sends to it.
func smtpServer(t *testing.T) (*mailtest.Server, serverOpts) {
	srv := mailtest.Start(t)
	sender := mail.NewSMTPSender(mail.SMTP{Host: srv.Host, Port: srv.Port}, "test.local", 5*time.Second)
	return srv, serverOpts{mail: &mailOpts{sender: sender}}
}

// putContact sets a user's contact as the product backend.
func putContact(t *testing.T, s *server, user, body string) response {
	t.Helper()
	return s.do(t, request{method: "PUT", path: "/v1/users/" + user + "/contact", token: s.token("backend", "service"), body: body})
}

// qualify makes referrer's code bring in friend, whose payment qualifies
// the referral.
func qualify(t *testing.T, s *server, referrer, friend string, amount int64, currency string) {
	t.Helper()
	code := getCode(t, s, referrer)
	if res := attribute(t, s, friend, code.Code, nil); res.Status != http.StatusCreated {
		t.Fatalf("attribute: %d %s", res.Status, res.Body)
	}
	res := pay(t, s, "pay_"+friend, friend, amount, currency)
	var out referralapi.PaymentResult
	res.decode(t, &out)
	if res.Status != http.StatusOK || !out.Qualified {
		t.Fatalf("payment: %d %s", res.Status, res.Body)
	}
}

// eventOf waits for the event of type typ about user in the feed.
func eventOf(t *testing.T, s *server, typ, user string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := s.do(t, request{method: "GET", path: "/v1/admin/events?limit=100&type=" + typ, token: s.token("ops", "admin")})
		var page referralapi.EventPage
		res.decode(t, &page)
		for _, e := range page.Items {
			var d struct {
				ReferrerID string `json:"referrerId"`
				UserID     string `json:"userId"`
			}
			_ = json.Unmarshal(e.Data, &d)
			if d.ReferrerID == user || d.UserID == user {
				return e.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event about %s in the feed", typ, user)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// taskEnds waits until the email task of event for user is no longer
// pending and returns its status and attempts.
func taskEnds(t *testing.T, s *server, eventID, user string) (string, int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, attempts, err := s.store.TaskStatus(context.Background(), eventID, mail.SinkName, user)
		if err == nil && status != outbox.StatusPending {
			return status, attempts
		}
		if time.Now().After(deadline) {
			t.Fatalf("email task of %s for %s: still %q (%v)", eventID, user, status, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// quiet checks that nothing more than want arrives for a while (the
// worker polls every 20 ms and retries after 50 ms).
func quiet(t *testing.T, srv *mailtest.Server, want int) {
	t.Helper()
	time.Sleep(400 * time.Millisecond)
	if got := len(srv.Messages()); got != want {
		t.Fatalf("SMTP server has %d messages, want exactly %d", got, want)
	}
	if errs := srv.Errors(); len(errs) > 0 {
		t.Fatalf("messages the server could not parse: %v", errs)
	}
}

func byRecipient(msgs []mailtest.Message) map[string]mailtest.Message {
	out := map[string]mailtest.Message{}
	for _, m := range msgs {
		out[strings.Join(m.To, ",")] = m
	}
	return out
}

// TestReferrerGetsOneEmailPerQualifiedReferral: through the real router
// and outbox worker, each qualified referral brings its referrer exactly
// one email, as a real SMTP server receives it: multipart/alternative with
// text and HTML, Date, a Message-ID made from the event, and the reward
// written for its currency and the referrer's locale. The address comes
// from the product backend or from the email claim of the user's token.
func TestReferrerGetsOneEmailPerQualifiedReferral(t *testing.T) {
	eachWithMail(t, nil, func(t *testing.T, s *server, srv *mailtest.Server) {
		res := putContact(t, s, "u1", `{"email": "jane@example.com", "locale": "en"}`)
		var ct referralapi.Contact
		res.decode(t, &ct)
		if res.Status != http.StatusOK || ct.UserID != "u1" || ct.Email != "jane@example.com" || ct.Locale != "en" || ct.Source != "service" || ct.UpdatedAt.IsZero() {
			t.Fatalf("contact: %d %s", res.Status, res.Body)
		}
		if res := putContact(t, s, "u3", `{"email": "hans@example.de", "locale": "de-DE"}`); res.Status != http.StatusOK {
			t.Fatalf("contact: %d %s", res.Status, res.Body)
		}
		// u5 never had a contact set: their token's email claim is used.
		claims := jwt.MapClaims{"sub": "u5", "exp": time.Now().Add(time.Hour).Unix(), "email": "kenji@example.jp"}
		if res := s.do(t, request{method: "GET", path: "/v1/me/balance", token: signed(t, jwt.SigningMethodHS256, []byte(testSecret), claims)}); res.Status != http.StatusOK {
			t.Fatalf("balance: %d %s", res.Status, res.Body)
		}

		qualify(t, s, "u1", "u2", 10000, "usd")  // $20.00
		qualify(t, s, "u3", "u4", 50000, "jpy")  // 10.000 ¥
		qualify(t, s, "u5", "u6", 123456, "jpy") // ¥24,691
		srv.WaitFor(t, 3, 10*time.Second)
		quiet(t, srv, 3)
		got := byRecipient(srv.Messages())

		for _, want := range []struct {
			user, to, subject, amount string
		}{
			{"u1", "jane@example.com", "You earned $20.00", "$20.00"},
			{"u3", "hans@example.de", "Sie haben 10.000\u00a0¥ verdient", "10.000\u00a0¥"},
			{"u5", "kenji@example.jp", "You earned ¥24,691", "¥24,691"},
		} {
			m, ok := got[want.to]
			if !ok {
				t.Fatalf("no email to %s; got %v", want.to, got)
			}
			if m.ContentType != "multipart/alternative" || len(m.Parts) != 2 || m.Parts[0].ContentType != "text/plain" || m.Parts[1].ContentType != "text/html" {
				t.Fatalf("%s: %s with %+v, want multipart/alternative text then HTML", want.to, m.ContentType, m.Parts)
			}
			if m.Subject() != want.subject || !strings.Contains(m.Text(), want.amount) || !strings.Contains(m.HTML(), "<strong>"+want.amount+"</strong>") {
				t.Fatalf("%s: subject %q\ntext %s\nhtml %s", want.to, m.Subject(), m.Text(), m.HTML())
			}
			if d, err := m.Header.Date(); err != nil || time.Since(d) > time.Minute {
				t.Fatalf("%s: Date %q: %v", want.to, m.Header.Get("Date"), err)
			}
			ev := eventOf(t, s, "referral.qualified", want.user)
			if id := m.Header.Get("Message-Id"); id != "<"+mail.MessageID(ev, want.user, "shop.example")+">" {
				t.Fatalf("%s: Message-ID %q, not derived from event %s", want.to, id, ev)
			}
			if status, attempts := taskEnds(t, s, ev, want.user); status != outbox.StatusSucceeded || attempts != 1 {
				t.Fatalf("%s: task %s after %d attempts", want.to, status, attempts)
			}
			// referral.created sends nothing by default: its task is skipped.
			created := eventOf(t, s, "referral.created", want.user)
			if status, _ := taskEnds(t, s, created, want.user); status != outbox.StatusSkipped {
				t.Fatalf("%s: referral.created task %s, want skipped", want.to, status)
			}
			if m.From != "referrals@shop.example" || m.Header.Get("From") != `"Referrals" <referrals@shop.example>` {
				t.Fatalf("%s: from %q / %q", want.to, m.From, m.Header.Get("From"))
			}
		}

		// The payout: one more email, in the payee's locale.
		res = s.do(t, request{method: "POST", path: "/v1/admin/payouts", token: s.token("ops", "admin"),
			body: `{"userId":"u3","currency":"jpy","method":"manual","reference":"wire-1"}`})
		var po referralapi.Payout
		res.decode(t, &po)
		if res.Status != http.StatusCreated || po.Status != "paid" {
			t.Fatalf("payout: %d %s", res.Status, res.Body)
		}
		srv.WaitFor(t, 4, 10*time.Second)
		quiet(t, srv, 4)
		m := srv.Messages()[3]
		if m.To[0] != "hans@example.de" || m.Subject() != "Wir haben Ihnen 10.000\u00a0¥ ausgezahlt" || !strings.Contains(m.Text(), po.ID) {
			t.Fatalf("payout email: %v %q\n%s", m.To, m.Subject(), m.Text())
		}
	})
}

// TestTransientSMTPFailureIsRetried: a 4xx is retried with the same
// Message-ID, and the message arrives exactly once after two attempts.
func TestTransientSMTPFailureIsRetried(t *testing.T) {
	eachWithMail(t, nil, func(t *testing.T, s *server, srv *mailtest.Server) {
		putContact(t, s, "u1", `{"email": "jane@example.com"}`)
		srv.Refuse(451)
		qualify(t, s, "u1", "u2", 10000, "usd")
		srv.WaitFor(t, 1, 10*time.Second)
		quiet(t, srv, 1)
		ev := eventOf(t, s, "referral.qualified", "u1")
		if status, attempts := taskEnds(t, s, ev, "u1"); status != outbox.StatusSucceeded || attempts != 2 || srv.Attempts() != 2 {
			t.Fatalf("task %s after %d attempts, server saw %d; want succeeded after 2", status, attempts, srv.Attempts())
		}
		atts, err := s.store.ListAttempts(context.Background(), mail.SinkName, "u1", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var first, second *outbox.Attempt
		for i := range atts {
			if atts[i].EventID == ev && atts[i].Attempt == 1 {
				first = &atts[i]
			}
			if atts[i].EventID == ev && atts[i].Attempt == 2 {
				second = &atts[i]
			}
		}
		if first == nil || second == nil || first.Status != outbox.StatusFailed || first.ResponseStatus == nil || *first.ResponseStatus != 451 ||
			second.Status != outbox.StatusSucceeded || !strings.Contains(second.Response, srv.Messages()[0].Header.Get("Message-Id")) {
			t.Fatalf("attempts: %+v", atts)
		}
	})
}

// eachWithMail runs fn on PostgreSQL and SQLite, each server with its own
// SMTP server; configure may change the options first.
func eachWithMail(t *testing.T, configure func(o *serverOpts), fn func(t *testing.T, s *server, srv *mailtest.Server)) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		srv, o := smtpServer(t)
		if configure != nil {
			configure(&o)
		}
		fn(t, newServer(t, st, o), srv)
	})
}

// TestEmailSkippedWhenOptedOutOrWithoutAddress: a user who switched the
// email off, and one whose address nobody gave, get nothing; their tasks
// end skipped.
func TestEmailSkippedWhenOptedOutOrWithoutAddress(t *testing.T) {
	eachWithMail(t, nil, func(t *testing.T, s *server, srv *mailtest.Server) {
		putContact(t, s, "u1", `{"email": "jane@example.com"}`)
		off := `{"email": {"referralCreated": false, "referralQualified": false, "rewardAvailable": false, "payoutPaid": true}}`
		if res := s.do(t, request{method: "PUT", path: "/v1/me/notifications", token: s.token("u1"), body: off}); res.Status != http.StatusOK {
			t.Fatalf("opt out: %d %s", res.Status, res.Body)
		}
		qualify(t, s, "u1", "u2", 10000, "usd")
		qualify(t, s, "u3", "u4", 10000, "usd") // u3: no address
		for _, user := range []string{"u1", "u3"} {
			ev := eventOf(t, s, "referral.qualified", user)
			if status, _ := taskEnds(t, s, ev, user); status != outbox.StatusSkipped {
				t.Fatalf("%s: task %s, want skipped", user, status)
			}
		}
		quiet(t, srv, 0)
		if srv.Attempts() != 0 {
			t.Fatalf("the SMTP server was reached %d times", srv.Attempts())
		}
	})
}

// TestEmailTemplatesDirOverrides: a file in the templates directory
// replaces the built-in one; the others stay.
func TestEmailTemplatesDirOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "en", "referral.qualified.html"), []byte(`<p>Shop: +{{.Amount}} for {{.Email}} ({{.ReferralID}})</p>`), 0o644); err != nil {
		t.Fatal(err)
	}
	eachWithMail(t, func(o *serverOpts) { o.mail.templatesDir = dir }, func(t *testing.T, s *server, srv *mailtest.Server) {
		putContact(t, s, "u1", `{"email": "jane@example.com"}`)
		qualify(t, s, "u1", "u2", 10000, "usd")
		m := srv.WaitFor(t, 1, 10*time.Second)[0]
		if !strings.HasPrefix(m.HTML(), "<p>Shop: +$20.00 for jane@example.com (ref_") || m.Subject() != "You earned $20.00" {
			t.Fatalf("override not used: %q / %q", m.Subject(), m.HTML())
		}
	})
}

// syncBuffer is a log destination tests read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestEmailLogModeWithoutSMTP: without SMTP_URL the email is logged,
// naming recipient and subject, and counts as delivered.
func TestEmailLogModeWithoutSMTP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *store.Store) {
		var logs syncBuffer
		s := newServer(t, st, serverOpts{mail: &mailOpts{sender: mail.LogSender{Log: slog.New(slog.NewTextHandler(&logs, nil))}}})
		putContact(t, s, "u1", `{"email": "jane@example.com"}`)
		qualify(t, s, "u1", "u2", 10000, "usd")
		ev := eventOf(t, s, "referral.qualified", "u1")
		if status, _ := taskEnds(t, s, ev, "u1"); status != outbox.StatusSucceeded {
			t.Fatalf("task %s, want succeeded", status)
		}
		if out := logs.String(); !strings.Contains(out, "to=jane@example.com") || !strings.Contains(out, `subject="You earned $20.00"`) {
			t.Fatalf("log: %s", out)
		}
	})
}

// TestContactAndNotificationsAPI: the contact and settings endpoints as
// the contract has them; bad input is a 400 that changes nothing; a
// token's address fills in but never replaces the backend's.
func TestContactAndNotificationsAPI(t *testing.T) {
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		ctx := context.Background()
		user := s.token("u1")
		settings := func(want referralapi.EmailNotifications) {
			t.Helper()
			res := s.do(t, request{method: "GET", path: "/v1/me/notifications", token: user})
			var got referralapi.NotificationSettings
			res.decode(t, &got)
			if res.Status != http.StatusOK || got.Email != want {
				t.Fatalf("settings: %d %s, want %+v", res.Status, res.Body, want)
			}
		}
		settings(referralapi.EmailNotifications{ReferralQualified: true, PayoutPaid: true})
		all := `{"email": {"referralCreated": true, "referralQualified": false, "rewardAvailable": true, "payoutPaid": false}}`
		res := s.do(t, request{method: "PUT", path: "/v1/me/notifications", token: user, body: all})
		if res.Status != http.StatusOK {
			t.Fatalf("put settings: %d %s", res.Status, res.Body)
		}
		chosen := referralapi.EmailNotifications{ReferralCreated: true, RewardAvailable: true}
		settings(chosen)
		for body, field := range map[string]string{
			`{"email": {"referralCreated": true, "referralQualified": true, "rewardAvailable": true}}`:                                  "email.payoutPaid",
			`{"email": {"referralCreated": true, "referralQualified": true, "rewardAvailable": true, "payoutPaid": null}}`:              "email.payoutPaid",
			`{"email": {"referralCreated": "yes", "referralQualified": true, "rewardAvailable": true, "payoutPaid": true}}`:             "email.referralCreated",
			`{"email": {"referralCreated": true, "referralQualified": true, "rewardAvailable": true, "payoutPaid": true, "sms": true}}`: "sms",
			`{}`:                        "email",
			`{"email": true}`:           "email",
			`{"push": {}, "email": {}}`: "push",
		} {
			res := s.do(t, request{method: "PUT", path: "/v1/me/notifications", token: user, body: body})
			p := res.problem(t, http.StatusBadRequest, "invalid_request")
			if errs, _ := p["errors"].(map[string]any); errs[field] == nil {
				t.Fatalf("%s: errors %v, want one for %s", body, p["errors"], field)
			}
		}
		settings(chosen) // unchanged
		key := s.do(t, request{method: "PUT", path: "/v1/me/notifications", token: s.token("backend", "service"), body: all})
		if key.Status != http.StatusOK { // a service token is still a user's token (sub backend)
			t.Fatalf("service token: %d", key.Status)
		}

		// The contact: validated, and nothing changes on bad input.
		if res := putContact(t, s, "u1", `{"email": "jane@example.com", "locale": "pt-br"}`); res.Status != http.StatusOK {
			t.Fatalf("contact: %d %s", res.Status, res.Body)
		}
		for body, field := range map[string]string{
			`{"email": "not an address"}`:                      "email",
			`{"email": "Jane <jane@example.com>"}`:             "email",
			`{"locale": "en"}`:                                 "email",
			`{"email": ""}`:                                    "email",
			`{"email": "jane@example.com", "locale": "en_US"}`: "locale",
			`{"email": "jane@example.com", "locale": "klingon-language-tag-that-is-long"}`: "locale",
			`{"email": "jane@example.com", "name": "Jane"}`:                                "name",
			`{"email": 42}`: "email",
		} {
			res := putContact(t, s, "u1", body)
			p := res.problem(t, http.StatusBadRequest, "invalid_request")
			if errs, _ := p["errors"].(map[string]any); errs[field] == nil {
				t.Fatalf("%s: errors %v, want one for %s", body, p["errors"], field)
			}
		}
		putContact(t, s, strings.Repeat("u", 300), `{"email": "jane@example.com"}`).problem(t, http.StatusBadRequest, "invalid_request")
		s.do(t, request{method: "PUT", path: "/v1/users/u1/contact", token: user, body: `{"email": "x@example.com"}`}).problem(t, http.StatusForbidden, "forbidden")
		s.do(t, request{method: "PUT", path: "/v1/users/u1/contact", body: `{"email": "x@example.com"}`}).problem(t, http.StatusUnauthorized, "unauthorized")
		c, err := s.store.Contact(ctx, "u1")
		if err != nil || c.Email != "jane@example.com" || c.Locale != "pt-BR" || c.Source != mail.SourceService {
			t.Fatalf("contact after bad requests: %+v %v", c, err)
		}

		// A token's address: remembered for a user without one, followed
		// when it changes, never over the backend's.
		withEmail := func(sub, email string) string {
			return signed(t, jwt.SigningMethodHS256, []byte(testSecret), jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix(), "email": email})
		}
		for _, email := range []string{"first@example.com", "second@example.com"} {
			if res := s.do(t, request{method: "GET", path: "/v1/me/notifications", token: withEmail("u7", email)}); res.Status != http.StatusOK {
				t.Fatalf("get: %d", res.Status)
			}
			if c, err := s.store.Contact(ctx, "u7"); err != nil || c.Email != email || c.Source != mail.SourceToken {
				t.Fatalf("token address %s: %+v %v", email, c, err)
			}
		}
		s.do(t, request{method: "GET", path: "/v1/me/referral-code", token: withEmail("u1", "other@example.com")})
		if c, err := s.store.Contact(ctx, "u1"); err != nil || c.Email != "jane@example.com" {
			t.Fatalf("a token replaced the backend's address: %+v %v", c, err)
		}
		s.do(t, request{method: "GET", path: "/v1/me/balance", token: withEmail("u8", "not-an-address")})
		if _, err := s.store.Contact(ctx, "u8"); err != mail.ErrNoContact {
			t.Fatalf("an invalid token address was stored: %v", err)
		}
	})
}
