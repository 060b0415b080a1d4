package templates

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Data is everything a template may show about one notice. The caller fills
// it from the loan's balance snapshot; amounts are fixed-point decimal strings
// ("1068.50") exactly as the ledger holds them, so a notice never shows a
// rounded or float-formatted figure. Only the fields a template references
// must be set (see Renderer.Fields).
type Data struct {
	// Brand is the lender's name, the zh-CN SMS signature (【Brand】).
	Brand string
	// Hotline is the customer-service phone number.
	Hotline string
	// RepayURL is where the borrower repays (web or app deep link).
	RepayURL string

	// CustomerName is the borrower's name as they are addressed.
	CustomerName string
	// LoanRef is the masked loan number, e.g. "****0001" (see MaskLoanID).
	LoanRef string
	// Currency is the ISO 4217 code of every amount, e.g. "CNY".
	Currency string
	// DueDate is the due date ("2026-12-01") of the installment that drives
	// the notice: the next unpaid one before due, the oldest overdue one after.
	DueDate string
	// DaysOverdue is the loan's days past due; overdue templates need it > 0.
	DaysOverdue int

	// AmountDue is the total overdue (for upcoming and due_today: the amount
	// due) including penalty and late fee, e.g. "1068.50".
	AmountDue string
	// Principal, Interest and Fee are the parts of AmountDue of those kinds.
	Principal, Interest, Fee string
	// Penalty and LateFee are the penalty interest and late fees in
	// AmountDue, shown apart so the borrower sees what lateness cost.
	Penalty, LateFee string
	// Outstanding is everything still owed, future installments included.
	Outstanding string
	// Paid is the amount just received, for payment_received and paid_off.
	Paid string
	// InstallmentCount is how many overdue installments the notice covers;
	// one notice covers them all, so overdue templates need it > 0.
	InstallmentCount int
}

// values returns d as the map templates execute on, holding only the fields
// that are set: non-blank strings and positive numbers. An unset field is
// absent, so a template that reaches it fails under missingkey=error instead
// of printing an empty string or a zero. Data holds only strings and ints
// (TestDataFieldKinds keeps it so).
func (d Data) values() map[string]any {
	v := reflect.ValueOf(d)
	t := v.Type()
	m := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			if strings.TrimSpace(f.String()) != "" {
				m[t.Field(i).Name] = f.String()
			}
		case reflect.Int:
			if f.Int() > 0 {
				m[t.Field(i).Name] = int(f.Int())
			}
		}
	}
	return m
}

// Params is d as template parameters for a provider that renders approved
// templates itself (Aliyun SMS: TemplateParam): the fields that are set, by
// snake_case name ("customer_name", "amount_due", "days_overdue"), numbers as
// decimal strings.
func (d Data) Params() map[string]string {
	out := map[string]string{}
	for name, v := range d.values() {
		out[snakeCase(name)] = fmt.Sprint(v)
	}
	return out
}

// snakeCase turns a Go field name into snake_case: AmountDue → amount_due.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isDataField reports whether Data has an exported field called name, so New
// can reject a template that references a misspelt field.
func isDataField(name string) bool {
	f, ok := reflect.TypeFor[Data]().FieldByName(name)
	return ok && f.IsExported()
}

// MaskLoanID hides a loan id for display to the borrower, keeping the last four
// characters: "L-2026-0001" becomes "****0001". The hidden part is always four
// stars, so the id's length is not revealed and a long id (a UUID) stays short
// enough for an SMS. An id of four characters or fewer is masked except its
// last character ("0001" becomes "***1"); an empty id stays empty.
func MaskLoanID(id string) string {
	n := utf8.RuneCountInString(id)
	switch {
	case n == 0:
		return ""
	case n <= 4:
		r := []rune(id)
		return strings.Repeat("*", n-1) + string(r[n-1])
	default:
		r := []rune(id)
		return "****" + string(r[n-4:])
	}
}

// FormatMoney shows amount in currency the way readers of locale expect:
// "1068.50元" for CNY in zh-CN, "CNY 1068.50" for anything else. The amount is
// printed exactly as given (no rounding, no digit grouping), so it matches the
// ledger and the audit trail character for character. Templates call it as
// {{money .Currency .AmountDue}}.
func FormatMoney(locale, currency, amount string) string {
	if locale == "zh-CN" && currency == "CNY" {
		return amount + "元"
	}
	return currency + " " + amount
}

// nonzero reports whether a decimal amount string is anything but zero, so a
// template can leave out a penalty of "0.00". A string with no digit 1-9 in it
// ("0", "0.00", "-0.0") is zero.
func nonzero(amount string) bool {
	return strings.ContainsAny(amount, "123456789")
}

// plural joins n to the singular or plural word: plural(1, "day", "days") is
// "1 day", plural(7, ...) is "7 days".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
