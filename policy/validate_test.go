package policy

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// vtSampleLoanJSON is DESIGN.md's sample loan, verbatim.
const vtSampleLoanJSON = `{
  "loan_id": "L-2026-0001",
  "currency": "CNY",
  "policy": "default",
  "customer": {
    "id": "C-778", "name": "张伟", "phone": "+8613800138000", "email": "zhang.wei@example.cn",
    "push_token": "fcm-token-or-empty", "locale": "zh-CN", "time_zone": "Asia/Shanghai"
  },
  "installments": [
    {"seq": 1, "due_date": "2026-12-01", "principal": "1000.00", "interest": "45.00", "fee": "0.00"},
    {"seq": 2, "due_date": "2027-01-01", "principal": "1000.00", "interest": "40.00", "fee": "0.00"}
  ]
}`

// vtLoan is the sample loan as a value, for tests to change one thing at a time.
func vtLoan() Loan {
	d := decimal.RequireFromString
	return Loan{
		LoanID:   "L-2026-0001",
		Currency: "CNY",
		Policy:   "default",
		Customer: Customer{
			ID: "C-778", Name: "张伟", Phone: "+8613800138000", Email: "zhang.wei@example.cn",
			PushToken: "fcm-token-or-empty", Locale: "zh-CN", TimeZone: "Asia/Shanghai",
		},
		Installments: []Installment{
			{Seq: 1, DueDate: MustDate("2026-12-01"), Principal: d("1000.00"), Interest: d("45.00"), Fee: d("0.00")},
			{Seq: 2, DueDate: MustDate("2027-01-01"), Principal: d("1000.00"), Interest: d("40.00"), Fee: d("0.00")},
		},
	}
}

// vtRegistry knows "default" and "weekly" (whose time zone is Europe/London).
func vtRegistry(t *testing.T) *Registry {
	t.Helper()
	weekly := Default()
	weekly.Name = "weekly"
	weekly.TimeZone = "Europe/London"
	reg, err := NewRegistry(Default(), weekly)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// vtHasLocale knows templates for zh-CN and en.
func vtHasLocale(l string) bool { return l == "zh-CN" || l == "en" }

// vtFields lists the fields of a ValidationError (nil for a nil error).
func vtFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var v ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("error %T %v is not a ValidationError", err, err)
	}
	out := make([]string, len(v))
	for i, e := range v {
		out[i] = e.Field
	}
	return out
}

func TestDecodeSampleLoan(t *testing.T) {
	l, err := DecodeLoan(strings.NewReader(vtSampleLoanJSON))
	if err != nil {
		t.Fatalf("DecodeLoan(sample) = %v", err)
	}
	want := vtLoan()
	if l.LoanID != want.LoanID || !reflect.DeepEqual(l.Customer, want.Customer) || len(l.Installments) != 2 ||
		l.Installments[1].DueDate != want.Installments[1].DueDate ||
		!l.Installments[0].Interest.Equal(want.Installments[0].Interest) {
		t.Errorf("DecodeLoan(sample) = %+v; want %+v", l, want)
	}
	if err := ValidateLoan(l, vtRegistry(t), vtHasLocale); err != nil {
		t.Errorf("ValidateLoan(sample) = %v", err)
	}
}

