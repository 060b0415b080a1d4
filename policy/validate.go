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

// Limits on identifiers: a loan id becomes part of a workflow id and of
// every idempotency key, a txn_id part of confirmation keys.
const (
	maxLoanIDLen     = 64
	maxTxnIDLen      = 128
	maxCustomerIDLen = 128
	maxEmailLen      = 254
)

// maxAmount bounds every amount (exclusive). Nothing a consumer lender sends
// comes near it; it stops a typo such as "1e30" from reaching the ledger, and
// keeps totals exact in the float64 OutstandingTotal search attribute.
var maxAmount = decimal.New(1, 15)

// idProblem returns why s is not a usable identifier (non-empty, at most max
// characters of A–Z a–z 0–9 . _ -), or "" if it is.
func idProblem(s string, max int) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, len(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("%q: use only letters A-Z a-z, digits, '.', '_' and '-'", s)
		}
	}
	return ""
}

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

// Reachable lists, in AllChannels order, the channels the customer can be
// reached on: sms with a phone, email with an email address, push with a
// push token, leaving out the channels opted out of.
func (c Customer) Reachable() []Channel {
	var out []Channel
	for _, ch := range AllChannels {
		var addr string
		switch ch {
		case SMS:
			addr = c.Phone
		case Email:
			addr = c.Email
		case Push:
			addr = c.PushToken
		}
		if addr != "" && !c.OptedOut(ch) {
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

	if msg := idProblem(l.LoanID, maxLoanIDLen); msg != "" {
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
	if !polKnown {
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

// validateCustomer checks the customer part of a loan.
func validateCustomer(c Customer, pol Policy, polKnown bool, hasLocale func(string) bool) ValidationError {
	var v ValidationError
	switch {
	case c.ID == "":
		v.add("customer.id", "must not be empty")
	case len(c.ID) > maxCustomerIDLen:
		v.add("customer.id", "must be at most %d characters, got %d", maxCustomerIDLen, len(c.ID))
	case strings.IndexFunc(c.ID, unicode.IsControl) >= 0:
		v.add("customer.id", "must not contain control characters")
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
	switch {
	case c.Locale == "":
		v.add("customer.locale", "must not be empty")
	case !localePattern.MatchString(c.Locale):
		v.add("customer.locale", "%q is not a language tag such as zh-CN", c.Locale)
	case hasLocale != nil && !hasLocale(c.Locale):
		v.add("customer.locale", "no templates for locale %q", c.Locale)
	}
	if c.TimeZone != "" || polKnown {
		if _, err := (Loan{Customer: c}).Location(pol); err != nil {
			v.add("customer.time_zone", "%v", err)
		}
	}
	for i, ch := range c.OptOuts {
		if !knownChannel(ch) {
			v.add(fmt.Sprintf("customer.opt_outs[%d]", i), "unknown channel %q (want sms, email or push)", ch)
		}
	}
	if len(c.Reachable()) == 0 {
		v.add("customer", "no reachable channel: give a phone (sms), an email or a push_token that is not opted out")
	}
	return v
}

// phoneProblem returns why s is not a valid E.164 phone number, or "".
func phoneProblem(s string) string {
	const want = "must be a valid E.164 number such as +8613800138000"
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
	if len(s) > maxEmailLen {
		return fmt.Sprintf("must be at most %d characters", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Sprintf("%q is not a bare email address such as zhang.wei@example.cn", s)
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

// ValidateInstallments checks a schedule of installments: at least one;
// seq at least 1 and strictly increasing; due dates given and strictly
// increasing; principal, interest and fee non-negative with no more
// decimals than currency allows (not checked if currency is unknown); and
// every installment owing something. field prefixes the paths, so a loan
// reports "installments[1].due_date" and a reschedule may use its own name.
// ValidateLoan uses it, and so should whatever validates a reschedule.
func ValidateInstallments(field, currency string, ins []Installment) ValidationError {
	var v ValidationError
	if len(ins) == 0 {
		v.add(field, "must have at least one installment")
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
// identifier; amount greater than 0 with no more decimals than the loan's
// currency allows; currency, if given, the loan's; paid_at given and not
// after now. It returns nil or a ValidationError naming txn_id, amount,
// currency and paid_at.
func ValidateRepayment(l Loan, r Repayment, now time.Time) error {
	var v ValidationError
	if msg := idProblem(r.TxnID, maxTxnIDLen); msg != "" {
		v.add("txn_id", "%s", msg)
	}
	places, placesKnown := MinorUnits(l.Currency)
	if msg := amountProblem(r.Amount, l.Currency, places, placesKnown, false); msg != "" {
		v.add("amount", "%s", msg)
	}
	if r.Currency != "" && r.Currency != l.Currency {
		v.add("currency", "%q does not match the loan's currency %s", r.Currency, l.Currency)
	}
	switch {
	case r.PaidAt.IsZero():
		v.add("paid_at", "must not be empty")
	case r.PaidAt.After(now):
		v.add("paid_at", "%s is in the future (now is %s)", r.PaidAt.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return v.Err()
}

// DecodeLoan reads one loan as JSON, strictly: unknown keys (matched
// case-sensitively), duplicate keys, values of the wrong type, malformed
// dates and amounts and trailing data are all errors. On failure it returns a
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
// It does not apply ValidateRepayment.
func DecodeRepayment(r io.Reader) (Repayment, error) {
	var rp Repayment
	if err := DecodeJSON(r, &rp); err != nil {
		return Repayment{}, err
	}
	return rp, nil
}

// DecodeJSON decodes one JSON value from r into v (a non-nil pointer to a
// struct) with DecodeLoan's strictness, for the API's other request bodies.
// Errors are a ValidationError naming the fields.
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
	checkJSON("", raw, t.Elem(), &verr)
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
	if string(raw) == "null" {
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
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			v.add(at, "%s", leafProblem(t, raw, err))
		}
	case t.Kind() == reflect.Struct:
		pairs, ok := jsonObject(raw)
		if !ok {
			v.add(at, "want an object, got %s", jsonKind(raw))
			return
		}
		fields := jsonFields(t)
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
				checkJSON(key, kv.value, f.Type, v)
			}
		}
	default: // slice
		var elems []json.RawMessage
		if raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
			v.add(at, "want an array, got %s", jsonKind(raw))
			return
		}
		for i, e := range elems {
			checkJSON(fmt.Sprintf("%s[%d]", at, i), e, t.Elem(), v)
		}
	}
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
