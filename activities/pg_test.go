package activities

// The activities over the real PostgreSQL store (internal/pgtest: a fresh
// database per test, skipped when no server answers unless CI=true), called
// directly and through the SDK's test activity environment: what the
// database itself refuses, and what a lost connection does.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"dunning/channels"
	"dunning/internal/pgtest"
	"dunning/policy"
	"dunning/store"
)

// pgStore opens a store on a fresh, migrated database.
func pgStore(t *testing.T) *store.Store {
	t.Helper()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newPGFixture is newFixture with s as the activities' store.
func newPGFixture(t *testing.T, m mode, s Store) *fixture {
	t.Helper()
	f := newFixture(t, m)
	f.acts.Store = s
	return f
}

// pgNotices returns the rows of a loan's notices with this key.
func pgNotices(t *testing.T, s *store.Store, loanID, key string) []store.Notice {
	t.Helper()
	all, err := s.NoticesByLoan(context.Background(), loanID)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Notice
	for _, n := range all {
		if n.IdempotencyKey == key {
			out = append(out, n)
		}
	}
	return out
}

// pgNotice returns the one row with key.
func pgNotice(t *testing.T, s *store.Store, key string) store.Notice {
	t.Helper()
	rows := pgNotices(t, s, "L-2026-0001", key)
	if len(rows) != 1 {
		t.Fatalf("%d notice rows for %s, want 1", len(rows), key)
	}
	return rows[0]
}

func TestPGAppendLedgerRejectsRowsItCannotStore(t *testing.T) {
	s := pgStore(t)
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	fee := decimal.RequireFromString("20.00")
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			loan := "L-LEDGER-" + m.name
			key := func(n int) string { return fmt.Sprintf("%s/ledger/%d", loan, n) }
			before := LedgerEntry{LoanID: loan, Kind: store.KindLateFeeAssessed, Amount: &fee, Currency: "CNY",
				Detail: map[string]any{"seq": 1}, OccurredAt: at, DedupeKey: key(1)}
			unknown := LedgerEntry{LoanID: loan, Kind: "forgiven", Detail: map[string]any{"by": "ops"},
				OccurredAt: at.Add(time.Minute), DedupeKey: key(2)}
			after := LedgerEntry{LoanID: loan, Kind: store.KindSignalRejected,
				Detail:     map[string]any{"signal": "resume", "reason": "not paused"},
				OccurredAt: at.Add(2 * time.Minute), DedupeKey: key(3)}
			other := before // the same key, another amount
			otherFee := decimal.RequireFromString("25.00")
			other.Amount = &otherFee
			f := newPGFixture(t, m, s)

			for call := 1; call <= 2; call++ { // the second is a retry of the batch
				res, err := f.run.AppendLedger([]LedgerEntry{before, unknown, after})
				if err != nil {
					t.Fatalf("call %d: AppendLedger = %v, want a result", call, err)
				}
				if len(res.Rejected) != 1 || res.Rejected[0].DedupeKey != key(2) ||
					!strings.Contains(res.Rejected[0].Reason, "ledger_kind_check") {
					t.Errorf("call %d: rejected %+v, want only %s for ledger_kind_check", call, res.Rejected, key(2))
				}
			}
			res, err := f.run.AppendLedger([]LedgerEntry{other})
			if err != nil || len(res.Rejected) != 1 || res.Rejected[0].DedupeKey != key(1) ||
				!strings.Contains(res.Rejected[0].Reason, store.ErrLedgerConflict.Error()) ||
				!strings.Contains(res.Rejected[0].Reason, "amount") {
				t.Errorf("AppendLedger(same key, other amount) = %+v, %v; want %s rejected as a conflict in amount",
					res, err, key(1))
			}

			rows, err := s.LedgerByLoan(context.Background(), loan)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0].Kind != store.KindLateFeeAssessed || rows[0].Amount.String() != "20" ||
				rows[1].Kind != store.KindSignalRejected {
				t.Fatalf("ledger = %+v, want the late fee (20.00) and signal_rejected rows", rows)
			}
			for _, r := range rows {
				f.checkWorkflow(t, r.WorkflowID, r.RunID)
			}
		})
	}
}

