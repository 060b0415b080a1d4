package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"dunning/activities"
	"dunning/api"
	"dunning/internal/testenv"
	"dunning/policies"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// hookedStore is the test's database with a hook run before each ledger
// row is written: a test sends a message while the activity runs.
type hookedStore struct {
	*store.Store
	mu   sync.Mutex
	hook func(e store.LedgerEntry)
}

func (h *hookedStore) AppendLedger(ctx context.Context, e store.LedgerEntry) (bool, error) {
	h.mu.Lock()
	hook := h.hook
	h.mu.Unlock()
	if hook != nil {
		hook(e)
	}
	return h.Store.AppendLedger(ctx, e)
}

var _ activities.Store = (*hookedStore)(nil)

// rejected lists the details of the loan's signal_rejected rows.
func (s *stack) rejected(loanID string) string {
	s.t.Helper()
	ledger, err := s.store.LedgerByLoan(context.Background(), loanID)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range ledger {
		if e.Kind == store.KindSignalRejected {
			out = append(out, string(e.Detail))
		}
	}
	return strings.Join(out, "; ")
}

func (s *stack) kinds(loanID string) map[string]int {
	s.t.Helper()
	ledger, err := s.store.LedgerByLoan(context.Background(), loanID)
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range ledger {
		out[e.Kind]++
	}
	return out
}

