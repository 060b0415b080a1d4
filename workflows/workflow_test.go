package workflows

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/testsuite"

	"dunning/policy"
	"dunning/store"
)

func TestSingleInstallmentPaidOnDueDate(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-ONE", 1, "2027-01-15")
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-15", 12, 0), "T-1", "1045.00", at("2027-01-15", 11, 59)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StatePaidOff {
		t.Fatalf("state = %s, want paid_off", snap.State)
	}
	want := []string{"upcoming:push", "upcoming:sms", "due_today:push+sms", "paid_off:push+sms"}
	if got := byPoint(h.store.sent()); !slices.Equal(got, want) {
		t.Errorf("points %v, want %v", got, want)
	}
	if len(h.store.ledgerKinds(store.KindRepaymentApplied)) != 1 || len(h.store.ledgerKinds(store.KindPaidOff)) != 1 {
		t.Errorf("ledger = %+v", h.store.ledger)
	}
	h.assertExactlyOnce()
	_ = time.Second
}

func TestTwelveInstallmentsPaidOnTime(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-TWELVE", 12, "2027-01-15")
	var events []*event
	for i, ins := range in.Loan.Installments {
		paid := ins.DueDate.At(shanghai, 12, 0)
		events = append(events, h.repay(paid, "T-"+ins.DueDate.String(), "1045.00", paid))
		_ = i
	}
	snap, err := h.run(in, at("2027-01-01", 9, 0), events)
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StatePaidOff {
		t.Fatalf("state = %s", snap.State)
	}
	// One run per settled installment: continue-as-new keeps history small.
	if h.runs != 12 {
		t.Errorf("runs = %d, want 12 (continue-as-new after each settled installment)", h.runs)
	}
	got := h.templatesSent()
	for tmpl, want := range map[string]int{
		"upcoming/push": 12, "upcoming/sms": 12, "due_today/sms": 12, "due_today/push": 12,
		"payment_received/sms": 11, "payment_received/push": 11, "paid_off/sms": 1, "paid_off/push": 1,
		"overdue_gentle/sms": 0,
	} {
		if c := count(got, tmpl); c != want {
			t.Errorf("%s sent %d times, want %d", tmpl, c, want)
		}
	}
	if n := len(h.store.ledgerKinds(store.KindPenaltyPosted)); n != 0 {
		t.Errorf("%d penalty rows for a loan paid on time", n)
	}
	for _, n := range h.store.sent() {
		if n.Template == "upcoming" || n.Template == "due_today" {
			local := h.startedAt[n.IdempotencyKey].In(shanghai)
			if local.Hour() != 10 {
				t.Errorf("%s sent at %s, want 10:xx local", n.IdempotencyKey, local)
			}
		}
	}
	h.assertExactlyOnce()
}

func TestChargeOffWalksTheWholeLadder(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-CHARGE", 1, "2027-01-15")
	_, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-04-30", 12, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "sold to agency"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	// DESIGN.md's ladder, point by point (channels of a point go out in parallel).
	want := []string{
		"upcoming:push", "upcoming:sms", "due_today:push+sms",
		"overdue_gentle:sms", "overdue_gentle:push+sms",
		"overdue_firm:email+push+sms", "overdue_urgent:email+push+sms",
		"final_notice:email+push+sms", "final_notice:email+sms",
		"charged_off:email",
	}
	if g := byPoint(h.store.sent()); !slices.Equal(g, want) {
		t.Errorf("points\n got %v\nwant %v", g, want)
	}
	if len(h.store.cases) != 1 || h.store.cases[0].DaysPastDue != 15 {
		t.Errorf("cases = %+v, want one opened at DPD 15", h.store.cases)
	}
	if len(h.store.ledgerKinds(store.KindChargedOff)) != 1 || len(h.store.ledgerKinds(store.KindClosed)) != 1 {
		t.Errorf("want one charged_off and one closed ledger row")
	}
	// Penalty: 0.50 a day for 90 days, nothing after charge-off; one late fee.
	total := sumAmounts(h.store.ledgerKinds(store.KindPenaltyPosted))
	if total != "45.00" {
		t.Errorf("penalty posted = %s, want 45.00", total)
	}
	if fee := sumAmounts(h.store.ledgerKinds(store.KindLateFeeAssessed)); fee != "20.00" {
		t.Errorf("late fee = %s, want 20.00", fee)
	}
	h.assertExactlyOnce()
}

