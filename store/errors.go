package store

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrInvalid is wrapped by every error the store returns for input it
// refuses before asking the database (an empty idempotency or dedupe key, a
// ledger entry without occurred_at, an amount without currency, detail that
// is not JSON, a status that is not final). Sending the same input again
// cannot succeed.
var ErrInvalid = errors.New("invalid input")

// ErrLedgerConflict is wrapped by AppendLedger's error when the dedupe key is
// already taken by an entry with other content: not a retry of the same event
// but two events under one key, which the append-only ledger cannot settle.
var ErrLedgerConflict = errors.New("ledger conflict")

// invalidError is a validation error: its own message, and errors.Is finds
// ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// invalidf returns a validation error with the formatted message.
func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// SQLSTATE classes that IsPermanent treats as the database refusing the
// data itself.
const (
	classDataException       = "22"
	classIntegrityConstraint = "23"
)

// IsPermanent reports whether err is the store refusing the data for good, so
// that retrying the same call cannot succeed: a validation error (ErrInvalid),
// a ledger conflict (ErrLedgerConflict), or a PostgreSQL error of SQLSTATE
// class 22 (data exception: invalid text, numeric out of range) or 23
// (integrity constraint violation: a CHECK, NOT NULL or unique constraint).
// Everything else (connection failures, timeouts, a cancelled context,
// serialization failures, deadlocks, a missing table before a migration) may
// succeed on retry and is not permanent. IsPermanent(nil) is false.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrLedgerConflict) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) < 2 {
		return false
	}
	switch pgErr.Code[:2] {
	case classDataException, classIntegrityConstraint:
		return true
	}
	return false
}
