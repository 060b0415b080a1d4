package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// Fuzz targets for what reaches this package from outside: loan and
// repayment JSON as the API decodes and validates it (DecodeLoan +
// ValidateLoan, DecodeRepayment + ValidateRepayment) and policy YAML
// (Parse). FuzzSnapshot, for the balance engine, is in balance_fuzz_test.go.
// Run one for 30 s with
//
//	go test -run '^$' -fuzz '^FuzzDecodeLoan$' -fuzztime 30s ./policy/
//
// or every target with make fuzz. Their seeds (f.Add and the files under
// testdata/fuzz/<name>/, crashers the fuzzer found included) run with every
// go test.

// fzNow is the clock of the fuzz targets: after every seed's due dates.
var fzNow = time.Date(2027, 6, 1, 12, 0, 0, 0, time.UTC)

// fzRegistry knows "default" and "weekly" (Europe/London), like vtRegistry.
func fzRegistry(tb testing.TB) *Registry {
	weekly := Default()
	weekly.Name, weekly.TimeZone = "weekly", "Europe/London"
	reg, err := NewRegistry(Default(), weekly)
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// fzDiff is where a and b differ ("" when they do not), comparing amounts
// by value (decimal.Equal: "1000.00" is "1000"), times by instant and
// offset (a paid_at's calendar date is taken in its own offset), and a nil
// slice as equal to an empty one (JSON's omitempty drops both).
func fzDiff(at string, a, b reflect.Value) string {
	switch a.Type() {
	case decimalType:
		x, y := a.Interface().(decimal.Decimal), b.Interface().(decimal.Decimal)
		if !x.Equal(y) {
			return fmt.Sprintf("%s: %s ≠ %s", at, x, y)
		}
		return ""
	case timeType:
		x, y := a.Interface().(time.Time), b.Interface().(time.Time)
		_, ox := x.Zone()
		_, oy := y.Zone()
		if !x.Equal(y) || ox != oy {
			return fmt.Sprintf("%s: %s ≠ %s", at, x.Format(time.RFC3339Nano), y.Format(time.RFC3339Nano))
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if d := fzDiff(at+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
	case reflect.Slice:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d elements ≠ %d", at, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := fzDiff(fmt.Sprintf("%s[%d]", at, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
	default:
		if !a.Equal(b) {
			return fmt.Sprintf("%s: %v ≠ %v", at, a, b)
		}
	}
	return ""
}

// fzSame fails t unless a and b are equal by fzDiff.
func fzSame[T any](t *testing.T, what string, a, b T) {
	t.Helper()
	if d := fzDiff("", reflect.ValueOf(a), reflect.ValueOf(b)); d != "" {
		t.Fatalf("%s changed the value: %s", what, d)
	}
}

// fzProblems is err as the ValidationError every refusal must be.
func fzProblems(t *testing.T, err error) ValidationError {
	t.Helper()
	var v ValidationError
	if !errors.As(err, &v) || len(v) == 0 {
		t.Fatalf("refusal %T %q is not a non-empty ValidationError", err, err)
	}
	for _, fe := range v {
		if fe.Problem == "" {
			t.Fatalf("refusal %q has a problem with no text", err)
		}
	}
	return v
}

// fzFrom reports whether field is key, or a path inside key, for one of keys.
func fzFrom(field string, keys []string) bool {
	return slices.ContainsFunc(keys, func(k string) bool {
		return field == k || strings.HasPrefix(field, k+".") || strings.HasPrefix(field, k+"[")
	})
}

// fzCheckDecodeRefusal checks DecodeJSON's refusal err of body, decoded
// into a T: every problem names a field, and the field is one of T's keys
// or a key the body sent (an unknown key is named as sent). Only a body
// that is not a JSON object as a whole (malformed, empty, null, an array,
// trailing data) is refused without a field, and so is the summary line
// ("and 7 more problems") that bounds a long list.
func fzCheckDecodeRefusal[T any](t *testing.T, body []byte, err error) {
	t.Helper()
	trimmed := bytes.Trim(body, " \t\r\n") // JSON's white space, not Unicode's
	keys := mapKeys(jsonFields(reflect.TypeFor[T]()))
	object := false
	if json.Valid(trimmed) {
		var pairs []jsonPair
		if pairs, object = jsonObject(trimmed); object {
			for _, p := range pairs {
				keys = append(keys, joinKey("", p.key)) // an empty key is named `""`
			}
		}
	}
	for i, fe := range fzProblems(t, err) {
		summary := i == maxDecodeProblems && strings.HasPrefix(fe.Problem, "and ") && strings.HasSuffix(fe.Problem, " more problems")
		switch {
		case summary:
		case fe.Field == "" && object:
			t.Fatalf("a JSON object refused without naming a field: %q\nbody %q", fe.Problem, body)
		case fe.Field != "" && !object:
			t.Fatalf("a body that is not a JSON object refused naming field %q: %q\nbody %q", fe.Field, fe.Problem, body)
		case fe.Field != "" && !fzFrom(fe.Field, keys):
			t.Fatalf("refusal names field %q, which is neither a key of %T nor one the body sent (%q)\nbody %q",
				fe.Field, *new(T), fe.Problem, body)
		}
	}
}

// fzCheckValidationRefusal checks that every problem of a Validate
// function's refusal names one of the input's own fields.
func fzCheckValidationRefusal(t *testing.T, err error, keys ...string) {
	t.Helper()
	for _, fe := range fzProblems(t, err) {
		if !fzFrom(fe.Field, keys) {
			t.Fatalf("refusal names field %q, want one of %q: %q", fe.Field, keys, err)
		}
	}
}

// fzCheckLoanJSON checks the loan properties on one body: DecodeLoan and
// ValidateLoan never panic; what they refuse names a field; a loan they
// accept re-encodes to JSON that decodes, strictly (DecodeLoan) and as
// Temporal's data converter does (json.Unmarshal), to an equal loan that
// still validates, and is one the balance engine computes, and whose
// balance, paid, pays it off.
func fzCheckLoanJSON(t *testing.T, reg *Registry, body []byte) {
	l, err := DecodeLoan(bytes.NewReader(body))
	if err != nil {
		fzCheckDecodeRefusal[Loan](t, body, err)
		return
	}
	if err := ValidateLoan(l, reg, vtHasLocale); err != nil {
		fzCheckValidationRefusal(t, err, "loan_id", "currency", "policy", "customer", "installments")
		// A loan refused here need not survive re-encoding: a due_date
		// left out is the zero Date, written "0000-00-00", which no date
		// decoder takes. It never reaches a workflow.
		return
	}

	enc, err := json.Marshal(l)
	if err != nil {
		t.Fatalf("json.Marshal(decoded loan): %v", err)
	}
	strict, err := DecodeLoan(bytes.NewReader(enc))
	if err != nil {
		t.Fatalf("DecodeLoan refuses the loan it decoded, re-encoded: %v\nbody %q\nre-encoded %s", err, body, enc)
	}
	fzSame(t, "DecodeLoan(json.Marshal(loan))", l, strict)
	var lenient Loan
	if err := json.Unmarshal(enc, &lenient); err != nil {
		t.Fatalf("json.Unmarshal(re-encoded loan): %v", err)
	}
	fzSame(t, "json.Unmarshal(json.Marshal(loan))", l, lenient)
	if err := ValidateLoan(strict, reg, vtHasLocale); err != nil {
		t.Fatalf("the re-encoded loan no longer validates: %v", err)
	}

	pol, _ := reg.Get(l.PolicyName())
	loc, err := l.Location(pol)
	if err != nil {
		t.Fatalf("a valid loan has no location: %v", err)
	}
	last := l.Installments[len(l.Installments)-1].DueDate
	asOf := last.AddDays(120).At(loc, 12, 0)
	s, err := SnapshotAt(l, pol, History{}, asOf)
	if err != nil {
		t.Fatalf("SnapshotAt(valid loan): %v", err)
	}
	if s.Outstanding.Total.IsZero() {
		t.Fatalf("a valid loan owes nothing: %s", body)
	}
	NextPoint(l, pol, loc, s, nil, asOf)
	pay := Repayment{TxnID: "FUZZ-1", Amount: s.Outstanding.Total, PaidAt: asOf}
	paid, err := SnapshotAt(l, pol, History{Repayments: []Repayment{pay}}, asOf)
	if err != nil {
		t.Fatalf("SnapshotAt(paid): %v", err)
	}
	if paid.State != StatePaidOff || !paid.Credit.IsZero() {
		t.Fatalf("paying the whole balance %s leaves state %s, credit %s, outstanding %s",
			s.Outstanding.Total, paid.State, paid.Credit, paid.Outstanding.Total)
	}
}

// FuzzDecodeLoan feeds raw bytes to the API's loan decoder and validator
// (fzCheckLoanJSON says what must hold).
func FuzzDecodeLoan(f *testing.F) {
	f.Add([]byte(vtSampleLoanJSON))
	f.Add([]byte(`{"loan_id":"L-1","currency":"JPY","policy":"weekly","customer":{"id":"C-1","name":"","email":"a@b.jp","locale":"en","time_zone":"Asia/Tokyo","opt_outs":["sms"]},` +
		`"installments":[{"seq":1,"due_date":"2000-01-01","principal":"100000","interest":"0","fee":"1e2"}]}`))
	f.Add([]byte(`{"loan_id":"L-1","currency":"KWD","customer":{"id":"C-1","push_token":"tok","locale":"zh-CN"},` +
		`"installments":[{"seq":1,"due_date":"2100-12-31","principal":"999999999999999.999","interest":"0.001","fee":"0"}]}`))
	f.Add([]byte(`{"loan_id":"-x","currency":"cny","customer":{"id":"","phone":"+86 138","locale":"zh_CN"},"installments":[{"seq":0,"due_date":"2026-02-30","principal":10.5}]}`))
	f.Add([]byte(`{"loan_id":"L","loan_id":"L"}`))
	f.Add([]byte(`[{"loan_id":"L"}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"installments":[null,{"seq":"1"}],"customer":{"name":"a\u0000b","Name":"x"}} `))
	f.Add([]byte("{\"customer\":{\"name\":\"\xff\"}}"))
	reg := fzRegistry(f)
	f.Fuzz(func(t *testing.T, body []byte) { fzCheckLoanJSON(t, reg, body) })
}

// FuzzValidateLoan builds a one- or two-installment loan from fuzzed field
// values, so that most inputs are well-formed JSON and reach ValidateLoan
// and the balance engine, and checks it like FuzzDecodeLoan.
func FuzzValidateLoan(f *testing.F) {
	f.Add("L-2026-0001", "CNY", "default", "C-778", "张伟", "+8613800138000", "zhang.wei@example.cn", "fcm-token", "zh-CN", "Asia/Shanghai", "",
		1, "2026-12-01", "1000.00", "45.00", "0.00", 2, "2027-01-01", "1000.00")
	f.Add("L-1", "JPY", "weekly", "C-1", "Ōta", "", "ota@example.jp", "", "en", "", "sms",
		1, "2000-01-01", "100000", "0", "0", 3, "2100-12-31", "1")
	f.Add("0", "KWD", "", "c", "", "+14155550123", "", "", "en", "America/New_York", "push",
		5, "2026-03-08", "0.001", "0", "0", 6, "2026-11-01", "999999999999999.999")
	f.Add("L-1", "USD", "default", "C-1", "Bob", "+1415555012", "bob@", " tok", "en-US-x-", "Local", "fax",
		0, "2026-02-29", "-1", "1.005", "1e15", 0, "2026-01-01", "abc")
	reg := fzRegistry(f)
	f.Fuzz(func(t *testing.T, loanID, currency, pol, custID, name, phone, email, push, locale, tz, optOut string,
		seq1 int, due1, principal1, interest1, fee1 string, seq2 int, due2, principal2 string) {
		customer := map[string]any{"id": custID, "name": name, "phone": phone, "email": email, "push_token": push,
			"locale": locale, "time_zone": tz}
		if optOut != "" {
			customer["opt_outs"] = []string{optOut}
		}
		ins := []any{map[string]any{"seq": seq1, "due_date": due1, "principal": principal1, "interest": interest1, "fee": fee1}}
		if seq2 != 0 {
			ins = append(ins, map[string]any{"seq": seq2, "due_date": due2, "principal": principal2, "interest": "0", "fee": "0"})
		}
		body, err := json.Marshal(map[string]any{"loan_id": loanID, "currency": currency, "policy": pol,
			"customer": customer, "installments": ins})
		if err != nil {
			t.Fatal(err)
		}
		fzCheckLoanJSON(t, reg, body)
	})
}

// fzLoan is the loan FuzzDecodeRepayment's repayments are for.
func fzLoan() Loan { return vtLoan() }

// FuzzDecodeRepayment feeds raw bytes to the repayment decoder and
// validator: they never panic; what they refuse names a field (txn_id,
// amount, currency, paid_at, or the key the body sent); a repayment they
// accept re-encodes and decodes to an equal one, and the balance engine
// allocates it in full: its parts and credit add up to its amount
// (btCheckProperties).
func FuzzDecodeRepayment(f *testing.F) {
	f.Add([]byte(`{"txn_id":"BANK-77812","amount":"500.00","paid_at":"2026-12-08T09:30:00+08:00"}`))
	f.Add([]byte(`{"txn_id":"T-1","amount":"5000","paid_at":"2027-01-01T00:00:00+08:00","currency":"CNY"}`))
	f.Add([]byte(`{"txn_id":"T-1","amount":"0.01","paid_at":"2021-12-02T23:59:59-12:00"}`))
	f.Add([]byte(`{"txn_id":"T-1","amount":"999999999999999.99","paid_at":"2027-06-01T12:02:00Z"}`))
	f.Add([]byte(`{"txn_id":"T-1","amount":"100.00"}`))
	f.Add([]byte(`{"txn_id":"-1","amount":"1.005","paid_at":"0001-01-01T00:00:00Z","currency":"USD"}`))
	f.Add([]byte(`{"txn_id":"T","amount":100,"paid_at":"yesterday","channel":"x"}`))
	f.Add([]byte(`{"amount":null,"paid_at":null}`))
	f.Add([]byte(`"T-1"`))
	loan := fzLoan()
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRepayment(bytes.NewReader(body))
		if err != nil {
			fzCheckDecodeRefusal[Repayment](t, body, err)
			return
		}
		if !r.PaidAt.IsZero() {
			enc, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("json.Marshal(decoded repayment): %v", err)
			}
			again, err := DecodeRepayment(bytes.NewReader(enc))
			if err != nil {
				t.Fatalf("DecodeRepayment refuses the repayment it decoded, re-encoded: %v\nbody %q\nre-encoded %s", err, body, enc)
			}
			fzSame(t, "DecodeRepayment(json.Marshal(repayment))", r, again)
		}
		if err := ValidateRepayment(loan, r, fzNow); err != nil {
			fzCheckValidationRefusal(t, err, "txn_id", "amount", "currency", "paid_at")
			return
		}
		c := btCase{loan: loan, pol: Default(), h: History{Repayments: []Repayment{r}}, asOf: fzNow.Add(ClockSkew), places: 2}
		btCheckProperties(t, c, func(int, func(i, j int)) {})
	})
}

