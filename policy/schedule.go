package policy

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"time"
)

// CapWindowDays is the window of Caps.MaxPerChannelPer7Days: the local day of
// a notice and the six before it. The workflow keeps the notices of at least
// that many days (plus one, for time zone changes) to apply the caps.
const CapWindowDays = 7

// Notice statuses, as recorded in the audit table and in SentNotice.Status.
// Only NoticeStatusSent and NoticeStatusUnknown count against the frequency
// caps.
const (
	NoticeStatusSent    = "sent"
	NoticeStatusFailed  = "failed"
	NoticeStatusSkipped = "skipped"
	// NoticeStatusUnknown: the provider may have taken the notice (its answer
	// was lost and it cannot deduplicate a resend). It counts against the
	// caps like a sent one: the borrower probably got it.
	NoticeStatusUnknown = "unknown"
)

// Reasons a planned channel of a point is not sent (SkippedChannel.Reason),
// recorded in the audit table as the skipped notice's reason.
const (
	SkipOptedOut  = "opted_out"  // the customer opted out of the channel
	SkipNoAddress = "no_address" // no phone (sms), email (email) or push token (push)
	SkipCapDay    = "cap_day"    // Caps.MaxPerChannelPerDay reached on the local day of the point
	SkipCap7Days  = "cap_7_days" // Caps.MaxPerChannelPer7Days reached in the 7 local days ending that day
)

// SentNotice is a notice already attempted for this loan, as the workflow
// keeps it in its state: enough to tell which ladder points are handled and
// to apply the frequency caps without reading the database.
type SentNotice struct {
	Key             string  `json:"key"`
	ScheduleVersion int     `json:"schedule_version"`
	Seq             int     `json:"seq"`
	Offset          int     `json:"offset"`
	Channel         Channel `json:"channel"`
	Template        string  `json:"template"`
	// Status is NoticeStatusSent, NoticeStatusFailed or NoticeStatusSkipped.
	Status string `json:"status"`
	// At is when the notice was sent or attempted.
	At time.Time `json:"at"`
	// Confirmation marks a payment_received / paid_off notice: it answers the
	// borrower's own act, never counts against the caps and is not a ladder
	// point (its Seq and Offset mean nothing).
	Confirmation bool `json:"confirmation,omitempty"`
}

// SkippedChannel is a channel a point planned but cannot send, with the
// reason the workflow records in the audit table.
type SkippedChannel struct {
	Channel Channel `json:"channel"`
	Reason  string  `json:"reason"`
}

// Point is the next thing the loan workflow has to do on the reminder ladder:
// when to wake up, which notices to send and which to record as skipped, and
// what action to take. It is computed by NextPoint from the balance snapshot
// and the notices already attempted, so the workflow stores nothing else.
type Point struct {
	// At is when to act, in the customer's location: ScheduledAt, or for a
	// catch-up as_of (or the next contact-window opening).
	At time.Time `json:"at"`
	// ScheduledAt is the rung's nominal time: due date + offset at send_at plus
	// the loan's spread, moved into the contact window.
	ScheduledAt     time.Time `json:"scheduled_at"`
	ScheduleVersion int       `json:"schedule_version"`
	// Seq is the installment that drives the point; one point covers every
	// overdue installment (coalesced), it is keyed by the driver only.
	Seq     int  `json:"seq"`
	DueDate Date `json:"due_date"`
	Offset  int  `json:"offset"`
	// Template is the rung's template after large-amount escalation.
	Template string `json:"template"`
	// Channels are the channels to send on, in AllChannels order.
	Channels []Channel `json:"channels,omitempty"`
	// Skipped are channels the rung planned but that cannot be sent.
	Skipped []SkippedChannel `json:"skipped,omitempty"`
	Action  Action           `json:"action,omitempty"`
	// CatchUp is true for a missed point sent late (as_of after ScheduledAt).
	CatchUp bool `json:"catch_up,omitempty"`
	// Escalated is true when the large-amount rule applied to the point.
	Escalated bool `json:"escalated,omitempty"`
}

