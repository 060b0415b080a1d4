package policy

import (
	"testing"
	"time"
)

// TestDateArithmeticMatchesTime checks the integer day arithmetic against
// package time over three centuries, leap days and month ends included.
func TestDateArithmeticMatchesTime(t *testing.T) {
	start := time.Date(1900, 1, 1, 12, 0, 0, 0, time.UTC)
	epoch := DateOf(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
	for i := 0; i < 290*365; i += 7 { // 1900–2189: time.Duration overflows past 2262
		tm := start.AddDate(0, 0, i)
		d := DateOf(tm)
		want := int(tm.Sub(time.Date(1970, 1, 1, 12, 0, 0, 0, time.UTC)).Hours() / 24)
		if got := d.DaysSince(epoch); got != want {
			t.Fatalf("%s.DaysSince(1970-01-01) = %d, want %d", d, got, want)
		}
		if got, want := d.AddDays(31), DateOf(tm.AddDate(0, 0, 31)); got != want {
			t.Fatalf("%s + 31 days = %s, want %s", d, got, want)
		}
	}
	cases := []struct {
		d    Date
		n    int
		want string
	}{
		{MustDate("2028-02-28"), 1, "2028-02-29"},
		{MustDate("2027-02-28"), 1, "2027-03-01"},
		{MustDate("2026-12-31"), 1, "2027-01-01"},
		{MustDate("2026-01-31"), 30, "2026-03-02"},
		{MustDate("2000-03-01"), -1, "2000-02-29"},
		{MustDate("2100-03-01"), -1, "2100-02-28"},
	}
	for _, c := range cases {
		if got := c.d.AddDays(c.n).String(); got != c.want {
			t.Errorf("%s + %d = %s, want %s", c.d, c.n, got, c.want)
		}
	}
	if !MustDate("2026-12-01").Before(MustDate("2027-01-01")) || MustDate("2027-01-01").Before(MustDate("2026-12-31")) {
		t.Error("Before is wrong across a year end")
	}
	if (Date{2027, 2, 30}).DaysSince(MustDate("2027-03-02")) != 0 {
		t.Error("a normalised non-existent date should count like time.Date")
	}
}
