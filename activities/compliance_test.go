package activities

// The send-time compliance check (NoticeRequest.Check): over the fake store,
// which applies policy.SendCheck as store.ReserveNoticeChecked does, and over
// the real PostgreSQL store.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// ReserveNoticeChecked is store.Store.ReserveNoticeChecked in memory: a final
// key comes back unchanged; otherwise c.Stop decides at f.clock over the
// notices to the same channel and address (any loan, the key's own row
// excluded) and f.optedOut; a new key is reserved or recorded skipped
// without its message, a pending one is returned or completed skipped (unknown
// when it was handed to its provider).
func (f *fakeStore) ReserveNoticeChecked(_ context.Context, n store.Notice, c policy.SendCheck) (store.Notice, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ReserveNoticeChecked"); err != nil {
		return store.Notice{}, false, err
	}
	if n.IdempotencyKey == "" {
		return store.Notice{}, false, fmt.Errorf("reserve notice: empty idempotency key: %w", store.ErrInvalid)
	}
	i := f.find(n.IdempotencyKey)
	if i >= 0 && f.notices[i].Status != store.NoticePending {
		return f.notices[i], false, nil
	}
	now := time.Now()
	if f.clock != nil {
		now = f.clock()
	}
	var prior []policy.PriorNotice
	for _, x := range f.notices {
		if x.Channel == n.Channel && x.Recipient == n.Recipient && x.IdempotencyKey != n.IdempotencyKey {
			at := x.CreatedAt
			if x.SentAt != nil {
				at = *x.SentAt
			}
			prior = append(prior, policy.PriorNotice{Template: x.Template, Status: x.Status, At: at})
		}
	}
	reason, err := c.Stop(n.Template, n.Recipient, f.optedOut[n.Channel+" "+n.Recipient], prior, now)
	if err != nil {
		return store.Notice{}, false, fmt.Errorf("reserve notice %s: %v: %w", n.IdempotencyKey, err, store.ErrInvalid)
	}
	switch {
	case i >= 0 && reason == "":
		return f.notices[i], false, nil
	case i >= 0:
		row := &f.notices[i]
		row.Status, row.Reason = store.NoticeSkipped, reason
		if row.ProviderCalledAt != nil {
			row.Status, row.Reason = store.NoticeUnknown, "outcome unknown: an earlier attempt reached the provider and its answer was lost; not sent again: "+reason
		}
		return *row, false, nil
	case reason == "":
		return f.insertOrGet(n, store.NoticePending)
	}
	n.Reason, n.Subject, n.Body, n.BodyHTML = reason, "", "", ""
	row, _, err := f.insertOrGet(n, store.NoticeSkipped)
	return row, false, err
}

// shanghaiCheck is the default policy's check for a customer in Shanghai.
func shanghaiCheck() *policy.SendCheck {
	p := policy.Default()
	return &policy.SendCheck{TimeZone: "Asia/Shanghai", Window: p.Reminders.ContactWindow, Caps: p.Caps}
}

