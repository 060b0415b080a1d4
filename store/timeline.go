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

// Timeline sources: where an entry of the audit timeline comes from. The
// ledger and notices are tables here; history entries are events of the
// loan's Temporal workflow histories, which the API reads and merges in.
const (
	SourceLedger  = "ledger"
	SourceNotice  = "notice"
	SourceHistory = "history"
)

// TimelineEntry is one line of a loan's audit export: a ledger entry, a
// notice attempt or a workflow history event, flattened into one shape so
// compliance reads one list. At is the business time of a ledger entry, when
// a notice was sent (when it was recorded, if it never was), or when Temporal
// recorded a history event. Kind is the ledger kind, "notice", or the history
// event's kind (workflow_started, update_accepted, signal_received, …). Key
// is the ledger dedupe key or the notice idempotency key. ID is the ledger or
// notice row id, or the history event id within its run.
//
// EventType, Name, Identity, UpdateID and TimerID belong to history entries:
// Temporal's event type, the signal or update name (the workflow type of a
// start), the identity of the client that sent it, the update id, the timer
// id. History entries never carry payload contents (inputs, results,
// memos, summaries), which may hold personal data.
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
	EventType         string           `json:"event_type,omitempty"`
	Name              string           `json:"name,omitempty"`
	Identity          string           `json:"identity,omitempty"`
	UpdateID          string           `json:"update_id,omitempty"`
	TimerID           string           `json:"timer_id,omitempty"`
}

// KindNotice is the Kind of a timeline entry that is a notice attempt.
const KindNotice = "notice"

// Timeline returns a loan's ledger and notices merged in time order
// (MergeTimeline), read from one snapshot so the two lists agree. The API's
// audit export merges the loan's workflow histories into it.
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
	return MergeTimeline(ledgerTimeline(ledger), noticeTimeline(notices)), nil
}

// MergeTimeline merges lists of entries, each already in time order (At),
// into one list in time order. It only interleaves: each list keeps its own
// order, so a history's events stay in event order and the ledger in row
// order even where times are equal. At the same instant an entry of an
// earlier list comes first, so pass causes before their effects: history
// (a timer fired, an update arrived), then the ledger (the stage change it
// led to), then notices (the reminder sent for that stage).
func MergeTimeline(lists ...[]TimelineEntry) []TimelineEntry {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]TimelineEntry, 0, n)
	next := make([]int, len(lists))
	for len(out) < n {
		best := -1
		for i, l := range lists {
			if next[i] == len(l) {
				continue
			}
			if best < 0 || l[next[i]].At.Before(lists[best][next[best]].At) {
				best = i
			}
		}
		out = append(out, lists[best][next[best]])
		next[best]++
	}
	return out
}

// ledgerTimeline flattens ledger entries, which ledgerByLoan reads in time
// order (occurred_at, id).
func ledgerTimeline(ledger []LedgerEntry) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(ledger))
	for _, e := range ledger {
		out = append(out, TimelineEntry{
			At: e.OccurredAt, RecordedAt: e.RecordedAt, Source: SourceLedger, ID: e.ID,
			LoanID: e.LoanID, Kind: e.Kind, Amount: e.Amount, Currency: e.Currency,
			Detail: e.Detail, Key: e.DedupeKey, WorkflowID: e.WorkflowID, RunID: e.RunID,
		})
	}
	return out
}

// noticeTimeline flattens notices and puts them in time order: a notice's
// time is when it was sent, so the order they were recorded in is not it.
func noticeTimeline(notices []Notice) []TimelineEntry {
	out := make([]TimelineEntry, 0, len(notices))
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
		return cmp.Or(a.At.Compare(b.At), a.RecordedAt.Compare(b.RecordedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// timelineCSVHeader names the columns of WriteTimelineCSV.
var timelineCSVHeader = []string{
	"at", "source", "id", "loan_id", "kind", "channel", "template", "locale", "status", "reason",
	"recipient", "subject", "body", "provider", "provider_message_id", "amount", "currency",
	"detail", "key", "workflow_id", "run_id", "recorded_at",
	"event_type", "name", "identity", "update_id", "timer_id",
}

// WriteTimelineCSV writes entries as CSV with a header line, for compliance to
// open in a spreadsheet. Columns added later go at the end, so a reader that
// goes by position keeps working. Times are RFC 3339 in UTC and amounts decimal strings.
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
			e.EventType, csvText(e.Name), csvText(e.Identity), csvText(e.UpdateID), csvText(e.TimerID),
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
