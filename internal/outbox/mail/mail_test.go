package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/refhub/referral-service/internal/outbox"
	"github.com/refhub/referral-service/internal/outbox/mail"
	"github.com/refhub/referral-service/internal/outbox/mail/mailtest"
)

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		locale   string
		amount   int64
		currency string
		want     string
	}{
		{"en", 2000, "usd", "$20.00"},
		{"en", 123456, "usd", "$1,234.56"},
		{"en", 500, "jpy", "¥500"},
		{"en", 1234567, "JPY", "¥1,234,567"},
		{"en", 1999, "eur", "€19.99"},
		{"en", 2000, "chf", "CHF\u00a020.00"},
		{"en-GB", 2000, "usd", "US$20.00"},
		{"de", 2000, "usd", "20,00\u00a0$"},
		{"de", 123456, "eur", "1.234,56\u00a0€"},
		{"de", 500, "jpy", "500\u00a0¥"},
		{"en", 1500, "kwd", "KWD\u00a01.500"},
		{"en", -2000, "usd", "-$20.00"},
		{"en", 2000, "xyz", "20.00 XYZ"},
	} {
		if got := mail.FormatAmount(language.MustParse(tc.locale), tc.amount, tc.currency); got != tc.want {
			t.Errorf("FormatAmount(%s, %d, %s) = %q, want %q", tc.locale, tc.amount, tc.currency, got, tc.want)
		}
	}
}

func TestCheckContactFields(t *testing.T) {
	for _, ok := range []string{"jane@example.com", "a.b+c@sub.example.org"} {
		if _, err := mail.CheckEmail(ok); err != nil {
			t.Errorf("CheckEmail(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "jane", "Jane <jane@example.com>", "jane@example.com\r\nBcc: x@y.z", "<jane@example.com>", strings.Repeat("a", 250) + "@x.com"} {
		if _, err := mail.CheckEmail(bad); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("CheckEmail(%q) = %v, want invalid", bad, err)
		}
	}
	for in, want := range map[string]string{"": "", "en": "en", "de": "de", "pt-br": "pt-BR", "de-CH": "de-CH"} {
		if got, err := mail.CheckLocale(in); err != nil || got != want {
			t.Errorf("CheckLocale(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"english", "en_US", "x", "123", "en-", strings.Repeat("a", 40)} {
		if _, err := mail.CheckLocale(bad); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("CheckLocale(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestMessageIDIsTheSameForOneEventAndUser(t *testing.T) {
	a := mail.MessageID("evt_1", "u1", "example.com")
	if a != mail.MessageID("evt_1", "u1", "example.com") {
		t.Fatal("Message-ID differs between two sends of one event")
	}
	if a == mail.MessageID("evt_2", "u1", "example.com") || a == mail.MessageID("evt_1", "u2", "example.com") {
		t.Fatal("Message-ID is shared by different events or users")
	}
	if !strings.HasPrefix(a, "evt_1.") || !strings.HasSuffix(a, "@example.com") {
		t.Fatalf("Message-ID = %q", a)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTemplatesOverrideFileByFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "en", "referral.qualified.html"), `<p>Custom: {{.Amount}} for {{.Email}}</p>`)
	writeFile(t, filepath.Join(dir, "fr", "referral.qualified.txt"), `{{define "subject"}}Vous avez gagné {{.Amount}}{{end}}Bravo, {{.Amount}} !`)
	writeFile(t, filepath.Join(dir, "fr", "referral.qualified.html"), `<p>Bravo, {{.Amount}} !</p>`)
	writeFile(t, filepath.Join(dir, "README.md"), "not a template")
	tpl, err := mail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := mail.Data{EventType: "referral.qualified", Locale: "en", Amount: "$20.00", Email: "a@b.c"}
	r, err := tpl.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if r.HTML != `<p>Custom: $20.00 for a@b.c</p>` {
		t.Fatalf("HTML not overridden: %q", r.HTML)
	}
	if r.Subject != "You earned $20.00" || !strings.Contains(r.Text, "you earned $20.00") {
		t.Fatalf("the built-in text part should stay: %q / %q", r.Subject, r.Text)
	}
	if got := tpl.Locale(language.MustParse("fr-CA"), "referral.qualified"); got != "fr" {
		t.Fatalf("fr-CA reader gets %q templates, want fr", got)
	}
	if got := tpl.Locale(language.MustParse("fr"), "payout.paid"); got != "en" {
		t.Fatalf("a type fr lacks falls back to %q, want en", got)
	}
	if got := tpl.Locale(language.MustParse("de-AT"), "payout.paid"); got != "de" {
		t.Fatalf("de-AT reader gets %q, want de", got)
	}
}

func TestBrokenTemplatesStopTheStart(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"syntax":         {"en/referral.qualified.txt": `{{define "subject"}}x{{end}}{{.Amount`},
		"unknown field":  {"en/referral.qualified.html": `{{.Nope}}`},
		"no subject":     {"en/payout.paid.txt": `just a body`},
		"unknown type":   {"en/referral.paid.txt": `x`},
		"half a message": {"fr/payout.paid.txt": `{{define "subject"}}x{{end}}y`},
		"bad locale":     {"english/payout.paid.txt": `{{define "subject"}}x{{end}}y`},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, c := range files {
				writeFile(t, filepath.Join(dir, f), c)
			}
			if _, err := mail.LoadTemplates(dir); err == nil {
				t.Fatal("broken templates loaded")
			}
		})
	}
	if _, err := mail.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing directory loaded")
	}
}

