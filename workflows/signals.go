package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/policy"
	"dunning/store"
)

// signalChannels are the loan's signal channels, read in one fixed order.
type signalChannels struct {
	pause, resume, close, contact, reschedule workflow.ReceiveChannel
	optOut, optIn, report                     workflow.ReceiveChannel
}

func newSignalChannels(ctx workflow.Context) signalChannels {
	return signalChannels{
		pause:      workflow.GetSignalChannel(ctx, SignalPause),
		resume:     workflow.GetSignalChannel(ctx, SignalResume),
		close:      workflow.GetSignalChannel(ctx, SignalClose),
		contact:    workflow.GetSignalChannel(ctx, SignalUpdateContact),
		reschedule: workflow.GetSignalChannel(ctx, SignalReschedule),
		optOut:     workflow.GetSignalChannel(ctx, SignalOptOut),
		optIn:      workflow.GetSignalChannel(ctx, SignalOptIn),
		report:     workflow.GetSignalChannel(ctx, SignalDeliveryReport),
	}
}

// addTo makes sel wake on any signal and apply it. When several are waiting
// in one task the selector takes them in the order added: from
// hardeningVersion on a close comes last, so a contact update or a pause
// sent just before a close is applied rather than refused as too late.
func (s signalChannels) addTo(ctx workflow.Context, sel workflow.Selector, l *loan) {
	addClose := func() {
		sel.AddReceive(s.close, func(c workflow.ReceiveChannel, _ bool) {
			var r CloseSignal
			c.Receive(ctx, &r)
			l.onClose(ctx, r)
		})
	}
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
	if l.hv < 1 {
		addClose()
	}
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
	// Delivery signals come from the API's webhooks; runs recorded before
	// them never saw one, so taking them changes no recorded history.
	sel.AddReceive(s.optOut, func(c workflow.ReceiveChannel, _ bool) {
		var o OptSignal
		c.Receive(ctx, &o)
		l.onOptOut(ctx, o)
	})
	sel.AddReceive(s.optIn, func(c workflow.ReceiveChannel, _ bool) {
		var o OptSignal
		c.Receive(ctx, &o)
		l.onOptIn(ctx, o)
	})
	sel.AddReceive(s.report, func(c workflow.ReceiveChannel, _ bool) {
		var r DeliveryReport
		c.Receive(ctx, &r)
		l.onDeliveryReport(ctx, r)
	})
	if l.hv >= 1 {
		addClose()
	}
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
	drainClose := func() {
		var c CloseSignal
		for s.close.ReceiveAsync(&c) {
			l.onClose(ctx, c)
			found, c = true, CloseSignal{}
		}
	}
	if l.hv < 1 {
		drainClose()
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
	var o OptSignal
	for s.optOut.ReceiveAsync(&o) {
		l.onOptOut(ctx, o)
		found, o = true, OptSignal{}
	}
	for s.optIn.ReceiveAsync(&o) {
		l.onOptIn(ctx, o)
		found, o = true, OptSignal{}
	}
	var dr DeliveryReport
	for s.report.ReceiveAsync(&dr) {
		l.onDeliveryReport(ctx, dr)
		found, dr = true, DeliveryReport{}
	}
	if l.hv >= 1 {
		drainClose() // last, as in addTo
	}
	return found
}

// The signal handlers below serve the Web UI's "Send a Signal" (and the
// signals of older API versions). A signal cannot answer, so from
// hardeningVersion on each is checked with the same rules as the update of
// the same name (actions.go) and a refused one is written to the ledger as
// signal_rejected with the reason, never dropped silently. Runs before
// hardeningVersion keep the original handling (ignore and log).

// onPause opens a pause, or changes the open one's reason and end.
func (l *loan) onPause(ctx workflow.Context, p PauseSignal) {
	now := workflow.Now(ctx)
	if l.hv >= 1 {
		if err := l.checkPause(now, p); err != nil {
			l.rejectAction(ctx, SignalPause, p.Actor, err)
			return
		}
	} else if p.Until != nil && !p.Until.After(now) {
		workflow.GetLogger(ctx).Warn("pause ignored: until is not in the future", "until", *p.Until)
		return
	}
	l.applyPause(ctx, p, "")
}

func (l *loan) applyPause(ctx workflow.Context, p PauseSignal, natural string) {
	now := workflow.Now(ctx)
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
	detail := byActor(p.Actor, map[string]any{"reason": p.Reason})
	if p.Until != nil {
		detail["until"] = *p.Until
	}
	l.recordKeyed(store.KindPaused, natural, nil, detail, now)
}

// onResume ends the open pause at once.
func (l *loan) onResume(ctx workflow.Context, r ResumeSignal) {
	now := workflow.Now(ctx)
	if l.hv >= 1 {
		if err := l.checkResume(now, r); err != nil {
			l.rejectAction(ctx, SignalResume, r.Actor, err)
			return
		}
	} else if !l.pausedAt(now) {
		return // not paused
	}
	l.applyResume(ctx, r, "")
}

func (l *loan) applyResume(ctx workflow.Context, r ResumeSignal, natural string) {
	now := workflow.Now(ctx)
	ps := l.st.History.Pauses
	ps[len(ps)-1].Until = now
	l.st.WasPaused = false
	l.recordKeyed(store.KindResumed, natural, nil, byActor(r.Actor, map[string]any{"reason": r.Reason}), now)
}

// pausedAt reports whether the latest pause is open at now.
func (l *loan) pausedAt(now time.Time) bool {
	ps := l.st.History.Pauses
	n := len(ps)
	return n > 0 && !now.Before(ps[n-1].From) && (ps[n-1].Until.IsZero() || now.Before(ps[n-1].Until))
}

func (l *loan) onClose(ctx workflow.Context, c CloseSignal) {
	if l.hv >= 1 {
		if err := l.checkClose(c); err != nil {
			l.rejectAction(ctx, SignalClose, c.Actor, err)
			return
		}
	} else if l.st.Closed {
		return
	}
	l.applyClose(ctx, c, "")
}

func (l *loan) applyClose(ctx workflow.Context, c CloseSignal, natural string) {
	l.st.Closed, l.st.CloseReason = true, c.Reason
	l.recordKeyed(store.KindClosed, natural, nil, byActor(c.Actor, map[string]any{"reason": c.Reason}), workflow.Now(ctx))
}

// onContact changes contact details. The API validated them; the workflow
// checks again and does not apply an invalid change rather than break the loan.
func (l *loan) onContact(ctx workflow.Context, u ContactUpdate) {
	if l.hv >= 1 {
		c, loc, err := l.checkContact(u)
		if err != nil {
			l.rejectAction(ctx, SignalUpdateContact, u.Actor, err)
			return
		}
		l.applyContact(ctx, u, c, loc, "")
		return
	}
	c := mergeContact(l.terms.Customer, u)
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
	l.applyContact(ctx, u, c, loc, "")
}

// mergeContact is c with the fields u sets; opt-outs only add up.
func mergeContact(c policy.Customer, u ContactUpdate) policy.Customer {
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
	c.OptOuts = slices.Clone(c.OptOuts)
	for _, ch := range u.OptOuts {
		if !slices.Contains(c.OptOuts, ch) {
			c.OptOuts = append(c.OptOuts, ch)
		}
	}
	return c
}

func (l *loan) applyContact(ctx workflow.Context, u ContactUpdate, c policy.Customer, loc *time.Location, natural string) {
	l.terms.Customer, l.loc = c, loc
	// Which fields changed, never their values: the ledger holds no contact data.
	changed := []string{}
	for _, f := range []struct{ name, v string }{{"name", u.Name}, {"phone", u.Phone}, {"email", u.Email},
		{"push_token", u.PushToken}, {"locale", u.Locale}, {"time_zone", u.TimeZone}} {
		if f.v != "" {
			changed = append(changed, f.name)
		}
	}
	detail := map[string]any{"fields": changed, "opt_outs": c.OptOuts}
	if u.Reason != "" {
		detail["reason"] = u.Reason
	}
	l.recordKeyed(store.KindContactUpdated, natural, nil, byActor(u.Actor, detail), workflow.Now(ctx))
}

// onReschedule replaces the unpaid installments (restructuring); the
// schedule version in every later notice key grows by one.
func (l *loan) onReschedule(ctx workflow.Context, r RescheduleSignal) {
	now := workflow.Now(ctx)
	if l.hv >= 1 {
		if err := l.checkReschedule(now, r); err != nil {
			l.rejectAction(ctx, SignalReschedule, r.Actor, err)
			return
		}
	} else if err := policy.ValidateReschedule(l.terms, l.snapshot(now), r.Installments, now, l.loc); err != nil {
		workflow.GetLogger(ctx).Warn("reschedule ignored", "error", err.Error())
		return
	}
	l.applyReschedule(ctx, r, "")
}

func (l *loan) applyReschedule(ctx workflow.Context, r RescheduleSignal, natural string) {
	now := workflow.Now(ctx)
	snap := l.snapshot(now)
	l.st.History.Reschedules = append(l.st.History.Reschedules, policy.Reschedule{At: now, Installments: r.Installments})
	l.recordKeyed(store.KindRescheduled, natural, nil, byActor(r.Actor, map[string]any{
		"reason": r.Reason, "installments": len(r.Installments), "schedule_version": snap.ScheduleVersion + 1,
	}), now)
}

// Opt-out sources the delivery signals carry (store.OptOutKeyword,
// store.OptOutCarrier).
const (
	sourceKeyword = "keyword"
	sourceCarrier = "carrier"
)

// checkOpt validates an opt-out or opt-in signal.
func checkOpt(o OptSignal) error {
	var v policy.ValidationError
	if !slices.Contains(policy.AllChannels, o.Channel) {
		v = append(v, policy.FieldError{Field: "channel", Problem: fmt.Sprintf("unknown channel %q", o.Channel)})
	}
	if o.Source != sourceKeyword && o.Source != sourceCarrier {
		v = append(v, policy.FieldError{Field: "source", Problem: fmt.Sprintf("must be %s or %s, got %q", sourceKeyword, sourceCarrier, o.Source)})
	}
	if err := v.Err(); err != nil {
		return rejected(err)
	}
	return nil
}

// onOptOut stops a channel because the borrower replied STOP (keyword) or
// the provider reported the address unsubscribed (carrier). A keyword
// opt-out of a channel that was open is remembered, so START can reverse
// exactly that one.
func (l *loan) onOptOut(ctx workflow.Context, o OptSignal) {
	if err := checkOpt(o); err != nil {
		l.rejectSignal(ctx, SignalOptOut, err)
		return
	}
	if l.terms.Customer.OptedOut(o.Channel) {
		return // already: nothing changes, nothing to audit twice
	}
	l.terms.Customer.OptOuts = append(slices.Clone(l.terms.Customer.OptOuts), o.Channel)
	if o.Source == sourceKeyword {
		l.st.KeywordOptOuts = append(l.st.KeywordOptOuts, o.Channel)
	}
	l.record(ctx, store.KindContactUpdated, nil, map[string]any{"opt_out": o.Channel, "source": o.Source, "keyword": o.Keyword})
}

// onOptIn reverses a keyword opt-out (the borrower replied START); any other
// opt-out stays, and the refusal is audited.
func (l *loan) onOptIn(ctx workflow.Context, o OptSignal) {
	if err := checkOpt(o); err != nil {
		l.rejectSignal(ctx, SignalOptIn, err)
		return
	}
	if !l.terms.Customer.OptedOut(o.Channel) {
		return // nothing to reverse (a repeated START): nothing to audit
	}
	if o.Source != sourceKeyword || !slices.Contains(l.st.KeywordOptOuts, o.Channel) {
		l.rejectSignal(ctx, SignalOptIn, conflict(fmt.Errorf("%s was not opted out by keyword: only such an opt-out is reversed", o.Channel)))
		return
	}
	l.st.KeywordOptOuts = slices.DeleteFunc(slices.Clone(l.st.KeywordOptOuts), func(c policy.Channel) bool { return c == o.Channel })
	l.terms.Customer.OptOuts = slices.DeleteFunc(slices.Clone(l.terms.Customer.OptOuts), func(c policy.Channel) bool { return c == o.Channel })
	l.record(ctx, store.KindContactUpdated, nil, map[string]any{"opt_in": o.Channel, "source": o.Source, "keyword": o.Keyword})
}

// onDeliveryReport takes a provider's receipt that a notice was not
// delivered. A permanent failure opts the channel out and queues the
// point's notice for its fallback channel (if the point is of the current
// schedule); a transient one changes nothing (the notices table has it).
func (l *loan) onDeliveryReport(ctx workflow.Context, r DeliveryReport) {
	if r.Key == "" || !slices.Contains(policy.AllChannels, r.Channel) {
		l.rejectSignal(ctx, SignalDeliveryReport, rejected(policy.ValidationError{{Field: "key", Problem: "a delivery report needs the notice key and its channel"}}))
		return
	}
	if !r.Permanent {
		return
	}
	reachable := l.canUse(r.Channel)
	l.optOut(ctx, r.Channel, "undelivered: "+r.Error)
	if !reachable {
		return // opted out already: its fallback, if any, was taken then
	}
	snap := l.snapshot(workflow.Now(ctx))
	for _, n := range l.st.Sent {
		if n.Key == r.Key && !n.Confirmation && n.ScheduleVersion == snap.ScheduleVersion {
			l.st.Fallbacks = append(l.st.Fallbacks, Fallback{ScheduleVersion: n.ScheduleVersion, Seq: n.Seq,
				Offset: n.Offset, Template: n.Template, Failed: r.Channel})
			l.wake.SendAsync(true)
			return
		}
	}
}

// byActor adds who took an operator action to its ledger detail. Only when
// given: the rows of actions taken before actorVersion, which had none, keep
// the content they were first written with (a row's key and content must
// stay what they were, DESIGN.md §7).
func byActor(actor string, detail map[string]any) map[string]any {
	if actor != "" {
		detail["actor"] = actor
	}
	return detail
}

// rejectAction is rejectSignal for an operator action, naming who sent it
// when the actor is a valid one (a bad actor is only named as a field).
func (l *loan) rejectAction(ctx workflow.Context, name, actor string, err error) {
	if policy.ValidateActor("actor", actor) != nil {
		actor = ""
	}
	l.reject(ctx, name, actor, err)
}

// rejectSignal writes a refused signal to the ledger with its reason: the
// error's type and the fields it names. A refused contact update names the
// fields only, since its problems quote phones and emails.
func (l *loan) rejectSignal(ctx workflow.Context, name string, err error) {
	l.reject(ctx, name, "", err)
}

func (l *loan) reject(ctx workflow.Context, name, actor string, err error) {
	detail := byActor(actor, map[string]any{"signal": name})
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		detail["type"] = app.Type()
	}
	fields := []string{}
	for _, f := range errorFields(err) {
		fields = append(fields, f.Field)
	}
	detail["fields"] = fields
	if name != SignalUpdateContact {
		detail["reason"] = err.Error()
	}
	workflow.GetLogger(ctx).Warn("signal rejected", "signal", name, "fields", strings.Join(fields, ","))
	l.record(ctx, store.KindSignalRejected, nil, detail)
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
