package policy

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"github.com/shopspring/decimal"
)

// FieldError is one problem with one field of a loan, a repayment or a
// policy, so an API can point the caller at what to fix and a test can
// assert which rule fired. Field is a path such as "installments[1].due_date"
// or "customer.phone"; it is empty for a problem with the input as a whole
// (malformed JSON).
type FieldError struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// Error is "field: problem", or just the problem when no field is named.
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// ValidationError is every problem found in one input, in field order, so a
// caller fixes them all in one round trip rather than one per request.
type ValidationError []FieldError

// Error joins the problems with "; ".
func (v ValidationError) Error() string {
	parts := make([]string, len(v))
	for i, e := range v {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the individual FieldErrors to errors.As and errors.Is.
func (v ValidationError) Unwrap() []error {
	errs := make([]error, len(v))
	for i, e := range v {
		errs[i] = e
	}
	return errs
}

// Err returns v as an error, or a nil error when v is empty. Use it instead
// of converting v directly: an empty ValidationError stored in an error
// variable is not nil.
func (v ValidationError) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// add appends a problem with field.
func (v *ValidationError) add(field, format string, args ...any) {
	*v = append(*v, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// maxAmount bounds every amount (exclusive). Nothing a consumer lender sends
// comes near it; it stops a typo such as "1e30" from reaching the ledger, and
// keeps totals exact in the float64 OutstandingTotal search attribute.
var maxAmount = decimal.New(1, 15)

// localePattern is the shape of a BCP 47 language tag (zh-CN, en, pt-BR,
// zh-Hant-TW). It also keeps the locale safe as a template directory name.
var localePattern = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

// PolicyName is the name of the policy the loan runs under: its own, or
// "default" when it names none.
func (l Loan) PolicyName() string {
	if l.Policy == "" {
		return DefaultPolicyName
	}
	return l.Policy
}

// Location is the time zone the loan's days are counted in: the customer's
// time_zone, or p's when the customer states none. "Local" and unknown zones
// are errors.
func (l Loan) Location(p Policy) (*time.Location, error) {
	tz := l.Customer.TimeZone
	if tz == "" {
		tz = p.TimeZone
	}
	return loadZone(tz)
}

// OptedOut reports whether the customer may no longer be contacted on ch.
func (c Customer) OptedOut(ch Channel) bool { return slices.Contains(c.OptOuts, ch) }

// Address is where the customer is reached on ch: the phone for sms, the
// email for email, the push token for push; "" when there is none.
func (c Customer) Address(ch Channel) string {
	switch ch {
	case SMS:
		return c.Phone
	case Email:
		return c.Email
	case Push:
		return c.PushToken
	}
	return ""
}

// CanUse reports whether ch may be used for the customer: an address and no
// opt-out.
func (c Customer) CanUse(ch Channel) bool { return c.Address(ch) != "" && !c.OptedOut(ch) }

// Reachable lists, in AllChannels order, the channels the customer can be
// reached on: sms with a phone, email with an email address, push with a
// push token, leaving out the channels opted out of.
func (c Customer) Reachable() []Channel {
	var out []Channel
	for _, ch := range AllChannels {
		if c.CanUse(ch) {
			out = append(out, ch)
		}
	}
	return out
}

// ValidateLoan checks a loan against DESIGN.md "Loan" before anything is
// started, and returns nil or a ValidationError listing every problem.
//
// reg resolves the loan's policy (empty means "default"); a nil reg knows
// only Default(). hasLocale reports whether templates exist for a locale; a
// nil hasLocale accepts any well-formed locale.
func ValidateLoan(l Loan, reg *Registry, hasLocale func(locale string) bool) error {
	var v ValidationError

	if msg := idProblem(l.LoanID, MaxLoanIDLen); msg != "" {
		v.add("loan_id", "%s", msg)
	}
	switch _, known := MinorUnits(l.Currency); {
	case l.Currency == "":
		v.add("currency", "must not be empty")
	case !known:
		v.add("currency", "unknown ISO 4217 currency %q", l.Currency)
	}

	var (
		pol      Policy
		polKnown bool
	)
	if reg == nil {
		if l.PolicyName() == DefaultPolicyName {
			pol, polKnown = Default(), true
		}
	} else {
		pol, polKnown = reg.Get(l.PolicyName())
	}
	switch {
	case polKnown:
	case len(l.Policy) > MaxPolicyNameLen:
		v.add("policy", "must be at most %d characters, got %d", MaxPolicyNameLen, len(l.Policy))
	default:
		known := []string{DefaultPolicyName}
		if reg != nil {
			known = reg.Names()
		}
		v.add("policy", "unknown policy %q (known: %s)", l.PolicyName(), strings.Join(known, ", "))
	}

	v = append(v, validateCustomer(l.Customer, pol, polKnown, hasLocale)...)
	v = append(v, ValidateInstallments("installments", l.Currency, l.Installments)...)
	return v.Err()
}

// validateCustomer checks the customer part of a loan: an id, a name of at
// most MaxNameLen characters (may be empty), phone, email and push token
// (each may be empty; ValidateLoan wants at least one reachable), a locale,
// a time zone and opt-outs, each within its limit (see MaxNameLen and the
// other limits) and none with control characters.
func validateCustomer(c Customer, pol Policy, polKnown bool, hasLocale func(string) bool) ValidationError {
	var v ValidationError
	if msg := idProblem(c.ID, MaxCustomerIDLen); msg != "" {
		v.add("customer.id", "%s", msg)
	}
	if msg := textLenProblem(c.Name, MaxNameLen); msg != "" {
		v.add("customer.name", "%s", msg)
	}
	if c.Phone != "" {
		if msg := phoneProblem(c.Phone); msg != "" {
			v.add("customer.phone", "%s", msg)
		}
	}
	if c.Email != "" {
		if msg := emailProblem(c.Email); msg != "" {
			v.add("customer.email", "%s", msg)
		}
	}
	if c.PushToken != "" {
		if msg := pushTokenProblem(c.PushToken); msg != "" {
			v.add("customer.push_token", "%s", msg)
		}
	}
	switch {
	case c.Locale == "":
		v.add("customer.locale", "must not be empty")
	case len(c.Locale) > MaxLocaleLen:
		v.add("customer.locale", "must be at most %d characters, got %d", MaxLocaleLen, len(c.Locale))
	case !localePattern.MatchString(c.Locale):
		v.add("customer.locale", "%q is not a language tag such as zh-CN", c.Locale)
	case hasLocale != nil && !hasLocale(c.Locale):
		v.add("customer.locale", "no templates for locale %q", c.Locale)
	}
	switch {
	case len(c.TimeZone) > MaxTimeZoneLen:
		v.add("customer.time_zone", "must be at most %d characters, got %d", MaxTimeZoneLen, len(c.TimeZone))
	case textProblem(c.TimeZone) != "":
		v.add("customer.time_zone", "%s", textProblem(c.TimeZone))
	case c.TimeZone != "" || polKnown:
		if _, err := (Loan{Customer: c}).Location(pol); err != nil {
			v.add("customer.time_zone", "%v", err)
		}
	}
	if len(c.OptOuts) > MaxOptOuts {
		v.add("customer.opt_outs", "must list at most %d channels (each once), got %d", MaxOptOuts, len(c.OptOuts))
	} else {
		for i, ch := range c.OptOuts {
			at := fmt.Sprintf("customer.opt_outs[%d]", i)
			switch {
			case !knownChannel(ch):
				v.add(at, "unknown channel %q (want sms, email or push)", truncate([]byte(ch)))
			case slices.Contains(c.OptOuts[:i], ch):
				v.add(at, "%s is listed twice", ch)
			}
		}
	}
	if len(c.Reachable()) == 0 {
		v.add("customer", "no reachable channel: give a phone (sms), an email or a push_token that is not opted out")
	}
	return v
}

// ValidatePhone checks that s is a valid E.164 phone number, for a field
// named field (an inbound message's sender).
func ValidatePhone(field, s string) error {
	if msg := phoneProblem(s); msg != "" {
		return ValidationError{{Field: field, Problem: msg}}
	}
	return nil
}

// phoneProblem returns why s is not a valid E.164 phone number, or "".
func phoneProblem(s string) string {
	const want = "must be a valid E.164 number such as +8613800138000"
	if len(s) > MaxPhoneLen {
		return fmt.Sprintf("%s, with no spaces or punctuation: at most %d characters", want, MaxPhoneLen)
	}
	if !strings.HasPrefix(s, "+") {
		return want + ", starting with +"
	}
	num, err := phonenumbers.Parse(s, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return want
	}
	if phonenumbers.Format(num, phonenumbers.E164) != s {
		return want + ", with no spaces or punctuation"
	}
	return ""
}

// emailProblem returns why s is not a bare, syntactically valid email
// address (no display name, no angle brackets), or "".
func emailProblem(s string) string {
	if len(s) > MaxEmailLen {
		return fmt.Sprintf("must be at most %d characters", MaxEmailLen)
	}
	if msg := textProblem(s); msg != "" {
		return msg
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Sprintf("%q is not a bare email address such as zhang.wei@example.cn", s)
	}
	return ""
}

// pushTokenProblem returns why s cannot be a push token, or "": at most
// MaxPushTokenLen bytes of text with no spaces (no provider's token has one,
// and a pasted token with a trailing newline or space would silently fail
// every push).
func pushTokenProblem(s string) string {
	if len(s) > MaxPushTokenLen {
		return fmt.Sprintf("must be at most %d bytes, got %d", MaxPushTokenLen, len(s))
	}
	if msg := textProblem(s); msg != "" {
		return msg
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return "must not contain spaces"
	}
	return ""
}

// amountProblem returns why d is not a valid amount in a currency with
// places decimals, or "". zeroOK says whether 0 is allowed.
func amountProblem(d decimal.Decimal, currency string, places int32, placesKnown, zeroOK bool) string {
	switch {
	case d.IsNegative():
		return fmt.Sprintf("must not be negative, got %s", d)
	case !zeroOK && d.IsZero():
		return "must be greater than 0"
	case d.Abs().GreaterThanOrEqual(maxAmount):
		return fmt.Sprintf("must be less than %s, got %s", maxAmount, d)
	case placesKnown && !HasAtMostPlaces(d, places):
		return fmt.Sprintf("%s has more decimals than %s allows (%d)", d, currency, places)
	}
	return ""
}

// ValidateInstallments checks a schedule of installments: at least one and
// at most MaxInstallments; seq at least 1 and strictly increasing; due dates
// given, from MinDate to MaxDate and strictly increasing; principal,
// interest and fee non-negative with no more decimals than currency allows
// (not checked if currency is unknown); and every installment owing
// something. field prefixes the paths, so a loan reports
// "installments[1].due_date" and a reschedule may use its own name.
// ValidateLoan uses it, and so does ValidateReschedule.
//
// A zero decimal.Decimal is 0 here: only JSON can leave an amount out, and
// DecodeJSON refuses that.
func ValidateInstallments(field, currency string, ins []Installment) ValidationError {
	var v ValidationError
	switch {
	case len(ins) == 0:
		v.add(field, "must have at least one installment")
		return v
	case len(ins) > MaxInstallments:
		v.add(field, "must have at most %d installments, got %d", MaxInstallments, len(ins))
		return v
	}
	places, placesKnown := MinorUnits(currency)
	for i, in := range ins {
		at := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case in.Seq < 1:
			v.add(at+".seq", "must be at least 1, got %d", in.Seq)
		case i > 0 && in.Seq <= ins[i-1].Seq:
			v.add(at+".seq", "must be greater than the previous installment's (%d)", ins[i-1].Seq)
		}
		switch {
		case in.DueDate.IsZero():
			v.add(at+".due_date", "must not be empty")
		case dateProblem(in.DueDate) != "":
			v.add(at+".due_date", "%s", dateProblem(in.DueDate))
		case i > 0 && !ins[i-1].DueDate.IsZero() && !in.DueDate.After(ins[i-1].DueDate):
			v.add(at+".due_date", "%s must be after the previous installment's (%s)", in.DueDate, ins[i-1].DueDate)
		}
		amountsOK := true
		for _, a := range []struct {
			name string
			d    decimal.Decimal
		}{{"principal", in.Principal}, {"interest", in.Interest}, {"fee", in.Fee}} {
			if msg := amountProblem(a.d, currency, places, placesKnown, true); msg != "" {
				v.add(at+"."+a.name, "%s", msg)
				amountsOK = false
			}
		}
		if amountsOK && !in.Principal.Add(in.Interest).Add(in.Fee).IsPositive() {
			v.add(at, "owes nothing: principal + interest + fee must be greater than 0")
		}
	}
	return v
}

// ValidateRepayment checks a repayment reported for loan l before it is
// applied (the workflow's repay update validator): txn_id a usable
// identifier (ValidateID, at most MaxTxnIDLen); amount greater than 0 with
// no more decimals than the loan's currency allows; currency, if given, the
// loan's; paid_at given, not after now, not before MinDate and not more than
// MaxPaidBeforeFirstDueDays before the first due date of l (when l has
// installments): a repayment cannot predate its loan. paid_at is compared by
// its calendar date in its own offset. It returns nil or a ValidationError
// naming txn_id, amount, currency and paid_at.
func ValidateRepayment(l Loan, r Repayment, now time.Time) error {
	var v ValidationError
	if msg := idProblem(r.TxnID, MaxTxnIDLen); msg != "" {
		v.add("txn_id", "%s", msg)
	}
	places, placesKnown := MinorUnits(l.Currency)
	if msg := amountProblem(r.Amount, l.Currency, places, placesKnown, false); msg != "" {
		v.add("amount", "%s", msg)
	}
	if r.Currency != "" && r.Currency != l.Currency {
		v.add("currency", "%q does not match the loan's currency %s", truncate([]byte(r.Currency)), l.Currency)
	}
	first, hasFirst := firstDueDate(l.Installments)
	switch {
	case r.PaidAt.IsZero():
		v.add("paid_at", "must not be empty")
	case r.PaidAt.After(now):
		v.add("paid_at", "%s is in the future (now is %s)", r.PaidAt.Format(time.RFC3339), now.Format(time.RFC3339))
	case timeProblem(r.PaidAt) != "":
		v.add("paid_at", "%s", timeProblem(r.PaidAt))
	case hasFirst && DateOf(r.PaidAt).Before(first.AddDays(-MaxPaidBeforeFirstDueDays)):
		v.add("paid_at", "%s is more than %d days before the loan's first due date (%s): it cannot be for this loan",
			r.PaidAt.Format(time.RFC3339), MaxPaidBeforeFirstDueDays, first)
	}
	return v.Err()
}

// firstDueDate is the earliest due date in ins, if any installment has one.
func firstDueDate(ins []Installment) (Date, bool) {
	var first Date
	for _, in := range ins {
		if !in.DueDate.IsZero() && (first.IsZero() || in.DueDate.Before(first)) {
			first = in.DueDate
		}
	}
	return first, !first.IsZero()
}

// ValidateLoanAt is ValidateLoan for a loan started at now: it also refuses
// a loan whose first installment fell due more than MaxDebtAgeDays before
// now's calendar date (in now's own location: a day either way does not
// matter at five years). ValidateLoan has no clock, so the API and the
// starter's import call this one with theirs.
func ValidateLoanAt(l Loan, reg *Registry, hasLocale func(locale string) bool, now time.Time) error {
	v := fieldErrorsOf(ValidateLoan(l, reg, hasLocale))
	if first, ok := firstDueDate(l.Installments); ok && dateProblem(first) == "" {
		oldest := DateOf(now).AddDays(-MaxDebtAgeDays)
		if first.Before(oldest) {
			i := slices.IndexFunc(l.Installments, func(in Installment) bool { return in.DueDate == first })
			v.add(fmt.Sprintf("installments[%d].due_date", i),
				"%s is more than %d days (five years) before today (%s): a debt that old is not dunned", first, MaxDebtAgeDays, DateOf(now))
		}
	}
	return v.Err()
}

// fieldErrorsOf is err as a ValidationError (nil for nil).
func fieldErrorsOf(err error) ValidationError {
	var v ValidationError
	if err != nil && !errors.As(err, &v) {
		return ValidationError{{Problem: err.Error()}}
	}
	return v
}

// DecodeLoan reads one loan as JSON, strictly: unknown keys (matched
// case-sensitively), duplicate keys, values of the wrong type, malformed
// dates and amounts, amounts that are missing, null or JSON numbers, text
// that is not valid UTF-8 or holds control characters, and trailing data are
// all errors (see DecodeJSON). On failure it returns a
// ValidationError whose entries name the field, e.g.
// `installments[0].due_date: date "2026-02-30": want YYYY-MM-DD`. It does not
// apply ValidateLoan. Callers should bound the body's size (http.MaxBytesReader).
func DecodeLoan(r io.Reader) (Loan, error) {
	var l Loan
	if err := DecodeJSON(r, &l); err != nil {
		return Loan{}, err
	}
	return l, nil
}

// DecodeRepayment reads one repayment as JSON, as strictly as DecodeLoan.
// It does not apply ValidateRepayment. An absent or null paid_at leaves it
// zero (the API then takes "now"); an explicit one outside MinDate..MaxDate,
// Go's zero time "0001-01-01T00:00:00Z" included, is an error naming paid_at.
func DecodeRepayment(r io.Reader) (Repayment, error) {
	var rp Repayment
	if err := DecodeJSON(r, &rp); err != nil {
		return Repayment{}, err
	}
	return rp, nil
}

// DecodeJSON decodes one JSON value from r into v (a non-nil pointer to a
// struct) with DecodeLoan's strictness, for the API's other request bodies.
// Errors are a ValidationError naming the fields, at most maxDecodeProblems
// of them. Besides JSON's own rules, whatever the struct:
//
//   - the body is an object, not null;
//   - every decimal.Decimal field (money) is required and must be a string
//     such as "1234.50": a missing key, null or a JSON number (10.5, which a
//     float may have rounded on the way) is an error. An amount that may be
//     left out would be a *decimal.Decimal; none is today. A lender sends
//     "0.00" for a fee that is nothing;
//   - every string value is text: valid UTF-8 in the raw bytes (encoding/json
//     would silently turn invalid bytes into U+FFFD) and nothing textProblem
//     refuses (control characters, \u0000 and newlines included);
//   - every time.Time value lies from MinDate to MaxDate, so an explicit
//     "0001-01-01T00:00:00Z" (Go's zero time, which would read as "not
//     given") or "1970-01-01T00:00:00Z" is refused; an absent or null time
//     stays zero;
//   - an array of objects holds no null.
//
// Field-specific limits (lengths, ranges, formats) are the Validate
// functions' job.
func DecodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return ValidationError{{Problem: "empty body: want a JSON object"}}
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return ValidationError{{Problem: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}}
		}
		return ValidationError{{Problem: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ValidationError{{Problem: "invalid JSON: unexpected data after the object"}}
	}
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return fmt.Errorf("DecodeJSON: want a pointer, got %T", v)
	}
	var verr ValidationError
	if string(bytes.TrimSpace(raw)) == "null" {
		verr.add("", "want a JSON object, got null")
	} else {
		checkJSON("", raw, t.Elem(), &verr)
	}
	if n := len(verr); n > maxDecodeProblems {
		verr = append(verr[:maxDecodeProblems:maxDecodeProblems], FieldError{Problem: fmt.Sprintf("and %d more problems", n-maxDecodeProblems)})
	}
	if len(verr) > 0 {
		return verr
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		// checkJSON has already looked at every value, so this is a backstop.
		return ValidationError{{Problem: strings.TrimPrefix(err.Error(), "json: ")}}
	}
	return nil
}

// maxDecodeProblems bounds the problems DecodeJSON reports: a 1 MiB body of
// "[1,1,1,…]" would otherwise be answered with tens of MiB of errors.
const maxDecodeProblems = 100

var (
	timeType             = reflect.TypeFor[time.Time]()
	dateType             = reflect.TypeFor[Date]()
	jsonUnmarshalerType  = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType  = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessageType       = reflect.TypeFor[json.RawMessage]()
	jsonKindDescriptions = map[reflect.Kind]string{
		reflect.String: "a string", reflect.Bool: "true or false",
		reflect.Int: "an integer", reflect.Int8: "an integer", reflect.Int16: "an integer",
		reflect.Int32: "an integer", reflect.Int64: "an integer",
		reflect.Uint: "a non-negative integer", reflect.Uint8: "a non-negative integer",
		reflect.Uint16: "a non-negative integer", reflect.Uint32: "a non-negative integer",
		reflect.Uint64:  "a non-negative integer",
		reflect.Float32: "a number", reflect.Float64: "a number",
	}
)

// checkJSON walks the JSON value raw alongside the Go type t it will be
// decoded into and records, by field path, every unknown or duplicate key,
// every value of the wrong kind and every leaf that does not decode.
// encoding/json reports only the first problem, usually without saying where.
func checkJSON(at string, raw json.RawMessage, t reflect.Type, v *ValidationError) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return // leaves the zero value; validation decides if that is allowed
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	isLeaf := pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType) || t == rawMessageType ||
		(t.Kind() != reflect.Struct && t.Kind() != reflect.Slice) ||
		(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8) // []byte is a base64 string
	switch {
	case isLeaf:
		checkLeaf(at, raw, t, v)
	case t.Kind() == reflect.Struct:
		pairs, ok := jsonObject(raw)
		if !ok {
			v.add(at, "want an object, got %s", jsonKind(raw))
			return
		}
		fields := jsonFields(t)
		given := make(map[string]bool, len(pairs))
		for _, kv := range pairs {
			key := joinKey(at, kv.key)
			f, ok := fields[kv.key]
			switch {
			case kv.dup:
				v.add(key, "duplicate key")
			case !ok:
				msg := "unknown key"
				if s := suggest(kv.key, mapKeys(fields)); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				v.add(key, "%s", msg)
			default:
				given[kv.key] = !isNull(kv.value)
				if f.Type != decimalType || given[kv.key] {
					checkJSON(key, kv.value, f.Type, v)
				}
			}
		}
		for _, name := range moneyFields(t) {
			if !given[name] {
				v.add(joinKey(at, name), `is required: want a decimal amount as a string such as "0.00"`)
			}
		}
	default: // slice
		var elems []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
			v.add(at, "want an array, got %s", jsonKind(raw))
			return
		}
		elem := t.Elem()
		for elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		for i, e := range elems {
			if elem.Kind() == reflect.Struct && isNull(e) {
				v.add(fmt.Sprintf("%s[%d]", at, i), "want an object, got null")
				continue
			}
			checkJSON(fmt.Sprintf("%s[%d]", at, i), e, t.Elem(), v)
		}
	}
}

