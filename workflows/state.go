package workflows

import (
	"time"

	"github.com/shopspring/decimal"

	"dunning/activities"
	"dunning/policy"
)

// State is what a loan carries across continue-as-new: its history (the
// balance is recomputed from it), the notices already attempted, and the
// side effects decided but not yet done (Outbox, Pending), so that nothing
// decided in one run is lost in the next.
type State struct {
	History     policy.History      `json:"history"`
	Sent        []policy.SentNotice `json:"sent,omitempty"`
	NoticesSent int                 `json:"notices_sent"`
	// Pending are repayment confirmations still to send.
	Pending []Confirmation `json:"pending,omitempty"`
	// Outbox are ledger rows still to append.
	Outbox []activities.LedgerEntry `json:"outbox,omitempty"`
	// LedgerSeq numbered the ledger rows of runs before hardeningVersion
	// (dedupe key <loan_id>/<n>); later rows have keys derived from the event.
	LedgerSeq int `json:"ledger_seq"`
	// Cases are collections cases decided but not opened yet.
	Cases []activities.CaseRequest `json:"cases,omitempty"`
	// Finals are notice rows still to be written in their final state
	// (skipped by the plan, failed by an error or a timeout).
	Finals []activities.NoticeOutcome `json:"finals,omitempty"`
	// Rules is the version of the money and schedule rules the loan runs
	// under, chosen when it started and kept for life (0: the original).
	Rules policy.Rules `json:"rules,omitempty"`
	// KeywordOptOuts are the channels the borrower opted out of by keyword;
	// only those does an opt-in (START) reverse.
	KeywordOptOuts []policy.Channel `json:"keyword_opt_outs,omitempty"`
	// Fallbacks are notices still to send on a fallback channel after a
	// delivery receipt reported an address permanently invalid.
	Fallbacks []Fallback `json:"fallbacks,omitempty"`
	// Posted is the penalty and late fee per installment already in the ledger.
	Posted      []Posted `json:"posted,omitempty"`
	LastStage   string   `json:"last_stage,omitempty"`
	CasesOpened []string `json:"cases_opened,omitempty"`
	ChargedOff  bool     `json:"charged_off,omitempty"`
	WasPaused   bool     `json:"was_paused,omitempty"`
	Closed      bool     `json:"closed,omitempty"`
	CloseReason string   `json:"close_reason,omitempty"`
	Runs        int      `json:"runs"`
	// Points is 1 once the loan runs at pointsVersion (points.go): taken in
	// the first run that asks, then carried, so later runs record no
	// version markers. 0 for loans whose runs began before it.
	Points int `json:"points,omitempty"`
}

// Confirmation is a payment_received or paid_off notice owed to the borrower.
type Confirmation struct {
	TxnID    string          `json:"txn_id"`
	Template string          `json:"template"`
	Amount   decimal.Decimal `json:"amount"`
	PaidAt   time.Time       `json:"paid_at"`
}

// Posted is what the ledger already holds for one installment.
type Posted struct {
	Version int             `json:"version"`
	Seq     int             `json:"seq"`
	Penalty decimal.Decimal `json:"penalty"`
	LateFee decimal.Decimal `json:"late_fee"`
}

// Fallback is a ladder point whose notice on Failed was not delivered and
// goes out once on the policy's fallback channel.
type Fallback struct {
	ScheduleVersion int            `json:"schedule_version"`
	Seq             int            `json:"seq"`
	Offset          int            `json:"offset"`
	Template        string         `json:"template"`
	Failed          policy.Channel `json:"failed"`
}
