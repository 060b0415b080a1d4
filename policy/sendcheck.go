package policy

import (
	"fmt"
	"slices"
	"time"
)

// SkipWindow is the reason of a notice the send-time check (SendCheck) stopped
// because the moment of sending fell outside the contact window: a send
// retried past the window's end, a stale plan. The plan never gives it (it
// moves a point into the window instead).
const SkipWindow = "window"

// Statuses of the notices table that the plan never sees but the send-time
// check counts: a reservation in flight, and what a delivery receipt made of
// a sent or unknown notice.
const (
	NoticeStatusPending     = "pending"
	NoticeStatusDelivered   = "delivered"
	NoticeStatusUndelivered = "undelivered"
)

// IsConfirmation reports whether template is a repayment confirmation's
// (payment_received, paid_off): such a notice answers the borrower's own act,
// goes out outside the contact window too and never counts against the caps.
// The audit table keeps no other mark of a confirmation, so the send-time
// check recognises earlier ones by their template, and the ladder may not use
// these templates (Validate).
func IsConfirmation(template string) bool {
	return template == TemplatePaymentReceived || template == TemplatePaidOff
}

// SendCheck is the compliance a notice is checked against a second time, at
// the moment it is sent, against the audit store rather than the loan's own
// state: the contact window in the customer's time zone, and the frequency
// caps counted per channel and address across every loan (the borrower is
// one person). Opt-outs come from the store's opt_outs table. The workflow
// plans with its own state (skipReason, intoWindow); this second check stops
// what the plan cannot see: a send retried past the window's end, a plan made
// before another loan of the same borrower used the day's cap, an opt-out the
// loan has not heard of, a worker whose clock jumped.
//
// A confirmation (IsConfirmation of its template) is checked for opt-outs
// only, as the plan does.
type SendCheck struct {
	// TimeZone is the IANA zone the customer's days and hours are counted in.
	TimeZone string `json:"time_zone"`
	// Window is the policy's reminders.contact_window.
	Window Window `json:"contact_window"`
	// Caps are the policy's caps; a cap of zero or less is no cap.
	Caps Caps `json:"caps"`
}

// PriorNotice is a notice already recorded to the same channel and address,
// by any loan, as the send-time check sees it.
type PriorNotice struct {
	Template string
	Status   string
	// At is when it was sent or, when it has no send time (pending,
	// unknown), when it was reserved.
	At time.Time
}

// CountsFrom is the earliest instant at which a prior notice can count
// against c's caps for a notice sent at now: local midnight CapWindowDays-1
// days before now's local day. A store need read no older notices.
func (c SendCheck) CountsFrom(now time.Time) (time.Time, error) {
	loc, err := loadZone(c.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("send check: %w", err)
	}
	return LocalDate(now, loc).AddDays(-(CapWindowDays - 1)).Midnight(loc), nil
}

// Stop is why a notice with template to address on a channel may not go out
// at now, or "" when it may; optedOut tells whether the address has an open
// opt-out on that channel and prior lists the notices already recorded to it
// (the notice's own key excluded). The reasons, first that applies:
//
//   - SkipOptedOut: an open opt-out. Confirmations too.
//   - SkipNoAddress: address is empty. Confirmations too.
//   - SkipWindow: now is outside the contact window in c.TimeZone. Now may lie
//     up to ClockSkew before the window's start: the plan puts a point at the
//     opening by the workflow's clock, and a store clock a little behind it
//     must not skip that notice. There is no tolerance at the end, where a
//     late send is exactly what the check stops.
//   - SkipCapDay, SkipCap7Days: the caps, counted as skipReason counts them,
//     by local calendar day, with the statuses that may have reached the
//     borrower (sent, unknown, delivered, undelivered) and reservations in
//     flight (pending), never confirmations.
//
// A confirmation is exempt from the window and the caps. An unknown time
// zone is an error.
func (c SendCheck) Stop(template, address string, optedOut bool, prior []PriorNotice, now time.Time) (string, error) {
	loc, err := loadZone(c.TimeZone)
	if err != nil {
		return "", fmt.Errorf("send check: %w", err)
	}
	switch {
	case optedOut:
		return SkipOptedOut, nil
	case address == "":
		return SkipNoAddress, nil
	case IsConfirmation(template):
		return "", nil
	case !InWindow(c.Window, loc, now) && !InWindow(c.Window, loc, now.Add(ClockSkew)):
		return SkipWindow, nil
	}
	day := LocalDate(now, loc)
	perDay, per7 := 0, 0
	for _, p := range prior {
		if IsConfirmation(p.Template) || !countsAgainstCaps(p.Status) {
			continue
		}
		k := day.DaysSince(LocalDate(p.At, loc))
		if k <= 0 {
			// Today, or stamped a little ahead of now by another clock.
			perDay++
		}
		if k < CapWindowDays {
			per7++
		}
	}
	if c.Caps.MaxPerChannelPerDay > 0 && perDay >= c.Caps.MaxPerChannelPerDay {
		return SkipCapDay, nil
	}
	if c.Caps.MaxPerChannelPer7Days > 0 && per7 >= c.Caps.MaxPerChannelPer7Days {
		return SkipCap7Days, nil
	}
	return "", nil
}

// countsAgainstCaps reports whether a notice in status may have reached the
// borrower, or is about to: only those count against the caps.
func countsAgainstCaps(status string) bool {
	return slices.Contains([]string{NoticeStatusSent, NoticeStatusUnknown, NoticeStatusDelivered,
		NoticeStatusUndelivered, NoticeStatusPending}, status)
}

// InWindow reports whether t is inside the contact window w in loc: at or
// after its start and before its end, local wall time to the minute. A window
// whose end is before its start spans midnight; a zero-length one (start ==
// end) is no limit.
func InWindow(w Window, loc *time.Location, t time.Time) bool {
	lt := t.In(loc)
	d, m := DateOf(lt), lt.Hour()*60+lt.Minute()
	nd, nm := intoWindow(w, d, m)
	return nd == d && nm == m
}
