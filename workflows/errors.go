package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"dunning/policy"
)

// Error types of the application errors the loan workflow's updates fail
// with. They cross from the workflow to its callers (the API, the CLI) as
// temporal.ApplicationError types with the offending fields as details, so a
// caller branches on the type and never on the message text.
const (
	// ErrTypeLoanFinished: the loan was paid off or closed; it takes no more
	// repayments or operator actions (HTTP 409).
	ErrTypeLoanFinished = "LoanFinished"
	// ErrTypeConflict: the request contradicts what the loan already holds:
	// a txn_id repeated with another amount or paid_at, a resume of a loan
	// that is not paused (HTTP 409).
	ErrTypeConflict = "Conflict"
	// ErrTypeRejected: the request is invalid for this loan as it stands (a
	// repayment in another currency, a reschedule that overlaps a paid
	// installment, a contact that leaves no channel) (HTTP 422).
	ErrTypeRejected = "Rejected"
)

// ErrLoanFinished rejects repayments and operator actions once the workflow
// is completing.
var ErrLoanFinished = errors.New("loan is no longer open: it was paid off or closed")

// appError wraps err as a non-retryable application error of type typ whose
// details are the fields err names ([]policy.FieldError, possibly empty).
func appError(typ string, err error) error {
	var fields []policy.FieldError
	var v policy.ValidationError
	if errors.As(err, &v) {
		fields = []policy.FieldError(v)
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), typ, temporal.ApplicationErrorOptions{
		NonRetryable: true, Cause: err, Details: []any{fields},
	})
}

// rejected is an ErrTypeRejected error for err.
func rejected(err error) error { return appError(ErrTypeRejected, err) }

// conflict is an ErrTypeConflict error for err.
func conflict(err error) error { return appError(ErrTypeConflict, err) }

// finished is the ErrTypeLoanFinished error.
func finished() error { return appError(ErrTypeLoanFinished, ErrLoanFinished) }

// ErrorFields returns the field errors an application error of the loan
// workflow carries as details, or nil.
func ErrorFields(app *temporal.ApplicationError) []policy.FieldError {
	if app == nil || !app.HasDetails() {
		return nil
	}
	var fields []policy.FieldError
	if err := app.Details(&fields); err != nil {
		return nil
	}
	return fields
}

// errorFields are the fields an error names (a policy.ValidationError in its
// chain), or nil.
func errorFields(err error) []policy.FieldError {
	var v policy.ValidationError
	if errors.As(err, &v) {
		return v
	}
	return nil
}
