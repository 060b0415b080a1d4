package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"dunning/api"
	"dunning/channels"
	"dunning/internal/demo"
	"dunning/internal/testenv"
	"dunning/policies"
	"dunning/policy"
	"dunning/preview"
	"dunning/store"
	"dunning/workflows"
)

// The counter against the real thing: each scenario runs on the Temporal
// dev server (DUNNING_TEST_TEMPORAL; `make test` starts one) with the real
// workflow and activities, and again in the test environment with the
// counter, from the same start and with the same messages at the same
// instants; every run's history must hold, type by type, the events the
// counter counted. Without a server it skips, except with CI=true, where it
// fails (testenv.Temporal).
//
// The loans are dated from today in a zone where it is now daytime
// (demo.DaytimeZone), so their catch-up point goes out at once, as the load
// test's do.
func TestCalibrateAgainstServer(t *testing.T) {
	c := testenv.Temporal(t)
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := reg.Get("default")
	tr := testenv.Templates(t)
	queue := testenv.Queue(t)
	testenv.StartWorkerWith(t, c, newMemStore(), tr, channels.DevRegistry(&channels.DevSink{Logger: testenv.Quiet}), queue)
	id := time.Now().UTC().Format("150405.000")
	for _, s := range []struct {
		name   string
		dpd, n int
		pay    string // "all" pays the loan off, "first" its first installment, "" nothing
		close  bool   // a close signal once the last run is idle
	}{
		// +7 rung (SMS, email, push) at once, then a repayment of
		// everything by the repay update: confirmations, paid off, done.
		{"catch-up point then payoff", 7, 1, "all", false},
		// The same point; the repayment settles the first of two
		// installments: continue-as-new; the second run sleeps until the
		// next installment's first point; a close signal ends it.
		{"settled installment continues as new, then close", 7, 2, "first", true},
		// +15 rung: three notices and a collections case; a close
		// signal cancels the sleep and ends it.
		{"collections case then close", 15, 1, "", true},
	} {
		t.Run(s.name, func(t *testing.T) {
			now := time.Now()
			tz := demo.DaytimeZone(now)
			loc, err := time.LoadLocation(tz)
			if err != nil {
				t.Fatal(err)
			}
			l := demo.Loan(1, s.dpd, s.n, "1000.00", policy.LocalDate(now, loc), tz)
			l.LoanID = fmt.Sprintf("L-CAL-%s-%d-%d", strings.ReplaceAll(id, ".", ""), s.dpd, s.n)
			if err := policy.ValidateLoan(l, reg, tr.Has); err != nil {
				t.Fatal(err)
			}
			real := runOnServer(t, c, queue, l, pol, s.pay, s.close)
			obs := &Observer{}
			if s.close {
				obs.Setup = func(run int, env *testsuite.TestWorkflowEnvironment) {
					if run == len(real.runs) {
						env.RegisterDelayedCallback(func() {
							env.SignalWorkflow(workflows.SignalClose, workflows.CloseSignal{Actor: calActor, Reason: "calibration over"})
						}, real.closeAt.Sub(env.Now()))
					}
				}
			}
			o := preview.Options{Policy: pol, Templates: tr, Start: real.start, Payments: real.payments}
			if _, err := preview.RunObserved(context.Background(), l, o, obs.Observe); err != nil {
				t.Fatal(err)
			}
			compareRuns(t, real, obs.Runs())
		})
	}
	t.Run("probe", func(t *testing.T) { calibrateProbe(t, c) })
}

const calActor = "ops.calibration@lender.example"

// serverRuns is what a scenario did on the server: each run's history, and
// when it started and got its messages.
type serverRuns struct {
	runs     [][]*historypb.HistoryEvent
	start    time.Time
	payments []preview.Payment
	closeAt  time.Time
}

func runOnServer(t *testing.T, c client.Client, queue string, l policy.Loan, pol policy.Policy, pay string, closeLoan bool) serverRuns {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wid := workflows.WorkflowID(l.LoanID)
	run, err := c.ExecuteWorkflow(ctx, api.StartOptions(l, pol, queue), workflows.WorkflowType, workflows.Input{Loan: l, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	var out serverRuns
	idle := waitIdle(t, c, wid, "")
	if pay != "" {
		at := time.Now()
		snap, err := policy.SnapshotAt(l, pol, policy.History{}, at)
		if err != nil {
			t.Fatal(err)
		}
		amount := snap.Outstanding.Total
		if pay == "first" {
			amount = snap.Installments[0].Outstanding.Total
		}
		p := preview.Payment{At: at, Amount: amount, TxnID: "CAL-1"}
		out.payments = append(out.payments, p)
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wid, UpdateID: "repay/" + p.TxnID,
			UpdateName: workflows.UpdateRepay, WaitForStage: client.WorkflowUpdateStageCompleted,
			Args: []any{policy.Repayment{TxnID: p.TxnID, Amount: p.Amount, PaidAt: p.At}}})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			t.Fatalf("repay: %v", err)
		}
		if pay == "first" {
			for idle == run.GetRunID() {
				idle = waitIdle(t, c, wid, "")
			}
		}
	}
	if closeLoan {
		waitIdle(t, c, wid, "")
		out.closeAt = time.Now()
		if err := c.SignalWorkflow(ctx, wid, "", workflows.SignalClose, workflows.CloseSignal{Actor: calActor, Reason: "calibration over"}); err != nil {
			t.Fatal(err)
		}
	}
	var snap policy.Snapshot
	if err := c.GetWorkflow(ctx, wid, "").Get(ctx, &snap); err != nil {
		t.Fatalf("the loan did not end well: %v", err)
	}
	out.runs = histories(t, c, wid, run.GetRunID())
	out.start = out.runs[0][0].GetEventTime().AsTime()
	return out
}

