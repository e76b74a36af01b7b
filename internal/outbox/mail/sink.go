package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/refhub/referral-service/internal/outbox"
)

// SinkName names the email sink's tasks.
const SinkName = "email"

// Delivery timing: an attempt has Timeout; retries wait 30 s, 5 min,
// 30 min, 2 h, 5 h, then 8 h twice, about a day in all (a mail server
// that is down longer has an operator on it; an email a day late is news
// nobody wants). perUser attempts to one user run at once.
const (
	Timeout = 30 * time.Second
	perUser = 2
)

var retries = []time.Duration{30 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	8 * time.Hour, 8 * time.Hour}

// SinkOptions configures the sink; zero values are the production defaults.
type SinkOptions struct {
	// From is the sender's address (MAIL_FROM).
	From string
	// AppURL is the product's address, for links in the messages.
	AppURL string
	// Retries are the waits before the second, third, … attempt.
	Retries []time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	Now     func() time.Time
	Log     *slog.Logger
}

// Sink emails the user an event is for (the referrer, the payee).
type Sink struct {
	store     Store
	templates *Templates
	sender    Sender
	from      string
	domain    string // of Message-IDs
	appURL    string
	retries   []time.Duration
	timeout   time.Duration
	now       func() time.Time
	log       *slog.Logger
}

var _ outbox.Sink = (*Sink)(nil)

// NewSink returns the sink: contacts and preferences from store, messages
// from templates, sent by sender.
func NewSink(store Store, templates *Templates, sender Sender, o SinkOptions) *Sink {
	if o.Retries == nil {
		o.Retries = retries
	}
	if o.Timeout <= 0 {
		o.Timeout = Timeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.From == "" {
		o.From = "referrals@localhost"
	}
	domain := "localhost"
	if a, err := netmail.ParseAddress(o.From); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return &Sink{store: store, templates: templates, sender: sender, from: o.From, domain: domain, appURL: o.AppURL,
		retries: o.Retries, timeout: o.Timeout, now: o.Now, log: o.Log}
}

// Name is "email".
func (s *Sink) Name() string { return SinkName }

// Route sends the events that email to the user they are for.
func (s *Sink) Route(_ context.Context, ev outbox.Event) ([]string, error) {
	if ev.UserID == "" || !slices.Contains(Types, ev.Type) {
		return nil, nil
	}
	return []string{ev.UserID}, nil
}

// Ready: a user's mailbox always takes deliveries (an address and the
// user's wishes are looked at when sending).
func (s *Sink) Ready(context.Context, string) (bool, bool, error) { return true, false, nil }

// PerTarget bounds the attempts in flight to one user.
func (s *Sink) PerTarget() int { return perUser }

// Timeout bounds one attempt.
func (s *Sink) Timeout() time.Duration { return s.timeout }

// Retry is the wait before retry n.
func (s *Sink) Retry(n int) (time.Duration, bool) {
	if n < 1 || n > len(s.retries) {
		return 0, false
	}
	return s.retries[n-1], true
}

// Observe: a user's mailbox has no health to track.
func (s *Sink) Observe(context.Context, string, bool, time.Time) {}

// MessageID is the Message-ID of the email about event to user: the same
// on every attempt, so a message sent twice (a lost answer after DATA) is
// one message to the receiving side.
func MessageID(eventID, userID, domain string) string {
	sum := sha256.Sum256([]byte(eventID + "\x00" + userID))
	return eventID + "." + hex.EncodeToString(sum[:8]) + "@" + domain
}

// Deliver emails the event to its user, unless no address is known or
// the user does not want this kind of email (skipped).
func (s *Sink) Deliver(ctx context.Context, t outbox.Task) outbox.Result {
	contact, err := s.store.Contact(ctx, t.Target)
	if errors.Is(err, ErrNoContact) {
		return outbox.Result{Skip: true, Response: "no email address is known for this user"}
	}
	if err != nil {
		return outbox.Result{Response: "contact unreadable: " + err.Error()}
	}
	prefs, chose, err := s.store.Preferences(ctx, t.Target)
	if err != nil {
		return outbox.Result{Response: "preferences unreadable: " + err.Error()}
	}
	if !chose {
		prefs = DefaultPreferences
	}
	if !prefs.Wants(t.Event.Type) {
		return outbox.Result{Skip: true, Response: "the user does not want " + t.Event.Type + " emails"}
	}
	d, err := s.data(t.Event, contact)
	if err != nil {
		return outbox.Result{Permanent: true, Response: "event unreadable: " + err.Error()}
	}
	r, err := s.templates.Render(d)
	if err != nil {
		return outbox.Result{Permanent: true, Response: "template failed: " + err.Error()}
	}
	m := Message{From: s.from, To: contact.Email, Subject: r.Subject, Text: r.Text, HTML: r.HTML,
		Date: s.now(), MessageID: MessageID(t.Event.ID, t.Target, s.domain), EventID: t.Event.ID}
	start := time.Now()
	err = s.sender.Send(ctx, m)
	res := outbox.Result{Duration: time.Since(start)}
	var se *SendError
	switch {
	case err == nil:
		res.OK, res.Status, res.Response = true, 250, "sent as <"+m.MessageID+">"
	case errors.As(err, &se):
		res.Status, res.Permanent, res.Response = se.Code, se.Permanent, se.Error()
	case ctx.Err() != nil:
		res.Response = "no answer in time"
	default:
		res.Response = err.Error()
	}
	return res
}

// eventData is what the email needs of an event's data: a referral, a
// reward change or a payout.
type eventData struct {
	ID             string `json:"id"`
	Code           string `json:"code"`
	ReferredUserID string `json:"referredUserId"`
	RewardAmount   *int64 `json:"rewardAmount"`
	RewardCurrency string `json:"rewardCurrency"`
	ReferralID     string `json:"referralId"`
	Amount         *int64 `json:"amount"`
	Currency       string `json:"currency"`
}

// data is the template data of ev for contact.
func (s *Sink) data(ev outbox.Event, contact Contact) (Data, error) {
	var e eventData
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return Data{}, err
	}
	tag := language.English
	if contact.Locale != "" {
		if t, err := language.Parse(contact.Locale); err == nil {
			tag = t
		}
	}
	locale := s.templates.Locale(tag, ev.Type)
	// Amounts in the reader's own variant when the template is in their
	// language (en-GB readers get "US$"), else in the template's.
	base, _ := tag.Base()
	if lb, _ := language.Make(locale).Base(); lb != base {
		tag = language.Make(locale)
	}
	d := Data{EventID: ev.ID, EventType: ev.Type, UserID: ev.UserID, Email: contact.Email, Locale: locale,
		AppURL: s.appURL, CreatedAt: ev.CreatedAt, Code: e.Code, ReferredUserID: e.ReferredUserID}
	amount, currency := e.Amount, e.Currency
	switch ev.Type {
	case TypeReferralCreated, TypeReferralQualified:
		d.ReferralID = e.ID
		amount, currency = e.RewardAmount, e.RewardCurrency
	case TypeRewardAvailable:
		d.ReferralID = e.ReferralID
	case TypePayoutPaid:
		d.PayoutID = e.ID
	}
	if amount != nil && currency != "" {
		d.AmountMinor, d.Currency = *amount, strings.ToUpper(currency)
		d.Amount = FormatAmount(tag, *amount, currency)
	}
	return d, nil
}
