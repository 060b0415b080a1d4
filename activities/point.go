package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
)

// PointRequest is one ladder point, or one repayment's confirmations, done
// in a single activity (SendPoint): the audit rows the loan decided before it
// (ledger rows, notice rows already final such as the point's skipped
// channels) and the point's notices, one per channel.
//
// One activity instead of one per channel plus one for the ledger is what
// keeps a point cheap for the Temporal server: three events and one
// workflow task for the whole point instead of three per channel and one
// more task per completion (docs/PERFORMANCE.md).
type PointRequest struct {
	Ledger  []LedgerEntry   `json:"ledger,omitempty"`
	Finals  []NoticeOutcome `json:"finals,omitempty"`
	Notices []NoticeRequest `json:"notices,omitempty"`
}

// PointResult is what SendPoint did. Every ledger entry not listed in
// Ledger.Rejected is in the ledger; Finals and Notices answer their
// request's entries one for one, in order.
type PointResult struct {
	Ledger LedgerResult `json:"ledger"`
	// LedgerError is set when the ledger rows could not be written for now
	// (the database is unreachable): none is known written, the workflow
	// keeps them all and writes them later; a retry skips those that were.
	LedgerError string        `json:"ledger_error,omitempty"`
	Finals      []PointNotice `json:"finals,omitempty"`
	Notices     []PointNotice `json:"notices,omitempty"`
}

// PointNotice is the outcome of one notice of a point. Error is set, and
// the outcome empty, when the notice ended in an error that retrying cannot
// fix (the store refused its row for good): the workflow records the notice
// failed, or keeps the final row queued, as it does for a SendNotice or
// FinalizeNotice that failed.
type PointNotice struct {
	NoticeResult
	Error string `json:"error,omitempty"`
}

// SendPoint writes the point's audit rows, then sends its notices in
// parallel, each exactly as SendNotice does (render, checked reservation,
// provider, completion; a retry finds every row and never sends a final
// notice again).
//
// Ledger rows and final notice rows are written first: they are decided
// facts, and a retry skips them by their keys. They never hold the notices
// back: rows the database does not take now are answered as not written
// (LedgerError, Finals shorter than asked) and the workflow keeps them for
// its next audit write, as it keeps every audit row (DESIGN.md §7).
//
// A notice whose send fails in a way a retry may fix (the provider is down,
// the database is unreachable) fails the whole attempt: Temporal retries it,
// and the retry returns the stored outcome of the notices that did end,
// without calling their providers. A provider that asks for a delay (HTTP
// 429) sets the retry's.
//
// SendPoint runs on the points task queue (workflows.PointQueue), whose rate
// the worker sets to the slowest channel's: a point sends at most one
// message per channel, so no channel goes faster than its rate, across all
// replicas, as on the channel queues SendNotice runs on.
func (a *Activities) SendPoint(ctx context.Context, req PointRequest) (PointResult, error) {
	var res PointResult
	if len(req.Ledger) > 0 {
		lr, err := a.AppendLedger(ctx, req.Ledger)
		if err != nil {
			res.LedgerError = err.Error()
		}
		res.Ledger = lr
	}
finals:
	for _, o := range req.Finals {
		r, err := a.FinalizeNotice(ctx, o)
		var app *temporal.ApplicationError
		switch {
		case errors.As(err, &app) && app.NonRetryable():
			res.Finals = append(res.Finals, PointNotice{Error: app.Type()})
		case err != nil:
			// Unreachable for now: the rest stay queued in the workflow.
			break finals
		default:
			res.Finals = append(res.Finals, PointNotice{NoticeResult: r})
		}
	}
	res.Notices = make([]PointNotice, len(req.Notices))
	errs := make([]error, len(req.Notices))
	var wg sync.WaitGroup
	for i, n := range req.Notices {
		wg.Go(func() {
			r, err := a.SendNotice(ctx, n)
			var app *temporal.ApplicationError
			if errors.As(err, &app) && app.NonRetryable() {
				res.Notices[i] = PointNotice{Error: app.Type()}
				return
			}
			res.Notices[i], errs[i] = PointNotice{NoticeResult: r}, err
		})
	}
	wg.Wait()
	if err := retryable(errs); err != nil {
		return PointResult{}, err
	}
	return res, nil
}

// retryable joins the errors of a point's notices into the error the
// attempt fails with, nil when there is none. A provider's requested delay
// survives the join: the longest is the retry's.
func retryable(errs []error) error {
	var delay time.Duration
	var all []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		all = append(all, err)
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.NextRetryDelay() > delay {
			delay = app.NextRetryDelay()
		}
	}
	if len(all) == 0 {
		return nil
	}
	err := errors.Join(all...)
	if delay > 0 {
		return temporal.NewApplicationErrorWithOptions(err.Error(), "ProviderBusy",
			temporal.ApplicationErrorOptions{NextRetryDelay: delay, Cause: err})
	}
	return err
}
