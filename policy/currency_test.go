package policy

import (
	"testing"

	"github.com/shopspring/decimal"
)

func TestMinorUnits(t *testing.T) {
	for _, tc := range []struct {
		code  string
		want  int32
		known bool
	}{
		{"CNY", 2, true}, {"USD", 2, true}, {"EUR", 2, true}, {"GBP", 2, true},
		{"JPY", 0, true}, {"HKD", 2, true}, {"INR", 2, true}, {"KRW", 0, true},
		{"SGD", 2, true}, {"AUD", 2, true}, {"CAD", 2, true}, {"CHF", 2, true},
		{"TWD", 2, true}, {"IDR", 2, true}, {"VND", 0, true}, {"PHP", 2, true},
		{"THB", 2, true}, {"MYR", 2, true}, {"BHD", 3, true}, {"KWD", 3, true},
		{"cny", 0, false}, {"", 0, false}, {"XYZ", 0, false}, {"HRK", 0, false}, {"XAU", 0, false},
	} {
		got, ok := MinorUnits(tc.code)
		if got != tc.want || ok != tc.known {
			t.Errorf("MinorUnits(%q) = %d, %v; want %d, %v", tc.code, got, ok, tc.want, tc.known)
		}
	}
}

func TestRoundMoney(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int32
		want   string
	}{
		{"2.345", 2, "2.35"},
		{"2.344", 2, "2.34"},
		{"2.3449999", 2, "2.34"},
		{"2.3450001", 2, "2.35"},
		{"0.125", 2, "0.13"}, // half-up, not banker's (0.12)
		{"0.135", 2, "0.14"},
		{"-2.345", 2, "-2.35"}, // half away from zero
		{"2.5", 0, "3"},
		{"3.5", 0, "4"},
		{"0.5", 0, "1"},
		{"0.0005", 3, "0.001"},
		{"1", 2, "1.00"},
		{"20", 2, "20.00"},
		{"1234.5", 2, "1234.50"},
		{"0.2", 3, "0.200"},
	} {
		got := RoundMoney(decimal.RequireFromString(tc.in), tc.places)
		if got.StringFixed(tc.places) != tc.want || got.Exponent() != -tc.places {
			t.Errorf("RoundMoney(%s, %d) = %s (exp %d); want %s with exactly %d places",
				tc.in, tc.places, got, got.Exponent(), tc.want, tc.places)
		}
	}
}

func TestHasAtMostPlaces(t *testing.T) {
	for _, tc := range []struct {
		in     string
		places int32
		want   bool
	}{
		{"100", 0, true},
		{"100.00", 0, true}, // trailing zeros do not count
		{"100.5", 0, false},
		{"1000.00", 2, true},
		{"1000.001", 2, false},
		{"1000.010", 2, true},
		{"0.001", 3, true},
		{"0.0001", 3, false},
		{"-1.5", 1, true},
		{"1e3", 0, true},
		{"1e-3", 2, false},
	} {
		if got := HasAtMostPlaces(decimal.RequireFromString(tc.in), tc.places); got != tc.want {
			t.Errorf("HasAtMostPlaces(%s, %d) = %v; want %v", tc.in, tc.places, got, tc.want)
		}
	}
}
