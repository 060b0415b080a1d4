package workflows

import (
	"time"

	"dunning/policy"
)

// Names shared by the workflow, the worker and the starter, so that they
// cannot drift apart.
const (
	TaskQueue    = "dunning"
	WorkflowType = "LoanWorkflow"

	UpdateRepay = "repay"

	// Operator actions as updates (validated, answered with the snapshot).
	// They share their names with the signals the Web UI can send.
	UpdatePause      = "pause"
	UpdateResume     = "resume"
	UpdateClose      = "close"
	UpdateContact    = "update_contact"
	UpdateReschedule = "reschedule"

	SignalPause         = "pause"
	SignalResume        = "resume"
	SignalClose         = "close"
	SignalUpdateContact = "update_contact"
	SignalReschedule    = "reschedule"

	QueryStatus = "status"

	// Delivery signals, sent by the API's webhooks (never by operators).
	SignalOptOut         = "opt_out"
	SignalOptIn          = "opt_in"
	SignalDeliveryReport = "delivery_report"
)

// ChannelQueue is the task queue of one channel's send activities, beside
// the loan's queue: "dunning-sms", "dunning-email", "dunning-push". Each has
// its own rate limit (the worker's TaskQueueActivitiesPerSecond), so a
// morning burst stays under one provider's limit without slowing the other
// channels or the workflows.
func ChannelQueue(loanQueue string, ch policy.Channel) string { return loanQueue + "-" + string(ch) }

// PointQueue is the task queue of SendPoint (points-1): a ladder point's or a
// repayment's notices on every channel in one activity. The worker runs it at
// the slowest channel's rate.
func PointQueue(loanQueue string) string { return loanQueue + "-points" }

// WorkflowID is the id of the loan's workflow: one workflow per loan.
func WorkflowID(loanID string) string { return "loan-" + loanID }

// Input starts a loan workflow. The policy is resolved by the starter and
// carried here, so the rules a loan started under stay its rules even when
// policies/*.yaml changes, and replay never depends on files. State is nil on
// the first run and carried across continue-as-new.
type Input struct {
	Loan   policy.Loan   `json:"loan"`
	Policy policy.Policy `json:"policy"`
	State  *State        `json:"state,omitempty"`
	// KeywordOptOuts are the channels in Loan.Customer.OptOuts that the
	// borrower opted out of by keyword (a STOP reply) before the loan
	// started: a START reverses them.
	KeywordOptOuts []policy.Channel `json:"keyword_opt_outs,omitempty"`
}

// OptSignal opts the customer out of a channel, or back in. Source says
// who: "keyword" (the borrower replied STOP / START), "carrier" (the
// provider reported the address unsubscribed). Opting in reverses only an
// opt-out made by keyword.
type OptSignal struct {
	Channel policy.Channel `json:"channel"`
	Source  string         `json:"source"`
	Keyword string         `json:"keyword,omitempty"`
}

// DeliveryReport is a provider's receipt that the notice Key was not
// delivered. Permanent means the address will never work (unknown number,
// unsubscribed): the channel is opted out and the point's notice falls back.
type DeliveryReport struct {
	Key       string         `json:"key"`
	Channel   policy.Channel `json:"channel"`
	Status    string         `json:"status"`
	Error     string         `json:"error,omitempty"`
	Permanent bool           `json:"permanent"`
}

// Every operator action says who took it and why: Actor is the operator's id
// or work email (policy.ValidateActor), Reason free text
// (policy.ValidateReason). Both are required from actorVersion on, checked
// by the update's validator and by the signal handler alike, and written to
// the action's ledger row as {"actor", "reason", …}.

// PauseSignal pauses reminders (and, with the policy's freeze_penalty, penalty
// accrual) until Until or a resume.
type PauseSignal struct {
	Actor  string     `json:"actor"`
	Reason string     `json:"reason"`
	Until  *time.Time `json:"until,omitempty"`
}

// ResumeSignal ends a pause.
type ResumeSignal struct {
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
}

// CloseSignal ends the loan's dunning for good (sold, settled outside,
// written off by hand).
type CloseSignal struct {
	Actor  string `json:"actor"`
	Reason string `json:"reason"`
}

// ContactUpdate changes how the customer is reached. Empty fields keep their
// value; OptOuts adds channels the customer may never be contacted on again
// (an opt-out is never withdrawn by this signal).
type ContactUpdate struct {
	Actor     string           `json:"actor"`
	Reason    string           `json:"reason"`
	Name      string           `json:"name,omitempty"`
	Phone     string           `json:"phone,omitempty"`
	Email     string           `json:"email,omitempty"`
	PushToken string           `json:"push_token,omitempty"`
	Locale    string           `json:"locale,omitempty"`
	TimeZone  string           `json:"time_zone,omitempty"`
	OptOuts   []policy.Channel `json:"opt_outs,omitempty"`
}

// RescheduleSignal replaces every installment not yet fully paid.
type RescheduleSignal struct {
	Actor        string               `json:"actor"`
	Reason       string               `json:"reason"`
	Installments []policy.Installment `json:"installments"`
}
