package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"dunning/policy"
)

// addressLockClass is the first key of the transaction-level advisory lock
// ReserveNoticeChecked takes per channel and address; the second is a hash of
// them. Two-key advisory locks never meet single-key ones (goose's migration
// lock), and two addresses that share a hash only wait for each other.
const addressLockClass int32 = 0x646e6e67 // "dnng"

// sendWithin bounds how long after its reservation a notice can be sent: its
// send activity gives up after 6 hours. The check reads the notices reserved
// since this long before the caps' window, whose send time may fall inside it.
const sendWithin = 24 * time.Hour

// stoppedUnknown starts the reason of a pending notice, handed to its
// provider by an earlier attempt, that the send-time check stops: the provider
// may have it, so it ends unknown (the receipt settles it), never skipped.
const stoppedUnknown = "outcome unknown: an earlier attempt reached the provider and its answer was lost; not sent again: "

// ReserveNoticeChecked is ReserveNotice with the send-time compliance check:
// in one transaction, just before the provider is called, it checks n against
// the audit store itself and either reserves n's key as pending or records
// why it may not go out. Two workers, two loans of one borrower, a stale plan,
// a retried activity or a worker's clock cannot get around it:
//
//   - It takes a transaction-level advisory lock on (n.Channel, n.Recipient),
//     so every checked send to one address is serialised and each one counts
//     the reservations of those before it.
//   - A key with a final row comes back unchanged, reserved false, as from
//     ReserveNotice.
//   - Otherwise c.Stop decides, at the database's clock (one clock for every
//     worker): an open opt-out of the channel and address in opt_outs, the
//     contact window in c.TimeZone, and the caps over the notices to the same
//     channel and address of every loan (the borrower is one person), pending
//     ones of other keys included. Confirmations (policy.IsConfirmation of the
//     template) are checked for opt-outs only.
//   - A new key that passes is reserved as pending (reserved true). One that
//     does not is recorded skipped with the reason (opted_out, no_address,
//     window, cap_day, cap_7_days) and no message, since nothing was said.
//   - A pending key (an earlier attempt died or was refused) is checked again,
//     its own row not counted. If it passes it comes back as from
//     ReserveNotice, and the caller sends as before. If not, it is completed
//     skipped with the reason, or unknown when an earlier attempt had handed
//     it to its provider (the provider may have it).
//
// An empty key, or a time zone c cannot load, is an ErrInvalid error.
func (s *Store) ReserveNoticeChecked(ctx context.Context, n Notice, c policy.SendCheck) (stored Notice, reserved bool, err error) {
	if n.IdempotencyKey == "" {
		return Notice{}, false, invalidf("reserve notice: empty idempotency key")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Notice{}, false, fmt.Errorf("reserve notice %s: %w", n.IdempotencyKey, err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	stored, reserved, err = reserveChecked(ctx, tx, n, c)
	if err != nil {
		return Notice{}, false, fmt.Errorf("reserve notice %s: %w", n.IdempotencyKey, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Notice{}, false, fmt.Errorf("reserve notice %s: commit: %w", n.IdempotencyKey, err)
	}
	return stored, reserved, nil
}

func reserveChecked(ctx context.Context, tx pgx.Tx, n Notice, c policy.SendCheck) (Notice, bool, error) {
	var now time.Time
	if err := tx.QueryRow(ctx, `SELECT clock_timestamp() FROM pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3))`,
		addressLockClass, n.Channel, n.Recipient).Scan(&now); err != nil {
		return Notice{}, false, fmt.Errorf("lock address: %w", err)
	}
	existing, err := scanNotice(tx.QueryRow(ctx,
		`SELECT `+noticeColumns+` FROM notices WHERE idempotency_key = $1 FOR UPDATE`, n.IdempotencyKey))
	found := err == nil
	switch {
	case err != nil && !errors.Is(err, pgx.ErrNoRows):
		return Notice{}, false, err
	case found && existing.Status != NoticePending:
		return existing, false, nil
	}
	reason, err := stopReason(ctx, tx, n, c, now)
	if err != nil {
		return Notice{}, false, err
	}
	switch {
	case found && reason == "":
		return existing, false, nil
	case found:
		status := NoticeSkipped
		if existing.ProviderCalledAt != nil {
			status, reason = NoticeUnknown, stoppedUnknown+reason
		}
		row, err := scanNotice(tx.QueryRow(ctx, `UPDATE notices SET status = $2, reason = $3, updated_at = now()
WHERE idempotency_key = $1 AND status = 'pending'
RETURNING `+noticeColumns, n.IdempotencyKey, status, reason))
		if err != nil {
			return Notice{}, false, fmt.Errorf("complete as %s: %w", status, err)
		}
		return row, false, nil
	}
	status := NoticePending
	if reason != "" {
		status = NoticeSkipped
		n.Reason, n.Subject, n.Body, n.BodyHTML = reason, "", "", ""
	}
	row, err := scanNotice(tx.QueryRow(ctx, insertNotice, noticeArgs(n, status)...))
	if errors.Is(err, pgx.ErrNoRows) {
		// Inserted meanwhile by an unchecked ReserveNotice: return that row.
		row, err = scanNotice(tx.QueryRow(ctx, `SELECT `+noticeColumns+` FROM notices WHERE idempotency_key = $1`, n.IdempotencyKey))
		if err != nil {
			return Notice{}, false, err
		}
		return row, false, nil
	}
	if err != nil {
		return Notice{}, false, fmt.Errorf("record %s: %w", status, err)
	}
	return row, status == NoticePending, nil
}

// stopReason reads what c.Stop needs about n's channel and address at now:
// its open opt-out and the notices to it since the caps' window began (n's
// own key excluded).
func stopReason(ctx context.Context, tx pgx.Tx, n Notice, c policy.SendCheck, now time.Time) (string, error) {
	from, err := c.CountsFrom(now)
	if err != nil {
		return "", invalidf("%v", err)
	}
	var optedOut bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM opt_outs
WHERE channel = $1 AND address = $2 AND revoked_at IS NULL)`, n.Channel, n.Recipient).Scan(&optedOut); err != nil {
		return "", fmt.Errorf("opt-out: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT template, status, COALESCE(sent_at, created_at) FROM notices
WHERE channel = $1 AND recipient = $2 AND created_at >= $3 AND idempotency_key <> $4`,
		n.Channel, n.Recipient, from.Add(-sendWithin), n.IdempotencyKey)
	if err != nil {
		return "", fmt.Errorf("notices to the address: %w", err)
	}
	prior, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (policy.PriorNotice, error) {
		var p policy.PriorNotice
		err := r.Scan(&p.Template, &p.Status, &p.At)
		return p, err
	})
	if err != nil {
		return "", fmt.Errorf("notices to the address: %w", err)
	}
	reason, err := c.Stop(n.Template, n.Recipient, optedOut, prior, now)
	if err != nil {
		return "", invalidf("%v", err)
	}
	return reason, nil
}
