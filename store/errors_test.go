package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"dunning/store"
)

func TestIsPermanentClassifies(t *testing.T) {
	t.Parallel()
	pg := func(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "x"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("connection reset by peer"), false},
		{"deadline", context.DeadlineExceeded, false},
		{"canceled", fmt.Errorf("append: %w", context.Canceled), false},
		{"invalid", store.ErrInvalid, true},
		{"invalid wrapped", fmt.Errorf("activity: %w", store.ErrInvalid), true},
		{"ledger conflict wrapped", fmt.Errorf("append ledger: %w", store.ErrLedgerConflict), true},
		{"check violation", pg("23514"), true},
		{"unique violation", pg("23505"), true},
		{"not null violation wrapped", fmt.Errorf("record: %w", pg("23502")), true},
		{"numeric out of range", pg("22003"), true},
		{"invalid byte sequence", pg("22021"), true},
		{"serialization failure", pg("40001"), false},
		{"deadlock", pg("40P01"), false},
		{"connection failure", pg("08006"), false},
		{"query canceled", pg("57014"), false},
		{"admin shutdown", pg("57P01"), false},
		{"undefined table", pg("42P01"), false},
		{"append-only refusal", pg("42501"), false},
		{"empty code", pg(""), false},
	}
	for _, tt := range tests {
		if got := store.IsPermanent(tt.err); got != tt.want {
			t.Errorf("%s: IsPermanent(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestStoreErrorsArePermanentOrNot drives the real store into each kind of
// error and checks how IsPermanent classifies what it returns.
func TestStoreErrorsArePermanentOrNot(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	closed, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()

	nulBody := notice("nul", "sms")
	nulBody.Body = "a\x00b"
	tests := []struct {
		name    string
		call    func() error
		invalid bool // wraps store.ErrInvalid
		want    bool
	}{
		{"reserve: empty key", func() error { _, _, err := s.ReserveNotice(ctx, notice("", "sms")); return err }, true, true},
		{"skip: empty key", func() error { _, err := s.RecordSkipped(ctx, notice("", "sms")); return err }, true, true},
		{"reserve: unknown channel (CHECK)", func() error { _, _, err := s.ReserveNotice(ctx, notice("fax", "fax")); return err }, false, true},
		{"reserve: NUL in text (22021)", func() error { _, _, err := s.ReserveNotice(ctx, nulBody); return err }, false, true},
		{"complete: pending is not final", func() error {
			return s.CompleteNotice(ctx, "k", store.NoticePending, "", "", "", time.Time{})
		}, true, true},
		{"ledger: no occurred_at", func() error {
			_, err := s.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-1", Kind: store.KindPaused})
			return err
		}, true, true},
		{"ledger: amount without currency", func() error {
			_, err := s.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-1", Kind: store.KindPenaltyPosted, Amount: dec(t, "1.00"), OccurredAt: at})
			return err
		}, true, true},
		{"ledger: detail not JSON", func() error {
			_, err := s.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-1", Kind: store.KindPaused, Detail: []byte("{"), OccurredAt: at})
			return err
		}, true, true},
		{"ledger: unknown kind (CHECK)", func() error {
			_, err := s.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-1", Kind: "forgiven", OccurredAt: at})
			return err
		}, false, true},
		{"case: empty dedupe key", func() error { _, _, err := s.OpenCase(ctx, store.Case{LoanID: "L-1"}); return err }, true, true},
		{"case: total without currency", func() error {
			_, _, err := s.OpenCase(ctx, store.Case{LoanID: "L-1", DedupeKey: "c", OverdueTotal: dec(t, "1.00")})
			return err
		}, true, true},
		{"case: negative days past due (CHECK)", func() error {
			_, _, err := s.OpenCase(ctx, store.Case{LoanID: "L-1", DedupeKey: "c-neg", DaysPastDue: -1})
			return err
		}, false, true},
		{"closed pool", func() error { _, _, err := closed.ReserveNotice(ctx, notice("k1", "sms")); return err }, false, false},
		{"closed pool ledger", func() error {
			_, err := closed.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-1", Kind: store.KindPaused, OccurredAt: at})
			return err
		}, false, false},
		{"cancelled context", func() error { _, _, err := s.ReserveNotice(cancelled, notice("k2", "sms")); return err }, false, false},
		{"unknown notice", func() error {
			return s.CompleteNotice(ctx, "nope", store.NoticeSent, "", "", "", time.Time{})
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("the call succeeded, want an error")
			}
			if got := store.IsPermanent(err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.want)
			}
			if got := errors.Is(err, store.ErrInvalid); got != tt.invalid {
				t.Errorf("errors.Is(%v, ErrInvalid) = %v, want %v", err, got, tt.invalid)
			}
		})
	}
}
