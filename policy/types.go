package policy

import (
	"time"

	"github.com/shopspring/decimal"
)

// Loan is what the lending system sends to start dunning a loan (DESIGN.md "Loan").
type Loan struct {
	LoanID       string        `json:"loan_id"`
	Currency     string        `json:"currency"`
	Policy       string        `json:"policy"`
	Customer     Customer      `json:"customer"`
	Installments []Installment `json:"installments"`
}

// Customer is the borrower and how to reach them. OptOuts lists channels the
// customer may never be contacted on again.
type Customer struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Phone     string    `json:"phone,omitempty"`
	Email     string    `json:"email,omitempty"`
	PushToken string    `json:"push_token,omitempty"`
	Locale    string    `json:"locale"`
	TimeZone  string    `json:"time_zone,omitempty"`
	OptOuts   []Channel `json:"opt_outs,omitempty"`
}

// Installment is one scheduled repayment of a loan.
type Installment struct {
	Seq       int             `json:"seq"`
	DueDate   Date            `json:"due_date"`
	Principal decimal.Decimal `json:"principal"`
	Interest  decimal.Decimal `json:"interest"`
	Fee       decimal.Decimal `json:"fee"`
}

// Repayment is money received for a loan. PaidAt is when the borrower paid,
// which may be earlier than when the lending system reported it.
type Repayment struct {
	TxnID    string          `json:"txn_id"`
	Amount   decimal.Decimal `json:"amount"`
	PaidAt   time.Time       `json:"paid_at"`
	Currency string          `json:"currency,omitempty"`
}

// Pause is an interval in which the loan is paused by an operator. A zero
// Until means the pause lasts until a resume sets it.
type Pause struct {
	From   time.Time `json:"from"`
	Until  time.Time `json:"until,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// Reschedule replaces, at time At, every installment not yet fully paid with
// Installments (restructuring or extension). Penalty and late fees accrued on
// the replaced installments are dropped with them: a lender who wants them
// capitalised puts them into the new installments' fee.
type Reschedule struct {
	At           time.Time     `json:"at"`
	Installments []Installment `json:"installments"`
}

// History is everything that happened to a loan after it started; together
// with the loan terms, the policy and as_of it determines the balance.
type History struct {
	Repayments  []Repayment  `json:"repayments,omitempty"`
	Pauses      []Pause      `json:"pauses,omitempty"`
	Reschedules []Reschedule `json:"reschedules,omitempty"`
}

// Channel is a way of reaching a borrower.
type Channel string

// Channels dunning knows.
const (
	SMS   Channel = "sms"
	Email Channel = "email"
	Push  Channel = "push"
)

// AllChannels lists the channels in the fixed order notices are sent in.
var AllChannels = []Channel{SMS, Email, Push}

// Action is what a ladder point does besides sending notices.
type Action string

// Ladder actions.
const (
	ActionNone      Action = ""
	ActionOpenCase  Action = "open_case"
	ActionChargeOff Action = "charge_off"
)

// Loan states (DESIGN.md "Operator view"). closed is set by the workflow only.
const (
	StateCurrent    = "current"
	StateOverdue    = "overdue"
	StatePaused     = "paused"
	StatePaidOff    = "paid_off"
	StateChargedOff = "charged_off"
	StateClosed     = "closed"
)

// Installment statuses.
const (
	StatusUpcoming = "upcoming"
	StatusDue      = "due"
	StatusOverdue  = "overdue"
	StatusPaid     = "paid"
)

// Confirmation templates sent in answer to a repayment.
const (
	TemplatePaymentReceived = "payment_received"
	TemplatePaidOff         = "paid_off"
)
