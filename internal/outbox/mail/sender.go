package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email, ready to send.
type Message struct {
	From      string
	To        string
	Subject   string
	Text      string
	HTML      string
	Date      time.Time
	MessageID string // without angle brackets
	// EventID is the event the message reports, for logs.
	EventID string
}

// Sender sends messages.
type Sender interface {
	// Send sends m; it returns by ctx's deadline. A *SendError says how
	// the server refused.
	Send(ctx context.Context, m Message) error
}

// SendError is a server's refusal: its reply code and whether retrying
// cannot help (a 5xx answer to the envelope or the content).
type SendError struct {
	Code      int
	Permanent bool
	Err       error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// SMTP is where SMTP_URL says to send: smtp://user:pass@host:port (STARTTLS
// when the server offers it; port 587 unless given) or smtps://…
// (TLS from the first byte; port 465 unless given).
type SMTP struct {
	Host     string
	Port     int
	TLS      bool // implicit TLS (smtps)
	Username string
	Password string
}

// String is the URL without the password, for logs.
func (s SMTP) String() string {
	scheme := "smtp"
	if s.TLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port))}
	if s.Username != "" {
		u.User = url.User(s.Username)
	}
	return u.String()
}

// ParseSMTPURL reads SMTP_URL. Its errors never repeat the password.
func ParseSMTPURL(raw string) (SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTP{}, errors.New("is not a URL like smtp://user:password@mail.example.com:587 (characters such as @ / : # in the user or password must be percent-encoded)")
	}
	var s SMTP
	switch u.Scheme {
	case "smtp":
		s.Port = 587
	case "smtps":
		s.TLS, s.Port = true, 465
	default:
		return SMTP{}, fmt.Errorf("scheme %q is not smtp or smtps", u.Scheme)
	}
	s.Host = u.Hostname()
	if s.Host == "" {
		return SMTP{}, errors.New("names no host, e.g. smtp://user:password@mail.example.com:587")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTP{}, fmt.Errorf("port %q is not a TCP port", p)
		}
		s.Port = n
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return SMTP{}, errors.New("has a path, query or fragment; only smtp(s)://user:password@host:port is read")
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
		if s.Username == "" {
			return SMTP{}, errors.New("has a password but no user name")
		}
	}
	return s, nil
}

// SMTPSender sends through an SMTP server with github.com/wneessen/go-mail,
// one connection per message (the outbox bounds how many run at once).
type SMTPSender struct {
	server  SMTP
	timeout time.Duration
	// helo is the name the sender gives in HELO/EHLO.
	helo string
	// rootCAs verify the server's certificate; nil: the system's.
	rootCAs *x509.CertPool
}

// SenderOption changes an SMTPSender.
type SenderOption func(*SMTPSender)

// WithRootCAs trusts the certificates pool signed (tests, a private CA).
func WithRootCAs(pool *x509.CertPool) SenderOption {
	return func(s *SMTPSender) { s.rootCAs = pool }
}

// NewSMTPSender returns a sender to server; timeout bounds connecting.
func NewSMTPSender(server SMTP, helo string, timeout time.Duration, opts ...SenderOption) *SMTPSender {
	if helo == "" {
		helo = "localhost"
	}
	s := &SMTPSender{server: server, timeout: timeout, helo: helo}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Send sends m, and returns by ctx's deadline: the connection's timeout
// is what is left of it, and a server that keeps the conversation going
// past it is left to finish alone (the attempt counts as failed and is
// tried again, with the same Message-ID).
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return &SendError{Permanent: true, Err: err}
	}
	timeout := s.timeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	if timeout <= 0 {
		return context.DeadlineExceeded
	}
	opts := []gomail.Option{
		gomail.WithPort(s.server.Port), gomail.WithTimeout(timeout), gomail.WithHELO(s.helo),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.server.Host, RootCAs: s.rootCAs, MinVersion: tls.VersionTLS12}),
	}
	if s.server.TLS {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.server.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.server.Username), gomail.WithPassword(s.server.Password))
	}
	client, err := gomail.NewClient(s.server.Host, opts...)
	if err != nil {
		return fmt.Errorf("SMTP client: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- classify(client.DialAndSendWithContext(ctx, msg)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// classify makes a server's refusal a *SendError: permanent when the
// server answered 5xx to the sender, a recipient or the content. Anything
// else (no connection, a timeout, a 4xx, a login refused or missing:
// configuration that an operator can fix) is worth trying again.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return err
	}
	code := se.ErrorCode()
	permanent := false
	switch se.Reason {
	case gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		permanent = code >= 500 && code < 600 && !se.IsTemp() && !authCode[code]
	case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
		permanent = true // the message itself is wrong
	}
	return &SendError{Code: code, Permanent: permanent, Err: err}
}

// authCode are the answers about logging in (RFC 4954: 530 authentication
// required, 534 mechanism too weak, 535 credentials invalid, 538 encryption
// required): the operator's to fix, so the email waits for them.
var authCode = map[int]bool{530: true, 534: true, 535: true, 538: true}

// build makes the MIME message: multipart/alternative with the text part
// first and the HTML part second, Date and Message-ID set.
func build(m Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.Date)
	msg.SetMessageIDWithValue(m.MessageID)
	// RFC 3834: an automatic message; out-of-office replies stay away.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// LogSender logs each message instead of sending it: SMTP_URL is not set
// (development, `make run`). A logged message counts as delivered.
type LogSender struct {
	Log *slog.Logger
}

// Send logs the recipient and the subject (the text part at debug level).
func (l LogSender) Send(ctx context.Context, m Message) error {
	if _, err := build(m); err != nil {
		return &SendError{Permanent: true, Err: err}
	}
	l.Log.InfoContext(ctx, "email logged, not sent (SMTP_URL is not set)",
		"to", m.To, "subject", m.Subject, "message_id", m.MessageID, "event_id", m.EventID)
	l.Log.DebugContext(ctx, "email text", "message_id", m.MessageID, "text", strings.TrimSpace(m.Text))
	return nil
}
