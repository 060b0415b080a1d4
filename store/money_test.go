package store

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestMoneyKeepsScale(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1068.50", "1068.50"},
		{"0.00", "0.00"},
		{"20", "20"},
		{"-3.5", "-3.5"},
		{"0.0005", "0.0005"},
	}
	for _, tt := range tests {
		d := decimal.RequireFromString(tt.in)
		if got := money(&d); got == nil || *got != tt.want {
			t.Errorf("money(%s) = %v, want %s", tt.in, got, tt.want)
		}
		back, err := parseMoney(money(&d))
		if err != nil || !back.Equal(d) || back.Exponent() != d.Exponent() {
			t.Errorf("parseMoney(money(%s)) = %v, %v", tt.in, back, err)
		}
	}
	if money(nil) != nil {
		t.Error("money(nil) is not nil")
	}
	if d, err := parseMoney(nil); d != nil || err != nil {
		t.Errorf("parseMoney(nil) = %v, %v", d, err)
	}
}

func TestJSONAmountsAreStrings(t *testing.T) {
	fee := decimal.RequireFromString("20.00")
	tests := []struct {
		name string
		v    any
		want []string
		not  []string
	}{
		{"ledger with amount", LedgerEntry{Kind: KindLateFeeAssessed, Amount: &fee, Currency: "CNY"},
			[]string{`"amount":"20.00"`, `"kind":"late_fee_assessed"`, `"occurred_at":`}, nil},
		{"ledger without amount", LedgerEntry{Kind: KindPaused}, []string{`"amount":null`}, []string{`"currency"`}},
		{"case", Case{OverdueTotal: &fee, Currency: "CNY"}, []string{`"overdue_total":"20.00"`, `"days_past_due":0`}, nil},
		{"timeline with amount", TimelineEntry{Amount: &fee}, []string{`"amount":"20.00"`}, nil},
		{"timeline without amount", TimelineEntry{Kind: KindNotice}, []string{`"kind":"notice"`}, []string{`"amount"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s lacks %s", b, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(string(b), n) {
					t.Errorf("%s has %s", b, n)
				}
			}
			if strings.Count(string(b), `"amount"`) > 1 {
				t.Errorf("%s has amount twice", b)
			}
		})
	}

	var back LedgerEntry
	if err := json.Unmarshal([]byte(`{"amount":"20.00","kind":"paused"}`), &back); err != nil || back.Amount == nil || !back.Amount.Equal(fee) {
		t.Errorf("unmarshal = %+v, %v", back, err)
	}
}

func TestCSVText(t *testing.T) {
	tests := map[string]string{
		"":                "",
		"plain":           "plain",
		"+8613800138000":  "'+8613800138000",
		"=1+1":            "'=1+1",
		"-2":              "'-2",
		"@SUM(A1)":        "'@SUM(A1)",
		"\tx":             "'\tx",
		"z***@example.cn": "z***@example.cn",
	}
	for in, want := range tests {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}
