// Package mailtest runs a real SMTP server in the test process
// (github.com/emersion/go-smtp) and keeps what it received, parsed, so
// tests check messages as a mail server sees them.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From   string
	To     []string
	Header mail.Header
	// Raw is the message as received.
	Raw []byte
	// ContentType is the top-level media type (multipart/alternative).
	ContentType string
	// Parts are the parts' media types and decoded bodies, in order.
	Parts []Part
}

// Part is one part of a multipart message.
type Part struct {
	ContentType string
	Body        string
}

// Text and HTML return the body of the text/plain and text/html parts.
func (m Message) Text() string { return m.part("text/plain") }
func (m Message) HTML() string { return m.part("text/html") }

func (m Message) part(ct string) string {
	for _, p := range m.Parts {
		if p.ContentType == ct {
			return p.Body
		}
	}
	return ""
}

// Subject is the decoded Subject header.
func (m Message) Subject() string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return m.Header.Get("Subject")
	}
	return s
}

// Server is an SMTP server on a loopback port.
type Server struct {
	// Addr is host:port.
	Addr string
	Host string
	Port int
	// RootCAs trusts the server's certificate (WithSTARTTLS, WithImplicitTLS).
	RootCAs *x509.CertPool

	mu       sync.Mutex
	messages []Message
	attempts int
	// refuse answers the next DATA commands with these errors, in turn.
	refuse []error
	errs   []error
	// user and password, when set, must log in (AUTH PLAIN) before MAIL.
	user, password string
}

// Option changes how a server listens.
type Option func(*options)

type options struct{ starttls, implicitTLS bool }

// WithSTARTTLS offers STARTTLS, with a certificate for 127.0.0.1 that
// RootCAs trusts.
func WithSTARTTLS() Option { return func(o *options) { o.starttls = true } }

// WithImplicitTLS speaks TLS from the first byte (smtps).
func WithImplicitTLS() Option { return func(o *options) { o.implicitTLS = true } }

// Start runs a server until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String()}
	tcp := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = tcp.IP.String(), tcp.Port
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mx.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.ErrorLog = log.New(io.Discard, "", 0) // clients that hang up are the tests' business
	if o.starttls || o.implicitTLS {
		cfg, pool := selfSigned(t)
		s.RootCAs = pool
		if o.implicitTLS {
			ln = tls.NewListener(ln, cfg)
		} else {
			srv.TLSConfig = cfg
		}
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and the
// pool that trusts it.
func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}

// Refuse makes the server answer the next DATA commands with code (4xx:
// try later, 5xx: never), once per code given.
func (s *Server) Refuse(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		s.refuse = append(s.refuse, &smtp.SMTPError{Code: c, EnhancedCode: smtp.EnhancedCode{c / 100, 0, 0}, Message: "refused by the test"})
	}
}

// RequireLogin makes the server refuse mail (530) from a client that did
// not log in with user and password.
func (s *Server) RequireLogin(user, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.password = user, password
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Attempts counts the DATA commands, refused or not.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Errors are messages the server accepted but could not parse.
func (s *Server) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// WaitFor waits until n messages arrived, failing the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := s.Messages()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMTP server received %d messages in %s, want %d", len(msgs), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s        *Server
	from     string
	to       []string
	loggedIn bool
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		x.s.mu.Lock()
		defer x.s.mu.Unlock()
		if x.s.user == "" || user != x.s.user || password != x.s.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.loggedIn = true
		return nil
	}), nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.s.mu.Lock()
	required := x.s.user != ""
	x.s.mu.Unlock()
	if required && !x.loggedIn {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "log in first"}
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.attempts++
	if len(x.s.refuse) > 0 {
		err := x.s.refuse[0]
		x.s.refuse = x.s.refuse[1:]
		return err
	}
	m, err := parse(raw)
	if err != nil {
		x.s.errs = append(x.s.errs, err)
	}
	m.From, m.To = x.from, append([]string(nil), x.to...)
	x.s.messages = append(x.s.messages, m)
	return nil
}

// parse reads a message with net/mail and mime/multipart (which undoes
// quoted-printable).
func parse(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, err
	}
	m.Header = msg.Header
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, err
	}
	m.ContentType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		m.Parts = []Part{{ContentType: mt, Body: string(body)}}
		return m, err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return m, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		body, err := io.ReadAll(p)
		if err != nil {
			return m, err
		}
		m.Parts = append(m.Parts, Part{ContentType: pt, Body: string(body)})
	}
}