// fzFieldErrors lists the leaves of a Parse error, failing t unless each is
// a FieldError with a problem.
func fzFieldErrors(t *testing.T, err error) []FieldError {
	t.Helper()
	var out []FieldError
	for _, e := range flatten(err) {
		var fe FieldError
		if !errors.As(e, &fe) || fe.Problem == "" {
			t.Fatalf("Parse error %T %q is not a FieldError with a problem", e, e)
		}
		out = append(out, fe)
	}
	if len(out) == 0 {
		t.Fatalf("Parse error %q has no problems", err)
	}
	return out
}

// FuzzParsePolicy feeds bytes to the policy file parser (Parse, which
// LoadDir calls for every policies/*.yaml): it never panics; what it refuses
// is a list of FieldErrors; a policy it accepts validates, carries the file's
// name, marshals back to YAML that parses to an equal policy, registers, and
// runs: the balance engine and the ladder work under it.
func FuzzParsePolicy(f *testing.F) {
	// The seeds are short: every input the fuzzer finds new coverage with is
	// minimised, byte by byte, and policies/default.yaml with its comments
	// (5 KB) would take the fuzzer's whole minute each time. Flow style says
	// the same in 700 bytes.
	f.Add([]byte(fzDefaultFlowYAML))
	f.Add([]byte("name: fuzz\ntime_zone: UTC\npenalty: {daily_rate: 0.01, base: principal_and_interest, grace_days: 0, late_fee: 0, cap_ratio: 1, freeze_penalty: false}\n" +
		"allocation: [principal, fee, interest, late_fee, penalty]\n" +
		"reminders: {send_at: \"00:00\", spread_minutes: 720, contact_window: {start: \"00:00\", end: \"23:59\"}, large_amount: 0.01,\n" +
		"  ladder: [{offset: -30, channels: [email], template: upcoming}, {offset: 0, channels: [sms, push, email], template: due_today, action: open_case}]}\n" +
		"caps: {max_per_channel_per_day: 1, max_per_channel_per_7_days: 1}\nfallback: {sms: [email], email: [push, sms], push: []}\n"))
	f.Add([]byte("a: &a {x: 1}\npenalty:\n  <<: *a\n"))
	f.Add([]byte("reminders: {ladder: [&r {offset: 1, channels: [sms], template: x}, *r]}\n"))
	f.Add([]byte("name: other\n---\nname: fuzz\n"))
	f.Add([]byte("penalty: {daily_rate: [1], grace_days: 3.5, late_fee: 1e999}\nreminders: {send_at: 25:00}\n"))
	f.Add([]byte("\t{"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz", data)
		if err != nil {
			fzFieldErrors(t, err)
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted a policy that does not validate: %v", err)
		}
		if p.Name != "fuzz" {
			t.Fatalf("accepted policy is named %q, not after its file", p.Name)
		}
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("yaml.Marshal(accepted policy): %v", err)
		}
		again, err := Parse("fuzz", b)
		if err != nil {
			t.Fatalf("Parse refuses the policy it accepted, marshalled back: %v\nfile %q\nmarshalled %s", err, data, b)
		}
		fzSame(t, "Parse(yaml.Marshal(policy))", p, again)
		if _, err := NewRegistry(p); err != nil {
			t.Fatalf("NewRegistry(accepted policy): %v", err)
		}

		// The README's worked example, under this policy: whatever the
		// penalty rules and allocation order, the repayment is spent in
		// full and nothing owed is negative.
		l := vtLoan()
		l.Policy, l.Customer.TimeZone = p.Name, ""
		loc, err := l.Location(p)
		if err != nil {
			t.Fatalf("the accepted policy's time zone does not load: %v", err)
		}
		asOf := MustDate("2027-02-15").At(loc, 12, 0)
		paid := decimal.RequireFromString("600.00")
		h := History{Repayments: []Repayment{{TxnID: "T-1", Amount: paid, PaidAt: MustDate("2026-12-06").At(loc, 10, 0)}}}
		s, err := SnapshotAt(l, p, h, asOf)
		if err != nil {
			t.Fatalf("SnapshotAt under the accepted policy: %v", err)
		}
		if len(s.Applied) != 1 {
			t.Fatalf("%d repayments applied, want 1", len(s.Applied))
		}
		spent := s.Applied[0].Credit
		for _, pt := range s.Applied[0].Parts {
			spent = spent.Add(pt.Paid.Total)
		}
		if !spent.Equal(paid) {
			t.Fatalf("a repayment of %s was allocated %s", paid, spent)
		}
		for _, in := range s.Installments {
			if in.Outstanding.Total.IsNegative() || in.Outstanding.Penalty.IsNegative() || in.Outstanding.Principal.IsNegative() {
				t.Fatalf("installment %d owes a negative amount: %+v", in.Seq, in.Outstanding)
			}
		}
		NextPoint(l, p, loc, s, nil, asOf)
	})
}

