package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"
)

// Collection case statuses. The workflow only opens cases; collectors move
// them on with their own tools.
const (
	CaseOpen     = "open"
	CaseAssigned = "assigned"
	CaseResolved = "resolved"
	CaseClosed   = "closed"
)

// Case is a loan handed to the collections team: why, how late and how much
// was overdue when it was opened, and who works it. DedupeKey is unique, so
// opening the same case twice (an activity retry) yields the first one.
type Case struct {
	ID           int64            `json:"id"`
	LoanID       string           `json:"loan_id"`
	CustomerID   string           `json:"customer_id"`
	Reason       string           `json:"reason"`
	Status       string           `json:"status"`
	AssignedTo   string           `json:"assigned_to,omitempty"`
	DaysPastDue  int              `json:"days_past_due"`
	OverdueTotal *decimal.Decimal `json:"overdue_total"`
	Currency     string           `json:"currency,omitempty"`
	WorkflowID   string           `json:"workflow_id"`
	RunID        string           `json:"run_id"`
	DedupeKey    string           `json:"dedupe_key"`
	OpenedAt     time.Time        `json:"opened_at"`
	ClosedAt     *time.Time       `json:"closed_at,omitempty"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

const caseColumns = `id, loan_id, customer_id, reason, status, COALESCE(assigned_to, ''),
	days_past_due, overdue_total::text, COALESCE(currency, ''), workflow_id, run_id, dedupe_key,
	opened_at, closed_at, created_at, updated_at`

func scanCase(row pgx.Row) (Case, error) {
	var c Case
	var total *string
	if err := row.Scan(&c.ID, &c.LoanID, &c.CustomerID, &c.Reason, &c.Status, &c.AssignedTo,
		&c.DaysPastDue, &total, &c.Currency, &c.WorkflowID, &c.RunID, &c.DedupeKey,
		&c.OpenedAt, &c.ClosedAt, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return Case{}, err
	}
	var err error
	c.OverdueTotal, err = parseMoney(total)
	return c, err
}

// OpenCase opens a collections case unless one with the same DedupeKey exists.
// It returns the stored case and whether this call created it. OpenedAt
// defaults to now and Status to open; AssignedTo may be empty.
func (s *Store) OpenCase(ctx context.Context, c Case) (Case, bool, error) {
	if c.DedupeKey == "" {
		return Case{}, false, invalidf("open case for loan %s: empty dedupe key", c.LoanID)
	}
	if c.OverdueTotal != nil && c.Currency == "" {
		return Case{}, false, invalidf("open case for loan %s: overdue total without currency", c.LoanID)
	}
	var openedAt *time.Time
	if !c.OpenedAt.IsZero() {
		openedAt = &c.OpenedAt
	}
	status := c.Status
	if status == "" {
		status = CaseOpen
	}
	stored, err := scanCase(s.pool.QueryRow(ctx, `INSERT INTO collection_cases
	(loan_id, customer_id, reason, status, assigned_to, days_past_due, overdue_total, currency,
	 workflow_id, run_id, dedupe_key, opened_at)
VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7::numeric, NULLIF($8, ''), $9, $10, $11,
	COALESCE($12::timestamptz, now()))
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING `+caseColumns,
		c.LoanID, c.CustomerID, c.Reason, status, c.AssignedTo, c.DaysPastDue, money(c.OverdueTotal), c.Currency,
		c.WorkflowID, c.RunID, c.DedupeKey, openedAt))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Case{}, false, fmt.Errorf("open case %s: %w", c.DedupeKey, err)
	}
	stored, err = scanCase(s.pool.QueryRow(ctx,
		`SELECT `+caseColumns+` FROM collection_cases WHERE dedupe_key = $1`, c.DedupeKey))
	if err != nil {
		return Case{}, false, fmt.Errorf("open case %s: read existing: %w", c.DedupeKey, err)
	}
	return stored, false, nil
}

// CasesByLoan returns the collections cases of a loan, oldest first.
func (s *Store) CasesByLoan(ctx context.Context, loanID string) ([]Case, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+caseColumns+` FROM collection_cases
WHERE loan_id = $1 ORDER BY opened_at, id`, loanID)
	if err != nil {
		return nil, fmt.Errorf("cases of loan %s: %w", loanID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Case, error) { return scanCase(r) })
	if err != nil {
		return nil, fmt.Errorf("cases of loan %s: %w", loanID, err)
	}
	return out, nil
}