// NextPoint is the next reminder-ladder point of loan l as of asOf, given the
// balance snapshot s (at asOf) and the notices already attempted; false when
// there is none left. loc is the customer's time zone (nil: asOf's location).
//
// The driver: while any installment is overdue, the OLDEST overdue one drives
// and only rungs with offset ≥ 1 apply (pre-due rungs of later installments are
// suppressed: the overdue notice covers everything owed). Otherwise the oldest
// due or upcoming installment drives and every rung applies. A snapshot in
// state paid_off, or with no unpaid installment, has no point.
//
// A rung is handled when sent holds a non-confirmation notice with the same
// schedule version, installment seq and offset (any channel, any status).
// Catch-up: of the driver's rungs whose nominal time is ≤ asOf only the latest
// one counts; if it is not handled it is the point, at asOf when asOf is in the
// contact window or else at the next window opening, with CatchUp set when
// asOf is after its nominal time. Earlier missed rungs are never replayed. If
// it is handled (or no rung is past), the point is the earliest unhandled rung
// whose nominal time is after asOf, at its nominal time. A handled future rung
// is passed over rather than returned again, so a workflow whose clock stands
// still cannot loop on it.
//
// Once the loan is charged off (s.ChargedOff or state charged_off) and a
// charge-off rung is handled for any installment of the current schedule
// version, there is no point: charge-off ends the reminders, even if a
// recovery payment later moves the driver to another installment.
//
// NextPoint does not look at s.Paused: the workflow does not wait on points
// while paused, and after resume the catch-up rule applies. The template and
// channels depend on the overdue total, so call it with a snapshot taken at
// the moment of acting (the wake-up time), not the one used to plan the timer.
func NextPoint(l Loan, p Policy, loc *time.Location, s Snapshot, sent []SentNotice, asOf time.Time) (Point, bool) {
	return NextPointUnder(LatestRules, l, p, loc, s, sent, asOf)
}

// NextPointUnder is NextPoint under rules version r. Under RulesOriginal a rung
// is "past" once its time has passed, so a loan woken at 10:39 on the day of a
// rung due at 10:56 caught up the previous rung at once. From
// RulesCatchUpByDay on a rung is past once its local day has come: if its time
// today is still ahead, that rung is the point at its own time (nothing stale
// is sent before it); if its time has passed, it is the catch-up as before.
func NextPointUnder(r Rules, l Loan, p Policy, loc *time.Location, s Snapshot, sent []SentNotice, asOf time.Time) (Point, bool) {
	if loc == nil {
		loc = asOf.Location()
	}
	if s.State == StatePaidOff {
		return Point{}, false
	}
	drv, overdue, ok := driver(s)
	if !ok {
		return Point{}, false
	}
	rungs := applicableRungs(p, overdue)
	if isChargedOff(s) && chargeOffHandled(rungs, s.ScheduleVersion, sent) {
		return Point{}, false
	}

	spread := Spread(l.LoanID, p.Reminders.SpreadMinutes)
	var (
		past, next         Rung
		pastAt, nextAt     time.Time
		havePast, haveNext bool
	)
	today := LocalDate(asOf, loc)
	for _, rg := range rungs {
		t := rungTime(p, spread, loc, drv.DueDate, rg.Offset)
		isPast := !t.After(asOf)
		if r.OrOriginal() >= RulesCatchUpByDay {
			isPast = !LocalDate(t, loc).After(today)
		}
		if isPast {
			if !havePast || !t.Before(pastAt) {
				past, pastAt, havePast = rg, t, true
			}
			continue
		}
		if handled(sent, s.ScheduleVersion, drv.Seq, rg.Offset) {
			continue
		}
		if !haveNext || t.Before(nextAt) {
			next, nextAt, haveNext = rg, t, true
		}
	}

	if havePast && !handled(sent, s.ScheduleVersion, drv.Seq, past.Offset) {
		if pastAt.After(asOf) {
			// Today's rung, later today: wait for it (RulesCatchUpByDay).
			return buildPoint(l, p, loc, s, sent, drv, past, pastAt, pastAt), true
		}
		at := intoWindowAt(p.Reminders.ContactWindow, loc, asOf)
		pt := buildPoint(l, p, loc, s, sent, drv, past, pastAt, at)
		pt.CatchUp = asOf.After(pastAt)
		return pt, true
	}
	if haveNext {
		return buildPoint(l, p, loc, s, sent, drv, next, nextAt, nextAt), true
	}
	return Point{}, false
}

