package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// noticeRow is the row of key among loanID's notices, or nil.
func (s *stack) noticeRow(loanID, key string) *store.Notice {
	for _, n := range s.notices(loanID) {
		if n.IdempotencyKey == key {
			return &n
		}
	}
	return nil
}

// Two loans of one borrower reach the same number. Neither loan's plan sees
// the other's notices, so both plan their D+1 SMS; the send's own check in
// PostgreSQL counts the number's notices across loans, so the second loan's
// is recorded skipped cap_day and never reaches the provider. Its repayment
// confirmations still go out (exempt from the caps). Loan B's history is
// recorded for the replay test (compliance-1).
func TestSecondLoanOfANumberIsCapped(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	a := overdueLoan(t, 2)
	s.start(queue, a)
	keyA := policy.NoticeKey(a.LoanID, 0, 1, 1, policy.SMS)
	eventually(t, 20*time.Second, "loan A's D+1 sms", func() (bool, string) {
		n := s.noticeRow(a.LoanID, keyA)
		return n != nil && n.Status == store.NoticeSent, fmt.Sprintf("%+v", n)
	})

	b := overdueLoan(t, 2)
	if b.Customer.Phone != a.Customer.Phone {
		t.Fatalf("loans at %s and %s: want one number", a.Customer.Phone, b.Customer.Phone)
	}
	runB := s.start(queue, b)
	keyB := policy.NoticeKey(b.LoanID, 0, 1, 1, policy.SMS)
	eventually(t, 20*time.Second, "loan B's D+1 sms recorded", func() (bool, string) {
		n := s.noticeRow(b.LoanID, keyB)
		return n != nil && n.Status != store.NoticePending, fmt.Sprintf("%+v", n)
	})
	if n := s.noticeRow(b.LoanID, keyB); n.Status != store.NoticeSkipped || n.Reason != policy.SkipCapDay || n.Body != "" {
		t.Errorf("loan B's D+1 sms: %s %q (body %q), want skipped cap_day without a message", n.Status, n.Reason, n.Body)
	}
	if got := s.sink.Sent(keyB); got != 0 {
		t.Errorf("loan B's D+1 sms reached the provider %d times", got)
	}

	if _, err := s.repay(b.LoanID, "TXN-B1", "100.00"); err != nil {
		t.Fatal(err)
	}
	conf := policy.ConfirmationKey(b.LoanID, "TXN-B1", policy.TemplatePaymentReceived, policy.SMS)
	eventually(t, 20*time.Second, "loan B's payment_received sms", func() (bool, string) {
		n := s.noticeRow(b.LoanID, conf)
		return n != nil && n.Status == store.NoticeSent, fmt.Sprintf("%+v", n)
	})

	// Loan B is paid off (its paid_off confirmation is exempt from the cap
	// too) and completes; loan A ends with the test's server.
	if _, err := s.repay(b.LoanID, "TXN-B2", "2500.00"); err != nil {
		t.Fatal(err)
	}
	var final policy.Snapshot
	if err := runB.Get(context.Background(), &final); err != nil {
		t.Fatal(err)
	}
	paidOff := policy.ConfirmationKey(b.LoanID, "TXN-B2", policy.TemplatePaidOff, policy.SMS)
	if n := s.noticeRow(b.LoanID, paidOff); final.State != policy.StatePaidOff || n == nil || n.Status != store.NoticeSent {
		t.Errorf("loan B ended %s, paid_off sms %+v; want paid off and the sms sent", final.State, n)
	}
	s.recordHistory(workflows.WorkflowID(b.LoanID), runB.GetRunID(), "compliance-second-check")
}
