package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/policy"
)

// Search attributes an operator filters loans by in the Web UI. They are never
// encrypted, so they hold no names, phones or emails.
var (
	AttrLoanID            = temporal.NewSearchAttributeKeyKeyword("LoanId")
	AttrCustomerID        = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	AttrLoanState         = temporal.NewSearchAttributeKeyKeyword("LoanState")
	AttrDaysPastDue       = temporal.NewSearchAttributeKeyInt64("DaysPastDue")
	AttrDelinquencyBucket = temporal.NewSearchAttributeKeyKeyword("DelinquencyBucket")
	AttrOutstandingTotal  = temporal.NewSearchAttributeKeyFloat64("OutstandingTotal")
	AttrNextReminderAt    = temporal.NewSearchAttributeKeyTime("NextReminderAt")
)

// SearchAttributes lists every custom attribute with its type, for the worker
// to register when missing (and for `temporal server start-dev --search-attribute`).
var SearchAttributes = []struct {
	Name string
	Type enumspb.IndexedValueType
}{
	{"LoanId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"CustomerId", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"LoanState", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"DaysPastDue", enumspb.INDEXED_VALUE_TYPE_INT},
	{"DelinquencyBucket", enumspb.INDEXED_VALUE_TYPE_KEYWORD},
	{"OutstandingTotal", enumspb.INDEXED_VALUE_TYPE_DOUBLE},
	{"NextReminderAt", enumspb.INDEXED_VALUE_TYPE_DATETIME},
}

// published is what was last upserted, so an unchanged loan adds no event.
type published struct {
	state, bucket, details string
	dpd                    int
	outstanding            string
	next                   time.Time
	set                    bool
}

// publish keeps the search attributes and the one-line current details in
// step with the loan.
func (l *loan) publish(ctx workflow.Context, snap policy.Snapshot, p policy.Point, hasPoint bool) {
	var next time.Time
	if l.nextAt != nil {
		next = *l.nextAt
	}
	pub := published{state: snap.State, bucket: snap.Bucket, dpd: snap.DaysPastDue,
		outstanding: snap.Outstanding.Total.String(), next: next, set: true}
	pub.details = details(snap, p, hasPoint, l.loc)
	if l.auditPending() {
		// An operator sees at once that the audit trail is behind, and why.
		n := len(l.st.Outbox) + len(l.st.Cases) + len(l.st.Finals)
		pub.details += fmt.Sprintf(" · AUDIT BEHIND: %d write(s) waiting, retried hourly", n)
		if l.audit != "" {
			pub.details += " (" + l.audit + ")"
		}
	}
	if pub == l.pub {
		return
	}
	out, _ := snap.Outstanding.Total.Float64()
	updates := []temporal.SearchAttributeUpdate{
		AttrLoanID.ValueSet(l.terms.LoanID),
		AttrCustomerID.ValueSet(l.terms.Customer.ID),
		AttrLoanState.ValueSet(snap.State),
		AttrDaysPastDue.ValueSet(int64(snap.DaysPastDue)),
		AttrDelinquencyBucket.ValueSet(snap.Bucket),
		AttrOutstandingTotal.ValueSet(out),
	}
	if l.nextAt != nil {
		updates = append(updates, AttrNextReminderAt.ValueSet(*l.nextAt))
	} else {
		updates = append(updates, AttrNextReminderAt.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Error("upsert search attributes", "error", err)
	}
	workflow.SetCurrentDetails(ctx, pub.details)
	l.pub = pub
}

// details says in one line where the loan stands, for the Web UI.
func details(s policy.Snapshot, p policy.Point, hasPoint bool, loc *time.Location) string {
	pl, _ := policy.MinorUnits(s.Currency)
	line := fmt.Sprintf("%s · DPD %d (%s) · stage %s · overdue %s %s · outstanding %s %s",
		s.State, s.DaysPastDue, s.Bucket, s.Stage, s.Currency, s.Overdue.Total.StringFixed(pl),
		s.Currency, s.Outstanding.Total.StringFixed(pl))
	if hasPoint {
		line += " · next " + fmt.Sprintf("D%+d %s at %s", p.Offset, p.Template, p.At.In(loc).Format("2006-01-02 15:04 MST"))
	}
	return line
}
