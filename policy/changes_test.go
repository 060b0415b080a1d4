package policy

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestValidateContact(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(c *Customer)
		fields []string
		text   string
	}{
		{"unchanged", func(c *Customer) {}, nil, ""},
		{"opted out of everything is allowed", func(c *Customer) { c.OptOuts = []Channel{SMS, Email, Push} }, nil, ""},
		{"name too long", func(c *Customer) { c.Name = strings.Repeat("n", MaxNameLen+1) }, []string{"customer.name"}, "at most 200 characters"},
		{"name newline", func(c *Customer) { c.Name = "王\n芳" }, []string{"customer.name"}, "control characters"},
		{"name NUL", func(c *Customer) { c.Name = "\x00" }, []string{"customer.name"}, "control characters"},
		{"name invalid UTF-8", func(c *Customer) { c.Name = "\xe4\xb8" }, []string{"customer.name"}, "valid UTF-8"},
		{"push token too long", func(c *Customer) { c.PushToken = strings.Repeat("t", MaxPushTokenLen+1) }, []string{"customer.push_token"}, "at most 4096 bytes"},
		{"push token control", func(c *Customer) { c.PushToken = "tok\x1b" }, []string{"customer.push_token"}, "control characters"},
		{"locale too long", func(c *Customer) { c.Locale = strings.Repeat("a", 8) + strings.Repeat("-abcdefgh", 4) }, []string{"customer.locale"}, "at most 35"},
		{"time zone too long", func(c *Customer) { c.TimeZone = strings.Repeat("z", MaxTimeZoneLen+1) }, []string{"customer.time_zone"}, "at most 64"},
		{"time zone newline", func(c *Customer) { c.TimeZone = "Asia/Shanghai\n" }, []string{"customer.time_zone"}, "control characters"},
		{"opt-out twice", func(c *Customer) { c.OptOuts = []Channel{Push, Push} }, []string{"customer.opt_outs[1]"}, "listed twice"},
		{"opt-outs too many", func(c *Customer) { c.OptOuts = []Channel{SMS, Email, Push, SMS} }, []string{"customer.opt_outs"}, "at most 3"},
		{"email with newline", func(c *Customer) { c.Email = "a@example.cn\n" }, []string{"customer.email"}, "control characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := vtLoan().Customer
			tc.mutate(&c)
			err := ValidateContact(c, Default(), vtHasLocale)
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}

// after numbers ins from paid+1 on.
func after(paid int, ins []Installment) []Installment {
	for i := range ins {
		ins[i].Seq = paid + 1 + i
	}
	return ins
}

func TestValidateReschedule(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, loc)
	snap := Snapshot{Installments: []InstallmentState{{Seq: 1, Status: StatusPaid}, {Seq: 2, Status: StatusOverdue}}}
	in := func(seq int, due string) Installment {
		return Installment{Seq: seq, DueDate: MustDate(due), Principal: decimal.RequireFromString("100.00"),
			Interest: decimal.Zero, Fee: decimal.Zero}
	}
	for _, tc := range []struct {
		name   string
		ins    []Installment
		fields []string
		text   string
	}{
		{"valid", []Installment{in(2, "2027-01-01"), in(3, "2027-02-01")}, nil, ""},
		{"600 installments", after(1, monthly(600, "2027-01-01")), nil, ""},
		{"601 installments", after(1, monthly(601, "2027-01-01")), []string{"installments"}, "at most 600 installments, got 601"},
		{"due today", []Installment{in(2, "2026-12-08")}, []string{"installments[0].due_date"}, "after today"},
		{"due 2101", []Installment{in(2, "2101-01-01")}, []string{"installments[0].due_date"}, "out of range"},
		{"due year 0", []Installment{{Seq: 2, DueDate: Date{0, 1, 1}, Principal: decimal.RequireFromString("1")}},
			[]string{"installments[0].due_date"}, "0000-01-01 is out of range"},
		{"seq already paid", []Installment{in(1, "2027-01-01")}, []string{"installments[0].seq"}, "last paid installment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := vtLoan()
			err := ValidateReschedule(l, snap, tc.ins, now, loc)
			if got := vtFields(t, err); !slices.Equal(got, tc.fields) {
				t.Fatalf("fields = %q; want %q (error: %v)", got, tc.fields, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want it to contain %q", err, tc.text)
			}
		})
	}
}