// checkLeaf checks one JSON value that decodes as a whole into t (a string,
// a number, an amount, a time, a date): that it decodes, that an amount is a
// string, that text is text and that a time is within range.
func checkLeaf(at string, raw json.RawMessage, t reflect.Type, v *ValidationError) {
	switch {
	case t == decimalType && raw[0] != '"':
		v.add(at, `want a decimal amount as a string such as "1234.50", got %s`, truncate(raw))
		return
	case t.Kind() == reflect.String && raw[0] == '"' && !utf8.Valid(raw):
		v.add(at, "must be valid UTF-8")
		return
	}
	val := reflect.New(t)
	if err := json.Unmarshal(raw, val.Interface()); err != nil {
		v.add(at, "%s", leafProblem(t, raw, err))
		return
	}
	switch {
	case t.Kind() == reflect.String:
		if msg := textProblem(val.Elem().String()); msg != "" {
			v.add(at, "%s", msg)
		}
	case t == timeType:
		if msg := timeProblem(val.Elem().Interface().(time.Time)); msg != "" {
			v.add(at, "%s", msg)
		}
	}
}

// isNull reports whether the JSON value raw is null.
func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// moneyFields lists, in field order, the JSON keys of struct type t's
// decimal.Decimal fields: the amounts DecodeJSON requires.
func moneyFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() || f.Type != decimalType {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// jsonPair is one key of a JSON object, in input order.
type jsonPair struct {
	key   string
	value json.RawMessage
	dup   bool
}

// jsonObject splits a JSON object into its keys in input order, marking
// repeated keys (which encoding/json would silently let the last one win).
// raw is known to be syntactically valid; ok is false if it is not an object.
func jsonObject(raw json.RawMessage) (pairs []jsonPair, ok bool) {
	if raw[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, false
		}
		pairs = append(pairs, jsonPair{key: key, value: val, dup: seen[key]})
		seen[key] = true
	}
	return pairs, true
}