// waitIdle waits until the workflow's current run (or run rid) has no
// workflow task and no activity pending: it sleeps on a timer or waits for a
// message. It returns the run's id.
func waitIdle(t *testing.T, c client.Client, wid, rid string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		desc, err := c.DescribeWorkflow(context.Background(), wid, rid)
		if err != nil {
			t.Fatal(err)
		}
		d := desc.RawResponse
		info := d.GetWorkflowExecutionInfo()
		run := info.GetExecution().GetRunId()
		// A run that continued as new may have no workflow task scheduled
		// yet: idle only once one has completed.
		if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && d.GetPendingWorkflowTask() == nil &&
			len(d.GetPendingActivities()) == 0 && tasksDone(t, c, wid, run) > 0 {
			return run
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("workflow %s never idle", wid)
	return ""
}

// tasksDone counts the workflow tasks run rid completed so far.
func tasksDone(t *testing.T, c client.Client, wid, rid string) int {
	t.Helper()
	n := 0
	it := c.GetWorkflowHistory(context.Background(), wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			n++
		}
	}
	return n
}

// histories are the events of every run from rid on, following
// continue-as-new.
func histories(t *testing.T, c client.Client, wid, rid string) [][]*historypb.HistoryEvent {
	t.Helper()
	var out [][]*historypb.HistoryEvent
	for rid != "" {
		var evs []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(context.Background(), wid, rid, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
		}
		out = append(out, evs)
		rid = evs[len(evs)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return out
}

// countEvents counts a history by type.
func countEvents(evs []*historypb.HistoryEvent) Counts {
	c := Counts{}
	for _, e := range evs {
		c[e.GetEventType()]++
	}
	return c
}

// compareRuns fails unless every run's history holds, type by type, what
// the counter counted for it; it logs the table either way.
func compareRuns(t *testing.T, real serverRuns, counted []*Counter) {
	t.Helper()
	if len(real.runs) != len(counted) {
		t.Errorf("%d runs on the server, %d counted", len(real.runs), len(counted))
	}
	for i := range min(len(real.runs), len(counted)) {
		got, want := countEvents(real.runs[i]), counted[i].Counts()
		split := splitBatches(real.runs[i])
		t.Logf("run %d: server %d events (%d batches split), counted %d\n%s", i+1, got.Total(), split, want.Total(), sideBySide(got, want))
		// The one difference allowed, and explained: a batch of activity
		// results the server split over two workflow tasks (a result came
		// in after the task of the others had started) costs one task more
		// than the counter's batching rule gives.
		want = plus(want, wft(split))
		if got.String() != want.String() {
			t.Errorf("run %d differs (after %d split batches): the counter's tasks were %q; the server's history:\n%s",
				i+1, split, counted[i].Tasks(), sequence(real.runs[i]))
		}
	}
}

// splitBatches counts the workflow tasks of a history that the counter's
// batching rule merges into the one before: tasks scheduled only for results
// of activities that one workflow task scheduled, when the task before was
// also scheduled only for results of that same task's activities.
func splitBatches(evs []*historypb.HistoryEvent) int {
	byID := map[int64]*historypb.HistoryEvent{}
	for _, e := range evs {
		byID[e.GetEventId()] = e
	}
	// group is the workflow task (its completed event) that scheduled the
	// activity a result event closes; 0 for any other delivery.
	group := func(e *historypb.HistoryEvent) int64 {
		var sched int64
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			sched = e.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			sched = e.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			sched = e.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()
		default:
			return 0
		}
		return byID[sched].GetActivityTaskScheduledEventAttributes().GetWorkflowTaskCompletedEventId()
	}
	delivery := func(e *historypb.HistoryEvent) bool {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
			enumspb.EVENT_TYPE_TIMER_FIRED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
			enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
			return true
		}
		return false
	}
	// The deliveries each task took: those after the previous task started,
	// up to its own start.
	var triggers [][]*historypb.HistoryEvent
	var cur []*historypb.HistoryEvent
	for _, e := range evs {
		switch {
		case e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			triggers = append(triggers, cur)
			cur = nil
		case delivery(e):
			cur = append(cur, e)
		}
	}
	// onlyGroup is the one scheduling task of a task's deliveries, or 0.
	onlyGroup := func(ds []*historypb.HistoryEvent) int64 {
		var g int64
		for _, d := range ds {
			dg := group(d)
			if dg == 0 || (g != 0 && dg != g) {
				return 0
			}
			g = dg
		}
		return g
	}
	n := 0
	for i := 1; i < len(triggers); i++ {
		if g := onlyGroup(triggers[i]); g != 0 && g == onlyGroup(triggers[i-1]) {
			n++
		}
	}
	return n
}