// memStore is the sink's view of contacts, in memory (the real store is
// tested through the HTTP tests on PostgreSQL and SQLite).
type memStore struct {
	contacts map[string]mail.Contact
	prefs    map[string]mail.Preferences
}

func (m *memStore) Contact(_ context.Context, id string) (mail.Contact, error) {
	c, ok := m.contacts[id]
	if !ok {
		return c, mail.ErrNoContact
	}
	return c, nil
}
func (m *memStore) SaveContact(context.Context, mail.Contact) error { return nil }
func (m *memStore) RememberEmail(context.Context, string, string, time.Time) (bool, error) {
	return false, nil
}
func (m *memStore) Preferences(_ context.Context, id string) (mail.Preferences, bool, error) {
	p, ok := m.prefs[id]
	return p, ok, nil
}
func (m *memStore) SavePreferences(context.Context, string, mail.Preferences, time.Time) error {
	return nil
}

func qualified(t *testing.T, id, user string, amount int64, currency string) outbox.Task {
	t.Helper()
	data, _ := json.Marshal(map[string]any{"id": "ref_1", "code": "K7M2QX9P", "referrerId": user, "referredUserId": "u2",
		"status": "QUALIFIED", "rewardAmount": amount, "rewardCurrency": currency})
	return outbox.Task{ID: "otk_1", Sink: "email", Target: user, Attempt: 1,
		Event: outbox.Event{ID: id, Type: "referral.qualified", UserID: user, Data: data, CreatedAt: time.Now()}}
}

// TestSinkThroughARealSMTPServer: the SMTP sender against go-smtp, as a
// mail server receives the message; a 4xx is retried, a 5xx is final.
func TestSinkThroughARealSMTPServer(t *testing.T) {
	srv := mailtest.Start(t)
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{contacts: map[string]mail.Contact{
		"u1": {UserID: "u1", Email: "jane@example.com", Locale: "de"},
		"u3": {UserID: "u3", Email: "joe@example.com"},
	}, prefs: map[string]mail.Preferences{"u3": {ReferralQualified: false, PayoutPaid: true}}}
	sender := mail.NewSMTPSender(mail.SMTP{Host: srv.Host, Port: srv.Port}, "test.local", 5*time.Second)
	sink := mail.NewSink(st, tpl, sender, mail.SinkOptions{From: "Referrals <referrals@shop.example>", AppURL: "https://app.example.com"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	task := qualified(t, "evt_a", "u1", 50000, "jpy")
	if r := sink.Deliver(ctx, task); !r.OK || r.Status != 250 {
		t.Fatalf("deliver: %+v", r)
	}
	m := srv.WaitFor(t, 1, 5*time.Second)[0]
	if m.ContentType != "multipart/alternative" || len(m.Parts) != 2 || m.Parts[0].ContentType != "text/plain" || m.Parts[1].ContentType != "text/html" {
		t.Fatalf("structure: %s %+v", m.ContentType, m.Parts)
	}
	if m.Subject() != "Sie haben 50.000\u00a0¥ verdient" || !strings.Contains(m.Text(), "50.000\u00a0¥") || !strings.Contains(m.HTML(), "<strong>50.000\u00a0¥</strong>") {
		t.Fatalf("German JPY message: %q\n%s\n%s", m.Subject(), m.Text(), m.HTML())
	}
	wantID := "<" + mail.MessageID("evt_a", "u1", "shop.example") + ">"
	if got := m.Header.Get("Message-Id"); got != wantID {
		t.Fatalf("Message-ID = %q, want %q", got, wantID)
	}
	if d, err := m.Header.Date(); err != nil || time.Since(d) > time.Minute {
		t.Fatalf("Date = %q (%v)", m.Header.Get("Date"), err)
	}
	if m.From != "referrals@shop.example" || len(m.To) != 1 || m.To[0] != "jane@example.com" || m.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Fatalf("envelope/headers: %s %v %v", m.From, m.To, m.Header)
	}

	// A temporary refusal is retried; a permanent one is final.
	srv.Refuse(451)
	if r := sink.Deliver(ctx, qualified(t, "evt_b", "u1", 2000, "usd")); r.OK || r.Permanent || r.Skip || r.Status != 451 {
		t.Fatalf("451: %+v", r)
	}
	srv.Refuse(554)
	if r := sink.Deliver(ctx, qualified(t, "evt_c", "u1", 2000, "usd")); r.OK || !r.Permanent || r.Status != 554 {
		t.Fatalf("554: %+v", r)
	}
	// No address, or opted out: skipped, nothing sent.
	if r := sink.Deliver(ctx, qualified(t, "evt_d", "u2", 2000, "usd")); !r.Skip {
		t.Fatalf("no address: %+v", r)
	}
	if r := sink.Deliver(ctx, qualified(t, "evt_e", "u3", 2000, "usd")); !r.Skip {
		t.Fatalf("opted out: %+v", r)
	}
	if n := len(srv.Messages()); n != 1 || srv.Attempts() != 3 {
		t.Fatalf("messages %d, attempts %d; want 1 and 3", n, srv.Attempts())
	}
	if errs := srv.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}

	// A server that is not there: retried.
	gone := mail.NewSink(st, tpl, mail.NewSMTPSender(mail.SMTP{Host: "127.0.0.1", Port: 1}, "", time.Second), mail.SinkOptions{From: "a@b.c"})
	if r := gone.Deliver(ctx, task); r.OK || r.Permanent || r.Skip {
		t.Fatalf("no server: %+v", r)
	}
}

