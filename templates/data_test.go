package templates

import (
	"reflect"
	"testing"
)

func TestMaskLoanID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"7", "7"},
		{"12", "*2"},
		{"001", "**1"},
		{"0001", "***1"},
		{"10001", "****0001"},
		{"L-2026-0001", "****0001"},
		{"550e8400-e29b-41d4-a716-446655440000", "****0000"},
		{"贷款编号一二三四五", "****二三四五"},
	}
	for _, tt := range tests {
		if got := MaskLoanID(tt.in); got != tt.want {
			t.Errorf("MaskLoanID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct{ locale, currency, amount, want string }{
		{"zh-CN", "CNY", "1068.50", "1068.50元"},
		{"zh-CN", "USD", "12.00", "USD 12.00"},
		{"en", "CNY", "1068.50", "CNY 1068.50"},
		{"en", "JPY", "1200", "JPY 1200"},
	}
	for _, tt := range tests {
		if got := FormatMoney(tt.locale, tt.currency, tt.amount); got != tt.want {
			t.Errorf("FormatMoney(%q, %q, %q) = %q, want %q", tt.locale, tt.currency, tt.amount, got, tt.want)
		}
	}
}

func TestNonzero(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0", false}, {"0.00", false}, {"-0.0", false}, {"", false},
		{"0.01", true}, {"20.00", true}, {"1000", true}, {"-3.50", true},
	}
	for _, tt := range tests {
		if got := nonzero(tt.in); got != tt.want {
			t.Errorf("nonzero(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{1, "1 day"}, {2, "2 days"}, {90, "90 days"}}
	for _, tt := range tests {
		if got := plural(tt.n, "day", "days"); got != tt.want {
			t.Errorf("plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// Data.values handles strings and ints only; a field of another kind would
// never reach the templates.
func TestDataFieldKinds(t *testing.T) {
	typ := reflect.TypeFor[Data]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if k := f.Type.Kind(); k != reflect.String && k != reflect.Int {
			t.Errorf("Data.%s is %s: values() handles only string and int", f.Name, k)
		}
	}
}

func TestDataValues(t *testing.T) {
	full := sampleData().values()
	if n := reflect.TypeFor[Data]().NumField(); len(full) != n {
		t.Errorf("sampleData sets %d fields, Data has %d: fill in the new field", len(full), n)
	}
	if got := (Data{}).values(); len(got) != 0 {
		t.Errorf("zero Data gives %v, want no fields", got)
	}
	got := Data{CustomerName: "  ", Brand: "B", DaysOverdue: -1, InstallmentCount: 2}.values()
	want := map[string]any{"Brand": "B", "InstallmentCount": 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values = %v, want %v (blank strings and non-positive numbers are unset)", got, want)
	}
	if !isDataField("Brand") || isDataField("Amount") || isDataField("values") {
		t.Error("isDataField is wrong")
	}
}