func TestValidateLoan(t *testing.T) {
	d := decimal.RequireFromString
	long := strings.Repeat("x", 65)
	for _, tc := range []struct {
		name   string
		mutate func(l *Loan)
		fields []string // nil: valid
		text   string
	}{
		{"sample", func(l *Loan) {}, nil, ""},
		{"loan_id empty", func(l *Loan) { l.LoanID = "" }, []string{"loan_id"}, "loan_id: must not be empty"},
		{"loan_id charset", func(l *Loan) { l.LoanID = "L 2026/1" }, []string{"loan_id"}, "use only letters"},
		{"loan_id too long", func(l *Loan) { l.LoanID = long }, []string{"loan_id"}, "at most 64 characters"},
		{"loan_id 64 chars", func(l *Loan) { l.LoanID = long[:64] }, nil, ""},
		{"currency empty", func(l *Loan) { l.Currency = "" }, []string{"currency"}, "currency: must not be empty"},
		{"currency unknown", func(l *Loan) { l.Currency = "XYZ" }, []string{"currency"}, `unknown ISO 4217 currency "XYZ"`},
		{"currency lower case", func(l *Loan) { l.Currency = "cny" }, []string{"currency"}, `unknown ISO 4217 currency "cny"`},
		{"policy unknown", func(l *Loan) { l.Policy = "gentle" }, []string{"policy"}, `unknown policy "gentle" (known: default, weekly)`},
		{"policy empty means default", func(l *Loan) { l.Policy = "" }, nil, ""},
		{"other policy", func(l *Loan) { l.Policy = "weekly" }, nil, ""},
		{"customer.id empty", func(l *Loan) { l.Customer.ID = "" }, []string{"customer.id"}, "customer.id: must not be empty"},
		{"customer.id too long", func(l *Loan) { l.Customer.ID = strings.Repeat("c", 129) }, []string{"customer.id"}, "at most 128"},
		{"customer.id control", func(l *Loan) { l.Customer.ID = "C\n778" }, []string{"customer.id"}, "control characters"},
		{"phone without +", func(l *Loan) { l.Customer.Phone = "13800138000" }, []string{"customer.phone"}, "starting with +"},
		{"phone invalid", func(l *Loan) { l.Customer.Phone = "+861380013800" }, []string{"customer.phone"}, "valid E.164"},
		{"phone garbage", func(l *Loan) { l.Customer.Phone = "+call-me" }, []string{"customer.phone"}, "valid E.164"},
		{"phone with spaces", func(l *Loan) { l.Customer.Phone = "+86 138 0013 8000" }, []string{"customer.phone"}, "no spaces"},
		{"phone US", func(l *Loan) { l.Customer.Phone = "+14155552671" }, nil, ""},
		{"email display name", func(l *Loan) { l.Customer.Email = "Zhang Wei <zhang.wei@example.cn>" }, []string{"customer.email"}, "bare email address"},
		{"email angle brackets", func(l *Loan) { l.Customer.Email = "<zhang.wei@example.cn>" }, []string{"customer.email"}, "bare email address"},
		{"email no @", func(l *Loan) { l.Customer.Email = "zhang.wei.example.cn" }, []string{"customer.email"}, "bare email address"},
		{"email too long", func(l *Loan) { l.Customer.Email = strings.Repeat("a", 250) + "@x.cn" }, []string{"customer.email"}, "at most 254"},
		{"time zone unknown", func(l *Loan) { l.Customer.TimeZone = "Asia/Beijing" }, []string{"customer.time_zone"}, `unknown time zone "Asia/Beijing"`},
		{"time zone Local", func(l *Loan) { l.Customer.TimeZone = "Local" }, []string{"customer.time_zone"}, "depends on the host"},
		{"time zone empty uses the policy's", func(l *Loan) { l.Customer.TimeZone = "" }, nil, ""},
		{"locale empty", func(l *Loan) { l.Customer.Locale = "" }, []string{"customer.locale"}, "must not be empty"},
		{"locale malformed", func(l *Loan) { l.Customer.Locale = "../../etc" }, []string{"customer.locale"}, "not a language tag"},
		{"locale without templates", func(l *Loan) { l.Customer.Locale = "fr-FR" }, []string{"customer.locale"}, `no templates for locale "fr-FR"`},
		{"opt-out unknown", func(l *Loan) { l.Customer.OptOuts = []Channel{SMS, "fax"} }, []string{"customer.opt_outs[1]"}, `unknown channel "fax"`},
		{"opted out of all", func(l *Loan) { l.Customer.OptOuts = []Channel{SMS, Email, Push} }, []string{"customer"}, "no reachable channel"},
		{"no addresses", func(l *Loan) { l.Customer.Phone, l.Customer.Email, l.Customer.PushToken = "", "", "" }, []string{"customer"}, "no reachable channel"},
		{"push only", func(l *Loan) { l.Customer.Phone, l.Customer.Email = "", "" }, nil, ""},
		{"no installments", func(l *Loan) { l.Installments = nil }, []string{"installments"}, "at least one installment"},
		{"seq zero", func(l *Loan) { l.Installments[0].Seq = 0 }, []string{"installments[0].seq"}, "must be at least 1, got 0"},
		{"seq not increasing", func(l *Loan) { l.Installments[1].Seq = 1 }, []string{"installments[1].seq"}, "must be greater than the previous installment's (1)"},
		{"due date missing", func(l *Loan) { l.Installments[1].DueDate = Date{} }, []string{"installments[1].due_date"}, "must not be empty"},
		{"due dates equal", func(l *Loan) { l.Installments[1].DueDate = MustDate("2026-12-01") }, []string{"installments[1].due_date"},
			"2026-12-01 must be after the previous installment's (2026-12-01)"},
		{"due dates decreasing", func(l *Loan) { l.Installments[1].DueDate = MustDate("2026-11-01") }, []string{"installments[1].due_date"}, "must be after"},
		{"negative principal", func(l *Loan) { l.Installments[0].Principal = d("-1.00") }, []string{"installments[0].principal"}, "must not be negative"},
		{"negative interest", func(l *Loan) { l.Installments[0].Interest = d("-0.01") }, []string{"installments[0].interest"}, "must not be negative"},
		{"fee too precise", func(l *Loan) { l.Installments[1].Fee = d("0.001") }, []string{"installments[1].fee"}, "0.001 has more decimals than CNY allows (2)"},
		{"absurd amount", func(l *Loan) { l.Installments[1].Principal = d("1e15") }, []string{"installments[1].principal"}, "must be less than"},
		{"owes nothing", func(l *Loan) { l.Installments[0] = Installment{Seq: 1, DueDate: MustDate("2026-12-01")} }, []string{"installments[0]"}, "owes nothing"},
		{"interest only", func(l *Loan) { l.Installments[0].Principal = decimal.Zero }, nil, ""},
		{"JPY whole yen", func(l *Loan) {
			l.Currency = "JPY"
			for i := range l.Installments {
				l.Installments[i].Interest = d("45")
			}
		}, nil, ""},
		{"JPY 100.5", func(l *Loan) { l.Currency = "JPY"; l.Installments[0].Principal = d("100.5") },
			[]string{"installments[0].principal"}, "100.5 has more decimals than JPY allows (0)"}, // "45.00" is whole yen
		{"KRW", func(l *Loan) { l.Currency = "KRW"; l.Installments[0].Interest = d("45.5") }, []string{"installments[0].interest"}, "than KRW allows (0)"},
		{"KWD three places", func(l *Loan) { l.Currency = "KWD"; l.Installments[0].Interest = d("45.125") }, nil, ""},
		{"Feb 29 in a leap year", func(l *Loan) {
			l.Installments[0].DueDate = MustDate("2028-02-29")
			l.Installments[1].DueDate = MustDate("2028-03-29")
		}, nil, ""},
		{"several problems at once", func(l *Loan) {
			l.LoanID, l.Currency, l.Customer.Email = "", "", "nope"
			l.Installments[1].Seq = 0
		}, []string{"loan_id", "currency", "customer.email", "installments[1].seq"}, "loan_id: must not be empty; currency: must not be empty; "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := vtLoan()
			tc.mutate(&l)
			err := ValidateLoan(l, vtRegistry(t), vtHasLocale)
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}

func TestValidateLoanNilRegistryAndLocale(t *testing.T) {
	l := vtLoan()
	l.Customer.Locale = "pt-BR"
	if err := ValidateLoan(l, nil, nil); err != nil {
		t.Errorf("nil registry, default policy, nil hasLocale: %v", err)
	}
	l.Policy = "weekly"
	l.Customer.TimeZone = ""
	err := ValidateLoan(l, nil, nil)
	if got := vtFields(t, err); !slices.Equal(got, []string{"policy"}) || !strings.Contains(err.Error(), "(known: default)") {
		t.Errorf("nil registry, policy weekly: %v", err)
	}
}

func TestDecodeLoanErrors(t *testing.T) {
	swap := func(old, new string) string {
		if !strings.Contains(vtSampleLoanJSON, old) {
			t.Fatalf("sample has no %q", old)
		}
		return strings.Replace(vtSampleLoanJSON, old, new, 1)
	}
	for _, tc := range []struct {
		name   string
		body   string
		fields []string
		text   string
	}{
		{"Feb 29 2027", swap(`"2027-01-01"`, `"2027-02-29"`), []string{"installments[1].due_date"},
			`installments[1].due_date: date "2027-02-29": want YYYY-MM-DD`},
		{"Feb 30", swap(`"2026-12-01"`, `"2026-02-30"`), []string{"installments[0].due_date"},
			`installments[0].due_date: date "2026-02-30": want YYYY-MM-DD`},
		{"date as number", swap(`"2026-12-01"`, `20261201`), []string{"installments[0].due_date"}, "want a string YYYY-MM-DD"},
		{"amount not a number", swap(`"principal": "1000.00", "interest": "45.00"`, `"principal": "1,000.00", "interest": "45.00"`),
			[]string{"installments[0].principal"}, `want a decimal amount such as "1234.50", got "1,000.00"`},
		{"amount as bool", swap(`"fee": "0.00"}`, `"fee": true}`), []string{"installments[0].fee"}, "want a decimal amount"},
		{"seq as string", swap(`"seq": 2`, `"seq": "2"`), []string{"installments[1].seq"}, `want an integer, got "2"`},
		{"seq fractional", swap(`"seq": 2`, `"seq": 2.5`), []string{"installments[1].seq"}, "want an integer, got 2.5"},
		{"loan_id as number", swap(`"L-2026-0001"`, `2026`), []string{"loan_id"}, "want a string, got 2026"},
		{"unknown key", swap(`"phone":`, `"phon":`), []string{"customer.phon"}, "customer.phon: unknown key (did you mean phone?)"},
		{"key in wrong case", swap(`"loan_id"`, `"Loan_ID"`), []string{"Loan_ID"}, "unknown key (did you mean loan_id?)"},
		{"duplicate key", swap(`"currency": "CNY",`, `"currency": "CNY", "currency": "USD",`), []string{"currency"}, "currency: duplicate key"},
		{"customer not an object", swap(`"policy": "default",`, `"policy": "default", "x": 1,`), []string{"x"}, "unknown key"},
		{"installments an object", `{"loan_id": "L1", "installments": {"seq": 1}}`, []string{"installments"}, "installments: want an array, got an object"},
		{"customer a string", `{"customer": "C-778"}`, []string{"customer"}, "customer: want an object, got a string"},
		{"installment a number", `{"installments": [1]}`, []string{"installments[0]"}, "want an object, got a number"},
		{"installment a bool", `{"installments": [true]}`, []string{"installments[0]"}, "want an object, got a boolean"},
		{"installment an array", `{"installments": [[]]}`, []string{"installments[0]"}, "want an object, got an array"},
		{"opt_outs a string", `{"customer": {"opt_outs": "sms"}}`, []string{"customer.opt_outs"}, "want an array, got a string"},
		{"several at once", `{"loan_id": 1, "currency": "CNY", "cusomer": {}, "installments": [{"seq": "x", "due_date": "2026-13-01"}]}`,
			[]string{"loan_id", "cusomer", "installments[0].seq", "installments[0].due_date"}, "cusomer: unknown key (did you mean customer?)"},
		{"root an array", `[]`, []string{""}, "want an object, got an array"},
		{"empty body", ``, []string{""}, "empty body"},
		{"invalid JSON", `{"loan_id": }`, []string{""}, "invalid JSON"},
		{"truncated JSON", `{"loan_id": "L1"`, []string{""}, "invalid JSON"},
		{"trailing data", vtSampleLoanJSON + ` {}`, []string{""}, "unexpected data after the object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeLoan(strings.NewReader(tc.body))
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}

func TestDecodeLoanAccepts(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"Feb 29 in a leap year", strings.Replace(vtSampleLoanJSON, `"2027-01-01"`, `"2028-02-29"`, 1)},
		{"amounts as JSON numbers", strings.Replace(vtSampleLoanJSON, `"principal": "1000.00"`, `"principal": 1000.00`, 1)},
		{"nulls leave zero values", `{"loan_id": "L1", "policy": null, "customer": null, "installments": null}`},
		{"opt-outs", `{"customer": {"opt_outs": ["sms", "push"]}}`},
		{"trailing whitespace", vtSampleLoanJSON + "\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeLoan(strings.NewReader(tc.body)); err != nil {
				t.Errorf("DecodeLoan = %v", err)
			}
		})
	}
	l, _ := DecodeLoan(strings.NewReader(strings.Replace(vtSampleLoanJSON, `"principal": "1000.00"`, `"principal": 1000.10`, 1)))
	if !l.Installments[0].Principal.Equal(decimal.RequireFromString("1000.10")) {
		t.Errorf("numeric principal decoded as %s; want exactly 1000.10", l.Installments[0].Principal)
	}
}

