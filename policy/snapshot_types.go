package policy

import (
	"time"

	"github.com/shopspring/decimal"
)

// Breakdown is an amount owed split by component.
type Breakdown struct {
	Principal decimal.Decimal `json:"principal"`
	Interest  decimal.Decimal `json:"interest"`
	Fee       decimal.Decimal `json:"fee"`
	Penalty   decimal.Decimal `json:"penalty"`
	LateFee   decimal.Decimal `json:"late_fee"`
	Total     decimal.Decimal `json:"total"`
}

// InstallmentState is one installment as of the snapshot.
type InstallmentState struct {
	Seq         int       `json:"seq"`
	DueDate     Date      `json:"due_date"`
	Status      string    `json:"status"`
	DaysPastDue int       `json:"days_past_due"`
	Outstanding Breakdown `json:"outstanding"`
	// PenaltyPosted and LateFeePosted are everything ever charged to the
	// installment, paid or not: the ledger reconciles against them.
	PenaltyPosted decimal.Decimal `json:"penalty_posted"`
	LateFeePosted decimal.Decimal `json:"late_fee_posted"`
}

// Snapshot is the balance of a loan at AsOf (DESIGN.md "Snapshot"). Amounts
// are rounded to the currency's minor unit and marshal as fixed-point strings
// ("1068.50"). The workflow fills NextReminderAt and NoticesSent and may
// override State with closed.
type Snapshot struct {
	LoanID         string             `json:"loan_id"`
	State          string             `json:"state"`
	DaysPastDue    int                `json:"days_past_due"`
	Bucket         string             `json:"bucket"`
	Stage          string             `json:"stage"`
	AsOf           time.Time          `json:"as_of"`
	Currency       string             `json:"currency"`
	Overdue        Breakdown          `json:"overdue"`
	Outstanding    Breakdown          `json:"outstanding"`
	Credit         decimal.Decimal    `json:"credit"`
	Installments   []InstallmentState `json:"installments"`
	NextReminderAt *time.Time         `json:"next_reminder_at,omitempty"`
	Paused         bool               `json:"paused"`
	NoticesSent    int                `json:"notices_sent"`
	// OptOuts are the channels the customer may not be contacted on (the
	// workflow fills it: opt-outs by operator, keyword or carrier).
	OptOuts []Channel `json:"opt_outs"`

	// ChargedOff is true once DPD reached the charge-off rung (+90).
	ChargedOff bool `json:"charged_off,omitempty"`
	// ScheduleVersion counts the reschedules applied; it is part of every
	// ladder notice's idempotency key.
	ScheduleVersion int `json:"schedule_version"`
	// Applied lists the repayments applied, in paid_at order, with what each
	// paid; a repeated txn_id appears once.
	Applied []Allocation `json:"applied,omitempty"`
}

// Allocation is how one repayment was spent.
type Allocation struct {
	TxnID  string          `json:"txn_id"`
	Amount decimal.Decimal `json:"amount"`
	PaidAt time.Time       `json:"paid_at"`
	// Parts lists what each installment received, oldest first.
	Parts []AllocationPart `json:"parts,omitempty"`
	// Credit is what was left after every installment was paid.
	Credit decimal.Decimal `json:"credit"`
}

// AllocationPart is what one repayment paid of one installment.
type AllocationPart struct {
	Seq  int       `json:"seq"`
	Paid Breakdown `json:"paid"`
}
