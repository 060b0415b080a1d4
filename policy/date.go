package policy

import (
	"encoding/json"
	"fmt"
	"time"
)

// Date is a calendar day with no time zone, such as a due date. Days are
// counted in the customer's time zone, so a Date becomes an instant only
// through At with a location.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a date in the form 2006-01-02 and rejects days that do not
// exist (2026-02-29).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// MustDate is ParseDate for literals in tests and fixtures; it panics on a bad date.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DateOf is the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// LocalDate is the calendar day of t in loc.
func LocalDate(t time.Time, loc *time.Location) Date { return DateOf(t.In(loc)) }

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as 2006-01-02.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// AddDays is d moved by n calendar days.
func (d Date) AddDays(n int) Date { return fromDays(d.days() + n) }

// DaysSince is the number of calendar days from o to d (d − o).
func (d Date) DaysSince(o Date) int { return d.days() - o.days() }

// days counts days since 1970-01-01 in the proleptic Gregorian calendar
// (H. Hinnant's days_from_civil): integer arithmetic only, since the
// balance engine does this for every overdue installment every day.
// A date that does not exist (2027-02-30) is normalised as time.Date would.
func (d Date) days() int {
	y, m := d.Year, int(d.Month)
	if m < 1 || m > 12 {
		return DateOf(time.Date(y, d.Month, d.Day, 12, 0, 0, 0, time.UTC)).days()
	}
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// fromDays is the inverse of days (civil_from_days).
func fromDays(z int) Date {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{y, time.Month(m), day}
}

// Before reports whether d is earlier than o. It compares fields, not
// instants: the balance engine calls it for every installment at every
// midnight.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return o.Before(d) }

// At is the instant of the wall clock hh:mm on d in loc. A wall time that a
// DST change skips resolves as time.Date does (moved forward).
func (d Date) At(loc *time.Location, hh, mm int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, loc)
}

// Midnight is 00:00 on d in loc: the instant at which the day's penalty posts.
func (d Date) Midnight(loc *time.Location) time.Time { return d.At(loc, 0, 0) }

// MarshalJSON writes d as "2006-01-02".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "2006-01-02".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: want a string YYYY-MM-DD")
	}
	p, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}
