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
	// LedgerSeq numbers ledger rows: the n-th row of a loan has dedupe key
	// <loan_id>/<n>, so a retried append never doubles.
	LedgerSeq int `json:"ledger_seq"`
	// Posted is the penalty and late fee per installment already in the ledger.
	Posted      []Posted `json:"posted,omitempty"`
	LastStage   string   `json:"last_stage,omitempty"`
	CasesOpened []string `json:"cases_opened,omitempty"`
	ChargedOff  bool     `json:"charged_off,omitempty"`
	WasPaused   bool     `json:"was_paused,omitempty"`
	Closed      bool     `json:"closed,omitempty"`
	CloseReason string   `json:"close_reason,omitempty"`
	Runs        int      `json:"runs"`
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