// fzDefaultFlowYAML is policies/default.yaml in flow style, without comments
// and without its name (it takes the file's).
const fzDefaultFlowYAML = `time_zone: Asia/Shanghai
penalty: {daily_rate: "0.0005", base: principal, grace_days: 3, late_fee: "20.00", cap_ratio: "0.24", freeze_penalty: true}
allocation: [penalty, late_fee, interest, fee, principal]
reminders:
  send_at: "10:00"
  spread_minutes: 60
  contact_window: {start: "08:00", end: "21:00"}
  large_amount: "10000.00"
  ladder:
    - {offset: -3, channels: [push], template: upcoming}
    - {offset: -1, channels: [sms], template: upcoming}
    - {offset: 0, channels: [sms, push], template: due_today}
    - {offset: 1, channels: [sms], template: overdue_gentle}
    - {offset: 3, channels: [sms, push], template: overdue_gentle}
    - {offset: 7, channels: [sms, email, push], template: overdue_firm}
    - {offset: 15, channels: [sms, email, push], template: overdue_urgent, action: open_case}
    - {offset: 30, channels: [sms, email, push], template: final_notice}
    - {offset: 60, channels: [sms, email], template: final_notice}
    - {offset: 90, channels: [email], template: charged_off, action: charge_off}
caps: {max_per_channel_per_day: 1, max_per_channel_per_7_days: 7}
fallback: {sms: [push, email], email: [], push: [email]}
`

