package workflows

import (
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
)

// noticeRow is the notices-table row of key, or nil.
func (m *memStore) noticeRow(key string) *store.Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(key); i >= 0 {
		n := m.notices[i]
		return &n
	}
	return nil
}

// A number the provider reports invalid: that notice fails, SMS is opted out
// for good, and the point's notice goes out once on the fallback channel
// (push, which the D+1 point did not use).
func TestInvalidNumberFallsBack(t *testing.T) {
	h := newHarness(t)
	rec := newMetricsRecorder()
	h.suite.SetMetricsHandler(rec)
	h.sink.Reject = func(m channels.Message) error {
		if m.Channel == channels.SMS {
			return channels.ErrInvalidRecipient
		}
		return nil
	}
	in := testLoan("L-FALLBACK", 1, "2027-01-15")
	snap, err := h.run(in, at("2027-01-16", 9, 0), []*event{
		signal(at("2027-01-19", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	d1 := policy.NoticeKey(in.Loan.LoanID, 0, 1, 1, policy.SMS)
	if row := h.store.noticeRow(d1); row == nil || row.Status != store.NoticeFailed || row.Reason != "invalid_recipient" {
		t.Fatalf("D+1 sms row %+v, want failed invalid_recipient", row)
	}
	fb := policy.NoticeKey(in.Loan.LoanID, 0, 1, 1, policy.Push)
	if row := h.store.noticeRow(fb); row == nil || row.Status != store.NoticeSent || row.Template != "overdue_gentle" {
		t.Fatalf("fallback push row %+v, want the D+1 overdue_gentle sent by push", row)
	}
	if !slices.Contains(snap.OptOuts, policy.SMS) {
		t.Errorf("opt_outs %v, want sms", snap.OptOuts)
	}
	// D+3 plans sms and push: sms is skipped as opted out, push goes, and
	// no second fallback is needed.
	d3 := policy.NoticeKey(in.Loan.LoanID, 0, 1, 3, policy.SMS)
	if row := h.store.noticeRow(d3); row == nil || row.Status != store.NoticeSkipped || row.Reason != policy.SkipOptedOut {
		t.Errorf("D+3 sms row %+v, want skipped opted_out", row)
	}
	if rec.counters["dunning_fallbacks_total"] != 1 {
		t.Errorf("fallbacks counted %d, want 1", rec.counters["dunning_fallbacks_total"])
	}
	h.assertExactlyOnce()
}

// A delivery receipt saying a sent SMS never arrived for good: SMS is opted
// out and the point's notice falls back to push.
func TestUndeliveredReceiptFallsBack(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-RECEIPT", 1, "2027-01-15")
	d1 := policy.NoticeKey(in.Loan.LoanID, 0, 1, 1, policy.SMS)
	if _, err := h.run(in, at("2027-01-16", 9, 0), []*event{
		signal(at("2027-01-16", 12, 0), SignalDeliveryReport, DeliveryReport{Key: d1, Channel: policy.SMS, Status: "undelivered", Error: "30005", Permanent: true}),
		signal(at("2027-01-16", 12, 5), SignalDeliveryReport, DeliveryReport{Key: d1, Channel: policy.SMS, Status: "undelivered", Error: "30005", Permanent: true}),
		signal(at("2027-01-16", 13, 0), SignalDeliveryReport, DeliveryReport{Channel: policy.SMS}),
		signal(at("2027-01-17", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	fb := policy.NoticeKey(in.Loan.LoanID, 0, 1, 1, policy.Push)
	if row := h.store.noticeRow(fb); row == nil || row.Status != store.NoticeSent {
		t.Fatalf("fallback push row %+v, want sent", row)
	}
	optOuts := 0
	for _, e := range h.store.ledgerKinds(store.KindContactUpdated) {
		if strings.Contains(string(e.Detail), `"opt_out":"sms"`) {
			optOuts++
		}
	}
	if optOuts != 1 || len(h.store.ledgerKinds(store.KindSignalRejected)) != 1 {
		t.Errorf("sms opt-outs %d (want 1, the repeated receipt changes nothing), refused %d (want 1: no key)",
			optOuts, len(h.store.ledgerKinds(store.KindSignalRejected)))
	}
	h.assertExactlyOnce()
}

// STOP opts out of SMS; START reverses exactly that; a carrier opt-out is
// not reversed by START; a loan started while the number was opted out by
// keyword can be reversed too.
func TestKeywordOptOutAndOptIn(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-STOP", 1, "2027-01-15")
	var mid, after policy.Snapshot
	query := func(into *policy.Snapshot) func(env *testsuite.TestWorkflowEnvironment) {
		return func(env *testsuite.TestWorkflowEnvironment) {
			v, err := env.QueryWorkflow(QueryStatus, nil)
			if err == nil {
				_ = v.Get(into)
			}
		}
	}
	if _, err := h.run(in, at("2027-01-10", 9, 0), []*event{
		signal(at("2027-01-10", 10, 0), SignalOptOut, OptSignal{Channel: policy.SMS, Source: "keyword", Keyword: "退订"}),
		signal(at("2027-01-10", 10, 1), SignalOptOut, OptSignal{Channel: policy.Push, Source: "carrier"}),
		{at: at("2027-01-11", 9, 0), do: query(&mid)},
		signal(at("2027-01-14", 9, 0), SignalOptIn, OptSignal{Channel: policy.SMS, Source: "keyword", Keyword: "START"}),
		signal(at("2027-01-14", 9, 1), SignalOptIn, OptSignal{Channel: policy.Push, Source: "keyword", Keyword: "START"}),
		signal(at("2027-01-14", 9, 2), SignalOptOut, OptSignal{Channel: "fax", Source: "keyword"}),
		{at: at("2027-01-14", 9, 5), do: query(&after)},
		signal(at("2027-01-16", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mid.OptOuts, []policy.Channel{policy.SMS, policy.Push}) {
		t.Errorf("opt_outs after STOP %v", mid.OptOuts)
	}
	if !slices.Equal(after.OptOuts, []policy.Channel{policy.Push}) {
		t.Errorf("opt_outs after START %v, want only the carrier's push", after.OptOuts)
	}
	// The D-1 sms (2027-01-14 10:xx) goes out again after START.
	if row := h.store.noticeRow(policy.NoticeKey(in.Loan.LoanID, 0, 1, -1, policy.SMS)); row == nil || row.Status != store.NoticeSent {
		t.Errorf("D-1 sms after START: %+v", row)
	}
	if n := len(h.store.ledgerKinds(store.KindSignalRejected)); n != 2 {
		t.Errorf("%d refused signals, want 2 (START of a carrier opt-out, an unknown channel)", n)
	}

	// Started while the number was opted out by keyword.
	h2 := newHarness(t)
	in2 := testLoan("L-STOP-BEFORE", 1, "2027-01-15")
	in2.Loan.Customer.OptOuts = []policy.Channel{policy.SMS}
	in2.KeywordOptOuts = []policy.Channel{policy.SMS}
	snap, err := h2.run(in2, at("2027-01-10", 9, 0), []*event{
		signal(at("2027-01-11", 9, 0), SignalOptIn, OptSignal{Channel: policy.SMS, Source: "keyword"}),
		signal(at("2027-01-12", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.OptOuts) != 0 {
		t.Errorf("opt_outs %v after START, want none", snap.OptOuts)
	}
	if len(h2.store.ledgerKinds(store.KindSignalRejected)) != 0 {
		t.Errorf("START refused")
	}
}
