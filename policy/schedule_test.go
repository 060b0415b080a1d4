package policy

import (
	"fmt"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/shopspring/decimal"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// testLoan is a loan of one installment per due date, to a customer reachable
// on every channel.
func testLoan(id, tz string, dues ...string) Loan {
	l := Loan{
		LoanID:   id,
		Currency: "CNY",
		Policy:   "default",
		Customer: Customer{
			ID: "C-1", Name: "Zhang Wei", Phone: "+8613800138000", Email: "zhang.wei@example.cn",
			PushToken: "fcm-1", Locale: "zh-CN", TimeZone: tz,
		},
	}
	for i, d := range dues {
		l.Installments = append(l.Installments, Installment{
			Seq: i + 1, DueDate: MustDate(d),
			Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("45.00"),
		})
	}
	return l
}

// snapAt is a hand-made balance snapshot of l at asOf, standing in for
// SnapshotAt so these tests exercise only the ladder (TestWithSnapshotAt
// checks the two together): installments in paid are
// paid, the others upcoming, due or overdue by the local date; overdue is the
// overdue total; the loan is charged off from 90 days past due.
func snapAt(l Loan, loc *time.Location, asOf time.Time, overdue string, paid ...int) Snapshot {
	s := Snapshot{LoanID: l.LoanID, State: StateCurrent, AsOf: asOf.In(loc), Currency: l.Currency}
	today := LocalDate(asOf, loc)
	unpaid := 0
	for _, in := range l.Installments {
		st := InstallmentState{Seq: in.Seq, DueDate: in.DueDate}
		switch dpd := today.DaysSince(in.DueDate); {
		case slices.Contains(paid, in.Seq):
			st.Status = StatusPaid
		case dpd < 0:
			st.Status = StatusUpcoming
		case dpd == 0:
			st.Status = StatusDue
		default:
			st.Status, st.DaysPastDue = StatusOverdue, dpd
			if dpd > s.DaysPastDue {
				s.DaysPastDue = dpd
			}
		}
		if st.Status != StatusPaid {
			unpaid++
		}
		s.Installments = append(s.Installments, st)
	}
	switch {
	case unpaid == 0:
		s.State = StatePaidOff
	case s.DaysPastDue >= 90:
		s.State, s.ChargedOff = StateChargedOff, true
	case s.DaysPastDue > 0:
		s.State = StateOverdue
	}
	if s.DaysPastDue > 0 {
		s.Overdue.Total = decimal.RequireFromString(overdue)
	}
	s.Bucket = Bucket(s.DaysPastDue)
	return s
}

// record is sent plus one sent notice per channel of pt, at pt.At.
func record(sent []SentNotice, loanID string, pt Point) []SentNotice {
	for _, ch := range pt.Channels {
		sent = append(sent, SentNotice{
			Key:             NoticeKey(loanID, pt.ScheduleVersion, pt.Seq, pt.Offset, ch),
			ScheduleVersion: pt.ScheduleVersion, Seq: pt.Seq, Offset: pt.Offset,
			Channel: ch, Template: pt.Template, Status: NoticeStatusSent, At: pt.At,
		})
	}
	for _, sk := range pt.Skipped {
		sent = append(sent, SentNotice{
			Key:             NoticeKey(loanID, pt.ScheduleVersion, pt.Seq, pt.Offset, sk.Channel),
			ScheduleVersion: pt.ScheduleVersion, Seq: pt.Seq, Offset: pt.Offset,
			Channel: sk.Channel, Template: pt.Template, Status: NoticeStatusSkipped, At: pt.At,
		})
	}
	return sent
}

// handledUpTo marks every rung of seq up to and including offset as sent,
// each at its nominal time.
func handledUpTo(p Policy, l Loan, loc *time.Location, seq, offset int) []SentNotice {
	var sent []SentNotice
	due := l.Installments[seq-1].DueDate
	spread := Spread(l.LoanID, p.Reminders.SpreadMinutes)
	for _, r := range p.Reminders.Ladder {
		if r.Offset > offset {
			continue
		}
		sent = record(sent, l.LoanID, Point{
			At: rungTime(p, spread, loc, due, r.Offset), Seq: seq, Offset: r.Offset,
			Template: r.Template, Channels: r.Channels,
		})
	}
	return sent
}

func chans(cs ...Channel) []Channel { return cs }

func sameChannels(a, b []Channel) bool { return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0) }