func TestSinkRoutesTheFourTypesToTheirUser(t *testing.T) {
	sink := mail.NewSink(&memStore{}, nil, nil, mail.SinkOptions{})
	for typ, want := range map[string]bool{"referral.created": true, "referral.qualified": true, "reward.available": true,
		"payout.paid": true, "payout.failed": false, "reward.reversed": false, "referral.cancelled": false, "code.changed": false, "ping": false} {
		targets, err := sink.Route(context.Background(), outbox.Event{ID: "evt_1", Type: typ, UserID: "u1"})
		if err != nil || (len(targets) == 1 && targets[0] == "u1") != want {
			t.Errorf("%s → %v %v", typ, targets, err)
		}
	}
	if w, ok := sink.Retry(1); !ok || w != 30*time.Second {
		t.Fatalf("first retry %s", w)
	}
	var total time.Duration
	n := 1
	for ; ; n++ {
		w, ok := sink.Retry(n)
		if !ok {
			break
		}
		total += w
	}
	if total < 20*time.Hour || total > 30*time.Hour {
		t.Fatalf("retries span %s over %d attempts; want about a day", total, n)
	}
}

func TestLogSenderNamesRecipientAndSubject(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{contacts: map[string]mail.Contact{"u1": {UserID: "u1", Email: "jane@example.com"}}}
	sink := mail.NewSink(st, tpl, mail.LogSender{Log: log}, mail.SinkOptions{})
	if r := sink.Deliver(context.Background(), qualified(t, "evt_a", "u1", 2000, "usd")); !r.OK {
		t.Fatalf("log mode: %+v", r)
	}
	out := buf.String()
	if !strings.Contains(out, "to=jane@example.com") || !strings.Contains(out, `subject="You earned $20.00"`) {
		t.Fatalf("log: %s", out)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for raw, want := range map[string]mail.SMTP{
		"smtp://mail.example.com":                  {Host: "mail.example.com", Port: 587},
		"smtp://u:p%40ss@mail.example.com:2525":    {Host: "mail.example.com", Port: 2525, Username: "u", Password: "p@ss"},
		"smtps://apikey:s3cret@smtp.example.com":   {Host: "smtp.example.com", Port: 465, TLS: true, Username: "apikey", Password: "s3cret"},
		"smtp://user@[::1]:25":                     {Host: "::1", Port: 25, Username: "user"},
		"smtps://user:pw@smtp.example.com:465/":    {Host: "smtp.example.com", Port: 465, TLS: true, Username: "user", Password: "pw"},
		"smtp://relay.internal:25":                 {Host: "relay.internal", Port: 25},
		"smtp://a%2Fb:c%3Ad@relay.internal:25":     {Host: "relay.internal", Port: 25, Username: "a/b", Password: "c:d"},
		"smtp://only-user@relay.internal:25":       {Host: "relay.internal", Port: 25, Username: "only-user"},
		"smtps://u:very-secret@smtp.example.com:1": {Host: "smtp.example.com", Port: 1, TLS: true, Username: "u", Password: "very-secret"},
	} {
		got, err := mail.ParseSMTPURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"http://mail.example.com", "smtp://", "smtp://:secret@host", "smtp://h:99999", "smtp://h:x",
		"smtp://u:secret@h:25/path", "smtp://u:secret@h?tls=1", "mail.example.com", "smtp://u:se cret@h%zz"} {
		_, err := mail.ParseSMTPURL(bad)
		if err == nil {
			t.Errorf("ParseSMTPURL(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseSMTPURL(%q) error shows the password: %v", bad, err)
		}
	}
	s := mail.SMTP{Host: "h", Port: 25, Username: "u", Password: "secret"}
	if strings.Contains(s.String(), "secret") || s.String() != "smtp://u@h:25" {
		t.Fatalf("String() = %q", s.String())
	}
}

// TestSMTPLoginTLSAndTimeout: the user and password of SMTP_URL log in
// after STARTTLS, or over smtps (a missing or wrong login is retried, not
// final: an operator can fix it), and a server that never answers ends
// the attempt by its deadline.
func TestSMTPLoginTLSAndTimeout(t *testing.T) {
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{contacts: map[string]mail.Contact{"u1": {UserID: "u1", Email: "jane@example.com"}}}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		option   mailtest.Option
		implicit bool
	}{{"STARTTLS", mailtest.WithSTARTTLS(), false}, {"smtps", mailtest.WithImplicitTLS(), true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.option)
			srv.RequireLogin("apikey", "s3cret")
			sink := func(user, password string) *mail.Sink {
				server := mail.SMTP{Host: "127.0.0.1", Port: srv.Port, TLS: tc.implicit, Username: user, Password: password}
				return mail.NewSink(st, tpl, mail.NewSMTPSender(server, "", 5*time.Second, mail.WithRootCAs(srv.RootCAs)),
					mail.SinkOptions{From: "referrals@shop.example"})
			}
			for _, login := range [][2]string{{"", ""}, {"apikey", "wrong"}} {
				if r := sink(login[0], login[1]).Deliver(ctx, qualified(t, "evt_a", "u1", 2000, "usd")); r.OK || r.Permanent || r.Skip {
					t.Fatalf("login %q/%q: %+v", login[0], login[1], r)
				}
			}
			if r := sink("apikey", "s3cret").Deliver(ctx, qualified(t, "evt_a", "u1", 2000, "usd")); !r.OK {
				t.Fatalf("with the right login: %+v", r)
			}
			if n := len(srv.Messages()); n != 1 {
				t.Fatalf("%d messages, want 1", n)
			}
		})
	}
	// A certificate nobody vouches for is refused (retried).
	srv := mailtest.Start(t, mailtest.WithImplicitTLS())
	untrusted := mail.NewSink(st, tpl, mail.NewSMTPSender(mail.SMTP{Host: "127.0.0.1", Port: srv.Port, TLS: true}, "", 5*time.Second),
		mail.SinkOptions{From: "referrals@shop.example"})
	if r := untrusted.Deliver(ctx, qualified(t, "evt_a", "u1", 2000, "usd")); r.OK || r.Permanent || len(srv.Messages()) != 0 {
		t.Fatalf("untrusted certificate: %+v", r)
	}

	// A server that accepts the connection and says nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	silent := mail.SMTP{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	actx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := mail.NewSink(st, tpl, mail.NewSMTPSender(silent, "", 5*time.Second), mail.SinkOptions{From: "a@b.c"}).Deliver(actx, qualified(t, "evt_b", "u1", 2000, "usd"))
	if took := time.Since(start); took > 2*time.Second || r.OK || r.Permanent || r.Skip {
		t.Fatalf("silent server: %+v after %s", r, took)
	}
}