// TestSendNoticeChecked: what the second check stops is recorded skipped
// with its reason and returned, and the provider is never called; what it
// lets through is sent as before; a notice without a check is not checked.
func TestSendNoticeChecked(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	noon := time.Date(2026, 12, 8, 12, 0, 0, 0, sh)
	night := time.Date(2026, 12, 8, 22, 0, 0, 0, sh)
	const key = "L-2026-0001/0/1/7/sms"
	otherLoanSent := func(f *fixture) {
		at := noon.Add(-time.Hour)
		f.store.notices = append(f.store.notices, store.Notice{IdempotencyKey: "L-2026-0002/0/1/3/sms", LoanID: "L-2026-0002",
			Channel: "sms", Template: templates.OverdueGentle, Recipient: testPhone, Status: store.NoticeSent, CreatedAt: at, SentAt: &at})
	}
	reserved := func(f *fixture) {
		if _, _, err := f.store.ReserveNotice(context.Background(), store.Notice{IdempotencyKey: key, LoanID: "L-2026-0001",
			Channel: "sms", Template: templates.OverdueFirm, Recipient: testPhone, Body: "rendered at 20:59"}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		at      time.Time
		setup   func(f *fixture)
		request func(r *NoticeRequest)
		status  string
		reason  string
		calls   int // provider calls
	}{
		{name: "inside the window, under the caps", at: noon, status: StatusSent, calls: 1},
		{name: "opted out in the store, not in the loan", at: noon, setup: func(f *fixture) { f.store.optedOut["sms "+testPhone] = true },
			status: StatusSkipped, reason: policy.SkipOptedOut},
		{name: "sent after the window closed", at: night, status: StatusSkipped, reason: policy.SkipWindow},
		{name: "another loan of the borrower used the day's cap", at: noon, setup: otherLoanSent,
			status: StatusSkipped, reason: policy.SkipCapDay},
		{name: "another loan's notice to another number", at: noon, setup: otherLoanSent,
			request: func(r *NoticeRequest) { r.Recipient = "+8613900139000" }, status: StatusSent, calls: 1},
		{name: "no check: sent as before", at: night, setup: otherLoanSent,
			request: func(r *NoticeRequest) { r.Check = nil }, status: StatusSent, calls: 1},
		{name: "a confirmation at night, over the cap", at: night, setup: otherLoanSent,
			request: func(r *NoticeRequest) {
				r.Key, r.Template, r.Confirmation = "L-2026-0001/TXN-1/payment_received/sms", templates.PaymentReceived, true
			}, status: StatusSent, calls: 1},
		{name: "a confirmation opted out", at: noon, setup: func(f *fixture) { f.store.optedOut["sms "+testPhone] = true },
			request: func(r *NoticeRequest) {
				r.Key, r.Template, r.Confirmation = "L-2026-0001/TXN-1/paid_off/sms", templates.PaidOff, true
			}, status: StatusSkipped, reason: policy.SkipOptedOut},
		{name: "a retry after the window closed", at: night, setup: reserved, status: StatusSkipped, reason: policy.SkipWindow},
		{name: "a retry after the window closed, the provider may have it", at: night, setup: func(f *fixture) {
			reserved(f)
			if err := f.store.MarkProviderCalled(context.Background(), key, true); err != nil {
				t.Fatal(err)
			}
		}, status: StatusUnknown, reason: "outcome unknown: an earlier attempt reached the provider and its answer was lost; not sent again: window"},
		{name: "a retry inside the window", at: noon, setup: reserved, status: StatusSent, calls: 1},
		{name: "already sent: the outcome stands", at: night, setup: func(f *fixture) {
			reserved(f)
			if err := f.store.CompleteNotice(context.Background(), key, StatusSent, "", "devsink", "m-1", noon); err != nil {
				t.Fatal(err)
			}
		}, status: StatusSent},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				f.store.clock = func() time.Time { return tt.at }
				if tt.setup != nil {
					tt.setup(f)
				}
				req := noticeRequest(key, policy.SMS, "en", testPhone)
				req.Check = shanghaiCheck()
				if tt.request != nil {
					tt.request(&req)
				}
				res, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("SendNotice: %v", err)
				}
				if res.Status != tt.status || res.Reason != tt.reason || res.OptOut {
					t.Errorf("result %s %q (opt-out %v), want %s %q", res.Status, res.Reason, res.OptOut, tt.status, tt.reason)
				}
				row := f.store.notice(t, req.Key)
				if row.Status != tt.status || row.Reason != tt.reason {
					t.Errorf("row %s %q, want %s %q", row.Status, row.Reason, tt.status, tt.reason)
				}
				if got := f.sink.Sent(req.Key); got != tt.calls {
					t.Errorf("provider called %d times, want %d", got, tt.calls)
				}
				if tt.status == StatusSkipped && !res.SentAt.IsZero() {
					t.Errorf("skipped with a sent_at %s", res.SentAt)
				}
				// A new skipped row keeps no message: nothing was said. A
				// reservation completed as skipped keeps what it recorded.
				if wantBody := row.Status != StatusSkipped || tt.setup != nil && f.store.callCount("ReserveNotice") > 0; (row.Body != "") != wantBody {
					t.Errorf("row body %q, want a body: %v", row.Body, wantBody)
				}
			})
		}
	}
}

