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
		{"customer.id control", func(l *Loan) { l.Customer.ID = "C\n778" }, []string{"customer.id"}, "use only letters"},
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
		// Identifiers: a letter or digit first, so "." and ".." (unreachable
		// as a URL path segment) and "-x" are not ids.
		{"loan_id dot", func(l *Loan) { l.LoanID = "." }, []string{"loan_id"}, "must start with a letter or a digit"},
		{"loan_id dot dot", func(l *Loan) { l.LoanID = ".." }, []string{"loan_id"}, "must start with a letter or a digit"},
		{"loan_id leading dash", func(l *Loan) { l.LoanID = "-L1" }, []string{"loan_id"}, "must start with a letter or a digit"},
		{"loan_id leading underscore", func(l *Loan) { l.LoanID = "_L1" }, []string{"loan_id"}, "must start with a letter or a digit"},
		{"loan_id NUL", func(l *Loan) { l.LoanID = "L\x001" }, []string{"loan_id"}, "use only letters"},
		{"loan_id dots inside", func(l *Loan) { l.LoanID = "L..1.-_" }, nil, ""},
		{"customer.id dot dot", func(l *Loan) { l.Customer.ID = ".." }, []string{"customer.id"}, "must start with a letter or a digit"},
		{"customer.id space", func(l *Loan) { l.Customer.ID = "C 778" }, []string{"customer.id"}, "use only letters"},
		{"customer.id 128", func(l *Loan) { l.Customer.ID = strings.Repeat("c", 128) }, nil, ""},
		{"policy too long", func(l *Loan) { l.Policy = strings.Repeat("p", 65) }, []string{"policy"}, "at most 64 characters, got 65"},
		// Text: valid UTF-8, no control characters, within its length.
		{"name 200 characters", func(l *Loan) { l.Customer.Name = strings.Repeat("张", 200) }, nil, ""},
		{"name too long", func(l *Loan) { l.Customer.Name = strings.Repeat("张", 201) }, []string{"customer.name"}, "at most 200 characters, got 201"},
		{"name empty", func(l *Loan) { l.Customer.Name = "" }, nil, ""},
		{"name newline", func(l *Loan) { l.Customer.Name = "Wang\nFang" }, []string{"customer.name"}, "control characters (found U+000A)"},
		{"name NUL", func(l *Loan) { l.Customer.Name = "张\x00伟" }, []string{"customer.name"}, "control characters (found U+0000)"},
		{"name tab", func(l *Loan) { l.Customer.Name = "张\t伟" }, []string{"customer.name"}, "control characters"},
		{"name DEL", func(l *Loan) { l.Customer.Name = "张\x7f" }, []string{"customer.name"}, "control characters"},
		{"name C1 control", func(l *Loan) { l.Customer.Name = "张\u0085" }, []string{"customer.name"}, "control characters"},
		{"name invalid UTF-8", func(l *Loan) { l.Customer.Name = "M\xfcller" }, []string{"customer.name"}, "must be valid UTF-8"},
		{"name replacement character", func(l *Loan) { l.Customer.Name = "M\uFFFDller" }, []string{"customer.name"}, "U+FFFD"},
		{"name line separator", func(l *Loan) { l.Customer.Name = "张\u2028伟" }, []string{"customer.name"}, "line or paragraph separators"},
		{"name right-to-left override", func(l *Loan) { l.Customer.Name = "\u202E伟张" }, []string{"customer.name"}, "bidirectional"},
		{"name Arabic", func(l *Loan) { l.Customer.Name = "محمد علي" }, nil, ""},
		{"name with ZWNJ", func(l *Loan) { l.Customer.Name = "می\u200cخواهم" }, nil, ""},
		{"push_token 4096", func(l *Loan) { l.Customer.PushToken = strings.Repeat("t", 4096) }, nil, ""},
		{"push_token too long", func(l *Loan) { l.Customer.PushToken = strings.Repeat("t", 4097) }, []string{"customer.push_token"}, "at most 4096 bytes, got 4097"},
		{"push_token newline", func(l *Loan) { l.Customer.PushToken = "fcm-token\n" }, []string{"customer.push_token"}, "control characters"},
		{"push_token space", func(l *Loan) { l.Customer.PushToken = "fcm token" }, []string{"customer.push_token"}, "must not contain spaces"},
		{"push_token invalid UTF-8", func(l *Loan) { l.Customer.PushToken = "tok\xff" }, []string{"customer.push_token"}, "valid UTF-8"},
		{"phone too long", func(l *Loan) { l.Customer.Phone = "+" + strings.Repeat("8", 16) }, []string{"customer.phone"}, "at most 16 characters"},
		{"email header injection", func(l *Loan) { l.Customer.Email = "a@example.cn\r\nBcc: b@example.cn" }, []string{"customer.email"}, "control characters"},
		{"locale too long", func(l *Loan) { l.Customer.Locale = "zh-" + strings.Repeat("a", 33) }, []string{"customer.locale"}, "at most 35 characters, got 36"},
		{"locale NUL", func(l *Loan) { l.Customer.Locale = "zh\x00" }, []string{"customer.locale"}, "not a language tag"},
		{"time zone too long", func(l *Loan) { l.Customer.TimeZone = "Asia/" + strings.Repeat("x", 60) }, []string{"customer.time_zone"}, "at most 64 characters, got 65"},
		{"time zone NUL", func(l *Loan) { l.Customer.TimeZone = "Asia/Shanghai\x00" }, []string{"customer.time_zone"}, "control characters"},
		{"opt-outs of two channels", func(l *Loan) { l.Customer.OptOuts = []Channel{SMS, Email} }, nil, ""},
		{"opt-out twice", func(l *Loan) { l.Customer.OptOuts = []Channel{SMS, SMS} }, []string{"customer.opt_outs[1]"}, "sms is listed twice"},
		{"opt-outs too many", func(l *Loan) { l.Customer.OptOuts = []Channel{SMS, SMS, SMS, SMS} }, []string{"customer.opt_outs"},
			"at most 3 channels (each once), got 4"},
		{"opt-out long garbage", func(l *Loan) { l.Customer.OptOuts = []Channel{Channel(strings.Repeat("x", 1000))} }, []string{"customer.opt_outs[0]"}, "x…"},
		// Dates from another era.
		{"due date year 0", func(l *Loan) { l.Installments[0].DueDate = Date{0, time.January, 1} }, []string{"installments[0].due_date"},
			"0000-01-01 is out of range: want a date from 2000-01-01 to 2100-12-31"},
		{"due date epoch", func(l *Loan) { l.Installments[0].DueDate = MustDate("1970-01-01") }, []string{"installments[0].due_date"}, "1970-01-01 is out of range"},
		{"due date 1999-12-31", func(l *Loan) { l.Installments[0].DueDate = MustDate("1999-12-31") }, []string{"installments[0].due_date"}, "out of range"},
		{"due date 2000-01-01", func(l *Loan) { l.Installments[0].DueDate = MustDate("2000-01-01") }, nil, ""},
		{"due date 2100-12-31", func(l *Loan) { l.Installments[1].DueDate = MustDate("2100-12-31") }, nil, ""},
		{"due date 2101-01-01", func(l *Loan) { l.Installments[1].DueDate = MustDate("2101-01-01") }, []string{"installments[1].due_date"}, "2101-01-01 is out of range"},
		{"due date year 9999", func(l *Loan) { l.Installments[1].DueDate = MustDate("9999-12-31") }, []string{"installments[1].due_date"}, "out of range"},
		// Collections.
		{"600 monthly installments (a 50-year mortgage)", func(l *Loan) { l.Installments = monthly(600, "2026-12-01") }, nil, ""},
		{"601 installments", func(l *Loan) { l.Installments = monthly(601, "2026-12-01") }, []string{"installments"}, "at most 600 installments, got 601"},
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
		{"several at once", `{"loan_id": 1, "currency": "CNY", "cusomer": {}, "installments": [{"seq": "x", "due_date": "2026-13-01", "principal": "1", "interest": "0", "fee": "0"}]}`,
			[]string{"loan_id", "cusomer", "installments[0].seq", "installments[0].due_date"}, "cusomer: unknown key (did you mean customer?)"},
		// Amounts are strings, and every one is required.
		{"principal a number", swap(`"principal": "1000.00"`, `"principal": 10.5`), []string{"installments[0].principal"},
			`installments[0].principal: want a decimal amount as a string such as "1234.50", got 10.5`},
		{"interest an integer", swap(`"interest": "40.00"`, `"interest": 40`), []string{"installments[1].interest"}, `want a decimal amount as a string such as "1234.50", got 40`},
		{"fee an exponent number", swap(`"fee": "0.00"}`, `"fee": 1e3}`), []string{"installments[0].fee"}, "got 1e3"},
		{"principal missing", swap(`"principal": "1000.00", `, ``), []string{"installments[0].principal"}, "installments[0].principal: is required"},
		{"interest null", swap(`"interest": "45.00"`, `"interest": null`), []string{"installments[0].interest"}, "installments[0].interest: is required"},
		{"fee missing", swap(`, "fee": "0.00"}`, `}`), []string{"installments[0].fee"}, `installments[0].fee: is required: want a decimal amount as a string such as "0.00"`},
		{"every amount missing", `{"installments": [{"seq": 1, "due_date": "2026-12-01"}]}`,
			[]string{"installments[0].principal", "installments[0].interest", "installments[0].fee"}, "is required"},
		{"installment null", `{"installments": [null]}`, []string{"installments[0]"}, "want an object, got null"},
		{"root null", `null`, []string{""}, "want a JSON object, got null"},
		// Text: the raw bytes are UTF-8, and no control characters.
		{"name with NUL escape", swap(`"张伟"`, `"张\u0000伟"`), []string{"customer.name"}, "customer.name: must not contain control characters (found U+0000)"},
		{"name with newline escape", swap(`"张伟"`, `"张\n伟"`), []string{"customer.name"}, "control characters (found U+000A)"},
		{"name with raw invalid UTF-8", swap(`"张伟"`, "\"M\xfcller\""), []string{"customer.name"}, "customer.name: must be valid UTF-8"},
		{"name with lone surrogate", swap(`"张伟"`, `"\ud800"`), []string{"customer.name"}, "U+FFFD"},
		{"loan_id with NUL", swap(`"L-2026-0001"`, `"L-2026\u00000001"`), []string{"loan_id"}, "control characters"},
		{"push_token with DEL", swap(`"fcm-token-or-empty"`, `"fcm\u007f"`), []string{"customer.push_token"}, "control characters"},
		{"locale invalid UTF-8", swap(`"zh-CN"`, "\"zh-\xc3\""), []string{"customer.locale"}, "valid UTF-8"},
		{"opt_out with NUL", `{"customer": {"opt_outs": ["sms\u0000"]}}`, []string{"customer.opt_outs[0]"}, "control characters"},
		// Found by FuzzDecodeLoan: an unknown empty key was refused with no
		// field, as if the body as a whole were wrong.
		{"empty key (fuzz)", `{"": {}}`, []string{`""`}, `"": unknown key`},
		{"empty key inside (fuzz)", `{"customer": {"": 1}}`, []string{`customer.""`}, `customer."": unknown key`},
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