// sideBySide is a table of two counts by type.
func sideBySide(server, counted Counts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %-40s %6s %7s\n", "event type", "server", "counted")
	for _, ty := range Types(server, counted) {
		mark := ""
		if server[ty] != counted[ty] {
			mark = "  <-"
		}
		fmt.Fprintf(&b, "  %-40s %6d %7d%s\n", Name(ty), server[ty], counted[ty], mark)
	}
	return b.String()
}

// sequence is a history as one line of event types per workflow task.
func sequence(evs []*historypb.HistoryEvent) string {
	var b strings.Builder
	for _, e := range evs {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
			b.WriteString("\n ")
		}
		fmt.Fprintf(&b, " %s", Name(e.GetEventType()))
	}
	return b.String()
}

// calibrateProbe runs probeWorkflow on the server and in the test
// environment and compares them with each other and with the rules.
func calibrateProbe(t *testing.T, c client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	queue := testenv.Queue(t)
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(probeWorkflow)
	w.RegisterActivity(probeActivity)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	wid := "lifecycle-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wid, TaskQueue: queue}, probeWorkflow, probeInput{Run: 1})
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 2; n++ {
		waitStage(t, c, wid, "await-signal")
		if err := c.SignalWorkflow(ctx, wid, "", probeSignal, nil); err != nil {
			t.Fatal(err)
		}
		waitStage(t, c, wid, "await-update")
		if n == 2 {
			h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wid, UpdateID: "rejected",
				UpdateName: probeUpdate, Args: []any{-1}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			if err == nil {
				t.Fatal("the update with -1 was not rejected")
			}
		}
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: wid, UpdateID: fmt.Sprintf("bump-%d", n),
			UpdateName: probeUpdate, Args: []any{n}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.GetWorkflow(ctx, wid, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	real := serverRuns{runs: histories(t, c, wid, run.GetRunID())}
	sim := simulateProbe(t, time.Now())
	compareRuns(t, real, sim)
	for i, end := range []Counts{{can: 1}, {completed: 1}} {
		if want, got := probeRun(end), sim[i].Counts(); got.String() != want.String() {
			t.Errorf("probe run %d counted %s, the rules say %s", i+1, got, want)
		}
	}
}

// waitStage waits until the probe's current run answers stage and is idle.
func waitStage(t *testing.T, c client.Client, wid, stage string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		v, err := c.QueryWorkflow(context.Background(), wid, "", probeQuery)
		if err == nil {
			_ = v.Get(&last)
			if last == stage {
				waitIdle(t, c, wid, "")
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("probe never reached %s (last %q)", stage, last)
}

// memStore is the activities' store for the calibration: it takes every
// row (no database, no caps, no quiet hours: the scenarios send within the
// contact window and under the caps, as the preview's store finds too). The
// event counts depend on which activities run, not on what they write.
type memStore struct {
	mu    sync.Mutex
	keys  map[string]bool
	cases int64
}

func newMemStore() *memStore { return &memStore{keys: map[string]bool{}} }

func (m *memStore) ReserveNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	n.Status = store.NoticePending
	return n, true, nil
}

func (m *memStore) ReserveNoticeChecked(ctx context.Context, n store.Notice, _ policy.SendCheck) (store.Notice, bool, error) {
	return m.ReserveNotice(ctx, n)
}

func (m *memStore) MarkProviderCalled(context.Context, string, bool) error { return nil }

func (m *memStore) CompleteNotice(context.Context, string, string, string, string, string, time.Time) error {
	return nil
}

func (m *memStore) RecordSkipped(_ context.Context, n store.Notice) (store.Notice, error) {
	n.Status = store.NoticeSkipped
	return n, nil
}

func (m *memStore) FinalizeNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	if n.Status != store.NoticeFailed && n.Status != store.NoticeSkipped {
		return store.Notice{}, false, errors.New("finalize: not a final status")
	}
	return n, true, nil
}

func (m *memStore) AppendLedger(_ context.Context, e store.LedgerEntry) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys[e.DedupeKey] {
		return false, nil
	}
	m.keys[e.DedupeKey] = true
	return true, nil
}

func (m *memStore) OpenCase(_ context.Context, c store.Case) (store.Case, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cases++
	c.ID, c.Status = m.cases, "open"
	return c, true, nil
}
