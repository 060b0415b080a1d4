package activities

import (
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// NoticeRequest asks SendNotice to render one template for one channel and
// deliver it at most once. Key is the idempotency key of DESIGN.md "Audit".
type NoticeRequest struct {
	Key          string         `json:"key"`
	LoanID       string         `json:"loan_id"`
	CustomerID   string         `json:"customer_id"`
	Channel      policy.Channel `json:"channel"`
	Template     string         `json:"template"`
	Locale       string         `json:"locale"`
	Recipient    string         `json:"recipient"`
	Data         templates.Data `json:"data"`
	Confirmation bool           `json:"confirmation,omitempty"`
	// Check, when set, is checked again against the audit store in the
	// transaction that reserves Key (store.ReserveNoticeChecked): opt-out,
	// contact window, caps across the address's loans. A notice it stops
	// is recorded skipped with the reason and not sent. The workflow sets it
	// from the compliance-1 version on; without it SendNotice sends what it
	// is given, as runs started before do on replay.
	Check *policy.SendCheck `json:"check,omitempty"`
}

// Notice statuses, as stored in the notices table.
const (
	StatusSent    = store.NoticeSent
	StatusFailed  = store.NoticeFailed
	StatusSkipped = store.NoticeSkipped
	StatusUnknown = store.NoticeUnknown
)

// NoticeResult is what happened to a notice. OptOut is set when the provider
// reported the recipient permanently invalid: the workflow then never uses
// that channel for the customer again.
type NoticeResult struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Provider  string    `json:"provider,omitempty"`
	MessageID string    `json:"message_id,omitempty"`
	SentAt    time.Time `json:"sent_at"`
	OptOut    bool      `json:"opt_out,omitempty"`
}

// NoticeOutcome is the final status of a notice whose SendNotice did not
// record one (it timed out or failed for good), or that was planned and not
// sent: FinalizeNotice writes it. Key and the identity fields are those of
// the NoticeRequest; Status is StatusFailed or StatusSkipped, Reason why.
type NoticeOutcome struct {
	Key        string         `json:"key"`
	LoanID     string         `json:"loan_id"`
	CustomerID string         `json:"customer_id"`
	Channel    policy.Channel `json:"channel"`
	Template   string         `json:"template"`
	Locale     string         `json:"locale"`
	Recipient  string         `json:"recipient"`
	Status     string         `json:"status"`
	Reason     string         `json:"reason"`
}

// SkipRequest records notices that were planned but not sent (opt-out, no
// address, frequency cap), so compliance sees every decision.
type SkipRequest struct {
	Notices []SkippedNotice `json:"notices"`
}

// SkippedNotice is one skipped notice and why.
type SkippedNotice struct {
	Key        string         `json:"key"`
	LoanID     string         `json:"loan_id"`
	CustomerID string         `json:"customer_id"`
	Channel    policy.Channel `json:"channel"`
	Template   string         `json:"template"`
	Locale     string         `json:"locale"`
	Recipient  string         `json:"recipient"`
	Reason     string         `json:"reason"`
}

// CaseRequest opens a collections case for a loan, once per DedupeKey.
type CaseRequest struct {
	LoanID       string          `json:"loan_id"`
	CustomerID   string          `json:"customer_id"`
	Reason       string          `json:"reason"`
	DedupeKey    string          `json:"dedupe_key"`
	DaysPastDue  int             `json:"days_past_due"`
	OverdueTotal decimal.Decimal `json:"overdue_total"`
	Currency     string          `json:"currency"`
	OpenedAt     time.Time       `json:"opened_at"`
}

// CaseResult tells whether the case was new.
type CaseResult struct {
	CaseID int64 `json:"case_id"`
	Opened bool  `json:"opened"`
}

// LedgerEntry is one append-only ledger row; Kind is one of store's Kind
// constants (the table's CHECK constraint lists them). DedupeKey makes a retried
// append a no-op; the workflow numbers its entries so the n-th entry of a
// loan always has the same key.
type LedgerEntry struct {
	LoanID     string           `json:"loan_id"`
	Kind       string           `json:"kind"`
	Amount     *decimal.Decimal `json:"amount,omitempty"`
	Currency   string           `json:"currency,omitempty"`
	Detail     map[string]any   `json:"detail,omitempty"`
	OccurredAt time.Time        `json:"occurred_at"`
	DedupeKey  string           `json:"dedupe_key"`
}

// LedgerResult is what AppendLedger did with a batch. Every entry not listed
// in Rejected is in the ledger (appended now or by an earlier attempt).
type LedgerResult struct {
	// Rejected lists the entries the store refused for good (an unknown
	// kind, a dedupe key already holding other content, invalid data), in
	// batch order. Retrying them unchanged fails the same way until the store
	// changes (a migration that accepts the kind, say).
	Rejected []RejectedEntry `json:"rejected,omitempty"`
}

// RejectedEntry is one ledger entry the store refused, and why.
type RejectedEntry struct {
	DedupeKey string `json:"dedupe_key"`
	Reason    string `json:"reason"`
}