// NoticeKey is the idempotency key of a ladder notice,
// "<loan_id>/<schedule version>/<installment seq>/<offset>/<channel>" (e.g.
// "L-1/0/1/-3/push"), unique in the audit table so a retried activity never
// sends twice.
func NoticeKey(loanID string, version, seq, offset int, ch Channel) string {
	return fmt.Sprintf("%s/%d/%d/%d/%s", loanID, version, seq, offset, ch)
}

// ConfirmationKey is the idempotency key of a repayment confirmation,
// "<loan_id>/<txn_id>/<template>/<channel>": one confirmation per repayment,
// however often the repay update is retried.
func ConfirmationKey(loanID, txnID, template string, ch Channel) string {
	return fmt.Sprintf("%s/%s/%s/%s", loanID, txnID, template, ch)
}

// Spread is the loan's deterministic delay in minutes after send_at, FNV-1a
// 32 of the loan id modulo minutes (0 when minutes ≤ 0), so loans due on the
// same day do not all fire in the same second and a replayed workflow computes
// the same time.
func Spread(loanID string, minutes int) int {
	if minutes <= 0 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(loanID)) // never fails
	return int(h.Sum32() % uint32(minutes))
}

// Bucket is the delinquency bucket of a days-past-due count, the
// DelinquencyBucket search attribute: current (0), 1-7, 8-15, 16-30, 31-60,
// 61-90, 90+ (91 and more).
func Bucket(dpd int) string {
	switch {
	case dpd <= 0:
		return "current"
	case dpd <= 7:
		return "1-7"
	case dpd <= 15:
		return "8-15"
	case dpd <= 30:
		return "16-30"
	case dpd <= 60:
		return "31-60"
	case dpd <= 90:
		return "61-90"
	default:
		return "90+"
	}
}

// Stage is where the loan stands on the ladder, for the snapshot and the
// operator: "paid_off" when the snapshot's state is paid_off, "charged_off"
// once charged off, otherwise the template of the latest rung of the driving
// installment (chosen as in NextPoint) whose date, due date + offset, is on or
// before the local date of s.AsOf (s.AsOf carries the customer's location),
// escalated as NextPoint escalates it for large amounts; "current" when no
// rung is reached yet. It goes by calendar day, not by the time of day a
// notice is sent.
func Stage(p Policy, s Snapshot) string {
	if s.State == StatePaidOff {
		return StatePaidOff
	}
	if isChargedOff(s) {
		return StateChargedOff
	}
	stage := StateCurrent
	drv, overdue, ok := driver(s)
	if !ok {
		return stage
	}
	rungs := p.Reminders.Ladder
	if !slices.IsSortedFunc(rungs, func(a, b Rung) int { return cmp.Compare(a.Offset, b.Offset) }) {
		rungs = sortedLadder(p)
	}
	// The ladder in offset order, as applicableRungs gives it, without
	// copying it, and days as numbers: every snapshot asks for its stage.
	// due+offset > today is drv.DueDate.AddDays(r.Offset).After(today):
	// AddDays and DateOf give days of the calendar as written, which Date
	// orders as their numbers.
	due, today := drv.DueDate.days(), DateOf(s.AsOf).days()
	for _, r := range rungs {
		if overdue && r.Offset < 1 {
			continue
		}
		if due+r.Offset > today {
			break
		}
		stage = r.Template
		if escalates(p, s, r) {
			stage = EscalatedTemplate(p, r.Template)
		}
	}
	return stage
}

