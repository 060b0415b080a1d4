package workflows

import (
	"errors"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"dunning/policy"
	"dunning/store"
)

// signalChannels are the loan's signal channels, read in one fixed order.
type signalChannels struct {
	pause, resume, close, contact, reschedule workflow.ReceiveChannel
}

func newSignalChannels(ctx workflow.Context) signalChannels {
	return signalChannels{
		pause:      workflow.GetSignalChannel(ctx, SignalPause),
		resume:     workflow.GetSignalChannel(ctx, SignalResume),
		close:      workflow.GetSignalChannel(ctx, SignalClose),
		contact:    workflow.GetSignalChannel(ctx, SignalUpdateContact),
		reschedule: workflow.GetSignalChannel(ctx, SignalReschedule),
	}
}

// addTo makes sel wake on any signal and apply it.
func (s signalChannels) addTo(ctx workflow.Context, sel workflow.Selector, l *loan) {
	sel.AddReceive(s.pause, func(c workflow.ReceiveChannel, _ bool) {
		var p PauseSignal
		c.Receive(ctx, &p)
		l.onPause(ctx, p)
	})
	sel.AddReceive(s.resume, func(c workflow.ReceiveChannel, _ bool) {
		var r ResumeSignal
		c.Receive(ctx, &r)
		l.onResume(ctx, r)
	})
	sel.AddReceive(s.close, func(c workflow.ReceiveChannel, _ bool) {
		var r CloseSignal
		c.Receive(ctx, &r)
		l.onClose(ctx, r)
	})
	sel.AddReceive(s.contact, func(c workflow.ReceiveChannel, _ bool) {
		var u ContactUpdate
		c.Receive(ctx, &u)
		l.onContact(ctx, u)
	})
	sel.AddReceive(s.reschedule, func(c workflow.ReceiveChannel, _ bool) {
		var r RescheduleSignal
		c.Receive(ctx, &r)
		l.onReschedule(ctx, r)
	})
}

// drain applies every signal already buffered; it reports whether it found any.
func (s signalChannels) drain(ctx workflow.Context, l *loan) bool {
	found := false
	var p PauseSignal
	for s.pause.ReceiveAsync(&p) {
		l.onPause(ctx, p)
		found, p = true, PauseSignal{}
	}
	var r ResumeSignal
	for s.resume.ReceiveAsync(&r) {
		l.onResume(ctx, r)
		found, r = true, ResumeSignal{}
	}
	var c CloseSignal
	for s.close.ReceiveAsync(&c) {
		l.onClose(ctx, c)
		found, c = true, CloseSignal{}
	}
	var u ContactUpdate
	for s.contact.ReceiveAsync(&u) {
		l.onContact(ctx, u)
		found, u = true, ContactUpdate{}
	}
	var rs RescheduleSignal
	for s.reschedule.ReceiveAsync(&rs) {
		l.onReschedule(ctx, rs)
		found, rs = true, RescheduleSignal{}
	}
	return found
}

// onPause opens a pause, or changes the open one's reason and end.
func (l *loan) onPause(ctx workflow.Context, p PauseSignal) {
	now := workflow.Now(ctx)
	if p.Until != nil && !p.Until.After(now) {
		workflow.GetLogger(ctx).Warn("pause ignored: until is not in the future", "until", *p.Until)
		return
	}
	var until time.Time
	if p.Until != nil {
		until = *p.Until
	}
	ps := l.st.History.Pauses
	if n := len(ps); n > 0 && !now.Before(ps[n-1].From) && (ps[n-1].Until.IsZero() || now.Before(ps[n-1].Until)) {
		ps[n-1].Until, ps[n-1].Reason = until, p.Reason
	} else {
		l.st.History.Pauses = append(ps, policy.Pause{From: now, Until: until, Reason: p.Reason})
	}
	l.st.WasPaused = true
	detail := map[string]any{"reason": p.Reason}
	if p.Until != nil {
		detail["until"] = *p.Until
	}
	l.record(ctx, store.KindPaused, nil, detail)
}

// onResume ends the open pause at once.
func (l *loan) onResume(ctx workflow.Context, r ResumeSignal) {
	now := workflow.Now(ctx)
	ps := l.st.History.Pauses
	n := len(ps)
	if n == 0 || now.Before(ps[n-1].From) || (!ps[n-1].Until.IsZero() && !now.Before(ps[n-1].Until)) {
		return // not paused
	}
	ps[n-1].Until = now
	l.st.WasPaused = false
	l.record(ctx, store.KindResumed, nil, map[string]any{"reason": r.Reason})
}

func (l *loan) onClose(ctx workflow.Context, c CloseSignal) {
	if l.st.Closed {
		return
	}
	l.st.Closed, l.st.CloseReason = true, c.Reason
	l.record(ctx, store.KindClosed, nil, map[string]any{"reason": c.Reason})
}

// onContact changes contact details. The API validated them; the workflow
// checks again and ignores an invalid change rather than break the loan.
func (l *loan) onContact(ctx workflow.Context, u ContactUpdate) {
	c := l.terms.Customer
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.Name, u.Name)
	set(&c.Phone, u.Phone)
	set(&c.Email, u.Email)
	set(&c.PushToken, u.PushToken)
	set(&c.Locale, u.Locale)
	set(&c.TimeZone, u.TimeZone)
	for _, ch := range u.OptOuts {
		if !slices.Contains(c.OptOuts, ch) {
			c.OptOuts = append(c.OptOuts, ch)
		}
	}
	next := l.terms
	next.Customer = c
	if err := policy.ValidateContact(c, l.pol, nil); err != nil {
		// Field names only: the problems quote the bad phone or email.
		workflow.GetLogger(ctx).Warn("contact update ignored", "fields", fieldsOf(err))
		return
	}
	loc, err := next.Location(l.pol)
	if err != nil {
		workflow.GetLogger(ctx).Warn("contact update ignored", "fields", "customer.time_zone")
		return
	}
	l.terms, l.loc = next, loc
	// Which fields changed, never their values: the ledger holds no contact data.
	changed := []string{}
	for _, f := range []struct{ name, v string }{{"name", u.Name}, {"phone", u.Phone}, {"email", u.Email},
		{"push_token", u.PushToken}, {"locale", u.Locale}, {"time_zone", u.TimeZone}} {
		if f.v != "" {
			changed = append(changed, f.name)
		}
	}
	l.record(ctx, store.KindContactUpdated, nil, map[string]any{"fields": changed, "opt_outs": c.OptOuts})
}

// onReschedule replaces the unpaid installments (restructuring); the
// schedule version in every later notice key grows by one.
func (l *loan) onReschedule(ctx workflow.Context, r RescheduleSignal) {
	now := workflow.Now(ctx)
	snap := l.snapshot(now)
	if err := policy.ValidateReschedule(l.terms, snap, r.Installments, now, l.loc); err != nil {
		workflow.GetLogger(ctx).Warn("reschedule ignored", "error", err.Error())
		return
	}
	l.st.History.Reschedules = append(l.st.History.Reschedules, policy.Reschedule{At: now, Installments: r.Installments})
	l.record(ctx, store.KindRescheduled, nil, map[string]any{
		"reason": r.Reason, "installments": len(r.Installments), "schedule_version": snap.ScheduleVersion + 1,
	})
}

// fieldsOf names the fields a validation error is about, for logs that must
// not repeat the values (phones, emails).
func fieldsOf(err error) string {
	var v policy.ValidationError
	if !errors.As(err, &v) {
		return "unknown"
	}
	names := make([]string, 0, len(v))
	for _, e := range v {
		names = append(names, e.Field)
	}
	return strings.Join(names, ",")
}