// monthly is n installments of 100.00 principal due monthly from first.
func monthly(n int, first string) []Installment {
	d := MustDate(first)
	out := make([]Installment, n)
	for i := range out {
		t := time.Date(d.Year, d.Month+time.Month(i), 1, 12, 0, 0, 0, time.UTC)
		out[i] = Installment{Seq: i + 1, DueDate: DateOf(t), Principal: decimal.RequireFromString("100.00")}
	}
	return out
}

func TestDecodeLoanAccepts(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"Feb 29 in a leap year", strings.Replace(vtSampleLoanJSON, `"2027-01-01"`, `"2028-02-29"`, 1)},
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
	l, err := DecodeLoan(strings.NewReader(strings.Replace(vtSampleLoanJSON, `"fee": "0.00"}`, `"fee": "0"}`, 1)))
	if err != nil || !l.Installments[0].Fee.IsZero() || !l.Installments[0].Principal.Equal(decimal.RequireFromString("1000.00")) {
		t.Errorf("DecodeLoan = %+v, %v", l.Installments, err)
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
		{"txn_id dot", "CNY", func(r *Repayment) { r.TxnID = "." }, []string{"txn_id"}, "must start with a letter or a digit"},
		{"txn_id dot dot", "CNY", func(r *Repayment) { r.TxnID = ".." }, []string{"txn_id"}, "must start with a letter or a digit"},
		{"txn_id leading dash", "CNY", func(r *Repayment) { r.TxnID = "-1" }, []string{"txn_id"}, "must start with a letter or a digit"},
		{"txn_id NUL", "CNY", func(r *Repayment) { r.TxnID = "T\x001" }, []string{"txn_id"}, "use only letters"},
		{"currency with control characters", "CNY", func(r *Repayment) { r.Currency = "CN\x00" }, []string{"currency"}, `"CN\x00" does not match`},
		// paid_at: not before MinDate, nor more than five years before the
		// loan's first due date (2026-12-01).
		{"paid_at epoch", "CNY", func(r *Repayment) { r.PaidAt = time.Unix(0, 0).UTC() }, []string{"paid_at"},
			"1970-01-01T00:00:00Z is out of range: want a time from 2000-01-01 to 2100-12-31"},
		{"paid_at year 1", "CNY", func(r *Repayment) { r.PaidAt = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC) }, []string{"paid_at"}, "out of range"},
		{"paid_at 1999-12-31", "CNY", func(r *Repayment) { r.PaidAt = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC) }, []string{"paid_at"}, "out of range"},
		{"paid_at six years before the first due date", "CNY", func(r *Repayment) { r.PaidAt = time.Date(2020, 12, 1, 10, 0, 0, 0, time.UTC) },
			[]string{"paid_at"}, "more than 1826 days before the loan's first due date (2026-12-01)"},
		{"paid_at a day too early", "CNY", func(r *Repayment) { r.PaidAt = time.Date(2021, 11, 30, 23, 0, 0, 0, time.UTC) }, []string{"paid_at"}, "cannot be for this loan"},
		{"paid_at five years before the first due date", "CNY", func(r *Repayment) { r.PaidAt = time.Date(2021, 12, 1, 0, 0, 0, 0, time.UTC) }, nil, ""},
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

