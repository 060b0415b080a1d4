package policy

import (
	"testing"
	"time"
)

// The send-time check, as a table: what stops a notice at the moment it is
// sent, in the order the reasons apply.
func TestSendCheck(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	ny := mustLoc(t, "America/New_York")
	check := SendCheck{TimeZone: "Asia/Shanghai", Window: Default().Reminders.ContactWindow, Caps: Default().Caps}
	noon := time.Date(2026, 12, 8, 12, 0, 0, 0, sh)
	sent := func(at time.Time) PriorNotice {
		return PriorNotice{Template: "overdue_firm", Status: NoticeStatusSent, At: at}
	}
	days := func(n int, status string) []PriorNotice {
		var out []PriorNotice
		for i := 1; i <= n; i++ {
			out = append(out, PriorNotice{Template: "overdue_gentle", Status: status, At: noon.AddDate(0, 0, -i)})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		check    SendCheck
		template string
		address  string
		optedOut bool
		prior    []PriorNotice
		now      time.Time
		want     string
	}{
		{name: "nothing stops it", now: noon},
		{name: "opted out", optedOut: true, now: noon, want: SkipOptedOut},
		{name: "opted out beats the window", optedOut: true, now: noon.Add(10 * time.Hour), want: SkipOptedOut},
		{name: "no address", address: "-", now: noon, want: SkipNoAddress},
		{name: "at the window's start", now: time.Date(2026, 12, 8, 8, 0, 0, 0, sh)},
		{name: "within clock skew before the start", now: time.Date(2026, 12, 8, 7, 58, 30, 0, sh)},
		{name: "more than clock skew before the start", now: time.Date(2026, 12, 8, 7, 57, 59, 0, sh), want: SkipWindow},
		{name: "the window's last second", now: time.Date(2026, 12, 8, 20, 59, 59, 0, sh)},
		{name: "at the window's end: no tolerance", now: time.Date(2026, 12, 8, 21, 0, 0, 0, sh), want: SkipWindow},
		{name: "a retry at night", now: time.Date(2026, 12, 9, 2, 0, 0, 0, sh), want: SkipWindow},
		{name: "window in the customer's zone, not the clock's", now: time.Date(2026, 12, 8, 14, 0, 0, 0, time.UTC), want: SkipWindow},
		{name: "New York after the DST change", check: SendCheck{TimeZone: "America/New_York", Window: check.Window, Caps: check.Caps},
			now: time.Date(2026, 3, 9, 12, 30, 0, 0, time.UTC)}, // 08:30 EDT
		{name: "New York before opening", check: SendCheck{TimeZone: "America/New_York", Window: check.Window, Caps: check.Caps},
			now: time.Date(2026, 3, 9, 8, 30, 0, 0, ny).Add(-2 * time.Hour), want: SkipWindow},
		{name: "no window", check: SendCheck{TimeZone: "Asia/Shanghai"}, now: noon.Add(14 * time.Hour)},
		{name: "cap day", prior: []PriorNotice{sent(noon.Add(-3 * time.Hour))}, now: noon, want: SkipCapDay},
		{name: "cap day counts unknown", prior: []PriorNotice{{Template: "upcoming", Status: NoticeStatusUnknown, At: noon.Add(-time.Hour)}}, now: noon, want: SkipCapDay},
		{name: "cap day counts delivered", prior: []PriorNotice{{Template: "upcoming", Status: NoticeStatusDelivered, At: noon.Add(-time.Hour)}}, now: noon, want: SkipCapDay},
		{name: "cap day counts undelivered", prior: []PriorNotice{{Template: "upcoming", Status: NoticeStatusUndelivered, At: noon.Add(-time.Hour)}}, now: noon, want: SkipCapDay},
		{name: "cap day counts one in flight", prior: []PriorNotice{{Template: "upcoming", Status: NoticeStatusPending, At: noon.Add(-time.Second)}}, now: noon, want: SkipCapDay},
		{name: "failed and skipped do not count", prior: []PriorNotice{
			{Template: "upcoming", Status: NoticeStatusFailed, At: noon.Add(-time.Hour)},
			{Template: "upcoming", Status: NoticeStatusSkipped, At: noon.Add(-time.Hour)}}, now: noon},
		{name: "confirmations do not count", prior: []PriorNotice{
			{Template: TemplatePaymentReceived, Status: NoticeStatusSent, At: noon.Add(-time.Hour)},
			{Template: TemplatePaidOff, Status: NoticeStatusDelivered, At: noon.Add(-time.Hour)}}, now: noon},
		{name: "yesterday by local day", prior: []PriorNotice{sent(time.Date(2026, 12, 7, 23, 59, 0, 0, sh))}, now: noon},
		{name: "today by local day though yesterday in UTC", prior: []PriorNotice{sent(time.Date(2026, 12, 8, 0, 30, 0, 0, sh))}, now: noon, want: SkipCapDay},
		{name: "stamped a little ahead by another clock", prior: []PriorNotice{sent(time.Date(2026, 12, 9, 0, 0, 10, 0, sh))},
			now: time.Date(2026, 12, 8, 20, 59, 59, 0, sh), want: SkipCapDay},
		{name: "six days: under the 7-day cap", prior: days(6, NoticeStatusSent), now: noon},
		{name: "cap 7 days", prior: append(days(6, NoticeStatusSent), PriorNotice{Template: "x", Status: NoticeStatusSent, At: noon.Add(-time.Hour)}),
			now: noon.Add(time.Hour), check: SendCheck{TimeZone: "Asia/Shanghai", Window: check.Window, Caps: Caps{MaxPerChannelPerDay: 2, MaxPerChannelPer7Days: 7}},
			want: SkipCap7Days},
		{name: "the eighth day back is out of the window", prior: append(days(6, NoticeStatusSent), sent(noon.AddDate(0, 0, -7))),
			now: noon, check: SendCheck{TimeZone: "Asia/Shanghai", Window: check.Window, Caps: Caps{MaxPerChannelPerDay: 2, MaxPerChannelPer7Days: 7}}},
		{name: "no caps", prior: days(7, NoticeStatusSent), now: noon, check: SendCheck{TimeZone: "Asia/Shanghai", Window: check.Window}},
		{name: "a confirmation at night", template: TemplatePaymentReceived, now: noon.Add(12 * time.Hour)},
		{name: "a confirmation over the caps", template: TemplatePaidOff, prior: []PriorNotice{sent(noon.Add(-time.Hour))}, now: noon},
		{name: "a confirmation opted out", template: TemplatePaidOff, optedOut: true, now: noon, want: SkipOptedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			if c.TimeZone == "" {
				c = check
			}
			tmpl := tc.template
			if tmpl == "" {
				tmpl = "overdue_firm"
			}
			addr := "+8613800138000"
			if tc.address == "-" {
				addr = ""
			}
			got, err := c.Stop(tmpl, addr, tc.optedOut, tc.prior, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Stop = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSendCheckCountsFromAndZones(t *testing.T) {
	sh := mustLoc(t, "Asia/Shanghai")
	c := SendCheck{TimeZone: "Asia/Shanghai"}
	from, err := c.CountsFrom(time.Date(2026, 12, 8, 1, 0, 0, 0, sh))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 2, 0, 0, 0, 0, sh); !from.Equal(want) {
		t.Errorf("CountsFrom = %s, want %s (local midnight six days back)", from, want)
	}
	for _, tz := range []string{"", "Local", "Mars/Olympus"} {
		bad := SendCheck{TimeZone: tz}
		if _, err := bad.CountsFrom(time.Now()); err == nil {
			t.Errorf("CountsFrom in %q: no error", tz)
		}
		if _, err := bad.Stop("overdue_firm", "x", false, nil, time.Now()); err == nil {
			t.Errorf("Stop in %q: no error", tz)
		}
	}
}

func TestIsConfirmation(t *testing.T) {
	for tmpl, want := range map[string]bool{TemplatePaymentReceived: true, TemplatePaidOff: true, "overdue_firm": false, "": false} {
		if got := IsConfirmation(tmpl); got != want {
			t.Errorf("IsConfirmation(%q) = %v", tmpl, got)
		}
	}
}
