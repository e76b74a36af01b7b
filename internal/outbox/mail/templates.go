package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"golang.org/x/text/language"
)

// The built-in templates: templates/<locale>/<event type>.txt (a text
// template whose "subject" block is the subject and whose body is the
// plain-text part) and .html (an html/template, the HTML part).
//
//go:embed templates
var builtin embed.FS

// DefaultLocale is the locale every message type has, and the fallback.
const DefaultLocale = "en"

// Data is what a template sees.
type Data struct {
	// EventID and EventType name the event the message reports.
	EventID   string
	EventType string
	// UserID is the recipient's user id in the product.
	UserID string
	// Email is the recipient's address.
	Email string
	// Locale is the template's locale ("en", "de").
	Locale string
	// Amount is the amount written for the reader ("$20.00", "¥500",
	// "20,00 €"); empty when the event has none (referral.created).
	Amount string
	// AmountMinor is the amount in minor units; Currency its upper-case
	// ISO 4217 code.
	AmountMinor int64
	Currency    string
	// ReferralID, Code and ReferredUserID describe the referral (referral
	// and reward events); PayoutID the payout (payout.paid).
	ReferralID     string
	Code           string
	ReferredUserID string
	PayoutID       string
	// AppURL is the product's address (APP_URL), for a link back.
	AppURL string
	// CreatedAt is when the change the event reports was made.
	CreatedAt time.Time
}

// Templates are the parsed templates of each locale and event type.
type Templates struct {
	set map[string]map[string]*pair // locale → event type → templates
}

type pair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
	// where each came from, for errors
	textFrom, htmlFrom string
}

// LoadTemplates parses the built-in templates and, when dir is not empty,
// the files in dir that replace them one by one (dir/de/payout.paid.html
// replaces that file only) or add a locale (dir/fr/…). Every template is
// parsed now, so a broken one stops the start rather than an email.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{set: map[string]map[string]*pair{}}
	root, _ := fs.Sub(builtin, "templates")
	if err := t.load(root, "built-in "); err != nil {
		return nil, err
	}
	if dir != "" {
		info, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		if err := t.load(os.DirFS(dir), filepath.Clean(dir)+string(filepath.Separator)); err != nil {
			return nil, err
		}
	}
	for locale, types := range t.set {
		for typ, p := range types {
			switch {
			case p.text == nil:
				return nil, fmt.Errorf("%s%s/%s.html has no %s.txt beside it: a message needs both parts", p.htmlFrom, locale, typ, typ)
			case p.html == nil:
				return nil, fmt.Errorf("%s%s/%s.txt has no %s.html beside it: a message needs both parts", p.textFrom, locale, typ, typ)
			case p.text.Lookup("subject") == nil:
				return nil, fmt.Errorf("%s%s/%s.txt defines no subject: start it with {{define \"subject\"}}…{{end}}", p.textFrom, locale, typ)
			}
			// A template that cannot run on an example stops the start too.
			if _, err := p.render(example(typ, locale)); err != nil {
				return nil, fmt.Errorf("%s/%s: %w", locale, typ, err)
			}
		}
	}
	for _, typ := range Types {
		if t.set[DefaultLocale][typ] == nil {
			return nil, fmt.Errorf("no %s/%s templates", DefaultLocale, typ)
		}
	}
	return t, nil
}

// load reads <locale>/<type>.{txt,html} files of fsys over what t has.
func (t *Templates) load(fsys fs.FS, from string) error {
	return fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(path.Base(name), ".") {
			return nil
		}
		ext := path.Ext(name)
		if ext != ".txt" && ext != ".html" {
			return nil // a README beside the templates, say
		}
		locale, file, ok := strings.Cut(name, "/")
		typ := strings.TrimSuffix(file, ext)
		if !ok || strings.Contains(file, "/") {
			return fmt.Errorf("%s%s: templates live in <locale>/<event type>%s, e.g. en/referral.qualified%s", from, name, ext, ext)
		}
		if !slices.Contains(Types, typ) {
			return fmt.Errorf("%s%s: %q is not an event type that sends email (%s)", from, name, typ, strings.Join(Types, ", "))
		}
		tag, err := language.Parse(locale)
		if err != nil || tag.String() != locale {
			return fmt.Errorf("%s%s: %q is not a language tag in canonical form (en, de, pt-BR)", from, name, locale)
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if t.set[locale] == nil {
			t.set[locale] = map[string]*pair{}
		}
		p := t.set[locale][typ]
		if p == nil {
			p = &pair{}
			t.set[locale][typ] = p
		}
		if ext == ".txt" {
			if p.text, err = texttemplate.New(name).Option("missingkey=error").Parse(string(src)); err != nil {
				return fmt.Errorf("%s%s: %w", from, name, err)
			}
			p.textFrom = from
		} else {
			if p.html, err = htmltemplate.New(name).Option("missingkey=error").Parse(string(src)); err != nil {
				return fmt.Errorf("%s%s: %w", from, name, err)
			}
			p.htmlFrom = from
		}
		return nil
	})
}

// Rendered is a message's subject and parts.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

func (p *pair) render(d Data) (Rendered, error) {
	var subject, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Rendered{}, err
	}
	if err := p.text.Execute(&text, d); err != nil {
		return Rendered{}, err
	}
	if err := p.html.Execute(&html, d); err != nil {
		return Rendered{}, err
	}
	// One line; a no-break space (in "20,00 €") stays.
	s := strings.Join(strings.FieldsFunc(subject.String(), func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }), " ")
	if s == "" {
		return Rendered{}, errors.New("the subject is empty")
	}
	return Rendered{Subject: s, Text: strings.TrimLeft(text.String(), "\n"), HTML: html.String()}, nil
}

// Locale picks the locale whose templates a reader of tag gets for typ:
// the tag itself (pt-BR), its language (pt), else English.
func (t *Templates) Locale(tag language.Tag, typ string) string {
	base, _ := tag.Base()
	for _, l := range []string{tag.String(), base.String()} {
		if t.set[l][typ] != nil {
			return l
		}
	}
	return DefaultLocale
}

// Render renders the message of d.EventType in d.Locale.
func (t *Templates) Render(d Data) (Rendered, error) {
	p := t.set[d.Locale][d.EventType]
	if p == nil {
		return Rendered{}, fmt.Errorf("no %s template for %s", d.Locale, d.EventType)
	}
	return p.render(d)
}

// Locales lists the locales with templates.
func (t *Templates) Locales() []string {
	var out []string
	for l := range t.set {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

func example(typ, locale string) Data {
	d := Data{EventID: "evt_example", EventType: typ, UserID: "u1", Email: "jane@example.com", Locale: locale,
		AppURL: "https://app.example.com", CreatedAt: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
		ReferralID: "ref_example", Code: "K7M2QX9P", ReferredUserID: "u2"}
	if typ != TypeReferralCreated {
		d.Amount, d.AmountMinor, d.Currency = "$20.00", 2000, "USD"
	}
	if typ == TypePayoutPaid {
		d.PayoutID = "po_example"
	}
	return d
}