func TestValidateRepaymentWithoutInstallments(t *testing.T) {
	// The API knows no installments: only MinDate bounds paid_at.
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	r := Repayment{TxnID: "T-1", Amount: decimal.RequireFromString("1"), PaidAt: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := ValidateRepayment(Loan{Currency: "CNY"}, r, now); err != nil {
		t.Errorf("paid 2000-01-01: %v", err)
	}
	r.PaidAt = r.PaidAt.Add(-time.Second)
	if got := vtFields(t, ValidateRepayment(Loan{Currency: "CNY"}, r, now)); !slices.Equal(got, []string{"paid_at"}) {
		t.Errorf("paid 1999-12-31T23:59:59Z: fields %q", got)
	}
}

func TestValidateLoanAt(t *testing.T) {
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for _, tc := range []struct {
		name   string
		mutate func(l *Loan)
		fields []string
		text   string
	}{
		{"sample", func(l *Loan) {}, nil, ""},
		{"first due exactly five years ago", func(l *Loan) { l.Installments[0].DueDate = MustDate("2021-12-08") }, nil, ""},
		{"first due a day more than five years ago", func(l *Loan) { l.Installments[0].DueDate = MustDate("2021-12-07") },
			[]string{"installments[0].due_date"}, "2021-12-07 is more than 1826 days (five years) before today (2026-12-08)"},
		{"first due 2001", func(l *Loan) { l.Installments[0].DueDate = MustDate("2001-01-01") }, []string{"installments[0].due_date"}, "is not dunned"},
		{"epoch reported once, as out of range", func(l *Loan) { l.Installments[0].DueDate = MustDate("1970-01-01") },
			[]string{"installments[0].due_date"}, "out of range"},
		{"other problems reported too", func(l *Loan) { l.LoanID = ".."; l.Installments[0].DueDate = MustDate("2010-01-01") },
			[]string{"loan_id", "installments[0].due_date"}, "is not dunned"},
		{"unordered: the earliest is named", func(l *Loan) { l.Installments[1].DueDate = MustDate("2015-01-01") },
			[]string{"installments[1].due_date", "installments[1].due_date"}, "2015-01-01 is more than 1826 days"},
		{"no installments", func(l *Loan) { l.Installments = nil }, []string{"installments"}, "at least one"},
		{"far future is bounded by MaxDate only", func(l *Loan) { l.Installments = monthly(600, "2050-01-01") }, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := vtLoan()
			tc.mutate(&l)
			err := ValidateLoanAt(l, vtRegistry(t), vtHasLocale, now)
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}

func TestDecodeRepaymentErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		fields []string // nil: decodes
		text   string
	}{
		{"valid", `{"txn_id": "T-1", "amount": "10.50", "paid_at": "2026-12-08T10:00:00+08:00"}`, nil, ""},
		{"paid_at absent stays zero", `{"txn_id": "T-1", "amount": "10.50"}`, nil, ""},
		{"paid_at null stays zero", `{"txn_id": "T-1", "amount": "10.50", "paid_at": null}`, nil, ""},
		{"amount a number", `{"txn_id": "T-1", "amount": 10.5}`, []string{"amount"}, `amount: want a decimal amount as a string such as "1234.50", got 10.5`},
		{"amount an integer", `{"txn_id": "T-1", "amount": 100}`, []string{"amount"}, "got 100"},
		{"amount missing", `{"txn_id": "T-1"}`, []string{"amount"}, "amount: is required"},
		{"amount null", `{"txn_id": "T-1", "amount": null}`, []string{"amount"}, "amount: is required"},
		{"paid_at Go's zero time", `{"txn_id": "T-1", "amount": "1", "paid_at": "0001-01-01T00:00:00Z"}`, []string{"paid_at"},
			"paid_at: 0001-01-01T00:00:00Z is out of range: want a time from 2000-01-01 to 2100-12-31"},
		{"paid_at epoch", `{"txn_id": "T-1", "amount": "1", "paid_at": "1970-01-01T00:00:00Z"}`, []string{"paid_at"}, "out of range"},
		{"paid_at 1999", `{"txn_id": "T-1", "amount": "1", "paid_at": "1999-12-31T23:59:59+08:00"}`, []string{"paid_at"}, "out of range"},
		{"paid_at 2101", `{"txn_id": "T-1", "amount": "1", "paid_at": "2101-01-01T00:00:00Z"}`, []string{"paid_at"}, "out of range"},
		// Found by FuzzDecodeRepayment: time.Parse takes an offset of a whole
		// day, which json.Marshal (and so Temporal) cannot write back.
		{"paid_at offset +24:00 (fuzz)", `{"txn_id": "T-1", "amount": "1", "paid_at": "2026-12-02T00:00:00+24:00"}`, []string{"paid_at"},
			"paid_at: 2026-12-02T00:00:00+24:00 has a UTC offset of 24 hours or more"},
		{"paid_at offset -23:60", `{"txn_id": "T-1", "amount": "1", "paid_at": "2026-12-02T00:00:00-23:60"}`, []string{"paid_at"}, "UTC offset"},
		{"paid_at offset +23:59", `{"txn_id": "T-1", "amount": "1", "paid_at": "2026-12-02T00:00:00+23:59"}`, nil, ""},
		{"txn_id with NUL", `{"txn_id": "T\u00001", "amount": "1"}`, []string{"txn_id"}, "control characters"},
		{"txn_id invalid UTF-8", "{\"txn_id\": \"T\xff\", \"amount\": \"1\"}", []string{"txn_id"}, "valid UTF-8"},
		{"currency with newline", `{"txn_id": "T-1", "amount": "1", "currency": "CNY\n"}`, []string{"currency"}, "control characters"},
		{"body null", `null`, []string{""}, "want a JSON object, got null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeRepayment(strings.NewReader(tc.body))
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
			if err == nil && !strings.Contains(tc.body, "paid_at\": \"") && !r.PaidAt.IsZero() {
				t.Errorf("paid_at = %v; want zero", r.PaidAt)
			}
		})
	}
}

