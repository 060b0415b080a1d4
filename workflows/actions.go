package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"dunning/policy"
)

// Operator actions are Temporal updates with validators, so the caller gets
// the workflow's own verdict: the snapshot after the change, or an error of
// type ErrTypeRejected (422), ErrTypeConflict or ErrTypeLoanFinished (409)
// naming the fields. A validator runs before anything is written to the
// history and changes nothing; a refused update leaves no trace in it.

// MaxPauseDays bounds how far ahead a pause may end: a hardship pause is
// reviewed within a year; an open-ended pause gives no until at all.
const MaxPauseDays = 366

// registerActions installs the update of every operator action.
func (l *loan) registerActions(ctx workflow.Context) error {
	for _, u := range []struct {
		name      string
		handler   any
		validator any
	}{
		{UpdatePause, l.updatePause, func(ctx workflow.Context, p PauseSignal) error { return l.checkPause(workflow.Now(ctx), p) }},
		{UpdateResume, l.updateResume, func(ctx workflow.Context, r ResumeSignal) error { return l.checkResume(workflow.Now(ctx), r) }},
		{UpdateClose, l.updateClose, func(_ workflow.Context, c CloseSignal) error { return l.checkClose(c) }},
		{UpdateContact, l.updateContact, func(_ workflow.Context, u ContactUpdate) error { _, _, err := l.checkContact(u); return err }},
		{UpdateReschedule, l.updateReschedule, func(ctx workflow.Context, r RescheduleSignal) error {
			return l.checkReschedule(workflow.Now(ctx), r)
		}},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator}); err != nil {
			return fmt.Errorf("register update %s: %w", u.name, err)
		}
	}
	return nil
}

// updateKey is the natural ledger key of what an update changes: its id,
// unique per workflow (the API sets it; a repeated request is answered by
// the server with the first outcome).
func updateKey(ctx workflow.Context) string {
	if info := workflow.GetCurrentUpdateInfo(ctx); info != nil && info.ID != "" {
		return "update/" + info.ID
	}
	return ""
}

// answer is an update's result: the balance now, with the next reminder as
// last planned (the loop replans at once after the change).
func (l *loan) answer(ctx workflow.Context) policy.Snapshot {
	l.wake.SendAsync(true)
	s := l.snapshot(workflow.Now(ctx))
	s.NextReminderAt = l.nextAt
	return s
}

func (l *loan) updatePause(ctx workflow.Context, p PauseSignal) (policy.Snapshot, error) {
	l.applyPause(ctx, p, updateKey(ctx))
	return l.answer(ctx), nil
}

func (l *loan) updateResume(ctx workflow.Context, r ResumeSignal) (policy.Snapshot, error) {
	l.applyResume(ctx, r, updateKey(ctx))
	return l.answer(ctx), nil
}

func (l *loan) updateClose(ctx workflow.Context, c CloseSignal) (policy.Snapshot, error) {
	l.applyClose(ctx, c, updateKey(ctx))
	return l.answer(ctx), nil
}

func (l *loan) updateContact(ctx workflow.Context, u ContactUpdate) (policy.Snapshot, error) {
	c, loc, err := l.checkContact(u)
	if err != nil { // the validator passed it in this same task: cannot happen
		return policy.Snapshot{}, err
	}
	l.applyContact(ctx, u, c, loc, updateKey(ctx))
	return l.answer(ctx), nil
}

func (l *loan) updateReschedule(ctx workflow.Context, r RescheduleSignal) (policy.Snapshot, error) {
	l.applyReschedule(ctx, r, updateKey(ctx))
	return l.answer(ctx), nil
}

// checkOpen refuses any change once the loan is paid off or closed.
func (l *loan) checkOpen() error {
	if l.done || l.st.Closed {
		return finished()
	}
	return nil
}

// actorVersion gates who and why on operator actions: from it on, every
// pause, resume, close, contact update and reschedule, update or signal,
// needs an actor and a reason, and a signal without them is refused and
// audited. Runs that started before it keep the original rule (a reason,
// required only for a close) on replay; an actor given to them is checked
// and recorded all the same (no recorded history carries one).
const actorVersion = "actor-1"

// CheckOperator checks who takes an operator action and why: an actor
// (policy.ValidateActor) and a reason (policy.ValidateReason), both
// required. The API and the CLI answer with it before asking the workflow,
// which checks again. It returns nil or a policy.ValidationError naming
// "actor" and "reason".
func CheckOperator(actor, reason string) error {
	return operatorErrors(actor, reason).Err()
}

// operatorErrors are the problems of an actor and a reason, both required.
func operatorErrors(actor, reason string) policy.ValidationError {
	return append(errorFields(policy.ValidateActor("actor", actor)), reasonErrors("reason", reason, true)...)
}

