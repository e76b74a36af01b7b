// Package mail is the outbox's email sink: the referrer hears by email
// when a referral qualifies (and, if they want, on signup, when a reward
// becomes available, and on payout). It keeps where each user's email goes
// and what they want sent (the service does not own users: an address
// comes from a token's email claim or from the product backend), renders
// text and HTML templates per locale with amounts formatted for their
// currency, and sends through SMTP (or, without SMTP_URL, logs what it
// would send).
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/text/language"
)

// Contact is where a user's email goes.
type Contact struct {
	UserID string
	Email  string
	// Locale is a BCP 47 tag ("en", "de-CH"); empty: English.
	Locale string
	// Source is who gave the address: SourceToken or SourceService.
	Source    string
	UpdatedAt time.Time
}

// Sources of a contact. A contact the product backend set is kept over
// what tokens say; a token's address fills in, or follows a change of the
// address in the identity provider.
const (
	SourceToken   = "token"
	SourceService = "service"
)

// Preferences say which emails a user wants.
type Preferences struct {
	ReferralCreated   bool
	ReferralQualified bool
	RewardAvailable   bool
	PayoutPaid        bool
}

// DefaultPreferences are a user's until they choose: the reward earned and
// the payout, not every signup or hold ending.
var DefaultPreferences = Preferences{ReferralQualified: true, PayoutPaid: true}

// Event types that send email.
const (
	TypeReferralCreated   = "referral.created"
	TypeReferralQualified = "referral.qualified"
	TypeRewardAvailable   = "reward.available"
	TypePayoutPaid        = "payout.paid"
)

// Types lists the event types that send email.
var Types = []string{TypeReferralCreated, TypeReferralQualified, TypeRewardAvailable, TypePayoutPaid}

// Wants reports whether p asks for email about events of type typ.
func (p Preferences) Wants(typ string) bool {
	switch typ {
	case TypeReferralCreated:
		return p.ReferralCreated
	case TypeReferralQualified:
		return p.ReferralQualified
	case TypeRewardAvailable:
		return p.RewardAvailable
	case TypePayoutPaid:
		return p.PayoutPaid
	}
	return false
}

// Store keeps contacts and preferences.
type Store interface {
	// Contact returns a user's contact; ErrNoContact when there is none.
	Contact(ctx context.Context, userID string) (Contact, error)
	// SaveContact writes a user's contact whole.
	SaveContact(ctx context.Context, c Contact) error
	// RememberEmail stores email as the user's address from their token
	// when the user has no contact, or one from a token with another
	// address; a contact the product backend set stays. It reports
	// whether it wrote.
	RememberEmail(ctx context.Context, userID, email string, at time.Time) (bool, error)
	// Preferences returns a user's preferences, and false when the user
	// never chose (the defaults apply).
	Preferences(ctx context.Context, userID string) (Preferences, bool, error)
	// SavePreferences replaces a user's preferences.
	SavePreferences(ctx context.Context, userID string, p Preferences, at time.Time) error
}

// Errors of contact operations.
var (
	ErrNoContact = errors.New("no email address is known for this user")
	ErrInvalid   = errors.New("invalid contact")
)

// FieldError names the field a caller got wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Limits of a contact's fields.
const (
	maxEmailLength  = 254
	maxLocaleLength = 35
)

// CheckEmail returns email when it is a plain address (no display name,
// no comments), else a FieldError.
func CheckEmail(email string) (string, error) {
	switch {
	case email == "":
		return "", &FieldError{"email", "is required"}
	case len(email) > maxEmailLength:
		return "", &FieldError{"email", fmt.Sprintf("must be at most %d characters", maxEmailLength)}
	case strings.IndexFunc(email, unicode.IsControl) >= 0:
		return "", &FieldError{"email", "must not contain control characters"}
	}
	addr, err := netmail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", &FieldError{"email", "must be a plain email address such as jane@example.com"}
	}
	return email, nil
}

// CheckLocale returns locale in canonical BCP 47 form ("pt-br" becomes
// "pt-BR"); empty stays empty (English).
func CheckLocale(locale string) (string, error) {
	if locale == "" {
		return "", nil
	}
	if len(locale) > maxLocaleLength || strings.ContainsAny(locale, " _") {
		return "", &FieldError{"locale", "must be a BCP 47 language tag such as en, de or pt-BR"}
	}
	tag, err := language.Parse(locale)
	if err != nil || tag == language.Und {
		return "", &FieldError{"locale", "must be a BCP 47 language tag such as en, de or pt-BR"}
	}
	return tag.String(), nil
}

// Contacts runs the contact and preference operations of the API.
type Contacts struct {
	store Store
	now   func() time.Time
	// seen remembers the last token address per user this process
	// handled, so a user's requests do not write (or read) each time.
	seen *lru.Cache[string, string]
}

// seenSize bounds the token addresses remembered in memory.
const seenSize = 10_000

// NewContacts returns the operations over store.
func NewContacts(store Store) *Contacts {
	seen, _ := lru.New[string, string](seenSize)
	return &Contacts{store: store, now: time.Now, seen: seen}
}

// SetContact stores the address and locale the product backend gives for
// a user, replacing what was known.
func (c *Contacts) SetContact(ctx context.Context, userID, email, locale string) (Contact, error) {
	email, err := CheckEmail(email)
	if err != nil {
		return Contact{}, err
	}
	if locale, err = CheckLocale(locale); err != nil {
		return Contact{}, err
	}
	ct := Contact{UserID: userID, Email: email, Locale: locale, Source: SourceService, UpdatedAt: c.now().UTC().Truncate(time.Microsecond)}
	if err := c.store.SaveContact(ctx, ct); err != nil {
		return Contact{}, err
	}
	c.seen.Remove(userID)
	return ct, nil
}

// RememberTokenEmail keeps the email claim of a user's token as their
// address, unless the product backend set one. It writes only when the
// address changed: a process remembers the last address it saw per user.
// An address that is not a plain email address is ignored.
func (c *Contacts) RememberTokenEmail(ctx context.Context, userID, email string) error {
	if email == "" {
		return nil
	}
	if last, ok := c.seen.Get(userID); ok && last == email {
		return nil
	}
	if _, err := CheckEmail(email); err != nil {
		c.seen.Add(userID, email) // not worth checking again
		return nil
	}
	if _, err := c.store.RememberEmail(ctx, userID, email, c.now().UTC().Truncate(time.Microsecond)); err != nil {
		return err
	}
	c.seen.Add(userID, email)
	return nil
}

// Preferences returns a user's preferences (the defaults until they choose).
func (c *Contacts) Preferences(ctx context.Context, userID string) (Preferences, error) {
	p, ok, err := c.store.Preferences(ctx, userID)
	if err != nil {
		return Preferences{}, err
	}
	if !ok {
		return DefaultPreferences, nil
	}
	return p, nil
}

// SetPreferences replaces a user's preferences.
func (c *Contacts) SetPreferences(ctx context.Context, userID string, p Preferences) error {
	return c.store.SavePreferences(ctx, userID, p, c.now().UTC().Truncate(time.Microsecond))
}