// vtSignal has the shapes of the API's other bodies: a reason, an optional
// time and reschedule installments.
type vtSignal struct {
	Reason       string        `json:"reason"`
	Until        *time.Time    `json:"until,omitempty"`
	Installments []Installment `json:"installments"`
}

func TestDecodeJSONOtherBodies(t *testing.T) {
	const ins = `{"seq": 3, "due_date": "2027-03-01", "principal": "1000.00", "interest": "60.00", "fee": "0.00"}`
	for _, tc := range []struct {
		name   string
		body   string
		fields []string
		text   string
	}{
		{"valid", `{"reason": "extension", "until": "2026-12-20T00:00:00+08:00", "installments": [` + ins + `]}`, nil, ""},
		{"no until", `{"reason": "x"}`, nil, ""},
		{"reschedule principal a number", `{"installments": [` + strings.Replace(ins, `"1000.00"`, `1000`, 1) + `]}`,
			[]string{"installments[0].principal"}, "want a decimal amount as a string"},
		{"reschedule fee missing", `{"installments": [` + strings.Replace(ins, `, "fee": "0.00"`, ``, 1) + `]}`,
			[]string{"installments[0].fee"}, "installments[0].fee: is required"},
		{"reschedule interest null", `{"installments": [` + strings.Replace(ins, `"60.00"`, `null`, 1) + `]}`,
			[]string{"installments[0].interest"}, "is required"},
		{"reason with newline", `{"reason": "line one\nline two"}`, []string{"reason"}, "control characters"},
		{"reason with NUL", `{"reason": "\u0000"}`, []string{"reason"}, "control characters (found U+0000)"},
		{"reason invalid UTF-8", "{\"reason\": \"\xc0\xaf\"}", []string{"reason"}, "must be valid UTF-8"},
		{"until Go's zero time", `{"until": "0001-01-01T00:00:00Z"}`, []string{"until"}, "out of range"},
		{"until year 3000", `{"until": "3000-01-01T00:00:00Z"}`, []string{"until"}, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v vtSignal
			err := DecodeJSON(strings.NewReader(tc.body), &v)
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}

func TestDecodeJSONBoundsProblems(t *testing.T) {
	body := `{"installments": [` + strings.TrimSuffix(strings.Repeat("1,", 1000), ",") + `]}`
	_, err := DecodeLoan(strings.NewReader(body))
	var v ValidationError
	if !errors.As(err, &v) || len(v) != maxDecodeProblems+1 {
		t.Fatalf("%d problems; want %d", len(v), maxDecodeProblems+1)
	}
	if last := v[len(v)-1]; last != (FieldError{Problem: "and 900 more problems"}) {
		t.Errorf("last problem %+v", last)
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