// TestLadderWalk walks a one-installment loan through DESIGN.md's ladder: the
// point after each rung is handled is the next rung, up to +90, then none.
func TestLadderWalk(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
	spread := Spread(l.LoanID, p.Reminders.SpreadMinutes) // 12

	ladder := []struct {
		offset   int
		date     string
		channels []Channel
		template string
		action   Action
	}{
		{-3, "2026-11-28", chans(Push), "upcoming", ActionNone},
		{-1, "2026-11-30", chans(SMS), "upcoming", ActionNone},
		{0, "2026-12-01", chans(SMS, Push), "due_today", ActionNone},
		{1, "2026-12-02", chans(SMS), "overdue_gentle", ActionNone},
		{3, "2026-12-04", chans(SMS, Push), "overdue_gentle", ActionNone},
		{7, "2026-12-08", chans(SMS, Email, Push), "overdue_firm", ActionNone},
		{15, "2026-12-16", chans(SMS, Email, Push), "overdue_urgent", ActionOpenCase},
		{30, "2026-12-31", chans(SMS, Email, Push), "final_notice", ActionNone},
		{60, "2027-01-30", chans(SMS, Email), "final_notice", ActionNone},
		{90, "2027-03-01", chans(Email), "charged_off", ActionChargeOff},
	}

	asOf := MustDate("2026-11-01").At(loc, 9, 0)
	var sent []SentNotice
	for _, want := range ladder {
		t.Run(fmt.Sprintf("D%+d", want.offset), func(t *testing.T) {
			// Planning: asleep until the next rung.
			pt, ok := NextPoint(l, p, loc, snapAt(l, loc, asOf, "1068.50"), sent, asOf)
			if !ok {
				t.Fatalf("no point after %v", asOf)
			}
			wantAt := MustDate(want.date).At(loc, 10, spread)
			if pt.Offset != want.offset || !pt.ScheduledAt.Equal(wantAt) || !pt.At.Equal(wantAt) || pt.CatchUp {
				t.Fatalf("planned %+v, want offset %d at %v", pt, want.offset, wantAt)
			}
			// Waking at the point: the same point, acted on now.
			asOf = pt.At
			s := snapAt(l, loc, asOf, "1068.50")
			pt, ok = NextPoint(l, p, loc, s, sent, asOf)
			if !ok || pt.Offset != want.offset || !pt.At.Equal(wantAt) || pt.CatchUp {
				t.Fatalf("at wake-up %+v, %v", pt, ok)
			}
			if pt.Seq != 1 || pt.DueDate != MustDate("2026-12-01") || pt.ScheduleVersion != 0 {
				t.Errorf("driver %d %v v%d", pt.Seq, pt.DueDate, pt.ScheduleVersion)
			}
			if !sameChannels(pt.Channels, want.channels) || len(pt.Skipped) != 0 {
				t.Errorf("channels %v skipped %v, want %v", pt.Channels, pt.Skipped, want.channels)
			}
			if pt.Template != want.template || pt.Action != want.action || pt.Escalated {
				t.Errorf("template %q action %q escalated %v, want %q %q", pt.Template, pt.Action, pt.Escalated, want.template, want.action)
			}
			if got := Stage(p, s); want.action != ActionChargeOff && got != want.template {
				t.Errorf("Stage = %q, want %q", got, want.template)
			}
			if pt.At.Location() != loc {
				t.Errorf("At in %v, want the customer's location", pt.At.Location())
			}
			sent = record(sent, l.LoanID, pt)
		})
	}
	if _, ok := NextPoint(l, p, loc, snapAt(l, loc, asOf, "1068.50"), sent, asOf); ok {
		t.Error("a point after the charge-off rung was handled")
	}
	// Even a snapshot that is not charged off has no rung after +90.
	s := snapAt(l, loc, asOf, "1068.50")
	s.State, s.ChargedOff = StateOverdue, false
	if pt, ok := NextPoint(l, p, loc, s, sent, asOf.Add(24*time.Hour)); ok {
		t.Errorf("point %+v after the last rung", pt)
	}
}

func TestSpread(t *testing.T) {
	// FNV-1a 32 reference values, computed outside Go.
	for id, want := range map[string]int{"L-2026-0001": 12, "L-1": 49, "L-2": 52, "": 1} {
		if got := Spread(id, 60); got != want {
			t.Errorf("Spread(%q, 60) = %d, want %d", id, got, want)
		}
	}
	for i := range 1000 {
		id := fmt.Sprintf("L-%d", i)
		a, b := Spread(id, 60), Spread(id, 60)
		if a != b || a < 0 || a >= 60 {
			t.Fatalf("Spread(%q) = %d then %d", id, a, b)
		}
	}
	if Spread("L-1", 0) != 0 || Spread("L-1", -5) != 0 || Spread("L-1", 1) != 0 {
		t.Error("Spread with minutes ≤ 1 must be 0")
	}
}

