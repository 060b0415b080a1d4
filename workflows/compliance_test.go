package workflows

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"dunning/policy"
	"dunning/store"
)

// ReserveNoticeChecked is store.Store.ReserveNoticeChecked in memory: a final
// key comes back unchanged; otherwise c.Stop decides at m.clock over the
// notices to the same channel and address (any loan, the key's own row
// excluded) and m.optedOut; a new key is reserved or recorded skipped without
// its message, a pending one returned or completed skipped (unknown when it
// was handed to its provider).
func (m *memStore) ReserveNoticeChecked(_ context.Context, n store.Notice, c policy.SendCheck) (store.Notice, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(n.IdempotencyKey)
	if i >= 0 && m.notices[i].Status != store.NoticePending {
		return m.notices[i], false, nil
	}
	now := time.Now()
	if m.clock != nil {
		now = m.clock()
	}
	var prior []policy.PriorNotice
	for _, x := range m.notices {
		if x.Channel == n.Channel && x.Recipient == n.Recipient && x.IdempotencyKey != n.IdempotencyKey {
			at := x.CreatedAt
			if x.SentAt != nil {
				at = *x.SentAt
			}
			prior = append(prior, policy.PriorNotice{Template: x.Template, Status: x.Status, At: at})
		}
	}
	reason, err := c.Stop(n.Template, n.Recipient, m.optedOut[n.Channel+" "+n.Recipient], prior, now)
	if err != nil {
		return store.Notice{}, false, fmt.Errorf("reserve notice %s: %v: %w", n.IdempotencyKey, err, store.ErrInvalid)
	}
	switch {
	case i >= 0 && reason == "":
		return m.notices[i], false, nil
	case i >= 0:
		row := &m.notices[i]
		row.Status, row.Reason = store.NoticeSkipped, reason
		if row.ProviderCalledAt != nil {
			row.Status, row.Reason = store.NoticeUnknown, "outcome unknown: an earlier attempt reached the provider and its answer was lost; not sent again: "+reason
		}
		return *row, false, nil
	}
	n.Status, n.CreatedAt = store.NoticePending, now
	if reason != "" {
		n.Status, n.Reason, n.Subject, n.Body, n.BodyHTML = store.NoticeSkipped, reason, "", "", ""
	}
	m.notices = append(m.notices, n)
	return n, n.Status == store.NoticePending, nil
}

// What the second check in SendNotice stops (a number another loan of the
// borrower used today, an opt-out the loan never heard of, a database clock
// that says the window has closed) lands in the loan's state like a skip of
// the plan: the notice is handled and not sent again, not counted as sent,
// not queued for a final row; the table holds it skipped with the reason,
// and the ladder goes on. Confirmations still go out.
func TestSecondCheckSkipLandsInState(t *testing.T) {
	const phone = "+8613800138000"
	for _, tc := range []struct {
		name   string
		setup  func(m *memStore)
		offset time.Duration // the store's clock ahead of the workflow's
		reason string
	}{
		{name: "another loan used the day's cap", reason: policy.SkipCapDay, setup: func(m *memStore) {
			at := at("2027-01-16", 9, 30)
			m.notices = append(m.notices, store.Notice{IdempotencyKey: "L-OTHER/0/1/1/sms", LoanID: "L-OTHER", Channel: "sms",
				Template: "overdue_gentle", Recipient: phone, Status: store.NoticeDelivered, CreatedAt: at, SentAt: &at})
		}},
		{name: "opted out in the store only", reason: policy.SkipOptedOut, setup: func(m *memStore) {
			m.optedOut = map[string]bool{"sms " + phone: true}
		}},
		{name: "the store's clock says the window closed", reason: policy.SkipWindow, offset: 11 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.setup != nil {
				tc.setup(h.store)
			}
			h.configure = func(env *testsuite.TestWorkflowEnvironment) {
				h.store.setClock(func() time.Time { return env.Now().Add(tc.offset) })
			}
			in := testLoan("L-CHECK", 2, "2027-01-15")
			snap, err := h.run(in, at("2027-01-16", 9, 0), []*event{
				// Settles installment 1: a confirmation, then continue-as-new.
				h.repay(at("2027-01-16", 11, 30), "TXN-1", "1045.00", at("2027-01-16", 11, 30)),
				// Pays the rest off: the loan completes.
				h.repay(at("2027-01-17", 9, 0), "TXN-2", "1045.00", at("2027-01-17", 9, 0)),
			})
			if err != nil {
				t.Fatal(err)
			}
			d1 := policy.NoticeKey(in.Loan.LoanID, 0, 1, 1, policy.SMS)
			row := h.store.noticeRow(d1)
			if row == nil || row.Status != store.NoticeSkipped || row.Reason != tc.reason || row.Body != "" {
				t.Fatalf("D+1 sms row %+v, want skipped %s without a message", row, tc.reason)
			}
			if h.sink.Sent(d1) != 0 {
				t.Errorf("D+1 sms reached the provider")
			}
			if h.runs < 2 {
				t.Fatalf("%d runs, want the continue-as-new after installment 1", h.runs)
			}
			st := h.inputs[1].State
			var kept *policy.SentNotice
			for i := range st.Sent {
				if st.Sent[i].Key == d1 {
					kept = &st.Sent[i]
				}
			}
			if kept == nil || kept.Status != store.NoticeSkipped || kept.Offset != 1 || kept.Seq != 1 {
				t.Errorf("state keeps D+1 sms as %+v, want skipped at seq 1 offset 1", kept)
			}
			if len(st.Finals) != 0 {
				t.Errorf("finals %+v, want none: the skip is final already", st.Finals)
			}
			sent, sentBefore := 0, 0 // all, and before the continue-as-new
			for _, n := range h.store.sent() {
				if n.LoanID == in.Loan.LoanID {
					sent++
					if !strings.Contains(n.IdempotencyKey, "TXN-2") {
						sentBefore++
					}
				}
			}
			if snap.NoticesSent != sent || st.NoticesSent != sentBefore {
				t.Errorf("notices_sent %d (state at continue-as-new %d), want %d (%d): the skip is not counted",
					snap.NoticesSent, st.NoticesSent, sent, sentBefore)
			}
			// Confirmations are exempt from the window and the caps, not
			// from an opt-out.
			want := store.NoticeSent
			if tc.reason == policy.SkipOptedOut {
				want = store.NoticeSkipped
			}
			key := policy.ConfirmationKey(in.Loan.LoanID, "TXN-1", policy.TemplatePaymentReceived, policy.SMS)
			if row := h.store.noticeRow(key); row == nil || row.Status != want {
				t.Errorf("payment_received sms %+v, want %s", row, want)
			}
			h.assertExactlyOnce()
		})
	}
}
