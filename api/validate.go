package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"dunning/policy"
	"dunning/workflows"
)

// CheckLoan validates l (DESIGN.md "Loan") against the policies in reg and
// the locales hasLocale knows, and returns the policy it runs under. Errors
// are a policy.ValidationError naming the fields. It has no clock: callers
// that start the loan use CheckLoanAt.
func CheckLoan(l policy.Loan, reg *policy.Registry, hasLocale func(string) bool) (policy.Policy, error) {
	return checkLoan(policy.ValidateLoan(l, reg, hasLocale), l, reg)
}

// CheckLoanAt is CheckLoan for a loan started at now: it also refuses a loan
// whose first installment fell due more than policy.MaxDebtAgeDays before
// now (policy.ValidateLoanAt).
func CheckLoanAt(l policy.Loan, reg *policy.Registry, hasLocale func(string) bool, now time.Time) (policy.Policy, error) {
	return checkLoan(policy.ValidateLoanAt(l, reg, hasLocale, now), l, reg)
}

// checkLoan returns the policy of a loan validated with err.
func checkLoan(err error, l policy.Loan, reg *policy.Registry) (policy.Policy, error) {
	if err != nil {
		return policy.Policy{}, err
	}
	if reg == nil {
		return policy.Default(), nil
	}
	p, _ := reg.Get(l.PolicyName()) // ValidateLoan checked it exists
	return p, nil
}

// CheckRepayment validates what can be known of a repayment without its loan:
// txn_id a usable id, amount greater than 0 (and within the currency's minor
// units when the currency is given and known), paid_at given and not in the
// future. The workflow's validator checks the rest against the loan.
func CheckRepayment(r policy.Repayment, now time.Time) error {
	v := fieldErrors(policy.ValidateRepayment(policy.Loan{Currency: r.Currency}, r, now.Add(policy.ClockSkew)))
	if _, known := policy.MinorUnits(r.Currency); r.Currency != "" && !known {
		v = append(v, policy.FieldError{Field: "currency", Problem: fmt.Sprintf("unknown ISO 4217 currency %q", r.Currency)})
	}
	return v.Err()
}

// Every operator action carries who takes it (actor: an operator id or work
// email, policy.ValidateActor) and why (reason, policy.ValidateReason). Both
// are required: a request without either is answered 400 naming the field
// and reaches no workflow (workflows.CheckOperator).

// CheckPause validates a pause: actor, reason and, if given, an end in the
// future and at most workflows.MaxPauseDays ahead.
func CheckPause(p workflows.PauseSignal, now time.Time) error {
	return workflows.CheckPause(p, now)
}

// CheckClose validates a close: actor and reason (closing a loan ends its
// dunning for good; the ledger must say who and why).
func CheckClose(c workflows.CloseSignal) error {
	return workflows.CheckOperator(c.Actor, c.Reason)
}

// CheckResume validates a resume: actor and reason.
func CheckResume(r workflows.ResumeSignal) error {
	return workflows.CheckOperator(r.Actor, r.Reason)
}

// checkContact validates a contact update: actor and reason, then field by
// field with the same rules as a new loan's customer (phone E.164, email,
// locale with templates, time zone that loads, known opt-out channels).
// Fields left empty keep their value, so they are not checked; an update that
// changes nothing is refused. Field names are the body's ("phone",
// "opt_outs[0]").
func checkContact(u workflows.ContactUpdate, hasLocale func(string) bool) error {
	out := fieldErrors(workflows.CheckOperator(u.Actor, u.Reason))
	if u.Name == "" && u.Phone == "" && u.Email == "" && u.PushToken == "" && u.Locale == "" &&
		u.TimeZone == "" && len(u.OptOuts) == 0 {
		return append(out, policy.FieldError{Problem: "nothing to change: give at least one of name, phone, email, push_token, locale, time_zone, opt_outs"}).Err()
	}
	c := policy.Customer{
		ID: "contact-update", Name: u.Name, Phone: u.Phone, Email: u.Email, PushToken: u.PushToken,
		Locale: u.Locale, TimeZone: u.TimeZone, OptOuts: u.OptOuts,
	}
	// An empty time zone keeps the loan's; the default policy's zone stands
	// in for it so that it is not reported.
	for _, fe := range fieldErrors(policy.ValidateContact(c, policy.Default(), hasLocale)) {
		fe.Field = strings.TrimPrefix(fe.Field, "customer.")
		if fe.Field == "locale" && u.Locale == "" {
			continue // not changed
		}
		out = append(out, fe)
	}
	return out.Err()
}

// checkReschedule validates a reschedule's actor and reason; its
// installments are checked by the workflow against the loan
// (policy.ValidateReschedule).
func checkReschedule(r workflows.RescheduleSignal) error {
	return workflows.CheckOperator(r.Actor, r.Reason)
}

// loanIDProblem says why s cannot be a loan id (the {id} of a path), with
// policy's rule for loan ids (policy.ValidateID, policy.MaxLoanIDLen), or "".
func loanIDProblem(s string) string {
	if v := fieldErrors(policy.ValidateID("id", s, policy.MaxLoanIDLen)); len(v) > 0 {
		return v[0].Problem
	}
	return ""
}

// fieldErrors returns the field errors in err: all of a ValidationError, or
// err as one problem with no field.
func fieldErrors(err error) policy.ValidationError {
	if err == nil {
		return nil
	}
	var v policy.ValidationError
	if errors.As(err, &v) {
		return slices.Clone(v)
	}
	return policy.ValidationError{{Problem: err.Error()}}
}