// whoAndWhy checks an action's actor and reason under this run's rules:
// both required from actorVersion on; before it, a reason within limits,
// required only when reasonRequired (a close), and an actor checked only
// when given.
func (l *loan) whoAndWhy(actor, reason string, reasonRequired bool) policy.ValidationError {
	if l.av >= 1 {
		return operatorErrors(actor, reason)
	}
	var v policy.ValidationError
	if actor != "" {
		v = errorFields(policy.ValidateActor("actor", actor))
	}
	return append(v, reasonErrors("reason", reason, reasonRequired)...)
}

// checkPause: the loan open, who and why, an end (if any) in the future and
// at most MaxPauseDays ahead.
func (l *loan) checkPause(now time.Time, p PauseSignal) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if err := checkPause(l.whoAndWhy(p.Actor, p.Reason, false), p, now); err != nil {
		return rejected(err)
	}
	return nil
}

// CheckPause validates a pause request on its own, as of now: the actor and
// reason (CheckOperator) and the end. The API answers 400 with it before
// asking the workflow, which checks it again.
func CheckPause(p PauseSignal, now time.Time) error {
	return checkPause(operatorErrors(p.Actor, p.Reason), p, now)
}

// checkPause adds the problems of p's end to v.
func checkPause(v policy.ValidationError, p PauseSignal, now time.Time) error {
	if p.Until != nil {
		switch {
		case !p.Until.After(now):
			v = append(v, policy.FieldError{Field: "until", Problem: fmt.Sprintf("%s is not in the future", p.Until.Format(time.RFC3339))})
		case p.Until.After(now.AddDate(0, 0, MaxPauseDays)):
			v = append(v, policy.FieldError{Field: "until", Problem: fmt.Sprintf(
				"%s is more than %d days ahead; pause without until and resume by hand", p.Until.Format(time.RFC3339), MaxPauseDays)})
		}
	}
	return v.Err()
}

// checkResume: the loan open, who and why, and the loan paused.
func (l *loan) checkResume(now time.Time, r ResumeSignal) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if v := l.whoAndWhy(r.Actor, r.Reason, false); v != nil {
		return rejected(v)
	}
	if !l.pausedAt(now) {
		return conflict(errors.New("loan is not paused"))
	}
	return nil
}

// checkClose: the loan open, who, and a reason (closing ends dunning for
// good; the ledger must say why, even before actorVersion).
func (l *loan) checkClose(c CloseSignal) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	if v := l.whoAndWhy(c.Actor, c.Reason, true); v != nil {
		return rejected(v)
	}
	return nil
}

// checkContact: the loan open, who and why, something to change, and the
// customer after the change valid (phone, email, limits, a reachable
// channel left, a time zone that loads). It returns the customer and
// location to apply. Locales are checked by the API against the templates;
// the workflow cannot (the templates are the worker's, and a signal's
// verdict must not change with a deployment).
func (l *loan) checkContact(u ContactUpdate) (policy.Customer, *time.Location, error) {
	if err := l.checkOpen(); err != nil {
		return policy.Customer{}, nil, err
	}
	who := l.whoAndWhy(u.Actor, u.Reason, false)
	if u.Name == "" && u.Phone == "" && u.Email == "" && u.PushToken == "" && u.Locale == "" &&
		u.TimeZone == "" && len(u.OptOuts) == 0 {
		return policy.Customer{}, nil, rejected(append(who, policy.FieldError{Problem: "nothing to change: give at least one of name, phone, email, push_token, locale, time_zone, opt_outs"}))
	}
	c := mergeContact(l.terms.Customer, u)
	if err := policy.ValidateContact(c, l.pol, nil); err != nil {
		out := who
		for _, f := range errorFields(err) {
			f.Field = strings.TrimPrefix(f.Field, "customer.")
			out = append(out, f)
		}
		if len(out) == len(who) {
			out = append(out, policy.FieldError{Problem: err.Error()})
		}
		return policy.Customer{}, nil, rejected(out)
	}
	next := l.terms
	next.Customer = c
	loc, err := next.Location(l.pol)
	if err != nil {
		return policy.Customer{}, nil, rejected(append(who, policy.FieldError{Field: "time_zone", Problem: err.Error()}))
	}
	if who != nil {
		return policy.Customer{}, nil, rejected(who)
	}
	return c, loc, nil
}

// checkReschedule: the loan open, who and why, and the new installments
// valid against the loan as it stands now.
func (l *loan) checkReschedule(now time.Time, r RescheduleSignal) error {
	if err := l.checkOpen(); err != nil {
		return err
	}
	v := l.whoAndWhy(r.Actor, r.Reason, false)
	if err := policy.ValidateReschedule(l.terms, l.snapshot(now), r.Installments, now, l.loc); err != nil {
		fields := errorFields(err)
		if fields == nil {
			fields = policy.ValidationError{{Field: "installments", Problem: err.Error()}}
		}
		v = append(v, fields...)
	}
	if v != nil {
		return rejected(v)
	}
	return nil
}

// reasonErrors checks a free-text reason with policy's rules.
func reasonErrors(field, s string, required bool) policy.ValidationError {
	return errorFields(policy.ValidateReason(field, s, required))
}