// EscalatedTemplate is the template a large-amount overdue point uses instead
// of template: the next stage's. The stages are the distinct templates of the
// overdue rungs (offset ≥ 1) in offset order, up to the charge-off rung
// (overdue_gentle → overdue_firm → overdue_urgent → final_notice by default).
// The last stage maps to itself, and any other template (pre-due ones,
// charged_off) is returned unchanged.
func EscalatedTemplate(p Policy, template string) string {
	var stages []string
	for _, r := range sortedLadder(p) {
		if r.Action == ActionChargeOff {
			break
		}
		if r.Offset >= 1 && !slices.Contains(stages, r.Template) {
			stages = append(stages, r.Template)
		}
	}
	i := slices.Index(stages, template)
	if i < 0 || i == len(stages)-1 {
		return template
	}
	return stages[i+1]
}

// driver is the installment that drives the ladder and whether it is overdue:
// the oldest overdue installment, else the oldest due or upcoming one.
// Installment order in the snapshot does not matter.
func driver(s Snapshot) (InstallmentState, bool, bool) {
	od, open := -1, -1
	older := func(i, j int) bool {
		a, b := s.Installments[i], s.Installments[j]
		if c := a.DueDate.DaysSince(b.DueDate); c != 0 {
			return c < 0
		}
		return a.Seq < b.Seq
	}
	for i, in := range s.Installments {
		switch in.Status {
		case StatusOverdue:
			if od < 0 || older(i, od) {
				od = i
			}
		case StatusDue, StatusUpcoming:
			if open < 0 || older(i, open) {
				open = i
			}
		}
	}
	switch {
	case od >= 0:
		return s.Installments[od], true, true
	case open >= 0:
		return s.Installments[open], false, true
	}
	return InstallmentState{}, false, false
}

// sortedLadder is a copy of the policy's ladder in offset order, so a policy
// file may list rungs in any order.
func sortedLadder(p Policy) []Rung {
	rungs := slices.Clone(p.Reminders.Ladder)
	slices.SortStableFunc(rungs, func(a, b Rung) int { return cmp.Compare(a.Offset, b.Offset) })
	return rungs
}

// applicableRungs are the rungs an overdue (offset ≥ 1 only) or not yet
// overdue (all) driver follows, in offset order.
func applicableRungs(p Policy, overdue bool) []Rung {
	rungs := sortedLadder(p)
	if !overdue {
		return rungs
	}
	return slices.DeleteFunc(rungs, func(r Rung) bool { return r.Offset < 1 })
}

func isChargedOff(s Snapshot) bool { return s.ChargedOff || s.State == StateChargedOff }

// chargeOffHandled reports whether a charge-off rung was handled for any
// installment of schedule version v.
func chargeOffHandled(rungs []Rung, v int, sent []SentNotice) bool {
	for _, r := range rungs {
		if r.Action != ActionChargeOff {
			continue
		}
		for _, n := range sent {
			if !n.Confirmation && n.ScheduleVersion == v && n.Offset == r.Offset {
				return true
			}
		}
	}
	return false
}

// handled reports whether the rung (v, seq, offset) was already attempted on
// any channel with any status.
func handled(sent []SentNotice, v, seq, offset int) bool {
	return slices.ContainsFunc(sent, func(n SentNotice) bool {
		return !n.Confirmation && n.ScheduleVersion == v && n.Seq == seq && n.Offset == offset
	})
}

// rungTime is the nominal time of the rung at offset from due: send_at plus
// the spread on the local day due+offset, moved into the contact window. It is
// built from wall-clock fields with Date.At, so it stays at the same local
// time across DST changes.
func rungTime(p Policy, spread int, loc *time.Location, due Date, offset int) time.Time {
	m := p.Reminders.SendAt.Minutes() + spread
	d := due.AddDays(offset + m/(24*60))
	d, m = intoWindow(p.Reminders.ContactWindow, d, m%(24*60))
	return d.At(loc, m/60, m%60)
}