// TestContactWindow: points outside 08:00–21:00 move to the next opening.
func TestContactWindow(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	asOf := MustDate("2026-11-01").At(loc, 9, 0)

	t.Run("send_at 07:00 moves to 08:00", func(t *testing.T) {
		p := Default()
		p.Reminders.SendAt = ClockTime{7, 0}
		for _, id := range []string{"L-1", "L-2", "L-2026-0001"} {
			l := testLoan(id, "Asia/Shanghai", "2026-12-01")
			pt, ok := NextPoint(l, p, loc, snapAt(l, loc, asOf, "0"), nil, asOf)
			if want := MustDate("2026-11-28").At(loc, 8, 0); !ok || !pt.At.Equal(want) || !pt.ScheduledAt.Equal(want) {
				t.Errorf("%s: %v, want %v", id, pt.At, want)
			}
		}
	})

	t.Run("send_at 20:30 spread 60", func(t *testing.T) {
		p := Default()
		p.Reminders.SendAt = ClockTime{20, 30}
		moved, stayed := 0, 0
		for i := range 40 {
			l := testLoan(fmt.Sprintf("L-%d", i), "Asia/Shanghai", "2026-12-01")
			sp := Spread(l.LoanID, 60)
			want := MustDate("2026-11-28").At(loc, 20, 30+sp)
			if 30+sp >= 60 { // 21:00 or later: next day's opening
				want = MustDate("2026-11-29").At(loc, 8, 0)
				moved++
			} else {
				stayed++
			}
			pt, ok := NextPoint(l, p, loc, snapAt(l, loc, asOf, "0"), nil, asOf)
			if !ok || !pt.At.Equal(want) || pt.Offset != -3 {
				t.Errorf("%s spread %d: %v, want %v", l.LoanID, sp, pt.At, want)
			}
		}
		if moved == 0 || stayed == 0 {
			t.Errorf("moved %d stayed %d: want both", moved, stayed)
		}
	})

	t.Run("send_at 23:30 spread 60 spills past midnight", func(t *testing.T) {
		p := Default()
		p.Reminders.SendAt = ClockTime{23, 30}
		l := testLoan("L-1", "Asia/Shanghai", "2026-12-01") // 23:30+49 = 00:19 next day
		pt, _ := NextPoint(l, p, loc, snapAt(l, loc, asOf, "0"), nil, asOf)
		if want := MustDate("2026-11-29").At(loc, 8, 0); !pt.At.Equal(want) {
			t.Errorf("%v, want %v", pt.At, want)
		}
	})
}

func TestIntoWindow(t *testing.T) {
	d := MustDate("2026-12-01")
	day, night, none := Window{ClockTime{8, 0}, ClockTime{21, 0}}, Window{ClockTime{20, 0}, ClockTime{6, 0}}, Window{}
	for _, c := range []struct {
		w     Window
		m     int
		wantD Date
		wantM int
	}{
		{day, 7*60 + 59, d, 8 * 60},
		{day, 8 * 60, d, 8 * 60},
		{day, 20*60 + 59, d, 20*60 + 59},
		{day, 21 * 60, d.AddDays(1), 8 * 60},
		{night, 3 * 60, d, 3 * 60},
		{night, 6 * 60, d, 20 * 60},
		{night, 22 * 60, d, 22 * 60},
		{none, 3 * 60, d, 3 * 60},
	} {
		if gd, gm := intoWindow(c.w, d, c.m); gd != c.wantD || gm != c.wantM {
			t.Errorf("intoWindow(%v, %d) = %v %d, want %v %d", c.w, c.m, gd, gm, c.wantD, c.wantM)
		}
	}
}

// TestCatchUp: a loan that starts late sends only the latest missed point.
func TestCatchUp(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
	day45 := MustDate("2027-01-15") // DPD 45
	for _, c := range []struct {
		name string
		asOf time.Time
		want time.Time
	}{
		{"inside the window: at once", day45.At(loc, 14, 0), day45.At(loc, 14, 0)},
		{"after 21:00: next morning", day45.At(loc, 22, 0), day45.AddDays(1).At(loc, 8, 0)},
		{"before 08:00: this morning", day45.At(loc, 7, 0), day45.At(loc, 8, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			pt, ok := NextPoint(l, p, loc, snapAt(l, loc, c.asOf, "1068.50"), nil, c.asOf)
			if !ok || pt.Offset != 30 || pt.Template != "final_notice" || !pt.CatchUp {
				t.Fatalf("%+v, want +30 final_notice catch-up", pt)
			}
			if !pt.At.Equal(c.want) || !pt.ScheduledAt.Equal(MustDate("2026-12-31").At(loc, 10, 12)) {
				t.Errorf("At %v ScheduledAt %v, want %v", pt.At, pt.ScheduledAt, c.want)
			}
			// Once it is sent, the next point is +60 on time; +1..+15 are never replayed.
			sent := record(nil, l.LoanID, pt)
			next, ok := NextPoint(l, p, loc, snapAt(l, loc, pt.At, "1068.50"), sent, pt.At)
			if !ok || next.Offset != 60 || next.CatchUp || !next.At.Equal(MustDate("2027-01-30").At(loc, 10, 12)) {
				t.Errorf("after catch-up: %+v", next)
			}
		})
	}

	t.Run("woken a second late is a catch-up at once", func(t *testing.T) {
		asOf := MustDate("2026-12-02").At(loc, 10, 12).Add(time.Second)
		pt, _ := NextPoint(l, p, loc, snapAt(l, loc, asOf, "1068.50"), handledUpTo(p, l, loc, 1, 0), asOf)
		if pt.Offset != 1 || !pt.CatchUp || !pt.At.Equal(asOf) {
			t.Errorf("%+v", pt)
		}
	})

	t.Run("zero contact window: at once at any hour", func(t *testing.T) {
		p := Default()
		p.Reminders.ContactWindow = Window{}
		asOf := day45.At(loc, 3, 0)
		pt, _ := NextPoint(l, p, loc, snapAt(l, loc, asOf, "1068.50"), nil, asOf)
		if !pt.At.Equal(asOf) || pt.Offset != 30 {
			t.Errorf("%+v", pt)
		}
	})
}

