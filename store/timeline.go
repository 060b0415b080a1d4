package store

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Timeline sources: which table an entry of the audit timeline comes from.
const (
	SourceLedger = "ledger"
	SourceNotice = "notice"
)

// TimelineEntry is one line of a loan's audit export: a ledger entry or a
// notice attempt, flattened into one shape so compliance reads one list. At is
// the business time of a ledger entry, or when a notice was sent (when it was
// recorded, if it never was). Kind is the ledger kind, or "notice". Key is the
// ledger dedupe key or the notice idempotency key.
type TimelineEntry struct {
	At                time.Time        `json:"at"`
	RecordedAt        time.Time        `json:"recorded_at"`
	Source            string           `json:"source"`
	ID                int64            `json:"id"`
	LoanID            string           `json:"loan_id"`
	Kind              string           `json:"kind"`
	Channel           string           `json:"channel,omitempty"`
	Template          string           `json:"template,omitempty"`
	Locale            string           `json:"locale,omitempty"`
	Status            string           `json:"status,omitempty"`
	Reason            string           `json:"reason,omitempty"`
	Recipient         string           `json:"recipient,omitempty"`
	Subject           string           `json:"subject,omitempty"`
	Body              string           `json:"body,omitempty"`
	Provider          string           `json:"provider,omitempty"`
	ProviderMessageID string           `json:"provider_message_id,omitempty"`
	Amount            *decimal.Decimal `json:"amount,omitempty"`
	Currency          string           `json:"currency,omitempty"`
	Detail            json.RawMessage  `json:"detail,omitempty"`
	Key               string           `json:"key,omitempty"`
	WorkflowID        string           `json:"workflow_id,omitempty"`
	RunID             string           `json:"run_id,omitempty"`
}

// KindNotice is the Kind of a timeline entry that is a notice attempt.
const KindNotice = "notice"

// Timeline returns the audit export of a loan: its ledger and its notices
// merged in time order, read from one snapshot so the two lists agree.
func (s *Store) Timeline(ctx context.Context, loanID string) ([]TimelineEntry, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("timeline of loan %s: begin: %w", loanID, err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // read-only: nothing to commit

	ledger, err := ledgerByLoan(ctx, tx, loanID)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	notices, err := noticesByLoan(ctx, tx, loanID)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	return mergeTimeline(ledger, notices), nil
}

// mergeTimeline flattens and orders ledger entries and notices by time, then
// by write time; at the same instant a ledger entry (the cause, e.g. a stage
// change) comes before the notices it led to.
func mergeTimeline(ledger []LedgerEntry, notices []Notice) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(ledger)+len(notices))
	for _, e := range ledger {
		out = append(out, TimelineEntry{
			At: e.OccurredAt, RecordedAt: e.RecordedAt, Source: SourceLedger, ID: e.ID,
			LoanID: e.LoanID, Kind: e.Kind, Amount: e.Amount, Currency: e.Currency,
			Detail: e.Detail, Key: e.DedupeKey, WorkflowID: e.WorkflowID, RunID: e.RunID,
		})
	}
	for _, n := range notices {
		at := n.CreatedAt
		if n.SentAt != nil {
			at = *n.SentAt
		}
		out = append(out, TimelineEntry{
			At: at, RecordedAt: n.CreatedAt, Source: SourceNotice, ID: n.ID, LoanID: n.LoanID,
			Kind: KindNotice, Channel: n.Channel, Template: n.Template, Locale: n.Locale,
			Status: n.Status, Reason: n.Reason, Recipient: n.Recipient, Subject: n.Subject,
			Body: n.Body, Provider: n.Provider, ProviderMessageID: n.ProviderMessageID,
			Key: n.IdempotencyKey, WorkflowID: n.WorkflowID, RunID: n.RunID,
		})
	}
	slices.SortStableFunc(out, func(a, b TimelineEntry) int {
		return cmp.Or(
			a.At.Compare(b.At),
			a.RecordedAt.Compare(b.RecordedAt),
			cmp.Compare(a.Source, b.Source), // "ledger" < "notice"
			cmp.Compare(a.ID, b.ID),
		)
	})
	return out
}

// timelineCSVHeader names the columns of WriteTimelineCSV.
var timelineCSVHeader = []string{
	"at", "source", "id", "loan_id", "kind", "channel", "template", "locale", "status", "reason",
	"recipient", "subject", "body", "provider", "provider_message_id", "amount", "currency",
	"detail", "key", "workflow_id", "run_id", "recorded_at",
}

// WriteTimelineCSV writes entries as CSV with a header line, for compliance to
// open in a spreadsheet. Times are RFC 3339 in UTC and amounts decimal strings.
// A free-text cell that a spreadsheet would run as a formula (starting with
// =, +, -, @, tab or carriage return, as "+8613800138000" does) is prefixed
// with a single quote.
func WriteTimelineCSV(w io.Writer, entries []TimelineEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(timelineCSVHeader); err != nil {
		return fmt.Errorf("write timeline csv: %w", err)
	}
	for _, e := range entries {
		amount := ""
		if m := money(e.Amount); m != nil {
			amount = *m
		}
		record := []string{
			csvTime(e.At), e.Source, strconv.FormatInt(e.ID, 10), csvText(e.LoanID), e.Kind,
			e.Channel, csvText(e.Template), csvText(e.Locale), e.Status, csvText(e.Reason),
			csvText(e.Recipient), csvText(e.Subject), csvText(e.Body), csvText(e.Provider),
			csvText(e.ProviderMessageID), amount, csvText(e.Currency), csvText(string(e.Detail)),
			csvText(e.Key), csvText(e.WorkflowID), csvText(e.RunID), csvTime(e.RecordedAt),
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("write timeline csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write timeline csv: %w", err)
	}
	return nil
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// csvText defuses spreadsheet formula injection in a free-text cell.
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
