package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
)

// Ledger kinds: every event of a loan's life that the audit must keep. The
// ledger table refuses any other kind.
const (
	KindLoanStarted        = "loan_started"
	KindRepaymentApplied   = "repayment_applied"
	KindRepaymentDuplicate = "repayment_duplicate"
	KindPenaltyPosted      = "penalty_posted"
	KindLateFeeAssessed    = "late_fee_assessed"
	KindStageChanged       = "stage_changed"
	KindPaused             = "paused"
	KindResumed            = "resumed"
	KindCaseOpened         = "case_opened"
	KindChargedOff         = "charged_off"
	KindClosed             = "closed"
	KindRescheduled        = "rescheduled"
	KindContactUpdated     = "contact_updated"
	KindPaidOff            = "paid_off"
	KindSignalRejected     = "signal_rejected" // an operator signal the workflow refused; detail says why
)

// LedgerEntry is one append-only row of a loan's ledger. OccurredAt is
// business time (a back-dated repayment carries its paid_at), RecordedAt the
// moment the row was written. Amount is nil for events that move no money and
// is carried in JSON as a decimal string. Detail is a JSON object ({} when
// empty). DedupeKey, when set, makes appending the same event twice a no-op.
type LedgerEntry struct {
	ID         int64            `json:"id"`
	LoanID     string           `json:"loan_id"`
	Kind       string           `json:"kind"`
	Amount     *decimal.Decimal `json:"amount"`
	Currency   string           `json:"currency,omitempty"`
	Detail     json.RawMessage  `json:"detail"`
	OccurredAt time.Time        `json:"occurred_at"`
	RecordedAt time.Time        `json:"recorded_at"`
	WorkflowID string           `json:"workflow_id"`
	RunID      string           `json:"run_id"`
	DedupeKey  string           `json:"dedupe_key,omitempty"`
}

const ledgerColumns = `id, loan_id, kind, amount::text, COALESCE(currency, ''), detail,
	occurred_at, recorded_at, workflow_id, run_id, COALESCE(dedupe_key, '')`

func scanLedger(row pgx.Row) (LedgerEntry, error) {
	var e LedgerEntry
	var amount *string
	var detail []byte
	if err := row.Scan(&e.ID, &e.LoanID, &e.Kind, &amount, &e.Currency, &detail,
		&e.OccurredAt, &e.RecordedAt, &e.WorkflowID, &e.RunID, &e.DedupeKey); err != nil {
		return LedgerEntry{}, err
	}
	e.Detail = json.RawMessage(detail)
	var err error
	e.Amount, err = parseMoney(amount)
	return e, err
}

// AppendLedger appends e to the ledger. OccurredAt is required.
//
// A non-empty DedupeKey makes the append idempotent: when an entry with that
// key exists and holds the same content (loan_id, kind, amount, currency,
// detail as a JSON value, occurred_at) the call is a retry of the same event
// and reports inserted false, writing nothing. When the existing entry's
// content differs, two different events claim one key: the call fails with an
// error wrapping ErrLedgerConflict that names the key and the columns that
// differ, and writes nothing. workflow_id, run_id and recorded_at say who
// wrote the row and when, not what happened, and are not compared.
func (s *Store) AppendLedger(ctx context.Context, e LedgerEntry) (inserted bool, err error) {
	if e.OccurredAt.IsZero() {
		return false, invalidf("append ledger %s %s: occurred_at is required", e.LoanID, e.Kind)
	}
	if e.Amount != nil && e.Currency == "" {
		return false, invalidf("append ledger %s %s: amount without currency", e.LoanID, e.Kind)
	}
	detail := []byte(e.Detail)
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	if !json.Valid(detail) {
		return false, invalidf("append ledger %s %s: detail is not valid JSON", e.LoanID, e.Kind)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO ledger
	(loan_id, kind, amount, currency, detail, occurred_at, workflow_id, run_id, dedupe_key)
VALUES ($1, $2, $3::numeric, NULLIF($4, ''), $5::jsonb, $6, $7, $8, NULLIF($9, ''))
ON CONFLICT (dedupe_key) DO NOTHING`,
		e.LoanID, e.Kind, money(e.Amount), e.Currency, string(detail), e.OccurredAt, e.WorkflowID, e.RunID, e.DedupeKey)
	if err != nil {
		return false, fmt.Errorf("append ledger %s %s: %w", e.LoanID, e.Kind, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	// The key is taken. ON CONFLICT waited for a concurrent inserter to
	// commit, so this new statement sees the row, and the ledger being
	// append-only it cannot have changed since. The database compares, so
	// that numbers, JSON and times are compared as the values it stores.
	var same [6]bool
	err = s.pool.QueryRow(ctx, `SELECT loan_id = $2, kind = $3,
	amount IS NOT DISTINCT FROM $4::numeric, currency IS NOT DISTINCT FROM NULLIF($5, ''),
	detail = $6::jsonb, occurred_at = $7::timestamptz
FROM ledger WHERE dedupe_key = $1`,
		e.DedupeKey, e.LoanID, e.Kind, money(e.Amount), e.Currency, string(detail), e.OccurredAt).
		Scan(&same[0], &same[1], &same[2], &same[3], &same[4], &same[5])
	if err != nil {
		return false, fmt.Errorf("append ledger %s %s: read entry %s: %w", e.LoanID, e.Kind, e.DedupeKey, err)
	}
	var differ []string
	for i, col := range ledgerContentColumns {
		if !same[i] {
			differ = append(differ, col)
		}
	}
	if len(differ) > 0 {
		return false, fmt.Errorf("append ledger %s %s: dedupe key %q holds an entry with another %s: %w",
			e.LoanID, e.Kind, e.DedupeKey, strings.Join(differ, ", "), ErrLedgerConflict)
	}
	return false, nil
}

// ledgerContentColumns are the columns that say what a ledger entry records,
// in the order AppendLedger compares them.
var ledgerContentColumns = [...]string{"loan_id", "kind", "amount", "currency", "detail", "occurred_at"}

// LedgerByLoan returns the ledger of a loan in business-time order (then in
// the order written).
func (s *Store) LedgerByLoan(ctx context.Context, loanID string) ([]LedgerEntry, error) {
	return ledgerByLoan(ctx, s.pool, loanID)
}

func ledgerByLoan(ctx context.Context, q querier, loanID string) ([]LedgerEntry, error) {
	rows, err := q.Query(ctx, `SELECT `+ledgerColumns+` FROM ledger
WHERE loan_id = $1 ORDER BY occurred_at, id`, loanID)
	if err != nil {
		return nil, fmt.Errorf("ledger of loan %s: %w", loanID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LedgerEntry, error) { return scanLedger(r) })
	if err != nil {
		return nil, fmt.Errorf("ledger of loan %s: %w", loanID, err)
	}
	return out, nil
}

// IsAppendOnlyViolation reports whether err is the database refusing to
// update, delete or truncate the ledger.
func IsAppendOnlyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeInsufficientPrivilege &&
		strings.HasPrefix(pgErr.Message, "ledger is append-only")
}
