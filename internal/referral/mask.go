package referral

import (
	"strings"
	"unicode/utf8"
)

// MaskedLabel is how a referrer sees a user they referred: enough to recognise
// a friend, never the raw id or email. An email keeps its first character and
// domain ("j***@example.com"); an id keeps its first and, when long enough,
// last two characters ("u***42").
func MaskedLabel(email, userID string) string {
	if local, domain, ok := strings.Cut(email, "@"); ok && local != "" && domain != "" {
		return firstRune(local) + "***@" + domain
	}
	if userID == "" {
		return "***"
	}
	if utf8.RuneCountInString(userID) < 6 {
		return firstRune(userID) + "***"
	}
	runes := []rune(userID)
	return string(runes[0]) + "***" + string(runes[len(runes)-2:])
}

func firstRune(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	return string(r)
}