func TestDecodeRepayment(t *testing.T) {
	r, err := DecodeRepayment(strings.NewReader(`{"txn_id": "T-1", "amount": "100.50", "paid_at": "2026-12-08T10:00:00+08:00"}`))
	if err != nil || r.TxnID != "T-1" || !r.Amount.Equal(decimal.RequireFromString("100.5")) || r.PaidAt.IsZero() {
		t.Fatalf("DecodeRepayment = %+v, %v", r, err)
	}
	_, err = DecodeRepayment(strings.NewReader(`{"txn_id": "T-1", "amount": "abc", "paid_at": "yesterday", "channel": "x"}`))
	if got := vtFields(t, err); !slices.Equal(got, []string{"amount", "paid_at", "channel"}) {
		t.Fatalf("fields = %q (error: %v)", got, err)
	}
	if !strings.Contains(err.Error(), `paid_at: want an RFC 3339 time such as "2026-12-08T10:00:00+08:00", got "yesterday"`) {
		t.Errorf("error %q", err)
	}
	long := `"` + strings.Repeat("9", 60) + `"`
	_, err = DecodeRepayment(strings.NewReader(`{"amount": ` + long + `x}`))
	if vtFields(t, err)[0] != "" {
		t.Errorf("invalid JSON: %v", err)
	}
	_, err = DecodeRepayment(strings.NewReader(`{"paid_at": "` + strings.Repeat("é", 60) + `"}`))
	if !strings.Contains(err.Error(), "…") {
		t.Errorf("long value not truncated: %v", err)
	}
}

