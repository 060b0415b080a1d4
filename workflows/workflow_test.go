package workflows

import (
	"testing"
	"time"

	"dunning/activities"
	"dunning/policy"
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
	got := h.templatesSent()
	want := []string{"upcoming/push", "upcoming/sms", "due_today/sms", "due_today/push", "paid_off/sms", "paid_off/push"}
	if len(got) != len(want) {
		t.Fatalf("sent %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notice %d = %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
	if len(h.store.ledgerKinds(activities.KindRepaymentApplied)) != 1 || len(h.store.ledgerKinds(activities.KindPaidOff)) != 1 {
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
	if n := len(h.store.ledgerKinds(activities.KindPenaltyPosted)); n != 0 {
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
		signal(at("2027-04-30", 12, 0), SignalClose, CloseSignal{Reason: "sold to agency"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range h.store.sent() {
		got = append(got, n.Template+"/"+n.Channel)
	}
	want := []string{
		"upcoming/push", "upcoming/sms", "due_today/sms", "due_today/push",
		"overdue_gentle/sms", "overdue_gentle/sms", "overdue_gentle/push",
		"overdue_firm/sms", "overdue_firm/email", "overdue_firm/push",
		"overdue_urgent/sms", "overdue_urgent/email", "overdue_urgent/push",
		"final_notice/sms", "final_notice/email", "final_notice/push",
		"final_notice/sms", "final_notice/email",
		"charged_off/email",
	}
	if len(got) != len(want) {
		t.Fatalf("sent %d notices %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notice %d = %s, want %s", i, got[i], want[i])
		}
	}
	if len(h.store.cases) != 1 || h.store.cases[0].DaysPastDue != 15 {
		t.Errorf("cases = %+v, want one opened at DPD 15", h.store.cases)
	}
	if len(h.store.ledgerKinds(activities.KindChargedOff)) != 1 || len(h.store.ledgerKinds(activities.KindClosed)) != 1 {
		t.Errorf("want one charged_off and one closed ledger row")
	}
	// Penalty: 0.50 a day for 90 days, nothing after charge-off; one late fee.
	total := sumAmounts(h.store.ledgerKinds(activities.KindPenaltyPosted))
	if total != "45.00" {
		t.Errorf("penalty posted = %s, want 45.00", total)
	}
	if fee := sumAmounts(h.store.ledgerKinds(activities.KindLateFeeAssessed)); fee != "20.00" {
		t.Errorf("late fee = %s, want 20.00", fee)
	}
	h.assertExactlyOnce()
}