// TestPauseGap: a loan paused after +3 and resumed at DPD 20 sends +15 (the
// latest missed point), not +7.
func TestPauseGap(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
	sent := handledUpTo(p, l, loc, 1, 3)
	asOf := MustDate("2026-12-21").At(loc, 11, 0)
	pt, ok := NextPoint(l, p, loc, snapAt(l, loc, asOf, "1068.50"), sent, asOf)
	if !ok || pt.Offset != 15 || !pt.CatchUp || !pt.At.Equal(asOf) || pt.Action != ActionOpenCase {
		t.Fatalf("%+v, want +15 open_case at once", pt)
	}
	// Just before the pause ended nothing was past but +3 (handled): +7 is next.
	before := MustDate("2026-12-05").At(loc, 11, 0)
	pt, _ = NextPoint(l, p, loc, snapAt(l, loc, before, "1068.50"), sent, before)
	if pt.Offset != 7 || pt.CatchUp {
		t.Errorf("before the gap: %+v", pt)
	}
}

// TestSeveralOverdue: one point for the loan, driven by the oldest overdue
// installment; pre-due rungs of later installments are suppressed meanwhile.
func TestSeveralOverdue(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-11-01", "2026-12-01", "2026-12-08")
	asOf := MustDate("2026-12-05").At(loc, 12, 0) // seq 1 DPD 34, seq 2 DPD 4, seq 3's −3 point is due now
	s := snapAt(l, loc, asOf, "2137.00")

	pt, ok := NextPoint(l, p, loc, s, nil, asOf)
	if !ok || pt.Seq != 1 || pt.Offset != 30 || !pt.CatchUp || pt.DueDate != MustDate("2026-11-01") {
		t.Fatalf("%+v, want seq 1 +30", pt)
	}
	// Listed in another order, the same driver.
	r := s
	r.Installments = slices.Clone(s.Installments)
	slices.Reverse(r.Installments)
	if pt2, _ := NextPoint(l, p, loc, r, nil, asOf); pt2.Seq != 1 || pt2.Offset != 30 {
		t.Errorf("reversed: %+v", pt2)
	}
	// Handled: next is seq 1's +60, not seq 2's +7 nor seq 3's −1.
	sent := record(nil, l.LoanID, pt)
	if pt, _ := NextPoint(l, p, loc, s, sent, asOf); pt.Seq != 1 || pt.Offset != 60 {
		t.Errorf("after +30: %+v", pt)
	}
	// Seq 1 paid: seq 2 (DPD 4) drives, its +3 is the latest missed point.
	s = snapAt(l, loc, asOf, "1068.50", 1)
	if pt, _ := NextPoint(l, p, loc, s, sent, asOf); pt.Seq != 2 || pt.Offset != 3 || !pt.CatchUp {
		t.Errorf("seq 1 paid: %+v", pt)
	}
	if got := Stage(p, s); got != "overdue_gentle" {
		t.Errorf("Stage = %q", got)
	}
	// Both overdue ones paid: seq 3's pre-due points come back.
	s = snapAt(l, loc, asOf, "0", 1, 2)
	if pt, _ := NextPoint(l, p, loc, s, sent, asOf); pt.Seq != 3 || pt.Offset != -3 || pt.Template != "upcoming" {
		t.Errorf("overdue paid: %+v", pt)
	}
}

// TestLargeAmount: from an overdue total of large_amount, overdue points use
// the next stage's template and always include email.
func TestLargeAmount(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
	for _, c := range []struct {
		offset   int
		total    string
		template string
		channels []Channel
		esc      bool
	}{
		{1, "12000.00", "overdue_firm", chans(SMS, Email), true},
		{1, "10000.00", "overdue_firm", chans(SMS, Email), true},
		{1, "9999.99", "overdue_gentle", chans(SMS), false},
		{3, "12000.00", "overdue_firm", chans(SMS, Email, Push), true},
		{7, "12000.00", "overdue_urgent", chans(SMS, Email, Push), true},
		{15, "12000.00", "final_notice", chans(SMS, Email, Push), true},
		{30, "12000.00", "final_notice", chans(SMS, Email, Push), true},
		{60, "12000.00", "final_notice", chans(SMS, Email), true},
		{90, "12000.00", "charged_off", chans(Email), true},
	} {
		t.Run(fmt.Sprintf("D%+d %s", c.offset, c.total), func(t *testing.T) {
			asOf := MustDate("2026-12-01").AddDays(c.offset).At(loc, 12, 0)
			s := snapAt(l, loc, asOf, c.total)
			pt, ok := NextPoint(l, p, loc, s, handledUpTo(p, l, loc, 1, c.offset-1), asOf)
			if !ok || pt.Offset != c.offset || pt.Template != c.template || pt.Escalated != c.esc || !sameChannels(pt.Channels, c.channels) {
				t.Errorf("%+v, want %s %v escalated %v", pt, c.template, c.channels, c.esc)
			}
			if c.offset != 90 {
				if got := Stage(p, s); got != c.template {
					t.Errorf("Stage = %q, want %q", got, c.template)
				}
			}
		})
	}

	t.Run("pre-due points are never escalated", func(t *testing.T) {
		asOf := MustDate("2026-11-30").At(loc, 12, 0)
		s := snapAt(l, loc, asOf, "0")
		s.Overdue.Total = decimal.RequireFromString("50000.00")
		pt, _ := NextPoint(l, p, loc, s, nil, asOf)
		if pt.Offset != -1 || pt.Template != "upcoming" || pt.Escalated || !sameChannels(pt.Channels, chans(SMS)) {
			t.Errorf("%+v", pt)
		}
	})

	t.Run("a zero large_amount disables the rule", func(t *testing.T) {
		p := Default()
		p.Reminders.LargeAmount = decimal.Decimal{}
		asOf := MustDate("2026-12-02").At(loc, 12, 0)
		pt, _ := NextPoint(l, p, loc, snapAt(l, loc, asOf, "99999.00"), nil, asOf)
		if pt.Template != "overdue_gentle" || pt.Escalated {
			t.Errorf("%+v", pt)
		}
	})
}