func TestDecodeJSONNeedsPointer(t *testing.T) {
	if err := DecodeJSON(strings.NewReader(`{}`), Loan{}); err == nil {
		t.Error("DecodeJSON(non-pointer) succeeded; want an error")
	}
	var m map[string]int
	if err := DecodeJSON(strings.NewReader(`{"a": "b"}`), &m); err == nil {
		t.Error(`DecodeJSON({"a":"b"} into map[string]int) succeeded; want an error`)
	}
}

func TestValidateRepayment(t *testing.T) {
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	ok := Repayment{TxnID: "T-2026-12-08.001", Amount: decimal.RequireFromString("1068.50"), PaidAt: now.Add(-time.Hour)}
	for _, tc := range []struct {
		name     string
		currency string
		mutate   func(r *Repayment)
		fields   []string
		text     string
	}{
		{"valid", "CNY", func(r *Repayment) {}, nil, ""},
		{"paid exactly now", "CNY", func(r *Repayment) { r.PaidAt = now }, nil, ""},
		{"currency matching", "CNY", func(r *Repayment) { r.Currency = "CNY" }, nil, ""},
		{"txn_id empty", "CNY", func(r *Repayment) { r.TxnID = "" }, []string{"txn_id"}, "txn_id: must not be empty"},
		{"txn_id charset", "CNY", func(r *Repayment) { r.TxnID = "T/1" }, []string{"txn_id"}, "use only letters"},
		{"txn_id too long", "CNY", func(r *Repayment) { r.TxnID = strings.Repeat("t", 129) }, []string{"txn_id"}, "at most 128"},
		{"txn_id 128", "CNY", func(r *Repayment) { r.TxnID = strings.Repeat("t", 128) }, nil, ""},
		{"amount zero", "CNY", func(r *Repayment) { r.Amount = decimal.Zero }, []string{"amount"}, "amount: must be greater than 0"},
		{"amount negative", "CNY", func(r *Repayment) { r.Amount = decimal.RequireFromString("-5") }, []string{"amount"}, "must not be negative"},
		{"amount too precise", "CNY", func(r *Repayment) { r.Amount = decimal.RequireFromString("10.005") }, []string{"amount"}, "more decimals than CNY allows (2)"},
		{"JPY 100.5", "JPY", func(r *Repayment) { r.Amount = decimal.RequireFromString("100.5") }, []string{"amount"}, "100.5 has more decimals than JPY allows (0)"},
		{"JPY 100", "JPY", func(r *Repayment) { r.Amount = decimal.RequireFromString("100") }, nil, ""},
		{"currency mismatch", "CNY", func(r *Repayment) { r.Currency = "USD" }, []string{"currency"}, `currency: "USD" does not match the loan's currency CNY`},
		{"paid_at missing", "CNY", func(r *Repayment) { r.PaidAt = time.Time{} }, []string{"paid_at"}, "paid_at: must not be empty"},
		{"paid_at future", "CNY", func(r *Repayment) { r.PaidAt = now.Add(time.Second) }, []string{"paid_at"}, "is in the future"},
		{"all wrong", "CNY", func(r *Repayment) { *r = Repayment{Currency: "EUR", PaidAt: now.Add(time.Hour)} },
			[]string{"txn_id", "amount", "currency", "paid_at"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := vtLoan()
			l.Currency = tc.currency
			r := ok
			tc.mutate(&r)
			err := ValidateRepayment(l, r, now)
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}

func TestValidateInstallmentsFieldPrefix(t *testing.T) {
	ins := vtLoan().Installments
	ins[1].DueDate = ins[0].DueDate
	v := ValidateInstallments("reschedule.installments", "CNY", ins)
	if len(v) != 1 || v[0].Field != "reschedule.installments[1].due_date" {
		t.Errorf("ValidateInstallments = %v", v)
	}
	// An unknown currency skips the decimal-places check (ValidateLoan reports the currency).
	ins = vtLoan().Installments
	ins[0].Fee = decimal.RequireFromString("0.0001")
	if v := ValidateInstallments("installments", "XYZ", ins); v != nil {
		t.Errorf("unknown currency: %v", v)
	}
}

func TestValidationError(t *testing.T) {
	var empty ValidationError
	if empty.Err() != nil {
		t.Error("empty ValidationError.Err() is not nil")
	}
	v := ValidationError{{Field: "a", Problem: "bad"}, {Problem: "whole input bad"}}
	if got := v.Error(); got != "a: bad; whole input bad" {
		t.Errorf("Error() = %q", got)
	}
	var fe FieldError
	if !errors.As(v.Err(), &fe) || fe.Field != "a" {
		t.Errorf("errors.As FieldError = %+v", fe)
	}
	if !errors.Is(v, FieldError{Problem: "whole input bad"}) {
		t.Error("errors.Is does not find the second FieldError")
	}
}

func TestLoanLocationAndPolicyName(t *testing.T) {
	l := vtLoan()
	l.Customer.TimeZone = "America/New_York"
	loc, err := l.Location(Default())
	if err != nil || loc.String() != "America/New_York" {
		t.Errorf("Location = %v, %v; want the customer's zone", loc, err)
	}
	l.Customer.TimeZone = ""
	if loc, err := l.Location(Default()); err != nil || loc.String() != "Asia/Shanghai" {
		t.Errorf("Location = %v, %v; want the policy's zone", loc, err)
	}
	if _, err := l.Location(Policy{}); err == nil {
		t.Error("Location with no zone anywhere succeeded; want an error")
	}
	if l.PolicyName() != "default" {
		t.Errorf("PolicyName = %q", l.PolicyName())
	}
	l.Policy = ""
	if l.PolicyName() != DefaultPolicyName {
		t.Errorf("empty PolicyName = %q; want default", l.PolicyName())
	}
}

func TestReachable(t *testing.T) {
	c := vtLoan().Customer
	if got := c.Reachable(); !slices.Equal(got, []Channel{SMS, Email, Push}) {
		t.Errorf("Reachable = %v", got)
	}
	c.OptOuts = []Channel{Email}
	c.PushToken = ""
	if got := c.Reachable(); !slices.Equal(got, []Channel{SMS}) {
		t.Errorf("Reachable = %v; want [sms]", got)
	}
	if !c.OptedOut(Email) || c.OptedOut(SMS) {
		t.Error("OptedOut wrong")
	}
}
