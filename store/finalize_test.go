package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"dunning/store"
)

func TestFinalizeNotice(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	sentAt := time.Date(2026, 12, 8, 2, 37, 0, 0, time.UTC)

	// before puts the key in the state a test starts from.
	type before func(t *testing.T, key string)
	absent := func(*testing.T, string) {}
	pending := func(t *testing.T, key string) {
		if _, _, err := s.ReserveNotice(ctx, notice(key, "sms")); err != nil {
			t.Fatal(err)
		}
	}
	completed := func(status, reason string) before {
		return func(t *testing.T, key string) {
			pending(t, key)
			at := time.Time{}
			if status == store.NoticeSent {
				at = sentAt
			}
			if err := s.CompleteNotice(ctx, key, status, reason, "devsink", "dev-1", at); err != nil {
				t.Fatal(err)
			}
		}
	}
	skipped := func(t *testing.T, key string) {
		n := notice(key, "sms")
		n.Reason = "cap_day"
		if _, err := s.RecordSkipped(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name          string
		before        before
		status        string
		reason        string
		wantFinalized bool
		wantStatus    string
		wantReason    string
		wantBody      string // the reserved body is kept; an inserted row has none
		wantProvider  string
		wantSentAt    bool
	}{
		{name: "absent, failed", before: absent, status: store.NoticeFailed, reason: "send timed out (schedule_to_close)",
			wantFinalized: true, wantStatus: store.NoticeFailed, wantReason: "send timed out (schedule_to_close)"},
		{name: "absent, skipped", before: absent, status: store.NoticeSkipped, reason: "opted_out",
			wantFinalized: true, wantStatus: store.NoticeSkipped, wantReason: "opted_out"},
		{name: "pending, failed", before: pending, status: store.NoticeFailed, reason: "send timed out",
			wantFinalized: true, wantStatus: store.NoticeFailed, wantReason: "send timed out", wantBody: "您的还款已逾期"},
		{name: "pending, skipped", before: pending, status: store.NoticeSkipped, reason: "loan closed",
			wantFinalized: true, wantStatus: store.NoticeSkipped, wantReason: "loan closed", wantBody: "您的还款已逾期"},
		{name: "sent stays sent", before: completed(store.NoticeSent, ""), status: store.NoticeFailed, reason: "send timed out",
			wantStatus: store.NoticeSent, wantBody: "您的还款已逾期", wantProvider: "devsink", wantSentAt: true},
		{name: "failed keeps its reason", before: completed(store.NoticeFailed, "invalid_recipient"), status: store.NoticeFailed,
			reason: "send timed out", wantStatus: store.NoticeFailed, wantReason: "invalid_recipient", wantBody: "您的还款已逾期",
			wantProvider: "devsink"},
		{name: "skipped stays skipped", before: skipped, status: store.NoticeFailed, reason: "send timed out",
			wantStatus: store.NoticeSkipped, wantReason: "cap_day", wantBody: "您的还款已逾期"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "L-1/finalize/" + tt.name
			tt.before(t, key)
			n := store.Notice{IdempotencyKey: key, LoanID: "L-1", CustomerID: "C-1", Channel: "sms",
				Template: "overdue_firm", Locale: "zh-CN", Recipient: "+8613800138000",
				Status: tt.status, Reason: tt.reason, WorkflowID: "loan-L-1", RunID: "run-2", Attempt: 1}
			got, finalized, err := s.FinalizeNotice(ctx, n)
			if err != nil {
				t.Fatalf("FinalizeNotice: %v", err)
			}
			if finalized != tt.wantFinalized || got.Status != tt.wantStatus || got.Reason != tt.wantReason ||
				got.Body != tt.wantBody || got.Provider != tt.wantProvider || (got.SentAt != nil) != tt.wantSentAt {
				t.Errorf("FinalizeNotice = %+v, finalized %v;\nwant status %q reason %q body %q provider %q sent_at %v, finalized %v",
					got, finalized, tt.wantStatus, tt.wantReason, tt.wantBody, tt.wantProvider, tt.wantSentAt, tt.wantFinalized)
			}
			if got.IdempotencyKey != key || got.LoanID != "L-1" || got.Channel != "sms" || got.Template != "overdue_firm" ||
				got.Locale != "zh-CN" || got.Recipient != "+8613800138000" || got.ID == 0 {
				t.Errorf("identity of %+v, want the notice's", got)
			}

			// The row is final: finalizing again, a late completion and a
			// retried reservation all leave it as it is.
			again, finalized, err := s.FinalizeNotice(ctx, n)
			if err != nil || finalized || again.ID != got.ID || again.Status != got.Status || again.Reason != got.Reason {
				t.Errorf("FinalizeNotice again = %+v, %v, %v; want the same row unchanged", again, finalized, err)
			}
			if got.Status != store.NoticeSent {
				err := s.CompleteNotice(ctx, key, store.NoticeSent, "", "devsink", "dev-late", time.Time{})
				if !errors.Is(err, store.ErrNoticeCompleted) {
					t.Errorf("late CompleteNotice(sent) = %v, want ErrNoticeCompleted", err)
				}
			}
			row, reserved, err := s.ReserveNotice(ctx, notice(key, "sms"))
			if err != nil || reserved || row.Status != got.Status || row.Reason != got.Reason {
				t.Errorf("ReserveNotice after = %+v, reserved %v, %v; want the final row", row, reserved, err)
			}
		})
	}
}

func TestFinalizeNoticeRejectsBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	withStatus := func(key, status string) store.Notice {
		n := notice(key, "sms")
		n.Status, n.Reason = status, "r"
		return n
	}
	noLoan := withStatus("no-loan", store.NoticeFailed)
	noLoan.LoanID = ""
	tests := []struct {
		name    string
		n       store.Notice
		invalid bool // ErrInvalid, not the database, refuses it
	}{
		{"empty key", withStatus("", store.NoticeFailed), true},
		{"pending", withStatus("k-pending", store.NoticePending), true},
		{"sent", withStatus("k-sent", store.NoticeSent), true},
		{"no status", withStatus("k-none", ""), true},
		{"unknown channel", func() store.Notice { n := withStatus("k-fax", store.NoticeFailed); n.Channel = "fax"; return n }(), false},
		{"no loan", noLoan, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.FinalizeNotice(ctx, tt.n)
			if !store.IsPermanent(err) || errors.Is(err, store.ErrInvalid) != tt.invalid {
				t.Errorf("FinalizeNotice = %v, want a permanent error (ErrInvalid: %v)", err, tt.invalid)
			}
		})
	}
	all, err := s.NoticesByLoan(ctx, "L-1")
	if err != nil || len(all) != 0 {
		t.Errorf("notices = %d, %v; want none written", len(all), err)
	}
}

// TestFinalizeNoticeRacesCompletion finalizes pending notices as failed while
// a send attempt completes them as sent: whichever comes first wins, the
// other changes nothing, and both callers learn the same final status.
func TestFinalizeNoticeRacesCompletion(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	const rounds = 20
	wins := map[string]int{}
	for i := range rounds {
		key := fmt.Sprintf("L-1/race/%d", i)
		if _, _, err := s.ReserveNotice(ctx, notice(key, "sms")); err != nil {
			t.Fatal(err)
		}
		var (
			wg          sync.WaitGroup
			completeErr error
			final       store.Notice
			finalized   bool
			finalizeErr error
		)
		n := notice(key, "sms")
		n.Status, n.Reason = store.NoticeFailed, "send timed out"
		wg.Go(func() {
			completeErr = s.CompleteNotice(ctx, key, store.NoticeSent, "", "devsink", "dev-1", time.Time{})
		})
		wg.Go(func() { final, finalized, finalizeErr = s.FinalizeNotice(ctx, n) })
		wg.Wait()
		if finalizeErr != nil {
			t.Fatalf("round %d: FinalizeNotice: %v", i, finalizeErr)
		}
		stored, _, err := s.ReserveNotice(ctx, notice(key, "sms"))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case finalized && errors.Is(completeErr, store.ErrNoticeCompleted) && stored.Status == store.NoticeFailed &&
			final.Status == store.NoticeFailed:
			wins["finalize"]++
		case !finalized && completeErr == nil && stored.Status == store.NoticeSent && final.Status == store.NoticeSent:
			wins["complete"]++
		default:
			t.Errorf("round %d: finalize = %s (finalized %v), complete = %v, stored %s: want one winner both agree on",
				i, final.Status, finalized, completeErr, stored.Status)
		}
	}
	t.Logf("winners over %d rounds: %v", rounds, wins)
}
