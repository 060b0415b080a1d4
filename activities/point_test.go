package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/testsuite"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
)

// sendPoint runs SendPoint as m runs the other activities: directly, or
// through the SDK's activity environment and its data converter.
func sendPoint(t *testing.T, m mode, a *Activities, req PointRequest) (PointResult, error) {
	t.Helper()
	if !m.inActivity {
		return a.SendPoint(context.Background(), req)
	}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(nopLogger{})
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.SendPoint, req)
	if err != nil {
		return PointResult{}, err
	}
	var res PointResult
	if err := val.Get(&res); err != nil {
		return PointResult{}, fmt.Errorf("decode result: %w", err)
	}
	return res, nil
}

// pointRequest is a D+7 point on three channels, with one ledger row and
// one skipped channel's final row decided before it.
func pointRequest() PointRequest {
	amt := decimal.RequireFromString("3.50")
	return PointRequest{
		Ledger: []LedgerEntry{{LoanID: "L-2026-0001", Kind: store.KindPenaltyPosted, Amount: &amt, Currency: "CNY",
			OccurredAt: time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC), DedupeKey: "L-2026-0001/penalty_posted/v0/s1/r/1"}},
		Finals: []NoticeOutcome{{Key: "L-2026-0001/0/1/7/email-skipped", LoanID: "L-2026-0001", CustomerID: "C-0001",
			Channel: policy.Email, Template: "overdue_firm", Locale: "en", Status: StatusSkipped, Reason: "opted_out"}},
		Notices: []NoticeRequest{
			noticeRequest("L-2026-0001/0/1/7/sms", policy.SMS, "en", testPhone),
			noticeRequest("L-2026-0001/0/1/7/push", policy.Push, "en", testToken),
		},
	}
}

func TestSendPoint(t *testing.T) {
	tests := []struct {
		name string
		// before breaks something before the first attempt; after mends it
		// before the retry (nil: no retry expected).
		before  func(f *fixture)
		after   func(f *fixture)
		wantErr string // the first attempt's error, "" for none
		check   func(t *testing.T, f *fixture, res PointResult)
	}{
		{
			name: "every row and every notice in one attempt",
			check: func(t *testing.T, f *fixture, res PointResult) {
				if res.LedgerError != "" || len(res.Ledger.Rejected) != 0 {
					t.Errorf("ledger: %+v", res)
				}
				if len(res.Finals) != 1 || res.Finals[0].Status != StatusSkipped {
					t.Errorf("finals %+v, want the skipped row", res.Finals)
				}
				for i, n := range res.Notices {
					if n.Status != StatusSent || n.Error != "" {
						t.Errorf("notice %d: %+v, want sent", i, n)
					}
				}
			},
		},
		{
			name:   "the ledger down does not hold the notices back",
			before: func(f *fixture) { f.store.setFail("AppendLedger", errors.New("dial tcp: connection refused")) },
			check: func(t *testing.T, f *fixture, res PointResult) {
				if !strings.Contains(res.LedgerError, "connection refused") {
					t.Errorf("ledger error %q, want the store's", res.LedgerError)
				}
				if len(f.store.ledgerRows()) != 0 {
					t.Errorf("ledger rows %v, want none written", f.store.ledgerRows())
				}
				for i, n := range res.Notices {
					if n.Status != StatusSent {
						t.Errorf("notice %d: %+v, want sent all the same", i, n)
					}
				}
			},
		},
		{
			name:   "a final row that cannot be written now stays with the workflow",
			before: func(f *fixture) { f.store.setFail("FinalizeNotice", errors.New("connection reset")) },
			check: func(t *testing.T, f *fixture, res PointResult) {
				if len(res.Finals) != 0 {
					t.Errorf("finals %+v, want none answered (kept by the workflow)", res.Finals)
				}
				if res.Notices[0].Status != StatusSent {
					t.Errorf("notices %+v, want sent", res.Notices)
				}
			},
		},
		{
			name:   "a final row refused for good is answered with the refusal",
			before: func(f *fixture) { f.store.setFail("FinalizeNotice", fmt.Errorf("bad row: %w", store.ErrInvalid)) },
			check: func(t *testing.T, f *fixture, res PointResult) {
				if len(res.Finals) != 1 || res.Finals[0].Error != ErrTypeAuditRejected {
					t.Errorf("finals %+v, want %s", res.Finals, ErrTypeAuditRejected)
				}
			},
		},
		{
			name: "one provider down: the attempt fails, the retry sends only what is missing",
			before: func(f *fixture) {
				f.sink.Reject = func(m channels.Message) error {
					if m.Channel == string(policy.Push) {
						return channels.NotAccepted(errors.New("fcm: 503"))
					}
					return nil
				}
			},
			after:   func(f *fixture) { f.sink.Reject = nil },
			wantErr: "fcm: 503",
			check: func(t *testing.T, f *fixture, res PointResult) {
				for i, n := range res.Notices {
					if n.Status != StatusSent {
						t.Errorf("notice %d after the retry: %+v, want sent", i, n)
					}
				}
			},
		},
		{
			name: "a notice row refused for good is that notice's error, not the point's",
			before: func(f *fixture) {
				f.store.setFail("CompleteNotice", fmt.Errorf("check violated: %w", store.ErrInvalid))
			},
			check: func(t *testing.T, f *fixture, res PointResult) {
				for i, n := range res.Notices {
					if n.Error != ErrTypeAuditRejected {
						t.Errorf("notice %d: %+v, want %s", i, n, ErrTypeAuditRejected)
					}
				}
			},
		},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				req := pointRequest()
				if tt.before != nil {
					tt.before(f)
				}
				res, err := sendPoint(t, m, f.acts, req)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("first attempt: %v, want an error with %q", err, tt.wantErr)
					}
					if nr, typ := nonRetryable(err); nr {
						t.Fatalf("first attempt error is non-retryable (%s), want retried", typ)
					}
					tt.after(f)
					res, err = sendPoint(t, m, f.acts, req)
				}
				if err != nil {
					t.Fatalf("SendPoint: %v", err)
				}
				if len(res.Notices) != len(req.Notices) {
					t.Fatalf("%d notice results for %d notices", len(res.Notices), len(req.Notices))
				}
				tt.check(t, f, res)
				// Whatever happened, no message went out twice.
				for _, n := range req.Notices {
					if got := f.sink.Sent(n.Key); got > 1 {
						t.Errorf("%s sent %d times", n.Key, got)
					}
				}
			})
		}
	}
}

// A repeated point (Temporal retrying after the answer was lost) writes no
// row twice and calls no provider again.
func TestSendPointRepeated(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, m)
			req := pointRequest()
			first, err := sendPoint(t, m, f.acts, req)
			if err != nil {
				t.Fatal(err)
			}
			second, err := sendPoint(t, m, f.acts, req)
			if err != nil {
				t.Fatal(err)
			}
			for i := range req.Notices {
				if first.Notices[i].Status != StatusSent || second.Notices[i].MessageID != first.Notices[i].MessageID {
					t.Errorf("notice %d: first %+v, repeat %+v; want the same sent message", i, first.Notices[i], second.Notices[i])
				}
				if got := f.sink.Sent(req.Notices[i].Key); got != 1 {
					t.Errorf("%s sent %d times, want 1", req.Notices[i].Key, got)
				}
			}
			notices, ledger, _ := f.store.counts()
			if notices != 3 || ledger != 1 {
				t.Errorf("%d notice rows and %d ledger rows, want 3 and 1", notices, ledger)
			}
		})
	}
}
