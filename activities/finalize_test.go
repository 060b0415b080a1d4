package activities

import (
	"errors"
	"strings"
	"testing"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

func outcome(key, status, reason string) NoticeOutcome {
	return NoticeOutcome{Key: key, LoanID: "L-2026-0001", CustomerID: "C-0001", Channel: policy.SMS,
		Template: templates.OverdueFirm, Locale: "en", Recipient: testPhone, Status: status, Reason: reason}
}

// finalizeCases are the states a notice can be in when the workflow
// finalizes it, and what must come of it. They run over the fake store here
// and over PostgreSQL in pg_test.go.
func finalizeCases() []finalizeCase {
	const timedOut = "send timed out (schedule_to_close)"
	return []finalizeCase{
		{name: "absent, failed", before: func(*testing.T, *fixture, NoticeRequest) {}, status: StatusFailed, reason: timedOut,
			wantStatus: StatusFailed, wantReason: timedOut},
		{name: "absent, skipped", before: func(*testing.T, *fixture, NoticeRequest) {}, status: StatusSkipped, reason: "opted_out",
			wantStatus: StatusSkipped, wantReason: "opted_out"},
		{name: "pending (answer lost)", before: func(t *testing.T, f *fixture, req NoticeRequest) {
			f.sink.FailAfterAccept = func(string) bool { return true }
			if _, err := f.run.SendNotice(req); err == nil {
				t.Fatal("SendNotice succeeded, want the lost answer")
			}
		}, status: StatusFailed, reason: timedOut, wantStatus: StatusUnknown, wantReason: "outcome unknown: " + timedOut, wantBody: true},
		{name: "sent", before: func(t *testing.T, f *fixture, req NoticeRequest) {
			if _, err := f.run.SendNotice(req); err != nil {
				t.Fatal(err)
			}
		}, status: StatusFailed, reason: timedOut, wantStatus: StatusSent, wantBody: true, wantSent: true},
		{name: "failed for good (invalid recipient)", before: func(t *testing.T, f *fixture, req NoticeRequest) {
			f.sink.Reject = func(channels.Message) error { return channels.ErrInvalidRecipient }
			if _, err := f.run.SendNotice(req); err != nil {
				t.Fatal(err)
			}
		}, status: StatusFailed, reason: timedOut, wantStatus: StatusFailed, wantReason: "invalid_recipient",
			wantBody: true, wantOptOut: true},
		{name: "skipped", before: func(t *testing.T, f *fixture, req NoticeRequest) {
			if err := f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{Key: req.Key, LoanID: req.LoanID,
				CustomerID: req.CustomerID, Channel: req.Channel, Template: req.Template, Locale: req.Locale,
				Recipient: req.Recipient, Reason: "cap_day"}}}); err != nil {
				t.Fatal(err)
			}
		}, status: StatusFailed, reason: timedOut, wantStatus: StatusSkipped, wantReason: "cap_day"},
	}
}

type finalizeCase struct {
	name       string
	before     func(t *testing.T, f *fixture, req NoticeRequest)
	status     string
	reason     string
	wantStatus string
	wantReason string
	wantBody   bool // the row keeps the message it was reserved with
	wantSent   bool // the result carries the provider's receipt
	wantOptOut bool
}

// check runs c for the notice key on a fixture whose store rows notice
// returns.
func (c finalizeCase) check(t *testing.T, f *fixture, key string, notice func(key string) store.Notice) {
	t.Helper()
	req := noticeRequest(key, policy.SMS, "en", testPhone)
	c.before(t, f, req)
	for call := 1; call <= 2; call++ {
		res, err := f.run.FinalizeNotice(outcome(key, c.status, c.reason))
		if err != nil {
			t.Fatalf("call %d: FinalizeNotice: %v", call, err)
		}
		if res.Status != c.wantStatus || res.Reason != c.wantReason || res.OptOut != c.wantOptOut ||
			(res.MessageID == channels.DevMessageID(key)) != c.wantSent || (c.wantSent && res.SentAt.IsZero()) {
			t.Errorf("call %d: result = %+v, want status %q reason %q (receipt: %v, opt-out %v)",
				call, res, c.wantStatus, c.wantReason, c.wantSent, c.wantOptOut)
		}
	}
	row := notice(key)
	if row.Status != c.wantStatus || row.Reason != c.wantReason || (row.Body != "") != c.wantBody {
		t.Errorf("row = status %q reason %q body %q, want %q %q (body: %v)", row.Status, row.Reason, row.Body,
			c.wantStatus, c.wantReason, c.wantBody)
	}
	if row.LoanID != req.LoanID || row.Channel != string(req.Channel) || row.Template != req.Template ||
		row.Locale != req.Locale || row.Recipient != req.Recipient {
		t.Errorf("row identity = %+v, want the notice's", row)
	}
	f.checkProvenance(t, row.WorkflowID, row.RunID, row.Attempt)
	// A later attempt of the send finds the row final and never sends.
	before := f.sink.Sent(key)
	f.sink.FailAfterAccept, f.sink.Reject = nil, nil
	res, err := f.run.SendNotice(req)
	if err != nil || res.Status != c.wantStatus {
		t.Errorf("SendNotice after = %+v, %v; want the final %s row", res, err, c.wantStatus)
	}
	if got := f.sink.Sent(key); got != before {
		t.Errorf("Sent went from %d to %d, want no new delivery", before, got)
	}
}

func TestFinalizeNotice(t *testing.T) {
	for _, m := range modes() {
		for _, c := range finalizeCases() {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				f := newFixture(t, m)
				c.check(t, f, "L-2026-0001/1/1/7/sms", func(key string) store.Notice { return f.store.notice(t, key) })
				if n, _, _ := f.store.counts(); n != 1 {
					t.Errorf("notice rows = %d, want 1", n)
				}
				if !strings.Contains(f.logs.String(), "notice finalized") {
					t.Errorf("log lacks the finalization:\n%s", f.logs)
				}
			})
		}
	}
}

func TestFinalizeNoticeBadStatus(t *testing.T) {
	for _, m := range modes() {
		for _, status := range []string{"", store.NoticePending, StatusSent} {
			t.Run(m.name+"/"+status, func(t *testing.T) {
				f := newFixture(t, m)
				_, err := f.run.FinalizeNotice(outcome("k", status, "r"))
				if nr, typ := nonRetryable(err); !nr || typ != ErrTypeAuditRejected {
					t.Errorf("FinalizeNotice(%q) = %v (non-retryable %v, type %q), want non-retryable %s",
						status, err, nr, typ, ErrTypeAuditRejected)
				}
				if !m.inActivity && !errors.Is(err, store.ErrInvalid) {
					t.Errorf("error %v does not wrap store.ErrInvalid", err)
				}
				if n, _, _ := f.store.counts(); n != 0 {
					t.Errorf("notice rows = %d, want none", n)
				}
			})
		}
	}
}
