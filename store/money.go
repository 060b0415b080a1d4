package store

import (
	"encoding/json"
	"fmt"

	"github.com/shopspring/decimal"
)

// money formats d keeping its scale ("1068.50", "0.00"), where d.String would
// trim trailing zeros: amounts in the audit read as they were posted. nil
// stays nil (SQL NULL, JSON null).
func money(d *decimal.Decimal) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	if d.Exponent() < 0 {
		s = d.StringFixed(-d.Exponent())
	}
	return &s
}

// parseMoney reads a numeric column selected as text, so the scale stored by
// PostgreSQL survives into the decimal.
func parseMoney(s *string) (*decimal.Decimal, error) {
	if s == nil {
		return nil, nil
	}
	d, err := decimal.NewFromString(*s)
	if err != nil {
		return nil, fmt.Errorf("parse amount %q: %w", *s, err)
	}
	return &d, nil
}

// MarshalJSON writes the entry with its amount as a decimal string at the
// scale it was posted with ("20.00", not "20").
func (e LedgerEntry) MarshalJSON() ([]byte, error) {
	type plain LedgerEntry
	return json.Marshal(struct {
		plain
		Amount *string `json:"amount"`
	}{plain(e), money(e.Amount)})
}

// MarshalJSON writes the case with its overdue total as a decimal string at
// the scale it was recorded with.
func (c Case) MarshalJSON() ([]byte, error) {
	type plain Case
	return json.Marshal(struct {
		plain
		OverdueTotal *string `json:"overdue_total"`
	}{plain(c), money(c.OverdueTotal)})
}

// MarshalJSON writes the entry with its amount as a decimal string at the
// scale it was posted with, omitted when the entry moves no money.
func (e TimelineEntry) MarshalJSON() ([]byte, error) {
	type plain TimelineEntry
	return json.Marshal(struct {
		plain
		Amount *string `json:"amount,omitempty"`
	}{plain(e), money(e.Amount)})
}
