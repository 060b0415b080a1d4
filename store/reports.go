package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report limits: a page of a cross-loan report holds DefaultReportLimit rows
// unless asked for more, and never more than MaxReportLimit, so one request
// cannot make the API read the whole table.
const (
	DefaultReportLimit = 100
	MaxReportLimit     = 1000
)

// NoticeFilter selects notices across loans for an operator's report. Status
// and Channel are exact matches when set; Since and Until bound updated_at
// (when the notice got its outcome), Since inclusive, Until exclusive, zero
// for no bound.
type NoticeFilter struct {
	Status  string
	Channel string
	Since   time.Time
	Until   time.Time
	Limit   int
}

// reportLimit is n within [1, MaxReportLimit], DefaultReportLimit for 0.
func reportLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultReportLimit
	case n > MaxReportLimit:
		return MaxReportLimit
	}
	return n
}

// Notices answers "whose reminders failed today?" and the like: the notices
// f selects, newest outcome first, at most f.Limit (DefaultReportLimit when
// 0, MaxReportLimit at most).
func (s *Store) Notices(ctx context.Context, f NoticeFilter) ([]Notice, error) {
	// Only the filters given go into the query, so that PostgreSQL plans it
	// on the index (status, updated_at) rather than a generic plan of
	// "$1 = '' OR status = $1" that would read the whole table.
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.Channel != "" {
		add("channel = $%d", f.Channel)
	}
	if !f.Since.IsZero() {
		add("updated_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("updated_at < $%d", f.Until)
	}
	q := `SELECT ` + noticeColumns + ` FROM notices`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, reportLimit(f.Limit))
	q += fmt.Sprintf(` ORDER BY updated_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("notices report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notice, error) { return scanNotice(r) })
	if err != nil {
		return nil, fmt.Errorf("notices report: %w", err)
	}
	return out, nil
}

// nullTime is t, or nil (SQL NULL) for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// OptOutFilter selects open opt-outs: Channel exact when set, made at or
// after Since when set.
type OptOutFilter struct {
	Channel string
	Since   time.Time
	Limit   int
}

// OptOutRow is one open opt-out and the loans its address reaches.
type OptOutRow struct {
	Channel   string    `json:"channel"`
	Address   string    `json:"address"`
	Source    string    `json:"source"`
	Keyword   string    `json:"keyword,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Loans are the loans started or updated with the address
	// (loan_contacts), open or not.
	Loans []string `json:"loans"`
}

// OpenOptOuts answers "which customers opted out?": the opt-outs by keyword
// or carrier still in force, newest first, with the loans each address
// reaches. Opt-outs an operator set through a contact update belong to
// their loan (its status and ledger), not to this table.
func (s *Store) OpenOptOuts(ctx context.Context, f OptOutFilter) ([]OptOutRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT o.channel, o.address, o.source, o.keyword, o.created_at,
       COALESCE(array_agg(c.loan_id ORDER BY c.loan_id) FILTER (WHERE c.loan_id IS NOT NULL), '{}')
FROM opt_outs o LEFT JOIN loan_contacts c ON c.channel = o.channel AND c.address = o.address
WHERE o.revoked_at IS NULL AND ($1 = '' OR o.channel = $1) AND ($2::timestamptz IS NULL OR o.created_at >= $2)
GROUP BY o.id ORDER BY o.created_at DESC, o.id DESC LIMIT $3`, f.Channel, nullTime(f.Since), reportLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("opt-outs report: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OptOutRow, error) {
		var o OptOutRow
		err := r.Scan(&o.Channel, &o.Address, &o.Source, &o.Keyword, &o.CreatedAt, &o.Loans)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("opt-outs report: %w", err)
	}
	return out, nil
}