// A signal and an update that arrive while a paid-off loan writes its last
// ledger rows are seen: the signal is audited as refused, the update is
// answered (loan finished). Before, the workflow completed without them.
func TestMessagesDuringTheFinalLedgerWrite(t *testing.T) {
	s := newStack(t)
	queue := queueName(t)
	hs := &hookedStore{Store: s.store}
	w := testenv.StartWorker(t, s.c, hs, s.tmpl, s.sink, queue)
	defer w.Stop()
	l := overdueLoan(t, 2)
	updateErr := make(chan error, 1)
	var once sync.Once
	hs.hook = func(e store.LedgerEntry) {
		if e.Kind != store.KindPaidOff {
			return
		}
		once.Do(func() {
			id := workflows.WorkflowID(l.LoanID)
			if err := s.c.SignalWorkflow(context.Background(), id, "", workflows.SignalPause, workflows.PauseSignal{Actor: testActor, Reason: "late"}); err != nil {
				t.Errorf("signal: %v", err)
			}
			go func() {
				_, err := api.Update(context.Background(), s.c, l.LoanID, workflows.UpdateContact, "", workflows.ContactUpdate{Actor: testActor, Reason: "customer called", Name: "王芳"})
				updateErr <- err
			}()
			time.Sleep(time.Second) // both reach the server while this activity runs
		})
	}
	run := s.start(queue, l)
	if _, err := s.repay(l.LoanID, "TXN-ALL", "5000.00"); err != nil {
		t.Fatal(err)
	}
	var final policy.Snapshot
	if err := run.Get(context.Background(), &final); err != nil {
		t.Fatal(err)
	}
	if final.State != policy.StatePaidOff {
		t.Fatalf("final state %s", final.State)
	}
	select {
	case err := <-updateErr:
		if !errors.Is(err, api.ErrNotOpen) {
			t.Errorf("update during the final write answered %v, want the loan finished", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the update sent during the final write was never answered")
	}
	if k := s.kinds(l.LoanID); k[store.KindSignalRejected] != 1 || k[store.KindPaidOff] != 1 {
		t.Errorf("ledger %v, want the pause signal audited as refused", k)
	}
}

// A loan whose run was terminated and that is started again under the same
// id writes its rows: ledger keys are derived from the event and the run,
// not counted from 1 again (which made the second run's rows vanish as
// "retries").
func TestRestartedLoanWritesItsRows(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	l := overdueLoan(t, 10)
	first := s.start(queue, l)
	eventually(t, 20*time.Second, "the first run's rows", func() (bool, string) {
		k := s.kinds(l.LoanID)
		return k[store.KindPenaltyPosted] > 0 && k[store.KindStageChanged] > 0, fmt.Sprint(k)
	})
	before := s.kinds(l.LoanID)
	if err := s.c.TerminateWorkflow(context.Background(), first.GetID(), first.GetRunID(), "operator error"); err != nil {
		t.Fatal(err)
	}
	s.start(queue, l)
	eventually(t, 20*time.Second, "the second run's rows", func() (bool, string) {
		k := s.kinds(l.LoanID)
		return k[store.KindLoanStarted] == 2 && k[store.KindStageChanged] == 2*before[store.KindStageChanged], fmt.Sprint(k)
	})
	s.closeLoan(l.LoanID)
}

// The largest loan the API takes (policy.MaxInstallments installments, every
// text field at its limit) runs on the real server: started, repaid many
// times, its contact updated, queried, continued as new; every event of its
// history and every answer stays far below Temporal's 2 MiB payload limit.
func TestLargestLoanStaysFarBelowTemporalLimits(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Temporal: s.c, Store: s.store, Policies: reg, HasLocale: s.tmpl.Has, Token: "e2e-token", TaskQueue: queue}))
	defer srv.Close()

	l := overdueLoan(t, 2)
	l.LoanID = strings.Repeat("L", policy.MaxLoanIDLen-20) + fmt.Sprint(time.Now().UnixNano())
	l.Customer.ID = strings.Repeat("C", policy.MaxCustomerIDLen)
	l.Customer.Name = strings.Repeat("名", policy.MaxNameLen)
	l.Customer.PushToken = strings.Repeat("t", policy.MaxPushTokenLen)
	first := l.Installments[0]
	l.Installments = nil
	for i := range policy.MaxInstallments {
		in := first
		in.Seq, in.DueDate = i+1, first.DueDate.AddDays(30*i)
		in.Principal, in.Interest, in.Fee = decimal.RequireFromString("123456.78"), decimal.RequireFromString("12345.67"), decimal.RequireFromString("10.00")
		l.Installments = append(l.Installments, in)
	}
	const limit = 1 << 20 // far below: half of Temporal's 2 MiB
	var started map[string]string
	if code := call(t, srv, "POST", "/v1/loans", l, &started); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	path := "/v1/loans/" + l.LoanID
	// Twenty repayments, the first settling installment 1 (continue-as-new).
	for i := range 20 {
		amount := "1000.00"
		if i == 0 {
			amount = "135812.45"
		}
		body := map[string]string{"txn_id": fmt.Sprintf("TXN-%03d", i), "amount": amount}
		if code := call(t, srv, "POST", path+"/repayments", body, nil); code != http.StatusOK {
			t.Fatalf("repayment %d: %d", i, code)
		}
		if i == 0 {
			eventually(t, 20*time.Second, "a new run after installment 1", func() (bool, string) {
				d, err := s.c.DescribeWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "")
				if err != nil {
					return false, err.Error()
				}
				return d.WorkflowExecution.RunID != started["run_id"], d.WorkflowExecution.RunID
			})
		}
	}
	contact := map[string]any{"actor": strings.Repeat("a", policy.MaxActorLen), "reason": strings.Repeat("理", policy.MaxReasonLen),
		"name": strings.Repeat("芳", policy.MaxNameLen), "push_token": strings.Repeat("u", policy.MaxPushTokenLen)}
	if code := call(t, srv, "PUT", path+"/contact", contact, nil); code != http.StatusOK {
		t.Fatalf("contact: %d", code)
	}
	raw, err := api.Status(context.Background(), s.c, l.LoanID)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > limit {
		t.Errorf("status answer %d bytes, over %d", len(raw), limit)
	}
	if code := call(t, srv, "POST", path+"/close", map[string]string{"actor": testActor, "reason": "test over"}, nil); code != http.StatusOK {
		t.Fatalf("close: %d", code)
	}
	// Every run of the loan: no event near the limit.
	runs := 0
	for runID := started["run_id"]; runID != ""; runs++ {
		it := s.c.GetWorkflowHistory(context.Background(), workflows.WorkflowID(l.LoanID), runID, false, 0)
		next := ""
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if n := proto.Size(e); n > limit {
				t.Errorf("run %s event %d (%s) is %d bytes, over %d", runID, e.EventId, e.EventType, n, limit)
			}
			if a := e.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				next = a.NewExecutionRunId
			}
		}
		runID = next
	}
	if runs < 2 {
		t.Errorf("%d runs, want a continue-as-new after the first installment was settled", runs)
	}
}

