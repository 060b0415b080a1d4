package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"dunning/policy"
)

// Notice statuses. A notice is reserved as pending before the provider is
// called and completed to exactly one of the final statuses.
const (
	NoticePending = policy.NoticeStatusPending
	NoticeSent    = policy.NoticeStatusSent
	NoticeFailed  = policy.NoticeStatusFailed
	NoticeSkipped = policy.NoticeStatusSkipped
	// NoticeUnknown: an earlier attempt handed the notice to a provider that
	// cannot deduplicate, and its answer was lost; the receipt settles it.
	NoticeUnknown = policy.NoticeStatusUnknown
	// NoticeDelivered and NoticeUndelivered are what a provider's delivery
	// receipt said of a sent (or unknown) notice.
	NoticeDelivered   = policy.NoticeStatusDelivered
	NoticeUndelivered = policy.NoticeStatusUndelivered
)

// ErrNoticeCompleted is returned by CompleteNotice when the notice already
// has a different final status, so a late or conflicting completion never
// rewrites what the audit says happened.
var ErrNoticeCompleted = errors.New("notice already completed with another status")

// Notice is one notice attempt as audited in the notices table: what was
// rendered, to whom (the real address; mask it before logging), through which
// provider and with what outcome. IdempotencyKey is unique.
type Notice struct {
	ID                int64      `json:"id"`
	IdempotencyKey    string     `json:"idempotency_key"`
	LoanID            string     `json:"loan_id"`
	CustomerID        string     `json:"customer_id"`
	Channel           string     `json:"channel"`
	Template          string     `json:"template"`
	Locale            string     `json:"locale"`
	Subject           string     `json:"subject"`
	Body              string     `json:"body"`
	BodyHTML          string     `json:"body_html"`
	Recipient         string     `json:"recipient"`
	Status            string     `json:"status"`
	Reason            string     `json:"reason"`
	Provider          string     `json:"provider"`
	ProviderMessageID string     `json:"provider_message_id"`
	WorkflowID        string     `json:"workflow_id"`
	RunID             string     `json:"run_id"`
	Attempt           int        `json:"attempt"`
	CreatedAt         time.Time  `json:"created_at"`
	SentAt            *time.Time `json:"sent_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	// ProviderCalledAt is when an attempt first handed the notice to the
	// provider: a retry that finds it set cannot know whether the provider
	// took it.
	ProviderCalledAt *time.Time `json:"provider_called_at,omitempty"`
	// ProviderError is the provider's error code from a failure or an
	// undelivered receipt.
	ProviderError string `json:"provider_error,omitempty"`
	// DeliveredAt is when a receipt moved the notice to delivered or
	// undelivered.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

const noticeColumns = `id, idempotency_key, loan_id, customer_id, channel, template, locale,
	subject, body, body_html, recipient, status, reason, provider, provider_message_id,
	workflow_id, run_id, attempt, created_at, sent_at, updated_at, provider_called_at, provider_error,
	delivered_at`

// noticeValues inserts one notice; the callers say what a taken key does.
const noticeValues = `INSERT INTO notices (idempotency_key, loan_id, customer_id, channel, template,
	locale, subject, body, body_html, recipient, status, reason, provider, provider_message_id,
	workflow_id, run_id, attempt)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`

// insertNotice inserts n with the given status unless its key exists; no row
// comes back when it did.
const insertNotice = noticeValues + `
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING ` + noticeColumns

// finalizeNotice inserts n in its final status or, when its key exists and
// the row is still pending, completes that row with n's status and reason.
// ON CONFLICT DO UPDATE locks the existing row and re-reads it after any
// concurrent update commits, so a row another attempt completed meanwhile
// fails the WHERE and is left alone: no row comes back then.
//
// A pending row that an attempt had handed to its provider becomes unknown,
// not failed: the provider may have delivered it, and its receipt settles it.
const finalizeNotice = noticeValues + `
ON CONFLICT (idempotency_key) DO UPDATE
SET status = CASE WHEN notices.provider_called_at IS NOT NULL AND EXCLUDED.status = 'failed'
                  THEN 'unknown' ELSE EXCLUDED.status END,
    reason = CASE WHEN notices.provider_called_at IS NOT NULL AND EXCLUDED.status = 'failed'
                  THEN 'outcome unknown: ' || EXCLUDED.reason ELSE EXCLUDED.reason END,
    updated_at = now()
WHERE notices.status = 'pending'
RETURNING ` + noticeColumns

// noticeArgs are the arguments of noticeValues for n in status.
func noticeArgs(n Notice, status string) []any {
	return []any{n.IdempotencyKey, n.LoanID, n.CustomerID, n.Channel, n.Template, n.Locale, n.Subject,
		n.Body, n.BodyHTML, n.Recipient, status, n.Reason, n.Provider, n.ProviderMessageID,
		n.WorkflowID, n.RunID, n.Attempt}
}

func scanNotice(row pgx.Row) (Notice, error) {
	var n Notice
	err := row.Scan(&n.ID, &n.IdempotencyKey, &n.LoanID, &n.CustomerID, &n.Channel, &n.Template,
		&n.Locale, &n.Subject, &n.Body, &n.BodyHTML, &n.Recipient, &n.Status, &n.Reason,
		&n.Provider, &n.ProviderMessageID, &n.WorkflowID, &n.RunID, &n.Attempt, &n.CreatedAt,
		&n.SentAt, &n.UpdatedAt, &n.ProviderCalledAt, &n.ProviderError, &n.DeliveredAt)
	return n, err
}

// ReserveNotice records n as pending before the provider is called. When the
// idempotency key is new the stored row comes back with reserved true and the
// caller may send. When the key exists the existing row comes back with
// reserved false: an earlier attempt already sent, skipped or failed it, or is
// (or died) between reserving and completing it — the caller must not send
// blindly again.
func (s *Store) ReserveNotice(ctx context.Context, n Notice) (existing Notice, reserved bool, err error) {
	return s.insertOrGetNotice(ctx, n, NoticePending)
}

// RecordSkipped records n as skipped (over a frequency cap, opted out, no
// address), with n.Reason saying why, and returns the stored row. When the key
// exists already the existing row is returned unchanged.
func (s *Store) RecordSkipped(ctx context.Context, n Notice) (Notice, error) {
	stored, _, err := s.insertOrGetNotice(ctx, n, NoticeSkipped)
	return stored, err
}

func (s *Store) insertOrGetNotice(ctx context.Context, n Notice, status string) (Notice, bool, error) {
	if n.IdempotencyKey == "" {
		return Notice{}, false, invalidf("record %s notice: empty idempotency key", status)
	}
	stored, err := scanNotice(s.pool.QueryRow(ctx, insertNotice, noticeArgs(n, status)...))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Notice{}, false, fmt.Errorf("record %s notice %s: %w", status, n.IdempotencyKey, err)
	}
	// ON CONFLICT waited for any concurrent inserter to commit, so the row is
	// visible to this new statement.
	stored, err = s.noticeByKey(ctx, n.IdempotencyKey)
	if err != nil {
		return Notice{}, false, fmt.Errorf("record %s notice: %w", status, err)
	}
	return stored, false, nil
}

// FinalizeNotice gives a notice whose send did not record an outcome its
// final status: n.Status, failed or skipped, with n.Reason. It is for a
// notice that cannot be rendered, and for one whose send activity ended
// without completing its row (timed out, failed for good).
//
//   - No row with n's key: n is inserted in its final status (sent_at NULL).
//   - A pending row: it is completed with n's status and reason; what it
//     recorded when reserved (message, recipient, provenance) is kept.
//   - A final row (sent, failed or skipped): nothing changes. This happens when
//     the send did succeed and only its answer was lost, or when a retry
//     finalizes again.
//
// It returns the row as stored afterwards, which is the truth whichever
// case applied, and finalized true when this call wrote the final status. Only
// a pending row is ever changed, so a send attempt completing at the same
// moment either wins (its status stays) or finds the row final. A status
// other than failed or skipped, or an empty key, is an ErrInvalid error.
func (s *Store) FinalizeNotice(ctx context.Context, n Notice) (stored Notice, finalized bool, err error) {
	switch {
	case n.IdempotencyKey == "":
		return Notice{}, false, invalidf("finalize notice: empty idempotency key")
	case n.Status != NoticeFailed && n.Status != NoticeSkipped:
		return Notice{}, false, invalidf("finalize notice %s: status %q is not failed or skipped", n.IdempotencyKey, n.Status)
	}
	stored, err = scanNotice(s.pool.QueryRow(ctx, finalizeNotice, noticeArgs(n, n.Status)...))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Notice{}, false, fmt.Errorf("finalize notice %s as %s: %w", n.IdempotencyKey, n.Status, err)
	}
	// The row was final already, and final rows never change: read it.
	stored, err = s.noticeByKey(ctx, n.IdempotencyKey)
	if err != nil {
		return Notice{}, false, fmt.Errorf("finalize notice as %s: %w", n.Status, err)
	}
	return stored, false, nil
}

func (s *Store) noticeByKey(ctx context.Context, key string) (Notice, error) {
	n, err := scanNotice(s.pool.QueryRow(ctx,
		`SELECT `+noticeColumns+` FROM notices WHERE idempotency_key = $1`, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return Notice{}, fmt.Errorf("notice %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return Notice{}, fmt.Errorf("notice %s: %w", key, err)
	}
	return n, nil
}

// CompleteNotice moves the pending notice with this key to its final status
// (sent, failed or skipped) with the provider's answer. sentAt may be zero;
// for a sent notice it then defaults to now. A second completion with the
// status already stored is a no-op (a retried activity), one with another
// status fails with ErrNoticeCompleted, and an unknown key with ErrNotFound.
func (s *Store) CompleteNotice(ctx context.Context, key, status, reason, provider, providerMessageID string, sentAt time.Time) error {
	switch status {
	case NoticeSent, NoticeFailed, NoticeSkipped, NoticeUnknown:
	default:
		return invalidf("complete notice %s: status %q is not final", key, status)
	}
	var at *time.Time
	if !sentAt.IsZero() {
		at = &sentAt
	}
	tag, err := s.pool.Exec(ctx, `UPDATE notices
SET status = $2, reason = $3, provider = $4, provider_message_id = $5,
    sent_at = COALESCE($6::timestamptz, CASE WHEN $2 = 'sent' THEN now() END),
    updated_at = now()
WHERE idempotency_key = $1 AND status = 'pending'`,
		key, status, reason, provider, providerMessageID, at)
	if err != nil {
		return fmt.Errorf("complete notice %s as %s: %w", key, status, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	current, err := s.noticeByKey(ctx, key)
	if err != nil {
		return fmt.Errorf("complete notice as %s: %w", status, err)
	}
	if current.Status != status {
		return fmt.Errorf("complete notice %s as %s: is %s: %w", key, status, current.Status, ErrNoticeCompleted)
	}
	return nil
}

// NoticesByLoan returns every notice of a loan, oldest first, for the API and
// the audit export.
func (s *Store) NoticesByLoan(ctx context.Context, loanID string) ([]Notice, error) {
	return noticesByLoan(ctx, s.pool, loanID)
}

func noticesByLoan(ctx context.Context, q querier, loanID string) ([]Notice, error) {
	rows, err := q.Query(ctx, `SELECT `+noticeColumns+` FROM notices
WHERE loan_id = $1 ORDER BY created_at, id`, loanID)
	if err != nil {
		return nil, fmt.Errorf("notices of loan %s: %w", loanID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) { return scanNotice(r) })
	if err != nil {
		return nil, fmt.Errorf("notices of loan %s: %w", loanID, err)
	}
	return out, nil
}