// TestFuzzDefaultFlowYAML keeps FuzzParsePolicy's main seed the default policy.
func TestFuzzDefaultFlowYAML(t *testing.T) {
	p, err := Parse("default", []byte(fzDefaultFlowYAML))
	if err != nil {
		t.Fatal(err)
	}
	fzSame(t, "fzDefaultFlowYAML", Default(), p)
}

// fzZones are time zones with something odd about their days: offsets of
// 30 and 45 minutes, DST changes at midnight (Havana, Santiago, Cairo,
// Beirut), a 30-minute DST (Lord Howe), a day that never happened (Apia
// skipped 2011-12-30), the extremes of ±14 hours.
var fzZones = []string{"Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns",
	"Australia/Lord_Howe", "Pacific/Apia", "America/Havana", "America/Santiago", "Africa/Cairo", "Asia/Beirut",
	"Asia/Kathmandu", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"}

// fzWideCase builds a loan from r across the whole range validation allows
// (due dates 2000-01-01…2100-12-31, amounts below 10^15 in 0-, 2- and
// 3-decimal currencies, repayments paid up to five years before the first
// due date, at any UTC offset, often at a local midnight), under a policy
// with random penalty rules and allocation order. Whatever ValidateLoan,
// ValidateRepayment or Policy.Validate refuses is left out, as the API and
// the policy loader leave it out; ok is false when nothing valid is left.
func fzWideCase(r btIntN) (c btCase, ok bool) {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	c.loan = btLoan(pick("CNY", "JPY", "KWD", "USD", "BHD", "CLP"), fzZones[r.IntN(len(fzZones))])
	c.places, _ = MinorUnits(c.loan.Currency)
	loc, err := loadZone(c.loan.Customer.TimeZone)
	if err != nil {
		panic(err)
	}
	// money is 0, a few units, a usual amount or a huge one (below 10^15).
	money := func(zeroOK bool) decimal.Decimal {
		unit := int64(1)
		for range c.places {
			unit *= 10
		}
		var minor int64
		switch r.IntN(4) {
		case 0:
			if zeroOK {
				return decimal.Zero
			}
			minor = 1
		case 1:
			minor = int64(r.IntN(10 * int(unit)))
		case 2:
			minor = int64(r.IntN(100000 * int(unit)))
		default:
			minor = int64(r.IntN(int(1_000_000_000_000_000 * unit)))
		}
		return decimal.New(max(minor, 0), -c.places)
	}

	c.pol = Default()
	pen := &c.pol.Penalty
	pen.DailyRate = decimal.New(int64(r.IntN(101)), -4) // 0 to 0.01
	pen.GraceDays = r.IntN(31)
	pen.LateFee = money(true)
	pen.CapRatio = decimal.New(int64(r.IntN(101)), -2) // 0 to 1
	pen.FreezePenalty = r.IntN(2) == 0
	if r.IntN(2) == 0 {
		pen.Base = BasePrincipalAndInterest
	}
	for i := len(c.pol.Allocation) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		c.pol.Allocation[i], c.pol.Allocation[j] = c.pol.Allocation[j], c.pol.Allocation[i]
	}
	if c.pol.Validate() != nil {
		return c, false
	}

	span := MaxDate.DaysSince(MinDate)
	due := MinDate.AddDays(r.IntN(span))
	if r.IntN(4) == 0 { // around the day Apia skipped
		due = MustDate("2011-12-01").AddDays(r.IntN(40))
	}
	for i := range 1 + r.IntN(12) {
		if i > 0 {
			due = due.AddDays(1 + r.IntN(400))
		}
		if due.After(MaxDate) {
			break
		}
		c.loan.Installments = append(c.loan.Installments, Installment{Seq: i + 1, DueDate: due,
			Principal: money(true), Interest: money(true), Fee: money(true)})
	}
	if ValidateLoan(c.loan, nil, nil) != nil {
		return c, false
	}

	first := c.loan.Installments[0].DueDate
	last := c.loan.Installments[len(c.loan.Installments)-1].DueDate
	from := first.AddDays(-MaxPaidBeforeFirstDueDays).Midnight(loc)
	minutes := int(last.AddDays(200).Midnight(loc).Sub(from).Minutes())
	instant := func() time.Time {
		t := from.Add(time.Duration(r.IntN(minutes)) * time.Minute)
		if r.IntN(4) == 0 {
			t = LocalDate(t, loc).Midnight(loc)
		}
		// A paid_at carries whatever offset the lending system wrote.
		return t.In(time.FixedZone("", (r.IntN(113)-56)*15*60))
	}
	for i := range r.IntN(13) {
		rp := Repayment{TxnID: fmt.Sprintf("T%02d", i), Amount: money(false), PaidAt: instant()}
		if ValidateRepayment(c.loan, rp, MaxDate.AddDays(1).Midnight(time.UTC)) == nil {
			c.h.Repayments = append(c.h.Repayments, rp)
		}
	}
	for range r.IntN(3) {
		ps := Pause{From: instant(), Reason: "fuzz"}
		if r.IntN(4) != 0 {
			ps.Until = ps.From.Add(time.Duration(1+r.IntN(60*24*60)) * time.Minute)
		}
		c.h.Pauses = append(c.h.Pauses, ps)
	}
	c.asOf = instant()
	return c, true
}

// FuzzSnapshotWide checks btCheckProperties (money conserved, nothing
// negative, totals adding up, the cap, and the same balance whatever order
// the repayments and pauses arrived in, permuted by the fuzzed seed) on
// loans fzWideCase builds across everything validation lets through: the
// far corners FuzzSnapshot's everyday loans do not reach.
func FuzzSnapshotWide(f *testing.F) {
	f.Add(uint64(1), []byte{})
	f.Add(uint64(2), []byte("a loan across a century, in Apia, with a pause"))
	f.Add(uint64(3), bytes.Repeat([]byte{0xff}, 200))
	seed := rand.New(rand.NewPCG(3, 4))
	for i := range 6 {
		b := make([]byte, 300)
		for j := range b {
			b[j] = byte(seed.IntN(256))
		}
		f.Add(uint64(i), b)
	}
	f.Fuzz(func(t *testing.T, order uint64, data []byte) {
		c, ok := fzWideCase(&btBytes{b: data})
		if !ok {
			return
		}
		btCheckProperties(t, c, rand.New(rand.NewPCG(order, order>>32)).Shuffle)
	})
}
