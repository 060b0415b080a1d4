package activities

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
)

// TestStoreErrorsRetryableOrNot: in every activity a store error that
// retrying cannot fix (store.IsPermanent) is a non-retryable
// ErrTypeAuditRejected error, and any other store error stays retryable.
// (AppendLedger lists such rows instead: TestAppendLedgerErrors.)
func TestStoreErrorsRetryableOrNot(t *testing.T) {
	const key = "L-2026-0001/1/1/7/sms"
	send := func(f *fixture) error {
		_, err := f.run.SendNotice(noticeRequest(key, policy.SMS, "en", testPhone))
		return err
	}
	calls := []struct {
		name   string
		method string // the store method that fails
		setup  func(f *fixture)
		call   func(f *fixture) error
	}{
		{name: "SendNotice reserve", method: "ReserveNotice", call: send},
		{name: "SendNotice reserve checked", method: "ReserveNoticeChecked", call: func(f *fixture) error {
			req := noticeRequest(key, policy.SMS, "en", testPhone)
			req.Check = shanghaiCheck()
			_, err := f.run.SendNotice(req)
			return err
		}},
		{name: "SendNotice complete as sent", method: "CompleteNotice", call: send},
		{name: "SendNotice complete as failed", method: "CompleteNotice", call: send, setup: func(f *fixture) {
			f.sink.Reject = func(channels.Message) error { return channels.ErrInvalidRecipient }
		}},
		{name: "SendNotice record render failure", method: "FinalizeNotice", call: send,
			setup: func(f *fixture) { f.acts.Brand = Brand{} }},
		{name: "RecordSkipped", method: "RecordSkipped", call: func(f *fixture) error {
			return f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{Key: key, LoanID: "L-2026-0001",
				Channel: policy.SMS, Reason: "opted_out"}}})
		}},
		{name: "OpenCollectionsCase", method: "OpenCase", call: func(f *fixture) error {
			_, err := f.run.OpenCollectionsCase(CaseRequest{LoanID: "L-2026-0001", DedupeKey: "k",
				OverdueTotal: decimal.RequireFromString("10.00"), Currency: "CNY"})
			return err
		}},
		{name: "FinalizeNotice", method: "FinalizeNotice", call: func(f *fixture) error {
			_, err := f.run.FinalizeNotice(outcome(key, StatusFailed, "send timed out"))
			return err
		}},
	}
	storeErrs := []struct {
		name      string
		err       error
		permanent bool
	}{
		{"connection reset", errors.New("connection reset by peer"), false},
		{"serialization failure", &pgconn.PgError{Severity: "ERROR", Code: "40001", Message: "could not serialize access"}, false},
		{"check violation", &pgconn.PgError{Severity: "ERROR", Code: "23514", Message: "violates check constraint"}, true},
		{"invalid text", &pgconn.PgError{Severity: "ERROR", Code: "22021", Message: "invalid byte sequence"}, true},
		{"validation", fmt.Errorf("record notice: empty idempotency key: %w", store.ErrInvalid), true},
	}
	for _, m := range modes() {
		for _, c := range calls {
			for _, se := range storeErrs {
				t.Run(m.name+"/"+c.name+"/"+se.name, func(t *testing.T) {
					f := newFixture(t, m)
					if c.setup != nil {
						c.setup(f)
					}
					f.store.setFail(c.method, se.err)
					err := c.call(f)
					if err == nil {
						t.Fatal("the activity succeeded, want the store's error")
					}
					nr, typ := nonRetryable(err)
					switch {
					case se.permanent && (!nr || typ != ErrTypeAuditRejected):
						t.Errorf("error %v: non-retryable %v type %q, want non-retryable %s", err, nr, typ, ErrTypeAuditRejected)
					case !se.permanent && nr:
						t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
					}
					if !strings.Contains(err.Error(), se.err.Error()) {
						t.Errorf("error %q does not carry the store's %q", err, se.err)
					}
					if !m.inActivity && !errors.Is(err, se.err) {
						t.Errorf("error %v does not wrap the store's", err)
					}
					if got := f.store.callCount(c.method); got != 1 {
						t.Errorf("%s called %d times, want 1", c.method, got)
					}
				})
			}
		}
	}
}