// jsonFields maps the JSON keys of struct type t to its fields, as
// encoding/json names them (but matched exactly, not case-insensitively).
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField)
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		m[name] = f
	}
	return m
}

// jsonKind names the kind of the JSON value raw.
func jsonKind(raw json.RawMessage) string {
	switch {
	case raw[0] == '{':
		return "an object"
	case raw[0] == '[':
		return "an array"
	case raw[0] == '"':
		return "a string"
	case raw[0] == 't' || raw[0] == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// leafProblem turns the error from decoding raw into a value of type t into
// a message for the caller.
func leafProblem(t reflect.Type, raw json.RawMessage, err error) string {
	switch t {
	case decimalType:
		return fmt.Sprintf(`want a decimal amount such as "1234.50", got %s`, truncate(raw))
	case timeType:
		return fmt.Sprintf(`want an RFC 3339 time such as "2026-12-08T10:00:00+08:00", got %s`, truncate(raw))
	case dateType:
		return err.Error() // Date says `date "2026-02-30": want YYYY-MM-DD` itself
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if d, ok := jsonKindDescriptions[t.Kind()]; ok {
			return fmt.Sprintf("want %s, got %s", d, truncate(raw))
		}
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// truncate shortens a JSON value quoted in an error message.
func truncate(raw json.RawMessage) string {
	const max = 40
	r := []rune(string(raw))
	if len(r) <= max {
		return string(r)
	}
	return string(r[:max]) + "…"
}
