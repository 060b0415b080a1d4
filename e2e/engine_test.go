package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dunning/internal/demo"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// overdueLoan is a loan whose first installment is dpd days past due today
// for a customer in a zone where it is daytime now, so the catch-up point
// is sent at once.
func overdueLoan(t *testing.T, dpd int) policy.Loan {
	now := time.Now()
	tz := demo.DaytimeZone(now)
	loc, _ := time.LoadLocation(tz)
	l := demo.Loan(1, dpd, 2, "1000.00", policy.LocalDate(now, loc), tz)
	l.LoanID = fmt.Sprintf("L-E2E-%d", now.UnixNano())
	return l
}

func (s *stack) start(queue string, l policy.Loan) client.WorkflowRun {
	s.t.Helper()
	run, err := s.c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.WorkflowID(l.LoanID), TaskQueue: queue,
	}, workflows.WorkflowType, workflows.Input{Loan: l, Policy: policy.Default()})
	if err != nil {
		s.t.Fatalf("start %s: %v", l.LoanID, err)
	}
	return run
}

func (s *stack) repay(loanID, txn, amount string) (policy.Snapshot, error) {
	h, err := s.c.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: workflows.WorkflowID(loanID), UpdateName: workflows.UpdateRepay,
		Args:         []any{policy.Repayment{TxnID: txn, Amount: decimal.RequireFromString(amount), PaidAt: time.Now()}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return policy.Snapshot{}, err
	}
	var snap policy.Snapshot
	err = h.Get(context.Background(), &snap)
	return snap, err
}

func (s *stack) notices(loanID string) []store.Notice {
	ns, err := s.store.NoticesByLoan(context.Background(), loanID)
	if err != nil {
		s.t.Fatal(err)
	}
	return ns
}

func sentTemplates(ns []store.Notice) string {
	var out []string
	for _, n := range ns {
		if n.Status == store.NoticeSent {
			out = append(out, n.Template+"/"+n.Channel)
		}
	}
	return strings.Join(out, ",")
}

// A worker stopped while a loan is mid-flight and a new one started later:
// nothing is lost, nothing is sent twice.
func TestWorkerRestartMidFlight(t *testing.T) {
	s := newStack(t)
	queue := queueName(t)
	// The provider accepts the catch-up SMS, then the response is lost: the
	// activity must retry without a second delivery.
	l := overdueLoan(t, 8)
	lostKey := policy.NoticeKey(l.LoanID, 0, 1, 7, policy.SMS)
	s.sink.FailAfterAccept = func(key string) bool { return key == lostKey }

	w1 := s.startWorker(queue)
	run := s.start(queue, l)
	eventually(t, 20*time.Second, "the +7 email is sent", func() (bool, string) {
		ns := s.notices(l.LoanID)
		return strings.Contains(sentTemplates(ns), "overdue_firm/email"), sentTemplates(ns)
	})
	w1.Stop() // the SMS is still waiting for its retry

	// While no worker runs, the borrower repays; the update waits for a worker.
	done := make(chan error, 1)
	var snap policy.Snapshot
	go func() {
		var err error
		snap, err = s.repay(l.LoanID, "TXN-1", "5000.00")
		done <- err
	}()
	time.Sleep(time.Second)
	w2 := s.startWorker(queue)
	defer w2.Stop()
	if err := <-done; err != nil {
		t.Fatalf("repay after restart: %v", err)
	}
	if snap.State != policy.StatePaidOff {
		t.Errorf("state after full repayment = %s", snap.State)
	}
	var final policy.Snapshot
	if err := run.Get(context.Background(), &final); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	ns := s.notices(l.LoanID)
	if got := s.sink.Sent(lostKey); got != 1 {
		t.Errorf("the SMS whose response was lost was delivered %d times, want 1", got)
	}
	for _, n := range ns {
		if n.Status == store.NoticePending {
			t.Errorf("notice %s left pending", n.IdempotencyKey)
		}
		if n.Status == store.NoticeSent && s.sink.Sent(n.IdempotencyKey) != 1 {
			t.Errorf("notice %s delivered %d times", n.IdempotencyKey, s.sink.Sent(n.IdempotencyKey))
		}
	}
	if !strings.Contains(sentTemplates(ns), "paid_off/sms") {
		t.Errorf("no paid_off SMS: %s", sentTemplates(ns))
	}
	s.recordHistory(run.GetID(), run.GetRunID(), "restart-paid-off")
}

// Settling an installment continues the loan as new, carrying its state:
// the second run knows the repayment and the notices already sent.
func TestSettledInstallmentContinuesAsNew(t *testing.T) {
	s := newStack(t)
	queue := queueName(t)
	w := s.startWorker(queue)
	defer w.Stop()
	l := overdueLoan(t, 2) // inside grace: 1045.00 settles installment 1
	first := s.start(queue, l)
	eventually(t, 20*time.Second, "the +1 SMS", func() (bool, string) {
		got := sentTemplates(s.notices(l.LoanID))
		return strings.Contains(got, "overdue_gentle/sms"), got
	})
	snap, err := s.repay(l.LoanID, "TXN-1", "1045.00")
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StateCurrent || snap.Installments[0].Status != policy.StatusPaid {
		t.Fatalf("after settling installment 1: state %s, installment 1 %s", snap.State, snap.Installments[0].Status)
	}
	var next string
	eventually(t, 20*time.Second, "a new run", func() (bool, string) {
		d, err := s.c.DescribeWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "")
		if err != nil {
			return false, err.Error()
		}
		next = d.WorkflowExecution.RunID
		return next != first.GetRunID(), next
	})
	v, err := s.c.QueryWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), next, workflows.QueryStatus)
	if err != nil {
		t.Fatal(err)
	}
	var after policy.Snapshot
	if err := v.Get(&after); err != nil {
		t.Fatal(err)
	}
	if len(after.Applied) != 1 || after.Installments[0].Status != policy.StatusPaid {
		t.Errorf("second run lost the repayment: %+v", after.Applied)
	}
	if after.NoticesSent < 2 {
		t.Errorf("second run counts %d notices sent", after.NoticesSent)
	}
	if err := s.c.SignalWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
	s.recordHistory(workflows.WorkflowID(l.LoanID), first.GetRunID(), "settled-continue-as-new")
}