// TestPGConnectionErrorsAreRetryable: with the store's pool closed every
// activity fails with a retryable error, AppendLedger included (no row is
// reported rejected for a connection problem).
func TestPGConnectionErrorsAreRetryable(t *testing.T) {
	s := pgStore(t)
	s.Close()
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	const key = "L-2026-0001/1/1/7/sms"
	calls := map[string]func(f *fixture) error{
		"SendNotice": func(f *fixture) error {
			_, err := f.run.SendNotice(noticeRequest(key, policy.SMS, "en", testPhone))
			return err
		},
		"SendNotice render failure": func(f *fixture) error {
			req := noticeRequest(key, policy.SMS, "fr", testPhone)
			_, err := f.run.SendNotice(req)
			return err
		},
		"RecordSkipped": func(f *fixture) error {
			return f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{Key: key, LoanID: "L-2026-0001",
				Channel: policy.SMS, Reason: "opted_out"}}})
		},
		"OpenCollectionsCase": func(f *fixture) error {
			_, err := f.run.OpenCollectionsCase(CaseRequest{LoanID: "L-2026-0001", DedupeKey: "k",
				OverdueTotal: decimal.RequireFromString("10.00"), Currency: "CNY"})
			return err
		},
		"FinalizeNotice": func(f *fixture) error {
			_, err := f.run.FinalizeNotice(outcome(key, StatusFailed, "send timed out"))
			return err
		},
		"AppendLedger": func(f *fixture) error {
			res, err := f.run.AppendLedger([]LedgerEntry{{LoanID: "L-2026-0001", Kind: store.KindPaused,
				OccurredAt: at, DedupeKey: "L-2026-0001/ledger/1"}})
			if len(res.Rejected) > 0 {
				t.Errorf("AppendLedger rejected %+v for a connection error", res.Rejected)
			}
			return err
		},
	}
	for _, m := range modes() {
		for name, call := range calls {
			t.Run(m.name+"/"+name, func(t *testing.T) {
				f := newPGFixture(t, m, s)
				err := call(f)
				if err == nil {
					t.Fatal("the activity succeeded on a closed pool")
				}
				if nr, typ := nonRetryable(err); nr {
					t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
				}
				if store.IsPermanent(err) {
					t.Errorf("store.IsPermanent(%v) = true", err)
				}
			})
		}
	}
}

// nulSender accepts every message with a provider message id PostgreSQL
// cannot store in a text column (SQLSTATE 22021).
type nulSender struct{}

func (nulSender) Send(context.Context, channels.Message) (channels.Receipt, error) {
	return channels.Receipt{Provider: "nul", MessageID: "id\x00", AcceptedAt: time.Now()}, nil
}

// TestPGPermanentErrorsAreNotRetried drives each activity into a refusal by
// the database itself: the error is non-retryable ErrTypeAuditRejected.
func TestPGPermanentErrorsAreNotRetried(t *testing.T) {
	s := pgStore(t)
	tests := []struct {
		name     string
		call     func(f *fixture, key string) error
		wantRows int    // notice rows with the key afterwards
		wantRow  string // their status
	}{
		{name: "SendNotice reserve: no loan id (CHECK)", call: func(f *fixture, key string) error {
			req := noticeRequest(key, policy.SMS, "en", testPhone)
			req.LoanID = ""
			_, err := f.run.SendNotice(req)
			return err
		}},
		{name: "SendNotice complete: message id with NUL (22021)", call: func(f *fixture, key string) error {
			f.acts.Senders = channels.Registry{channels.SMS: nulSender{}}
			_, err := f.run.SendNotice(noticeRequest(key, policy.SMS, "en", testPhone))
			return err
		}, wantRows: 1, wantRow: store.NoticePending},
		{name: "SendNotice render failure: no loan id (CHECK)", call: func(f *fixture, key string) error {
			req := noticeRequest(key, policy.SMS, "fr", testPhone)
			req.LoanID = ""
			_, err := f.run.SendNotice(req)
			return err
		}},
		{name: "RecordSkipped: unknown channel (CHECK)", call: func(f *fixture, key string) error {
			return f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{Key: key, LoanID: "L-2026-0001",
				Channel: "fax", Reason: "opted_out"}}})
		}},
		{name: "OpenCollectionsCase: negative days past due (CHECK)", call: func(f *fixture, key string) error {
			_, err := f.run.OpenCollectionsCase(CaseRequest{LoanID: "L-2026-0001", DedupeKey: key, DaysPastDue: -1,
				OverdueTotal: decimal.RequireFromString("10.00"), Currency: "CNY"})
			return err
		}},
		{name: "FinalizeNotice: pending is not final (ErrInvalid)", call: func(f *fixture, key string) error {
			_, err := f.run.FinalizeNotice(outcome(key, store.NoticePending, "r"))
			return err
		}},
		{name: "FinalizeNotice: unknown channel (CHECK)", call: func(f *fixture, key string) error {
			o := outcome(key, StatusFailed, "send timed out")
			o.Channel = "fax"
			_, err := f.run.FinalizeNotice(o)
			return err
		}},
	}
	for _, m := range modes() {
		for i, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newPGFixture(t, m, s)
				key := fmt.Sprintf("L-2026-0001/permanent/%s/%d", m.name, i)
				err := tt.call(f, key)
				if nr, typ := nonRetryable(err); !nr || typ != ErrTypeAuditRejected {
					t.Fatalf("error %v: non-retryable %v type %q, want non-retryable %s", err, nr, typ, ErrTypeAuditRejected)
				}
				if !m.inActivity && !store.IsPermanent(err) {
					t.Errorf("store.IsPermanent(%v) = false", err)
				}
				rows := pgNotices(t, s, "L-2026-0001", key)
				if len(rows) != tt.wantRows || (len(rows) == 1 && rows[0].Status != tt.wantRow) {
					t.Errorf("notice rows %+v, want %d %s", rows, tt.wantRows, tt.wantRow)
				}
			})
		}
	}
}