// A repayment whose txn_id was applied with another amount is a conflict
// on the real server too (the update id carries the content, so the
// server's own deduplication does not answer it with the first outcome).
func TestRepeatedTxnWithAnotherAmountIsAConflict(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	l := overdueLoan(t, 2)
	s.start(queue, l)
	r := policy.Repayment{TxnID: "TXN-1", Amount: decimal.RequireFromString("10.00"), PaidAt: time.Now().Add(-time.Minute)}
	if _, err := api.Repay(context.Background(), s.c, l.LoanID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Repay(context.Background(), s.c, l.LoanID, r); err != nil {
		t.Errorf("the same repayment again: %v", err)
	}
	r.Amount = decimal.RequireFromString("11.00")
	_, err := api.Repay(context.Background(), s.c, l.LoanID, r)
	var con *api.ConflictError
	if !errors.As(err, &con) || len(con.Fields) != 1 || con.Fields[0].Field != "amount" {
		t.Errorf("another amount: %v, want a conflict naming amount", err)
	}
	s.closeLoan(l.LoanID)
}

// Penalty accrual, a pause and a resume by signal (the Web UI's way), a
// refused signal, and a partial repayment: recorded for the replay test.
func TestPenaltyAccrualWithSignals(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	l := overdueLoan(t, 10)
	run := s.start(queue, l)
	id := workflows.WorkflowID(l.LoanID)
	eventually(t, 20*time.Second, "penalty rows", func() (bool, string) {
		k := s.kinds(l.LoanID)
		return k[store.KindPenaltyPosted] > 0 && k[store.KindLateFeeAssessed] > 0, fmt.Sprint(k)
	})
	ctx := context.Background()
	for _, sig := range []struct {
		name string
		arg  any
	}{
		{workflows.SignalPause, workflows.PauseSignal{Actor: testActor, Reason: "dispute"}},
		{workflows.SignalResume, workflows.ResumeSignal{Actor: testActor, Reason: "resolved"}},
		{workflows.SignalResume, workflows.ResumeSignal{Actor: testActor, Reason: "not paused any more"}},
	} {
		if err := s.c.SignalWorkflow(ctx, id, "", sig.name, sig.arg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.repay(l.LoanID, "TXN-P", "100.00"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the signals applied and audited", func() (bool, string) {
		k := s.kinds(l.LoanID)
		return k[store.KindPaused] == 1 && k[store.KindResumed] == 1 && k[store.KindSignalRejected] == 1, fmt.Sprint(k)
	})
	if err := s.c.SignalWorkflow(ctx, id, "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
	var final policy.Snapshot
	if err := run.Get(ctx, &final); err != nil {
		t.Fatal(err)
	}
	if final.Installments[0].PenaltyPosted.IsZero() || final.State != policy.StateClosed {
		t.Errorf("final %s, penalty posted %s", final.State, final.Installments[0].PenaltyPosted)
	}
	s.recordHistory(id, run.GetRunID(), "penalty-pause-resume-signals")
}

// A loan 95 days past due is charged off at once: the charge-off rung, a
// collections case and the charged_off notice. Recorded for the replay test.
func TestChargeOffOnTheServer(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	l := overdueLoan(t, 95)
	run := s.start(queue, l)
	id := workflows.WorkflowID(l.LoanID)
	eventually(t, 20*time.Second, "charged off", func() (bool, string) {
		k := s.kinds(l.LoanID)
		return k[store.KindChargedOff] == 1, fmt.Sprint(k)
	})
	// A recovery payment after charge-off is still applied.
	snap, err := s.repay(l.LoanID, "TXN-RECOVERY", "50.00")
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StateChargedOff {
		t.Errorf("after recovery: %s", snap.State)
	}
	if err := s.c.SignalWorkflow(context.Background(), id, "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "sold to agency"}); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	s.recordHistory(id, run.GetRunID(), "charge-off-recovery")
}

// Signals and an update in flight while the loan continues as new reach the
// next run. Recorded for the replay test.
func TestContinueAsNewWithMessagesInFlight(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	l := overdueLoan(t, 2)
	run := s.start(queue, l)
	id := workflows.WorkflowID(l.LoanID)
	eventually(t, 20*time.Second, "the catch-up notice", func() (bool, string) {
		got := sentTemplates(s.notices(l.LoanID))
		return got != "", got
	})
	ctx := context.Background()
	// Settle installment 1 (continue-as-new follows) with messages right behind it.
	if _, err := s.repay(l.LoanID, "TXN-1", "1045.00"); err != nil {
		t.Fatal(err)
	}
	if err := s.c.SignalWorkflow(ctx, id, "", workflows.SignalUpdateContact, workflows.ContactUpdate{Actor: testActor, Reason: "customer called", Email: "new@example.cn"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Update(ctx, s.c, l.LoanID, workflows.UpdatePause, "", workflows.PauseSignal{Actor: testActor, Reason: "hardship"}); err != nil {
		t.Fatal(err)
	}
	if err := s.c.SignalWorkflow(ctx, id, "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
	final := s.c.GetWorkflow(ctx, id, "")
	var snap policy.Snapshot
	if err := final.Get(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	k := s.kinds(l.LoanID)
	if snap.State != policy.StateClosed || k[store.KindContactUpdated] != 1 || k[store.KindPaused] != 1 || k[store.KindClosed] != 1 {
		t.Errorf("final %s, ledger %v (refused: %s): a message was lost at continue-as-new", snap.State, k, s.rejected(l.LoanID))
	}
	s.recordHistory(id, run.GetRunID(), "continue-as-new-messages")
}
