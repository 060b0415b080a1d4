package preview

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// ParsePayment reads a payment written DATE:AMOUNT, as `starter preview
// -pay` and POST /v1/preview?pay= take it. DATE is a local date (paid at
// noon, "2026-12-06"), a local date and time ("2026-12-06T10:00") or an RFC
// 3339 time, local meaning in loc, the customer's zone; AMOUNT is a decimal
// above 0 with no more decimals than currency has.
func ParsePayment(s, currency string, loc *time.Location) (Payment, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return Payment{}, errors.New("want DATE:AMOUNT")
	}
	when, amount := s[:i], s[i+1:]
	var at time.Time
	var err error
	switch len(when) {
	case len("2006-01-02"):
		var d policy.Date
		d, err = policy.ParseDate(when)
		at = d.At(loc, 12, 0)
	case len("2006-01-02T15:04"):
		at, err = time.ParseInLocation("2006-01-02T15:04", when, loc)
	default:
		at, err = time.Parse(time.RFC3339, when)
	}
	if err != nil {
		return Payment{}, fmt.Errorf("date %q: want 2026-12-06, 2026-12-06T10:00 or RFC 3339", when)
	}
	if d := policy.DateOf(at); d.Before(policy.MinDate) || d.After(policy.MaxDate) {
		return Payment{}, fmt.Errorf("date %q: outside %s..%s", when, policy.MinDate, policy.MaxDate)
	}
	d, err := decimal.NewFromString(amount)
	if err != nil || !d.IsPositive() {
		return Payment{}, fmt.Errorf("amount %q: want a decimal above 0", amount)
	}
	if places, ok := policy.MinorUnits(currency); ok && -d.Exponent() > places {
		return Payment{}, fmt.Errorf("amount %q: %s has %d decimals", amount, currency, places)
	}
	if !d.LessThan(decimal.New(1, 15)) {
		return Payment{}, fmt.Errorf("amount %q: too large", amount)
	}
	return Payment{At: at, Amount: d}, nil
}
