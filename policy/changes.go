package policy

import (
	"fmt"
	"time"
)

// ValidateContact checks a customer after a contact update with a new
// loan's rules and limits (name at most MaxNameLen characters, push token at
// most MaxPushTokenLen bytes, locale, time zone, opt-outs at most MaxOptOuts
// and each once, no control characters anywhere). Unlike a new loan, a
// customer left with no reachable channel is valid here: an opt-out is the
// customer's right, and the workflow answers it by opening a collections
// case. hasLocale may be nil (any well-formed locale).
func ValidateContact(c Customer, p Policy, hasLocale func(string) bool) error {
	var out ValidationError
	for _, e := range validateCustomer(c, p, true, hasLocale) {
		if e.Field == "customer" { // "no reachable channel"
			continue
		}
		out = append(out, e)
	}
	return out.Err()
}

// ValidateReschedule checks a restructuring against the loan as it stands at
// now: the new installments must be valid on their own (ValidateInstallments:
// at most MaxInstallments, due from MinDate to MaxDate), fall due after
// today (a past due date would make a reschedule instantly overdue), and
// number after every installment already paid, so seq stays unique.
func ValidateReschedule(l Loan, s Snapshot, ins []Installment, now time.Time, loc *time.Location) error {
	v := ValidateInstallments("installments", l.Currency, ins)
	if len(v) > 0 {
		return v.Err()
	}
	today := LocalDate(now, loc)
	maxPaid := 0
	for _, in := range s.Installments {
		if in.Status == StatusPaid {
			maxPaid = max(maxPaid, in.Seq)
		}
	}
	for i, in := range ins {
		if !in.DueDate.After(today) {
			v.add(fmt.Sprintf("installments[%d].due_date", i), "must be after today (%s)", today)
		}
		if in.Seq <= maxPaid {
			v.add(fmt.Sprintf("installments[%d].seq", i), "must be greater than %d, the last paid installment", maxPaid)
		}
	}
	return v.Err()
}
