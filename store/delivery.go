package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MarkProviderCalled records, with called true, that an attempt is about to
// hand the pending notice key to its provider: a later attempt that finds it
// set knows the provider may have taken the notice (the first call's time
// stays). With called false it clears the mark after the provider surely
// refused the message (it answered 429 or 5xx), so a retry may send again.
func (s *Store) MarkProviderCalled(ctx context.Context, key string, called bool) error {
	q := `UPDATE notices SET provider_called_at = COALESCE(provider_called_at, now()), updated_at = now()
WHERE idempotency_key = $1 AND status = 'pending'`
	if !called {
		q = `UPDATE notices SET provider_called_at = NULL, updated_at = now()
WHERE idempotency_key = $1 AND status = 'pending'`
	}
	if _, err := s.pool.Exec(ctx, q, key); err != nil {
		return fmt.Errorf("mark notice %s as handed to its provider: %w", key, err)
	}
	return nil
}

// Receipt is what a provider's delivery report says of one message: found by
// our idempotency key when the report carries it, else by the provider's
// message id.
type Receipt struct {
	Key       string
	Provider  string
	MessageID string
	// Status is NoticeDelivered or NoticeUndelivered.
	Status string
	// Error is the provider's error code of an undelivered message.
	Error string
	At    time.Time
}

// ApplyReceipt moves the notice r reports on from sent (or unknown) to
// r.Status and returns the row afterwards, with changed true when this call
// moved it. A report about a row already delivered or undelivered, or about
// a notice never sent, changes nothing (reports repeat and arrive out of
// order); one about no known notice is ErrNotFound.
func (s *Store) ApplyReceipt(ctx context.Context, r Receipt) (Notice, bool, error) {
	if r.Status != NoticeDelivered && r.Status != NoticeUndelivered {
		return Notice{}, false, invalidf("receipt: status %q is not delivered or undelivered", r.Status)
	}
	if r.Key == "" && (r.Provider == "" || r.MessageID == "") {
		return Notice{}, false, invalidf("receipt: neither a key nor a provider message id")
	}
	at := r.At
	if at.IsZero() {
		at = time.Now()
	}
	n, err := scanNotice(s.pool.QueryRow(ctx, `UPDATE notices
SET status = $4, provider_error = $5, delivered_at = $6, updated_at = now(),
    provider = CASE WHEN provider = '' THEN $2 ELSE provider END,
    provider_message_id = CASE WHEN provider_message_id = '' THEN $3 ELSE provider_message_id END
WHERE (CASE WHEN $1 <> '' THEN idempotency_key = $1 ELSE provider = $2 AND provider_message_id = $3 END)
  AND status IN ('sent', 'unknown')
RETURNING `+noticeColumns, r.Key, r.Provider, r.MessageID, r.Status, r.Error, at))
	if err == nil {
		return n, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Notice{}, false, fmt.Errorf("apply receipt %s%s: %w", r.Key, r.MessageID, err)
	}
	q, arg := `SELECT `+noticeColumns+` FROM notices WHERE idempotency_key = $1`, r.Key
	if r.Key == "" {
		q, arg = `SELECT `+noticeColumns+` FROM notices WHERE provider_message_id = $1`, r.MessageID
	}
	n, err = scanNotice(s.pool.QueryRow(ctx, q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return Notice{}, false, fmt.Errorf("receipt for %s%s: %w", r.Key, r.MessageID, ErrNotFound)
	}
	if err != nil {
		return Notice{}, false, fmt.Errorf("apply receipt %s%s: %w", r.Key, r.MessageID, err)
	}
	return n, false, nil
}

// Opt-out sources.
const (
	OptOutKeyword = "keyword" // the borrower replied STOP, 退订…
	OptOutCarrier = "carrier" // the provider reported the address unsubscribed
)

// OptOut records that address may not be contacted on channel any more. It
// reports whether this call opened the opt-out (false: one was open already),
// so a confirmation goes out at most once per opt-out.
func (s *Store) OptOut(ctx context.Context, channel, address, source, keyword string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO opt_outs (channel, address, source, keyword)
VALUES ($1, $2, $3, $4) ON CONFLICT (channel, address) WHERE revoked_at IS NULL DO NOTHING`,
		channel, address, source, keyword)
	if err != nil {
		return false, fmt.Errorf("opt out %s: %w", channel, err)
	}
	return tag.RowsAffected() == 1, nil
}

// OptIn ends the open opt-out of address on channel if source made it (START
// reverses only an opt-out made by keyword), and reports whether it did.
func (s *Store) OptIn(ctx context.Context, channel, address, source string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE opt_outs SET revoked_at = now()
WHERE channel = $1 AND address = $2 AND source = $3 AND revoked_at IS NULL`, channel, address, source)
	if err != nil {
		return false, fmt.Errorf("opt in %s: %w", channel, err)
	}
	return tag.RowsAffected() == 1, nil
}

// OptedOut returns the source of the open opt-out of address on channel, or
// "" when there is none.
func (s *Store) OptedOut(ctx context.Context, channel, address string) (string, error) {
	var source string
	err := s.pool.QueryRow(ctx, `SELECT source FROM opt_outs
WHERE channel = $1 AND address = $2 AND revoked_at IS NULL`, channel, address).Scan(&source)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("opt-out of %s: %w", channel, err)
	}
	return source, nil
}

// Contact is one address a loan reaches its customer at.
type Contact struct {
	Channel string
	Address string
}

// AddLoanContacts records the addresses loanID was started or updated with.
func (s *Store) AddLoanContacts(ctx context.Context, loanID string, contacts []Contact) error {
	for _, c := range contacts {
		if c.Address == "" {
			continue
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO loan_contacts (loan_id, channel, address)
VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, loanID, c.Channel, c.Address); err != nil {
			return fmt.Errorf("contacts of loan %s: %w", loanID, err)
		}
	}
	return nil
}

// LoansByAddress lists, in order, the loans that reach a customer at address
// on channel: those started or updated with it, and those notified there.
func (s *Store) LoansByAddress(ctx context.Context, channel, address string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT loan_id FROM loan_contacts WHERE channel = $1 AND address = $2
UNION SELECT loan_id FROM notices WHERE channel = $1 AND recipient = $2
ORDER BY loan_id`, channel, address)
	if err != nil {
		return nil, fmt.Errorf("loans at an address: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("loans at an address: %w", err)
	}
	return out, nil
}
