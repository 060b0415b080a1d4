package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"dunning/policy"
	"dunning/workflows"
)

// ClockSkew is how far in the future a paid_at may lie: the lending system's
// clock and ours are never exactly equal. The workflow allows the same.
const ClockSkew = 2 * time.Minute

// maxReasonLen bounds the free-text reasons of pause, resume, close and
// reschedule: they go into the ledger and the Web UI.
const maxReasonLen = 500

// CheckLoan validates l (DESIGN.md "Loan") against the policies in reg and
// the locales hasLocale knows, and returns the policy it runs under. Errors
// are a policy.ValidationError naming the fields.
func CheckLoan(l policy.Loan, reg *policy.Registry, hasLocale func(string) bool) (policy.Policy, error) {
	if err := policy.ValidateLoan(l, reg, hasLocale); err != nil {
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
	v := fieldErrors(policy.ValidateRepayment(policy.Loan{Currency: r.Currency}, r, now.Add(ClockSkew)))
	if _, known := policy.MinorUnits(r.Currency); r.Currency != "" && !known {
		v = append(v, policy.FieldError{Field: "currency", Problem: fmt.Sprintf("unknown ISO 4217 currency %q", r.Currency)})
	}
	return v.Err()
}

// CheckPause validates a pause: a reason of reasonable length and, if given,
// an end in the future (the workflow ignores a pause that has already ended).
func CheckPause(p workflows.PauseSignal, now time.Time) error {
	var v policy.ValidationError
	if msg := reasonProblem(p.Reason, false); msg != "" {
		v = append(v, policy.FieldError{Field: "reason", Problem: msg})
	}
	if p.Until != nil && !p.Until.After(now) {
		v = append(v, policy.FieldError{Field: "until", Problem: fmt.Sprintf("%s is not in the future", p.Until.Format(time.RFC3339))})
	}
	return v.Err()
}

// CheckClose validates a close: the reason is required, since closing a loan
// ends its dunning for good and the ledger must say why.
func CheckClose(c workflows.CloseSignal) error {
	if msg := reasonProblem(c.Reason, true); msg != "" {
		return policy.ValidationError{{Field: "reason", Problem: msg}}
	}
	return nil
}

// checkResume validates a resume's optional reason.
func checkResume(r workflows.ResumeSignal) error {
	if msg := reasonProblem(r.Reason, false); msg != "" {
		return policy.ValidationError{{Field: "reason", Problem: msg}}
	}
	return nil
}

// reasonProblem says what is wrong with a free-text reason, or "".
func reasonProblem(s string, required bool) string {
	switch {
	case required && strings.TrimSpace(s) == "":
		return "must not be empty"
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(s) > maxReasonLen:
		return fmt.Sprintf("must be at most %d characters", maxReasonLen)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// checkContact validates a contact update field by field with the same rules
// as a new loan's customer (phone E.164, email, locale with templates, time
// zone that loads, known opt-out channels). Fields left empty keep their
// value, so they are not checked; an update that changes nothing is refused.
// Field names are the body's ("phone", "opt_outs[0]").
func checkContact(u workflows.ContactUpdate, hasLocale func(string) bool) error {
	if u.Name == "" && u.Phone == "" && u.Email == "" && u.PushToken == "" && u.Locale == "" &&
		u.TimeZone == "" && len(u.OptOuts) == 0 {
		return policy.ValidationError{{Problem: "nothing to change: give at least one of name, phone, email, push_token, locale, time_zone, opt_outs"}}
	}
	c := policy.Customer{
		ID: "contact-update", Name: u.Name, Phone: u.Phone, Email: u.Email, PushToken: u.PushToken,
		Locale: u.Locale, TimeZone: u.TimeZone, OptOuts: u.OptOuts,
	}
	// An empty time zone keeps the loan's; the default policy's zone stands
	// in for it so that it is not reported.
	var out policy.ValidationError
	for _, fe := range fieldErrors(policy.ValidateContact(c, policy.Default(), hasLocale)) {
		fe.Field = strings.TrimPrefix(fe.Field, "customer.")
		if fe.Field == "locale" && u.Locale == "" {
			continue // not changed
		}
		out = append(out, fe)
	}
	return out.Err()
}

// checkReason validates a reschedule's reason; its installments are checked
// against the loan (checkReschedule in the handler).
func checkReason(field, s string) error {
	if msg := reasonProblem(s, false); msg != "" {
		return policy.ValidationError{{Field: field, Problem: msg}}
	}
	return nil
}

// maxLoanIDLen is policy's limit on a loan id.
const maxLoanIDLen = 64

// loanIDProblem says why s cannot be a loan id (the {id} of a path), with
// the same rule as policy.ValidateLoan, or "".
func loanIDProblem(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > maxLoanIDLen {
		return fmt.Sprintf("must be at most %d characters", maxLoanIDLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "use only letters A-Z a-z, digits, '.', '_' and '-'"
		}
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