// zoneAtNoon is a fixed-offset IANA zone in which it is now between 12:00
// and 13:59, so a check at PostgreSQL's clock is well inside 08:00–21:00.
func zoneAtNoon() string {
	switch o := 12 - time.Now().UTC().Hour(); {
	case o > 0:
		return fmt.Sprintf("Etc/GMT-%d", o)
	case o < 0:
		return fmt.Sprintf("Etc/GMT+%d", -o)
	default:
		return "Etc/GMT"
	}
}

// TestPGSendNoticeChecked: the second check over PostgreSQL, at its clock.
// One loan's notice uses the borrower's daily SMS cap and the next loan's
// notice to the same number is skipped cap_day; an opt-out in opt_outs and
// a closed window stop a notice; a confirmation still goes out.
func TestPGSendNoticeChecked(t *testing.T) {
	s := pgStore(t)
	ctx := context.Background()
	p := policy.Default()
	open := &policy.SendCheck{TimeZone: zoneAtNoon(), Window: p.Reminders.ContactWindow, Caps: p.Caps}
	closed := *open
	closed.Window = policy.Window{Start: policy.ClockTime{Hour: 15}, End: policy.ClockTime{Hour: 21}}
	for i, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newPGFixture(t, m, s)
			phone := fmt.Sprintf("+861380013%04d", i)
			send := func(loan, key string, check *policy.SendCheck, edit func(r *NoticeRequest)) NoticeResult {
				t.Helper()
				req := noticeRequest(key, policy.SMS, "en", phone)
				req.LoanID, req.Check = loan, check
				if edit != nil {
					edit(&req)
				}
				res, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("SendNotice %s: %v", key, err)
				}
				rows := pgNotices(t, s, loan, key)
				if len(rows) != 1 || rows[0].Status != res.Status || rows[0].Reason != res.Reason {
					t.Fatalf("rows of %s: %+v, want one %s %q", key, rows, res.Status, res.Reason)
				}
				if res.Status == StatusSkipped && (rows[0].Body != "" || f.sink.Sent(key) != 0) {
					t.Errorf("%s skipped, but its message was kept (%q) or sent (%d)", key, rows[0].Body, f.sink.Sent(key))
				}
				return res
			}
			a := fmt.Sprintf("L-PG-CHECK-A-%s", m.name)
			b := fmt.Sprintf("L-PG-CHECK-B-%s", m.name)
			if res := send(a, a+"/0/1/7/sms", open, nil); res.Status != StatusSent {
				t.Fatalf("loan A's notice: %+v, want sent", res)
			}
			if res := send(b, b+"/0/1/7/sms", open, nil); res.Status != StatusSkipped || res.Reason != policy.SkipCapDay {
				t.Errorf("loan B's notice to the same number: %+v, want skipped cap_day", res)
			}
			if res := send(b, b+"/0/1/8/sms", &closed, nil); res.Status != StatusSkipped || res.Reason != policy.SkipWindow {
				t.Errorf("outside the window: %+v, want skipped window", res)
			}
			if res := send(b, b+"/TXN-1/payment_received/sms", &closed, func(r *NoticeRequest) {
				r.Template, r.Confirmation = templates.PaymentReceived, true
			}); res.Status != StatusSent {
				t.Errorf("a confirmation outside the window and over the cap: %+v, want sent", res)
			}
			if _, err := s.OptOut(ctx, "sms", phone, store.OptOutKeyword, "STOP"); err != nil {
				t.Fatal(err)
			}
			if res := send(b, b+"/TXN-2/paid_off/sms", open, func(r *NoticeRequest) {
				r.Template, r.Confirmation = templates.PaidOff, true
			}); res.Status != StatusSkipped || res.Reason != policy.SkipOptedOut {
				t.Errorf("a confirmation to an opted-out number: %+v, want skipped opted_out", res)
			}
		})
	}
}