func TestEscalatedTemplate(t *testing.T) {
	p := Default()
	slices.Reverse(p.Reminders.Ladder) // stage order comes from the offsets, not the file order
	for in, want := range map[string]string{
		"upcoming":       "upcoming",
		"due_today":      "due_today",
		"overdue_gentle": "overdue_firm",
		"overdue_firm":   "overdue_urgent",
		"overdue_urgent": "final_notice",
		"final_notice":   "final_notice",
		"charged_off":    "charged_off",
		"unknown":        "unknown",
	} {
		if got := EscalatedTemplate(p, in); got != want {
			t.Errorf("EscalatedTemplate(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestChannels: opt-outs, missing addresses and the frequency caps turn
// planned channels into recorded skips; the point is returned regardless.
func TestChannels(t *testing.T) {
	loc := mustLoc(t, "Asia/Shanghai")
	due := MustDate("2026-12-01")
	day := func(offset, hh, mm int) time.Time { return due.AddDays(offset).At(loc, hh, mm) }
	other := func(ch Channel, at time.Time, status string, confirmation bool) SentNotice {
		return SentNotice{Key: "other", Seq: 9, Offset: 0, Channel: ch, Status: status, At: at, Confirmation: confirmation}
	}
	weekly2 := Default()
	weekly2.Caps.MaxPerChannelPer7Days = 2

	for _, c := range []struct {
		name     string
		p        Policy
		edit     func(*Customer)
		offset   int
		sent     []SentNotice
		channels []Channel
		skipped  []SkippedChannel
	}{
		{"opted-out sms", Default(), func(c *Customer) { c.OptOuts = []Channel{SMS} }, 1, nil,
			nil, []SkippedChannel{{SMS, SkipOptedOut}}},
		{"opted-out sms, push still goes", Default(), func(c *Customer) { c.OptOuts = []Channel{SMS} }, 3, nil,
			chans(Push), []SkippedChannel{{SMS, SkipOptedOut}}},
		{"no push token", Default(), func(c *Customer) { c.PushToken = "" }, -3, nil,
			nil, []SkippedChannel{{Push, SkipNoAddress}}},
		{"no email, no phone", Default(), func(c *Customer) { c.Email, c.Phone = "", "" }, 7, nil,
			chans(Push), []SkippedChannel{{SMS, SkipNoAddress}, {Email, SkipNoAddress}}},
		{"opt-out wins over no address", Default(), func(c *Customer) { c.Phone, c.OptOuts = "", []Channel{SMS} }, 1, nil,
			nil, []SkippedChannel{{SMS, SkipOptedOut}}},
		{"sms already sent this local day (00:30, previous day in UTC)", Default(), nil, 1,
			[]SentNotice{other(SMS, day(1, 0, 30), NoticeStatusSent, false)},
			nil, []SkippedChannel{{SMS, SkipCapDay}}},
		{"sms sent 23:30 the local day before", Default(), nil, 1,
			[]SentNotice{other(SMS, day(0, 23, 30), NoticeStatusSent, false)},
			chans(SMS), nil},
		{"an unknown outcome counts (the borrower probably got it)", Default(), nil, 1,
			[]SentNotice{other(SMS, day(1, 9, 0), NoticeStatusUnknown, false)},
			nil, []SkippedChannel{{SMS, SkipCapDay}}},
		{"failed attempt does not count", Default(), nil, 1,
			[]SentNotice{other(SMS, day(1, 9, 0), NoticeStatusFailed, false)},
			chans(SMS), nil},
		{"confirmation does not count", Default(), nil, 1,
			[]SentNotice{other(SMS, day(1, 9, 0), NoticeStatusSent, true)},
			chans(SMS), nil},
		{"other channel does not count", Default(), nil, 1,
			[]SentNotice{other(Email, day(1, 9, 0), NoticeStatusSent, false)},
			chans(SMS), nil},
		{"weekly cap 2 reached", weekly2, nil, 7,
			[]SentNotice{
				other(SMS, day(1, 10, 0), NoticeStatusSent, false), other(SMS, day(3, 10, 0), NoticeStatusSent, false),
				other(Push, day(0, 10, 0), NoticeStatusSent, false), other(Push, day(3, 10, 0), NoticeStatusSent, false),
			},
			chans(Email, Push), []SkippedChannel{{SMS, SkipCap7Days}}},
		{"weekly cap: later notices do not count", weekly2, nil, 7,
			[]SentNotice{other(SMS, day(3, 10, 0), NoticeStatusSent, false), other(SMS, day(9, 10, 0), NoticeStatusSent, false)},
			chans(SMS, Email, Push), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
			if c.edit != nil {
				c.edit(&l.Customer)
			}
			asOf := due.AddDays(c.offset).At(loc, 10, 12) // the rung's own time
			pt, ok := NextPoint(l, c.p, loc, snapAt(l, loc, asOf, "1068.50"), c.sent, asOf)
			if !ok || pt.Offset != c.offset {
				t.Fatalf("%+v, want offset %d", pt, c.offset)
			}
			if !sameChannels(pt.Channels, c.channels) || !slices.Equal(pt.Skipped, c.skipped) {
				t.Errorf("channels %v skipped %v, want %v %v", pt.Channels, pt.Skipped, c.channels, c.skipped)
			}
		})
	}
}

// TestTimeZones: points are at send_at local on the right calendar day across
// DST changes, in half-hour zones, at month ends and on Feb 29.
func TestTimeZones(t *testing.T) {
	p := Default()
	for _, c := range []struct {
		tz, due string
		offset  int
		date    string
		utc     string // the instant, for zones where it is the point
	}{
		// America/New_York: DST starts 2026-03-08, ends 2026-11-01. L-1 spreads 49 minutes.
		{"America/New_York", "2026-03-07", 0, "2026-03-07", "2026-03-07T15:49:00Z"},
		{"America/New_York", "2026-03-08", 0, "2026-03-08", "2026-03-08T14:49:00Z"},
		{"America/New_York", "2026-03-09", 0, "2026-03-09", "2026-03-09T14:49:00Z"},
		{"America/New_York", "2026-03-05", 3, "2026-03-08", "2026-03-08T14:49:00Z"},
		{"America/New_York", "2026-10-31", 0, "2026-10-31", "2026-10-31T14:49:00Z"},
		{"America/New_York", "2026-11-01", 0, "2026-11-01", "2026-11-01T15:49:00Z"},
		{"America/New_York", "2026-11-02", 0, "2026-11-02", "2026-11-02T15:49:00Z"},
		{"America/New_York", "2026-11-04", -3, "2026-11-01", "2026-11-01T15:49:00Z"},
		{"Asia/Kolkata", "2026-12-01", 0, "2026-12-01", "2026-12-01T05:19:00Z"},
		{"Asia/Kolkata", "2026-12-01", 7, "2026-12-08", "2026-12-08T05:19:00Z"},
		// Month ends and leap days.
		{"Asia/Shanghai", "2027-01-31", -3, "2027-01-28", ""},
		{"Asia/Shanghai", "2027-01-31", 1, "2027-02-01", ""},
		{"Asia/Shanghai", "2027-01-31", 30, "2027-03-02", ""},
		{"Asia/Shanghai", "2027-01-31", 60, "2027-04-01", ""},
		{"Asia/Shanghai", "2026-08-31", 30, "2026-09-30", ""},
		{"Asia/Shanghai", "2027-02-28", 1, "2027-03-01", ""},
		{"Asia/Shanghai", "2028-02-28", 1, "2028-02-29", ""},
		{"Asia/Shanghai", "2028-02-29", -1, "2028-02-28", ""},
		{"Asia/Shanghai", "2028-02-29", 1, "2028-03-01", ""},
		{"Asia/Shanghai", "2028-01-30", 30, "2028-02-29", ""},
		{"Asia/Shanghai", "2027-12-31", 1, "2028-01-01", ""},
	} {
		t.Run(fmt.Sprintf("%s %s %+d", c.tz, c.due, c.offset), func(t *testing.T) {
			loc := mustLoc(t, c.tz)
			l := testLoan("L-1", c.tz, c.due)
			want := MustDate(c.date).At(loc, 10, 49)
			// Woken exactly at the rung's time: it is the point, on time.
			s := snapAt(l, loc, want, "1068.50")
			pt, ok := NextPoint(l, p, loc, s, handledUpTo(p, l, loc, 1, c.offset-1), want)
			if !ok || pt.Offset != c.offset || !pt.ScheduledAt.Equal(want) || pt.CatchUp {
				t.Fatalf("%+v, want offset %d at %v", pt, c.offset, want)
			}
			if lt := pt.At.In(loc); lt.Hour() != 10 || lt.Minute() != 49 || DateOf(lt) != MustDate(c.date) {
				t.Errorf("local %v", lt)
			}
			if c.utc != "" && pt.At.UTC().Format(time.RFC3339) != c.utc {
				t.Errorf("UTC %v, want %s", pt.At.UTC().Format(time.RFC3339), c.utc)
			}
			// Planned the day before: the same instant.
			before := want.Add(-24 * time.Hour)
			plan, _ := NextPoint(l, p, loc, snapAt(l, loc, before, "1068.50"), handledUpTo(p, l, loc, 1, c.offset-1), before)
			if !plan.At.Equal(want) {
				t.Errorf("planned %v, want %v", plan.At, want)
			}
		})
	}

	t.Run("catch-up window across the spring-forward", func(t *testing.T) {
		loc := mustLoc(t, "America/New_York")
		l := testLoan("L-1", "America/New_York", "2026-02-28")
		asOf := time.Date(2026, 3, 8, 7, 30, 0, 0, loc) // EDT, +7 (03-07 EST) missed
		pt, _ := NextPoint(l, p, loc, snapAt(l, loc, asOf, "1068.50"), nil, asOf)
		if pt.Offset != 7 || pt.At.UTC().Format(time.RFC3339) != "2026-03-08T12:00:00Z" {
			t.Errorf("%+v", pt)
		}
	})

	t.Run("nil location falls back to as_of's", func(t *testing.T) {
		loc := mustLoc(t, "Asia/Kolkata")
		l := testLoan("L-1", "Asia/Kolkata", "2026-12-01")
		asOf := MustDate("2026-11-01").At(loc, 9, 0)
		pt, _ := NextPoint(l, p, nil, snapAt(l, loc, asOf, "0"), nil, asOf)
		if want := MustDate("2026-11-28").At(loc, 10, 49); !pt.At.Equal(want) {
			t.Errorf("%v, want %v", pt.At, want)
		}
	})
}

func TestNoPoint(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-11-01", "2026-12-01")
	asOf := MustDate("2027-03-05").At(loc, 12, 0) // seq 1 DPD 124, seq 2 DPD 94

	t.Run("paid off", func(t *testing.T) {
		s := snapAt(l, loc, asOf, "0", 1, 2)
		if _, ok := NextPoint(l, p, loc, s, nil, asOf); ok || Stage(p, s) != "paid_off" {
			t.Error("point or stage for a paid-off loan")
		}
	})
	t.Run("all paid, state not yet paid_off", func(t *testing.T) {
		s := snapAt(l, loc, asOf, "0", 1, 2)
		s.State = StateCurrent
		if _, ok := NextPoint(l, p, loc, s, nil, asOf); ok || Stage(p, s) != "current" {
			t.Error("point for a loan with nothing unpaid")
		}
	})
	t.Run("charged off, charge-off not yet handled", func(t *testing.T) {
		s := snapAt(l, loc, asOf, "2137.00")
		pt, ok := NextPoint(l, p, loc, s, nil, asOf)
		if !ok || pt.Seq != 1 || pt.Offset != 90 || pt.Action != ActionChargeOff || Stage(p, s) != "charged_off" {
			t.Errorf("%+v %v", pt, ok)
		}
	})
	t.Run("charged off and handled, even when a recovery moves the driver", func(t *testing.T) {
		sent := []SentNotice{{Seq: 1, Offset: 90, Channel: Email, Status: NoticeStatusSent, At: asOf.Add(-time.Hour)}}
		s := snapAt(l, loc, asOf, "1068.50", 1)
		if pt, ok := NextPoint(l, p, loc, s, sent, asOf); ok {
			t.Errorf("point %+v after charge-off", pt)
		}
	})
	t.Run("overdue with no overdue rungs", func(t *testing.T) {
		p := Default()
		p.Reminders.Ladder = p.Reminders.Ladder[:3]
		s := snapAt(l, loc, MustDate("2026-11-05").At(loc, 12, 0), "1068.50")
		if pt, ok := NextPoint(l, p, loc, s, nil, s.AsOf); ok {
			t.Errorf("point %+v", pt)
		}
	})
	t.Run("a handled future rung is passed over", func(t *testing.T) {
		l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
		at := MustDate("2026-11-20").At(loc, 12, 0)
		sent := handledUpTo(p, l, loc, 1, -1) // −3 and −1 already attempted
		pt, _ := NextPoint(l, p, loc, snapAt(l, loc, at, "0"), sent, at)
		if pt.Offset != 0 {
			t.Errorf("%+v, want the 0 rung", pt)
		}
	})
	t.Run("confirmations are not ladder points", func(t *testing.T) {
		l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
		at := MustDate("2026-12-02").At(loc, 12, 0)
		sent := []SentNotice{{Key: ConfirmationKey(l.LoanID, "T-1", TemplatePaymentReceived, SMS), Seq: 1, Offset: 1,
			Channel: SMS, Template: TemplatePaymentReceived, Status: NoticeStatusSent, At: at.Add(-time.Hour), Confirmation: true}}
		pt, ok := NextPoint(l, p, loc, snapAt(l, loc, at, "500.00"), sent, at)
		if !ok || pt.Offset != 1 || !pt.CatchUp || !sameChannels(pt.Channels, chans(SMS)) {
			t.Errorf("%+v", pt)
		}
	})
}

func TestStage(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01")
	for _, c := range []struct {
		date, want string
	}{
		{"2026-11-27", "current"},
		{"2026-11-28", "upcoming"},
		{"2026-11-30", "upcoming"},
		{"2026-12-01", "due_today"},
		{"2026-12-02", "overdue_gentle"},
		{"2026-12-07", "overdue_gentle"},
		{"2026-12-08", "overdue_firm"},
		{"2026-12-16", "overdue_urgent"},
		{"2026-12-30", "overdue_urgent"},
		{"2026-12-31", "final_notice"},
		{"2027-02-28", "final_notice"},
		{"2027-03-01", "charged_off"},
	} {
		// 00:05 local: stage goes by calendar day, before the day's notice is sent.
		s := snapAt(l, loc, MustDate(c.date).At(loc, 0, 5), "1068.50")
		if got := Stage(p, s); got != c.want {
			t.Errorf("%s: Stage = %q, want %q", c.date, got, c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{NoticeKey("L-1", 0, 1, 7, SMS), "L-1/0/1/7/sms"},
		{NoticeKey("L-1", 2, 3, -3, Push), "L-1/2/3/-3/push"},
		{NoticeKey("L-2026-0001", 0, 1, 0, Email), "L-2026-0001/0/1/0/email"},
		{ConfirmationKey("L-1", "T-9", TemplatePaymentReceived, SMS), "L-1/T-9/payment_received/sms"},
		{ConfirmationKey("L-1", "T-10", TemplatePaidOff, SMS), "L-1/T-10/paid_off/sms"},
	} {
		if c.got != c.want {
			t.Errorf("key %q, want %q", c.got, c.want)
		}
	}
}

func TestBucket(t *testing.T) {
	for dpd, want := range map[int]string{
		-1: "current", 0: "current", 1: "1-7", 7: "1-7", 8: "8-15", 15: "8-15", 16: "16-30", 30: "16-30",
		31: "31-60", 60: "31-60", 61: "61-90", 90: "61-90", 91: "90+", 400: "90+",
	} {
		if got := Bucket(dpd); got != want {
			t.Errorf("Bucket(%d) = %q, want %q", dpd, got, want)
		}
	}
}

// TestWithSnapshotAt runs the catch-up case on the real balance: a loan
// started at DPD 45 sends +30 final_notice at once.
func TestWithSnapshotAt(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01", "2027-01-01")
	asOf := MustDate("2027-01-15").At(loc, 14, 0)
	s, err := SnapshotAt(l, p, History{}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	pt, ok := NextPoint(l, p, loc, s, nil, asOf)
	if !ok || pt.Seq != 1 || pt.Offset != 30 || pt.Template != "final_notice" || !pt.CatchUp || !pt.At.Equal(asOf) {
		t.Errorf("%+v", pt)
	}
	if s.Stage != "final_notice" || s.Bucket != "31-60" {
		t.Errorf("stage %q bucket %q", s.Stage, s.Bucket)
	}
}

// TestCatchUpByLocalDay: a loan started on the day of a rung, before the
// rung's time, waits for that rung under RulesCatchUpByDay instead of sending
// the previous (stale) rung at once and then hitting the daily cap; the
// original rules keep their behaviour for loans started under them.
func TestCatchUpByLocalDay(t *testing.T) {
	p := Default()
	loc := mustLoc(t, "Asia/Shanghai")
	l := testLoan("L-2026-0001", "Asia/Shanghai", "2026-12-01") // spread 12 minutes: rungs at 10:12
	d7 := MustDate("2026-12-08")
	firm := d7.At(loc, 10, 12)
	for _, c := range []struct {
		name       string
		rules      Rules
		asOf       time.Time
		sent       []SentNotice
		wantOffset int
		wantAt     time.Time
		wantCatch  bool
	}{
		{"original rules: stale D+3 at once", RulesOriginal, d7.At(loc, 9, 39), nil, 3, d7.At(loc, 9, 39), true},
		{"unset rules are the original", 0, d7.At(loc, 9, 39), nil, 3, d7.At(loc, 9, 39), true},
		{"by day: waits for today's D+7", RulesCatchUpByDay, d7.At(loc, 9, 39), nil, 7, firm, false},
		{"by day: before the window, waits for today's D+7", RulesCatchUpByDay, d7.At(loc, 6, 0), nil, 7, firm, false},
		{"by day: D+7 passed today is the catch-up", RulesCatchUpByDay, d7.At(loc, 10, 30), nil, 7, d7.At(loc, 10, 30), true},
		{"by day: the day before, D+3 is the catch-up", RulesCatchUpByDay, d7.AddDays(-1).At(loc, 15, 0), nil, 3, d7.AddDays(-1).At(loc, 15, 0), true},
		{"by day: today's rung handled, the next one on time", RulesCatchUpByDay, d7.At(loc, 9, 39),
			handledUpTo(p, l, loc, 1, 7), 15, MustDate("2026-12-16").At(loc, 10, 12), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pt, ok := NextPointUnder(c.rules, l, p, loc, snapAt(l, loc, c.asOf, "1045.00"), c.sent, c.asOf)
			if !ok || pt.Offset != c.wantOffset || !pt.At.Equal(c.wantAt) || pt.CatchUp != c.wantCatch {
				t.Fatalf("got ok=%v offset %d at %v catch-up %v; want offset %d at %v catch-up %v",
					ok, pt.Offset, pt.At, pt.CatchUp, c.wantOffset, c.wantAt, c.wantCatch)
			}
		})
	}
	for _, r := range []struct {
		r    Rules
		want bool
	}{{0, false}, {RulesOriginal, true}, {LatestRules, true}, {LatestRules + 1, false}} {
		if r.r.Known() != r.want {
			t.Errorf("Rules(%d).Known() = %v", r.r, !r.want)
		}
	}
}