// countingStore counts the writes of token addresses.
type countingStore struct {
	memStore
	writes int
}

func (c *countingStore) RememberEmail(context.Context, string, string, time.Time) (bool, error) {
	c.writes++
	return true, nil
}

// TestTokenEmailIsWrittenOnlyWhenItChanges: the in-process cache keeps a
// user's repeated calls from writing (or reading) each time.
func TestTokenEmailIsWrittenOnlyWhenItChanges(t *testing.T) {
	st := &countingStore{}
	c := mail.NewContacts(st)
	ctx := context.Background()
	for _, email := range []string{"a@example.com", "a@example.com", "a@example.com", "b@example.com", "b@example.com", "not an address", "not an address", ""} {
		if err := c.RememberTokenEmail(ctx, "u1", email); err != nil {
			t.Fatal(err)
		}
	}
	if st.writes != 2 {
		t.Fatalf("%d writes, want 2 (one per new address)", st.writes)
	}
	// The backend's contact forgets what the cache knew of the user.
	if _, err := c.SetContact(ctx, "u1", "billing@example.com", "de"); err != nil {
		t.Fatal(err)
	}
	if err := c.RememberTokenEmail(ctx, "u1", "b@example.com"); err != nil || st.writes != 3 {
		t.Fatalf("after SetContact: %d writes, %v", st.writes, err)
	}
}
