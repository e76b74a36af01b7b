package mail

import (
	"math"
	"strings"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// symbolAfter are the languages that write the currency after the amount
// ("20,00 €"); the others before it ("$20.00"). CLDR's currency patterns
// say so; golang.org/x/text formats the number and names the symbol, but
// does not place it.
var symbolAfter = map[string]bool{
	"de": true, "fr": true, "es": true, "it": true, "pt": true, "ru": true, "pl": true,
	"sv": true, "nb": true, "da": true, "fi": true, "cs": true, "sk": true, "hu": true,
}

// FormatAmount writes amount (in minor units of currency, a lower- or
// upper-case ISO 4217 code) for readers of tag: the currency's own number
// of decimals (two for USD, none for JPY), the language's digit grouping
// and decimal mark, and its symbol. A code golang.org/x/text does not know
// is written after a two-decimal amount.
func FormatAmount(tag language.Tag, amount int64, code string) string {
	p := message.NewPrinter(tag)
	unit, err := currency.ParseISO(code)
	if err != nil {
		return p.Sprint(number.Decimal(float64(amount)/100, number.Scale(2))) + " " + strings.ToUpper(code)
	}
	scale, _ := currency.Standard.Rounding(unit)
	value := float64(amount) / math.Pow10(scale)
	num := p.Sprint(number.Decimal(value, number.Scale(scale)))
	symbol := p.Sprint(currency.Symbol(unit))
	base, _ := tag.Base()
	if symbolAfter[base.String()] {
		return num + "\u00a0" + symbol
	}
	sep := ""
	if len(symbol) > 1 && isLetters(symbol) {
		sep = "\u00a0" // a code rather than a sign: "CHF 20.00"
	}
	if amount < 0 {
		return "-" + symbol + sep + strings.TrimPrefix(num, "-")
	}
	return symbol + sep + num
}

func isLetters(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