// intoWindow is the first local wall time (day, minute of day) at or after
// (d, m) inside the contact window: before Start → Start that day, at or after
// End → Start the next day. A window whose End is before its Start spans
// midnight; a zero-length window (Start == End, e.g. unset) means no limit.
func intoWindow(w Window, d Date, m int) (Date, int) {
	start, end := w.Start.Minutes(), w.End.Minutes()
	switch {
	case start == end:
		return d, m
	case start < end:
		if m < start {
			return d, start
		}
		if m >= end {
			return d.AddDays(1), start
		}
		return d, m
	default:
		if m >= end && m < start {
			return d, start
		}
		return d, m
	}
}

// intoWindowAt is t itself (in loc) when it is inside the contact window, else
// the next window opening.
func intoWindowAt(w Window, loc *time.Location, t time.Time) time.Time {
	lt := t.In(loc)
	d, m := DateOf(lt), lt.Hour()*60+lt.Minute()
	nd, nm := intoWindow(w, d, m)
	if nd == d && nm == m {
		return lt
	}
	return nd.At(loc, nm/60, nm%60)
}

// escalates reports whether the large-amount rule applies to rung r: an
// overdue rung (offset ≥ 1) while the overdue total has reached LargeAmount.
// A LargeAmount of zero or less disables the rule (an unset policy field must
// not escalate every loan).
func escalates(p Policy, s Snapshot, r Rung) bool {
	la := p.Reminders.LargeAmount
	return r.Offset >= 1 && la.IsPositive() && s.Overdue.Total.GreaterThanOrEqual(la)
}

// buildPoint is the point of rung r of the driver, nominally at scheduled and
// acted on at at: template escalation, then the channels checked one by one.
func buildPoint(l Loan, p Policy, loc *time.Location, s Snapshot, sent []SentNotice,
	drv InstallmentState, r Rung, scheduled, at time.Time) Point {
	pt := Point{
		At:              at,
		ScheduledAt:     scheduled,
		ScheduleVersion: s.ScheduleVersion,
		Seq:             drv.Seq,
		DueDate:         drv.DueDate,
		Offset:          r.Offset,
		Template:        r.Template,
		Action:          r.Action,
	}
	planned := r.Channels
	if escalates(p, s, r) {
		pt.Template = EscalatedTemplate(p, r.Template)
		pt.Escalated = true
		planned = append(slices.Clone(planned), Email)
	}
	for _, ch := range AllChannels {
		if !slices.Contains(planned, ch) {
			continue
		}
		if reason := skipReason(l.Customer, p.Caps, loc, sent, ch, at); reason != "" {
			pt.Skipped = append(pt.Skipped, SkippedChannel{Channel: ch, Reason: reason})
			continue
		}
		pt.Channels = append(pt.Channels, ch)
	}
	return pt
}

// skipReason is why channel ch cannot be used at at, or "" when it can:
// opt-out first, then a missing address, then the daily and 7-day caps. Caps
// count only notices with status sent that are not confirmations, on the
// same channel, by local calendar day; a cap of zero or less means no cap.
func skipReason(c Customer, caps Caps, loc *time.Location, sent []SentNotice, ch Channel, at time.Time) string {
	if slices.Contains(c.OptOuts, ch) {
		return SkipOptedOut
	}
	if c.Address(ch) == "" {
		return SkipNoAddress
	}
	day := LocalDate(at, loc)
	perDay, per7 := 0, 0
	for _, n := range sent {
		if (n.Status != NoticeStatusSent && n.Status != NoticeStatusUnknown) || n.Confirmation || n.Channel != ch {
			continue
		}
		k := day.DaysSince(LocalDate(n.At, loc))
		if k == 0 {
			perDay++
		}
		if k >= 0 && k < CapWindowDays {
			per7++
		}
	}
	if caps.MaxPerChannelPerDay > 0 && perDay >= caps.MaxPerChannelPerDay {
		return SkipCapDay
	}
	if caps.MaxPerChannelPer7Days > 0 && per7 >= caps.MaxPerChannelPer7Days {
		return SkipCap7Days
	}
	return ""
}