// TestPGSendNoticeRenderError: a notice that cannot be rendered ends as one
// failed row, reason "render: …", and the activity returns that outcome.
func TestPGSendNoticeRenderError(t *testing.T) {
	s := pgStore(t)
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newPGFixture(t, m, s)
			key := "L-2026-0001/render/" + m.name
			req := noticeRequest(key, policy.Email, "fr", testEmail) // no fr templates
			for call := 1; call <= 2; call++ {
				res, err := f.run.SendNotice(req)
				if err != nil || res.Status != StatusFailed || !strings.HasPrefix(res.Reason, "render: ") ||
					!strings.Contains(res.Reason, `locale "fr"`) {
					t.Fatalf("call %d: SendNotice = %+v, %v; want failed: render: … locale \"fr\" …", call, res, err)
				}
			}
			row := pgNotice(t, s, key)
			if row.Status != store.NoticeFailed || !strings.HasPrefix(row.Reason, "render: ") || row.Channel != "email" ||
				row.Template != req.Template || row.Locale != "fr" || row.Recipient != testEmail ||
				row.CustomerID != req.CustomerID || row.Subject != "" || row.Body != "" || row.SentAt != nil {
				t.Errorf("row = %+v, want failed with the render reason and the request's identity", row)
			}
			f.checkProvenance(t, row.WorkflowID, row.RunID, row.Attempt)
			if got := f.sink.Sent(key); got != 0 {
				t.Errorf("Sent = %d, want 0", got)
			}
		})
	}
}

// TestPGFinalizeNotice runs finalizeCases over PostgreSQL: absent, pending,
// sent, failed and skipped notices.
func TestPGFinalizeNotice(t *testing.T) {
	s := pgStore(t)
	for _, m := range modes() {
		for i, c := range finalizeCases() {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				f := newPGFixture(t, m, s)
				key := fmt.Sprintf("L-2026-0001/finalize/%s/%d", m.name, i)
				c.check(t, f, key, func(key string) store.Notice { return pgNotice(t, s, key) })
			})
		}
	}
}

// TestPGFinalizeNoticeLateCompletion: once the workflow finalized a notice
// whose send timed out, a send attempt still running (a zombie) that
// completes it cannot overwrite the final row; its error is retryable and
// the retry returns the stored outcome without sending again.
func TestPGFinalizeNoticeLateCompletion(t *testing.T) {
	s := pgStore(t)
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newPGFixture(t, m, s)
			key := "L-2026-0001/late/" + m.name
			req := noticeRequest(key, policy.SMS, "en", testPhone)
			// The send reserved the row; the workflow gave up on it meanwhile.
			f.sink.Reject = func(channels.Message) error {
				if _, err := f.acts.FinalizeNotice(context.Background(), outcome(key, StatusFailed, "send timed out")); err != nil {
					t.Errorf("FinalizeNotice: %v", err)
				}
				return nil
			}
			_, err := f.run.SendNotice(req)
			if !errors.Is(err, store.ErrNoticeCompleted) && !strings.Contains(fmt.Sprint(err), store.ErrNoticeCompleted.Error()) {
				t.Fatalf("late SendNotice = %v, want ErrNoticeCompleted", err)
			}
			if nr, typ := nonRetryable(err); nr {
				t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
			}
			f.sink.Reject = nil
			res, err := f.run.SendNotice(req)
			// The send had reached the provider when the workflow gave up:
			// unknown (the receipt settles it), and the retry sends nothing.
			if err != nil || res.Status != StatusUnknown || res.Reason != "outcome unknown: send timed out" {
				t.Errorf("retry = %+v, %v; want the stored unknown outcome", res, err)
			}
			if row := pgNotice(t, s, key); row.Status != store.NoticeUnknown {
				t.Errorf("row status = %s, want unknown", row.Status)
			}
		})
	}
}