func TestPartialThenFullRepayment(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-PART", 1, "2027-01-15")
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-20", 15, 0), "T-1", "600.00", at("2027-01-20", 15, 0)),
		h.repay(at("2027-01-25", 15, 0), "T-2", "600.00", at("2027-01-25", 15, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	// After T-1 (D+5): penalty 5 × 0.50 = 2.50 and the late fee 20.00 were
	// owed first, then interest 45.00, then 532.50 of principal → 467.50 left.
	first := h.results["T-1"]
	if first.State != policy.StateOverdue || first.Outstanding.Principal.StringFixed(2) != "467.50" {
		t.Errorf("after T-1: state %s principal %s, want overdue 467.50", first.State, first.Outstanding.Principal.StringFixed(2))
	}
	if snap.State != policy.StatePaidOff || snap.Credit.StringFixed(2) == "0.00" {
		t.Errorf("final: state %s credit %s, want paid_off with credit", snap.State, snap.Credit.StringFixed(2))
	}
	got := h.templatesSent()
	if count(got, "payment_received/sms") != 1 || count(got, "paid_off/sms") != 1 {
		t.Errorf("confirmations: %v", got)
	}
	h.assertExactlyOnce()
}

func TestDuplicateTxnChangesNothing(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-DUP", 2, "2027-01-15")
	var afterFirst policy.Snapshot
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-10", 15, 0), "T-1", "300.00", at("2027-01-10", 15, 0)),
		{at: at("2027-01-10", 15, 1), do: func(*testsuite.TestWorkflowEnvironment) { afterFirst = h.results["T-1"] }},
		h.repay(at("2027-01-10", 16, 0), "T-1", "300.00", at("2027-01-10", 15, 0)),
		signal(at("2027-01-11", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Applied) != 1 {
		t.Fatalf("applied %d repayments, want 1", len(snap.Applied))
	}
	again := h.results["T-1"]
	if !again.Outstanding.Total.Equal(afterFirst.Outstanding.Total) || !again.Outstanding.Total.Equal(decimal.RequireFromString("1790.00")) {
		t.Errorf("outstanding after repeat %s, after first %s, want 1790.00", again.Outstanding.Total, afterFirst.Outstanding.Total)
	}
	if n := len(h.store.ledgerKinds(store.KindRepaymentApplied)); n != 1 {
		t.Errorf("%d repayment rows, want 1", n)
	}
	if c := count(h.templatesSent(), "payment_received/sms"); c != 1 {
		t.Errorf("payment_received sent %d times, want 1", c)
	}
}

func TestBackDatedRepaymentRecomputes(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-BACK", 1, "2027-01-15")
	// Paid in grace (D+2) but reported on D+10, after penalty and the late
	// fee were posted: they are reversed and the loan is paid off exactly.
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-25", 15, 0), "T-1", "1045.00", at("2027-01-17", 11, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StatePaidOff || !snap.Credit.IsZero() {
		t.Errorf("state %s credit %s, want paid_off with no credit", snap.State, snap.Credit)
	}
	pen := h.store.ledgerKinds(store.KindPenaltyPosted)
	if len(pen) < 2 || sumAmounts(pen) != "0.00" {
		t.Errorf("penalty rows %d summing to %s, want postings reversed to 0.00", len(pen), sumAmounts(pen))
	}
	if sumAmounts(h.store.ledgerKinds(store.KindLateFeeAssessed)) != "0.00" {
		t.Error("late fee not reversed")
	}
}

func TestPauseAndResumeCatchesUpOnlyTheLatestPoint(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-PAUSE", 1, "2027-01-15")
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-01-17", 12, 0), SignalPause, PauseSignal{Actor: testActor, Reason: "hardship review"}),
		signal(at("2027-02-01", 14, 0), SignalResume, ResumeSignal{Actor: testActor, Reason: "review done"}),
		h.repay(at("2027-02-03", 9, 0), "T-1", "2000.00", at("2027-02-03", 9, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := h.templatesSent()
	// Before the pause: up to +1. Paused over +3, +7 and +15: on resume only
	// +15 (overdue_urgent) goes out, at once.
	if count(got, "overdue_firm/sms") != 0 || count(got, "overdue_urgent/sms") != 1 {
		t.Errorf("sent %v: want no overdue_firm, one overdue_urgent", got)
	}
	urgent := h.startedAt["L-PAUSE/0/1/15/sms"]
	if !urgent.Equal(at("2027-02-01", 14, 0)) {
		t.Errorf("catch-up sent at %s, want at the resume 2027-02-01 14:00", urgent.In(shanghai))
	}
	// Penalty frozen from the midnight after the pause (D+3..D+17).
	// Midnights D+1 and D+2 before the pause, D+18 and D+19 after the
	// resume: 4 × 0.50; the late fee at the first unfrozen midnight.
	paid := snap.Applied[0].Parts[0].Paid
	if p, f := paid.Penalty.StringFixed(2), paid.LateFee.StringFixed(2); p != "2.00" || f != "20.00" {
		t.Errorf("penalty %s late fee %s, want 2.00 and 20.00", p, f)
	}
	if len(h.store.ledgerKinds(store.KindPaused)) != 1 || len(h.store.ledgerKinds(store.KindResumed)) != 1 {
		t.Error("want one paused and one resumed ledger row")
	}
	h.assertExactlyOnce()
}

func TestRescheduleStartsANewScheduleVersion(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-RESCHED", 1, "2027-01-15")
	newDue := policy.MustDate("2027-03-15")
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-01-20", 12, 0), SignalReschedule, RescheduleSignal{Actor: testActor, Reason: "extension", Installments: []policy.Installment{
			{Seq: 2, DueDate: newDue, Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("60.00")},
		}}),
		h.repay(at("2027-03-15", 12, 0), "T-1", "1060.00", at("2027-03-15", 12, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StatePaidOff || snap.ScheduleVersion != 1 {
		t.Errorf("state %s version %d, want paid_off on version 1", snap.State, snap.ScheduleVersion)
	}
	for _, key := range []string{"L-RESCHED/1/2/-3/push", "L-RESCHED/1/2/0/sms"} {
		if h.sink.Sent(key) != 1 {
			t.Errorf("notice %s not sent once", key)
		}
	}
	if n := len(h.store.ledgerKinds(store.KindRescheduled)); n != 1 {
		t.Errorf("%d rescheduled rows", n)
	}
	h.assertExactlyOnce()
}

func TestContinueAsNewKeepsSignalsInFlight(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-CAN", 2, "2027-01-15")
	h.configure = func(env *testsuite.TestWorkflowEnvironment) {
		if h.runs == 1 {
			env.RegisterDelayedCallback(func() {
				env.SetContinueAsNewSuggested(true)
				// Two signals at once: the loop wakes on one; the other must be
				// drained into the next run, not lost.
				env.SignalWorkflow(SignalPause, PauseSignal{Actor: testActor, Reason: "dispute"})
				env.SignalWorkflow(SignalUpdateContact, ContactUpdate{Actor: testActor, Reason: "test", Email: "new@example.cn"})
			}, 3*24*time.Hour)
		}
	}
	_, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-01-10", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.runs < 2 {
		t.Fatalf("runs = %d, want a continue-as-new", h.runs)
	}
	next := h.inputs[1]
	if next.State == nil || len(next.State.History.Pauses) != 1 || next.Loan.Customer.Email != "new@example.cn" {
		t.Errorf("next run lost a signal: pauses %v email %q", next.State.History.Pauses, next.Loan.Customer.Email)
	}
}

func TestRepayValidatorRejectsBadInput(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-BAD", 1, "2027-01-15")
	_, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-05", 9, 0), "T-neg", "-5.00", at("2027-01-05", 9, 0)),
		h.repay(at("2027-01-05", 9, 0), "T-prec", "5.001", at("2027-01-05", 9, 0)),
		h.repay(at("2027-01-05", 9, 0), "T-future", "5.00", at("2027-01-06", 9, 0)),
		signal(at("2027-01-06", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, txn := range []string{"T-neg", "T-prec", "T-future"} {
		if h.rejects[txn] == nil {
			t.Errorf("%s accepted, want rejected", txn)
		}
	}
	if n := len(h.store.ledgerKinds(store.KindRepaymentApplied)); n != 0 {
		t.Errorf("%d repayments applied", n)
	}
}

// byPoint groups sent notices by ladder point (key without the channel) and
// lists each point as "template:ch1+ch2" with the channels sorted.
func byPoint(ns []store.Notice) []string {
	var out []string
	last := ""
	var chans []string
	tmpl := ""
	flush := func() {
		if last != "" {
			sort.Strings(chans)
			out = append(out, tmpl+":"+strings.Join(chans, "+"))
		}
	}
	for _, n := range ns {
		point := n.IdempotencyKey[:strings.LastIndex(n.IdempotencyKey, "/")]
		if point != last {
			flush()
			last, chans, tmpl = point, nil, n.Template
		}
		chans = append(chans, n.Channel)
	}
	flush()
	return out
}

func TestOptingOutOfEveryChannelOpensACase(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-OPTOUT", 1, "2027-01-15")
	_, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-01-05", 9, 0), SignalUpdateContact, ContactUpdate{Actor: testActor, Reason: "test", OptOuts: []policy.Channel{policy.SMS, policy.Email, policy.Push}}),
		signal(at("2027-01-20", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.store.cases) != 1 || h.store.cases[0].Reason != "no reachable channel left" {
		t.Fatalf("cases = %+v, want one for the unreachable customer", h.store.cases)
	}
	// Nothing is sent after the opt-out; the points are recorded as skipped.
	for _, n := range h.store.sent() {
		if h.startedAt[n.IdempotencyKey].After(at("2027-01-05", 9, 0)) {
			t.Errorf("%s sent after the customer opted out of everything", n.IdempotencyKey)
		}
	}
	skipped := 0
	for _, n := range h.store.notices {
		if n.Status == "skipped" && n.Reason == policy.SkipOptedOut {
			skipped++
		}
	}
	if skipped == 0 {
		t.Error("no notice recorded as skipped for the opt-out")
	}
}
