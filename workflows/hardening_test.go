package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"dunning/activities"
	"dunning/channels"
	"dunning/policy"
	"dunning/store"
)

// hookStore is the harness's memStore with a hook before each ledger
// append: a test sends messages while the activity runs, or fails it.
type hookStore struct {
	*memStore
	mu           sync.Mutex
	beforeAppend func(e store.LedgerEntry) error
}

func (s *hookStore) AppendLedger(ctx context.Context, e store.LedgerEntry) (bool, error) {
	s.mu.Lock()
	hook := s.beforeAppend
	s.mu.Unlock()
	if hook != nil {
		if err := hook(e); err != nil {
			return false, err
		}
	}
	return s.memStore.AppendLedger(ctx, e)
}

func (s *hookStore) setHook(f func(e store.LedgerEntry) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeAppend = f
}

// withHooks puts a hookStore in front of the harness's store and keeps the
// current run's environment in *env.
func (h *harness) withHooks(env **testsuite.TestWorkflowEnvironment) *hookStore {
	hs := &hookStore{memStore: h.store}
	h.acts.Store = hs
	prev := h.configure
	h.configure = func(e *testsuite.TestWorkflowEnvironment) {
		*env = e
		if prev != nil {
			prev(e)
		}
	}
	return hs
}

// outcome is what an update answered.
type outcome struct {
	snap policy.Snapshot
	err  error
	done bool
}

// update sends update name with arg at at and records the outcome.
func (h *harness) update(at time.Time, name, id string, arg any, out *outcome) *event {
	return &event{at: at, do: func(env *testsuite.TestWorkflowEnvironment) {
		env.UpdateWorkflow(name, id, updateRecorder(out), arg)
	}}
}

func updateRecorder(out *outcome) *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { out.err, out.done = err, true },
		OnComplete: func(v any, err error) {
			out.done = true
			if err != nil {
				out.err = err
				return
			}
			if s, ok := v.(policy.Snapshot); ok {
				out.snap = s
			}
		},
	}
}

func errType(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type()
	}
	return ""
}

func (m *memStore) kinds() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.ledger {
		out = append(out, e.Kind)
	}
	return out
}

// Item 1: a close signalled while the last ledger write before
// continue-as-new runs is applied, not lost between runs; so is an update.
func TestMessagesDuringTheLastLedgerWriteAreKept(t *testing.T) {
	for _, viaUpdate := range []bool{false, true} {
		t.Run(fmt.Sprintf("update=%v", viaUpdate), func(t *testing.T) {
			h := newHarness(t)
			var env *testsuite.TestWorkflowEnvironment
			hs := h.withHooks(&env)
			var closeOut outcome
			sent := false
			hs.setHook(func(e store.LedgerEntry) error {
				// The pause drained just before continue-as-new is being written:
				// the close arrives now.
				if e.Kind == store.KindPaused && !sent {
					sent = true
					if viaUpdate {
						env.UpdateWorkflow(UpdateClose, "close-1", updateRecorder(&closeOut), CloseSignal{Actor: testActor, Reason: "sold"})
					} else {
						env.SignalWorkflow(SignalClose, CloseSignal{Actor: testActor, Reason: "sold"})
					}
				}
				return nil
			})
			in := testLoan("L-CAN-GAP", 2, "2027-01-15")
			// The first installment is settled (continue-as-new follows) and a
			// pause arrives in the same task.
			pay := h.repay(at("2027-01-14", 12, 0), "T-1", "1045.00", at("2027-01-14", 12, 0))
			snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
				{at: at("2027-01-14", 12, 0), do: func(env *testsuite.TestWorkflowEnvironment) {
					pay.do(env)
					env.SignalWorkflow(SignalPause, PauseSignal{Actor: testActor, Reason: "dispute"})
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !sent {
				t.Fatal("the pause was never written: the test did not exercise the gap")
			}
			if snap.State != policy.StateClosed {
				t.Fatalf("state = %s after %d runs, want closed: the close sent during the last ledger write was lost (ledger %v)",
					snap.State, h.runs, h.store.kinds())
			}
			if got := len(h.store.ledgerKinds(store.KindClosed)); got != 1 {
				t.Errorf("%d closed rows, want 1", got)
			}
			if viaUpdate && (closeOut.err != nil || closeOut.snap.State != policy.StateClosed) {
				t.Errorf("close update answered %+v, %v", closeOut.snap.State, closeOut.err)
			}
		})
	}
}

// Item 1: a message that arrives while a paid-off loan writes its last rows
// is seen and audited (refused: the loan is finished), never dropped.
func TestSignalDuringFinishIsAudited(t *testing.T) {
	h := newHarness(t)
	var env *testsuite.TestWorkflowEnvironment
	hs := h.withHooks(&env)
	sent := false
	hs.setHook(func(e store.LedgerEntry) error {
		if e.Kind == store.KindPaidOff && !sent {
			sent = true
			env.SignalWorkflow(SignalPause, PauseSignal{Actor: testActor, Reason: "late dispute"})
		}
		return nil
	})
	in := testLoan("L-FIN-GAP", 1, "2027-01-15")
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-10", 12, 0), "T-1", "1045.00", at("2027-01-10", 12, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !sent || snap.State != policy.StatePaidOff {
		t.Fatalf("hook sent %v, state %s", sent, snap.State)
	}
	rej := h.store.ledgerKinds(store.KindSignalRejected)
	if len(rej) != 1 || !strings.Contains(string(rej[0].Detail), ErrTypeLoanFinished) {
		t.Fatalf("signal_rejected rows %+v, want one saying the loan is finished (ledger %v)", rej, h.store.kinds())
	}
}

// flakySenders fails the first n sends of notices whose key contains part.
type flakySenders struct {
	inner activities.Senders
	part  string
	mu    sync.Mutex
	n     int
}

func (f *flakySenders) For(ch string) (channels.Sender, error) {
	s, err := f.inner.For(ch)
	if err != nil {
		return nil, err
	}
	return flakySender{f, s}, nil
}

type flakySender struct {
	f     *flakySenders
	inner channels.Sender
}

// Deduplicates is the inner sender's (the dev sink dedupes by key).
func (s flakySender) Deduplicates() bool { return channels.Deduplicates(s.inner) }

func (s flakySender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	s.f.mu.Lock()
	fail := strings.Contains(m.IdempotencyKey, s.f.part) && s.f.n > 0
	if fail {
		s.f.n--
	}
	s.f.mu.Unlock()
	if fail {
		return channels.Receipt{}, channels.NotAccepted(errors.New("503 gateway unavailable"))
	}
	return s.inner.Send(ctx, m)
}

// Item 2: the timer to the next point runs from when it starts. A payment
// confirmation retried for half an hour must not move the next notice.
func TestTimerRunsFromItsStart(t *testing.T) {
	h := newHarness(t)
	// Nine failures: 5+10+20+40+80+160+320+600+600 s of backoff ≈ 30 minutes
	// (the test environment stops retrying at the tenth attempt).
	h.acts.Senders = &flakySenders{inner: h.acts.Senders, part: "/T-1/payment_received/sms", n: 9}
	in := testLoan("L-TIMER", 2, "2027-01-15")
	loc := shanghai
	// The D-3 reminder of installment 1, computed by the policy.
	pt, ok := policy.NextPoint(in.Loan, in.Policy, loc, mustSnap(t, in, at("2027-01-12", 0, 1)), nil, at("2027-01-12", 0, 1))
	if !ok || pt.Offset != -3 {
		t.Fatalf("point %+v", pt)
	}
	payAt := pt.At.Add(-time.Hour)
	_, err := h.run(in, at("2027-01-11", 9, 0), []*event{
		h.repay(payAt, "T-1", "10.00", payAt),
		signal(at("2027-01-13", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	key := policy.NoticeKey(in.Loan.LoanID, 0, 1, -3, pt.Channels[0])
	got, ok := h.startedAt[key]
	if !ok {
		t.Fatalf("D-3 notice never sent; sent %v", h.templatesSent())
	}
	if !got.Equal(pt.At) {
		t.Errorf("D-3 notice went out at %s, want %s (%s late)", got.In(loc), pt.At.In(loc), got.Sub(pt.At))
	}
	if n := count(h.templatesSent(), "payment_received/sms"); n != 1 {
		for _, n := range h.store.notices {
			t.Logf("%s %s %s", n.IdempotencyKey, n.Status, n.Reason)
		}
		t.Errorf("payment_received sent %d times", n)
	}
}

func mustSnap(t *testing.T, in Input, asOf time.Time) policy.Snapshot {
	t.Helper()
	s, err := policy.SnapshotAt(in.Loan, in.Policy, policy.History{}, asOf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// metricsRecorder is a client.MetricsHandler that keeps every gauge value and
// counter total by name.
type metricsRecorder struct {
	mu       sync.Mutex
	gauges   map[string][]float64
	counters map[string]int64
}

func newMetricsRecorder() *metricsRecorder {
	return &metricsRecorder{gauges: map[string][]float64{}, counters: map[string]int64{}}
}

type (
	counterFunc func(int64)
	gaugeFunc   func(float64)
	timerFunc   func(time.Duration)
)

func (f counterFunc) Inc(d int64)                                           { f(d) }
func (f gaugeFunc) Update(v float64)                                        { f(v) }
func (f timerFunc) Record(d time.Duration)                                  { f(d) }
func (m *metricsRecorder) WithTags(map[string]string) client.MetricsHandler { return m }
func (m *metricsRecorder) Counter(name string) client.MetricsCounter {
	return counterFunc(func(d int64) { m.mu.Lock(); m.counters[name] += d; m.mu.Unlock() })
}
func (m *metricsRecorder) Gauge(name string) client.MetricsGauge {
	return gaugeFunc(func(v float64) { m.mu.Lock(); m.gauges[name] = append(m.gauges[name], v); m.mu.Unlock() })
}
func (m *metricsRecorder) Timer(string) client.MetricsTimer { return timerFunc(func(time.Duration) {}) }

// Item 3: a ledger row the database refuses for good (here: a constraint)
// does not stall the loan: notices go on, the row stays in the state, the
// details say so, and it lands once the database takes it.
func TestRefusedLedgerRowIsKeptAndRetried(t *testing.T) {
	h := newHarness(t)
	var env *testsuite.TestWorkflowEnvironment
	hs := h.withHooks(&env)
	var mu sync.Mutex
	fixed := false
	hs.setHook(func(e store.LedgerEntry) error {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == store.KindStageChanged && !fixed {
			return fmt.Errorf("append ledger: new row violates check constraint: %w", store.ErrInvalid)
		}
		return nil
	})
	rec := newMetricsRecorder()
	h.suite.SetMetricsHandler(rec)
	in := testLoan("L-STUCK", 1, "2027-01-15")
	var details string
	_, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		{at: at("2027-01-20", 9, 0), do: func(env *testsuite.TestWorkflowEnvironment) {
			v, err := env.QueryWorkflow("__temporal_workflow_metadata")
			if err != nil {
				t.Errorf("metadata query: %v", err)
				return
			}
			var md sdkpb.WorkflowMetadata
			if err := v.Get(&md); err != nil {
				t.Errorf("metadata: %v", err)
				return
			}
			details = md.GetCurrentDetails()
		}},
		{at: at("2027-01-25", 9, 0), do: func(*testsuite.TestWorkflowEnvironment) {
			mu.Lock()
			fixed = true // the migration is deployed
			mu.Unlock()
		}},
		signal(at("2027-01-27", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Notices kept going while the audit was stuck.
	if n := count(h.templatesSent(), "overdue_gentle/sms"); n < 1 {
		t.Errorf("no overdue notice while the audit was stuck: %v", h.templatesSent())
	}
	// Every stage change landed in the end, none twice.
	stages := h.store.ledgerKinds(store.KindStageChanged)
	if len(stages) < 3 {
		t.Errorf("%d stage_changed rows, want every stage change kept and written after the fix", len(stages))
	}
	seen := map[string]bool{}
	for _, e := range stages {
		if seen[e.DedupeKey] {
			t.Errorf("row %s written twice", e.DedupeKey)
		}
		seen[e.DedupeKey] = true
	}
	if !strings.Contains(details, "AUDIT BEHIND") || !strings.Contains(details, "refused") {
		t.Errorf("current details while stuck %q, want the audit problem named", details)
	}
	g := rec.gauges["dunning_audit_stuck_rows"]
	if len(g) == 0 || g[len(g)-1] != 0 || rec.counters["dunning_audit_stuck_total"] == 0 || slices.Max(g) == 0 {
		t.Errorf("metrics: gauge %v, counter %d; want stuck rows counted, then 0", g, rec.counters["dunning_audit_stuck_total"])
	}
}

// Item 3: a database that is down for hours: the audit activities give up
// after their schedule, the rows stay in the state and are written after.
func TestLedgerOutageKeepsRowsAndNotices(t *testing.T) {
	h := newHarness(t)
	var env *testsuite.TestWorkflowEnvironment
	hs := h.withHooks(&env)
	var mu sync.Mutex
	down := false
	hs.setHook(func(store.LedgerEntry) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("dial tcp 127.0.0.1:5432: connection refused")
		}
		return nil
	})
	in := testLoan("L-OUTAGE", 1, "2027-01-15")
	_, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		{at: at("2027-01-15", 0, 0), do: func(*testsuite.TestWorkflowEnvironment) { mu.Lock(); down = true; mu.Unlock() }},
		{at: at("2027-01-17", 0, 0), do: func(*testsuite.TestWorkflowEnvironment) { mu.Lock(); down = false; mu.Unlock() }},
		h.repay(at("2027-01-16", 12, 0), "T-1", "100.00", at("2027-01-16", 12, 0)),
		signal(at("2027-01-18", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.store.ledgerKinds(store.KindRepaymentApplied)); n != 1 {
		t.Errorf("%d repayment rows after the outage, want 1 (ledger %v)", n, h.store.kinds())
	}
	if n := count(h.templatesSent(), "due_today/sms"); n != 1 {
		t.Errorf("due_today not sent during the outage: %v", h.templatesSent())
	}
}

// Item 4: ledger keys come from the events. A loan started again after a
// failed run writes its rows instead of having them taken for retries.
func TestLedgerKeysComeFromEvents(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-KEYS", 1, "2027-01-15")
	if _, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-10", 12, 0), "T-1", "100.00", at("2027-01-10", 12, 0)),
		signal(at("2027-01-11", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "first run failed"}),
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range h.store.ledger {
		if !strings.HasPrefix(e.DedupeKey, in.Loan.LoanID+"/"+e.Kind+"/") {
			t.Errorf("key %s of a %s row does not name its kind", e.DedupeKey, e.Kind)
		}
	}
	rep := h.store.ledgerKinds(store.KindRepaymentApplied)
	if len(rep) != 1 || rep[0].DedupeKey != "L-KEYS/repayment_applied/T-1" {
		t.Errorf("repayment rows %+v, want key L-KEYS/repayment_applied/T-1", rep)
	}
	// A loan started again after a failed run gets a new run id, and so new
	// keys for its run-scoped rows: TestRestartedLoanWritesItsRows (e2e) on
	// the dev server, since the test environment's run id never changes.
}

// Item 5: every planned notice ends as one row in a final state: a send
// that runs out of time is failed with a reason, never left pending.
func TestTimedOutNoticeEndsFailed(t *testing.T) {
	h := newHarness(t)
	h.acts.Senders = &flakySenders{inner: h.acts.Senders, part: "/0/1/-3/push", n: 1000}
	in := testLoan("L-TIMEOUT", 1, "2027-01-15")
	if _, err := h.run(in, at("2027-01-11", 9, 0), []*event{
		signal(at("2027-01-13", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	var row *store.Notice
	for i, n := range h.store.notices {
		if strings.HasSuffix(n.IdempotencyKey, "/0/1/-3/push") {
			row = &h.store.notices[i]
		}
	}
	// The test environment gives up after ten attempts (the server, after
	// the six-hour schedule): either way the row ends failed, with the reason.
	if row == nil || row.Status != store.NoticeFailed || !strings.HasPrefix(row.Reason, "send ") {
		t.Fatalf("D-3 push row %+v, want failed: send …", row)
	}
	h.assertExactlyOnce()
}

// Item 5: a template that cannot be rendered ends as a failed row.
func TestRenderErrorEndsFailed(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-RENDER", 1, "2027-01-15")
	in.Loan.Customer.Locale = "fr" // no templates
	if _, err := h.run(in, at("2027-01-11", 9, 0), []*event{
		signal(at("2027-01-13", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	if len(h.store.notices) == 0 {
		t.Fatal("no notice row for a point whose template does not render")
	}
	for _, n := range h.store.notices {
		if n.Status != store.NoticeFailed || !strings.HasPrefix(n.Reason, "render") {
			t.Errorf("%s: %s %q, want failed: render…", n.IdempotencyKey, n.Status, n.Reason)
		}
	}
	h.assertExactlyOnce()
}

// Item 6: a new loan runs under the newest rules and carries them across
// continue-as-new.
func TestNewLoanCarriesTheLatestRules(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-RULES", 2, "2027-01-15")
	if _, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(at("2027-01-14", 12, 0), "T-1", "1045.00", at("2027-01-14", 12, 0)),
		signal(at("2027-01-20", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	if h.runs < 2 || h.inputs[1].State.Rules != policy.LatestRules {
		t.Fatalf("runs %d, next run's rules %v, want %d", h.runs, h.inputs[len(h.inputs)-1].State, policy.LatestRules)
	}
}

// Item 7: a loan started at 10:39 local on D+7 with the D+7 point due later
// that morning waits for it: no stale D+3 SMS first, and the D+7 SMS is not
// skipped by the daily cap.
func TestCatchUpWaitsForTodaysPoint(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-CATCH", 1, "2027-01-15")
	d7 := policy.MustDate("2027-01-22")
	start := d7.At(shanghai, 8, 30)
	pt, ok := policy.NextPointUnder(policy.RulesCatchUpByDay, in.Loan, in.Policy, shanghai, mustSnap(t, in, start), nil, start)
	if !ok || pt.Offset != 7 || pt.CatchUp {
		t.Fatalf("point %+v, want D+7 later today", pt)
	}
	if _, err := h.run(in, start, []*event{
		signal(d7.At(shanghai, 20, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	got := h.templatesSent()
	if count(got, "overdue_gentle/sms") != 0 || count(got, "overdue_firm/sms") != 1 {
		t.Errorf("sent %v, want overdue_firm/sms and no stale overdue_gentle", got)
	}
	key := policy.NoticeKey(in.Loan.LoanID, 0, 1, 7, policy.SMS)
	if !h.startedAt[key].Equal(pt.At) {
		t.Errorf("D+7 SMS at %s, want %s", h.startedAt[key].In(shanghai), pt.At.In(shanghai))
	}
}

// Item 8: operator actions are updates with validators: the caller gets the
// new snapshot or the workflow's typed refusal.
func TestOperatorActionsAreValidatedUpdates(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-OPS", 2, "2027-01-15")
	var (
		pausePast, pauseOK, pauseFar, resumeOK, resumeAgain, contactBad, contactNone, contactOK outcome
		reschedBad, reschedOK, closeNoReason, closeOK, closeAgain, repayAfterClose              outcome
	)
	past := at("2027-01-01", 0, 0)
	far := at("2029-01-01", 0, 0)
	until := at("2027-01-08", 0, 0)
	ins := []policy.Installment{{Seq: 3, DueDate: policy.MustDate("2027-03-15"),
		Principal: decimal.RequireFromString("2000.00"), Interest: decimal.RequireFromString("90.00"), Fee: decimal.Zero}}
	badIns := []policy.Installment{{Seq: 3, DueDate: policy.MustDate("2027-01-02"),
		Principal: decimal.RequireFromString("2000.00"), Interest: decimal.Zero, Fee: decimal.Zero}}
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.update(at("2027-01-05", 9, 0), UpdatePause, "p1", PauseSignal{Actor: testActor, Reason: "x", Until: &past}, &pausePast),
		h.update(at("2027-01-05", 9, 1), UpdatePause, "p2", PauseSignal{Actor: testActor, Reason: "x", Until: &far}, &pauseFar),
		h.update(at("2027-01-05", 9, 2), UpdatePause, "p3", PauseSignal{Actor: testActor, Reason: "hardship", Until: &until}, &pauseOK),
		h.update(at("2027-01-06", 9, 0), UpdateResume, "r1", ResumeSignal{Actor: testActor, Reason: "done"}, &resumeOK),
		h.update(at("2027-01-06", 9, 1), UpdateResume, "r2", ResumeSignal{Actor: testActor, Reason: "again"}, &resumeAgain),
		h.update(at("2027-01-06", 9, 2), UpdateContact, "c1", ContactUpdate{Actor: testActor, Reason: "test", Phone: "12345"}, &contactBad),
		h.update(at("2027-01-06", 9, 3), UpdateContact, "c2", ContactUpdate{Actor: testActor, Reason: "test"}, &contactNone),
		h.update(at("2027-01-06", 9, 4), UpdateContact, "c3", ContactUpdate{Actor: testActor, Reason: "test", Email: "new@example.cn"}, &contactOK),
		h.update(at("2027-01-06", 9, 5), UpdateReschedule, "s1", RescheduleSignal{Actor: testActor, Reason: "extension", Installments: badIns}, &reschedBad),
		h.update(at("2027-01-06", 9, 6), UpdateReschedule, "s2", RescheduleSignal{Actor: testActor, Reason: "extension", Installments: ins}, &reschedOK),
		h.update(at("2027-01-07", 9, 0), UpdateClose, "x1", CloseSignal{Actor: testActor}, &closeNoReason),
		h.update(at("2027-01-07", 9, 1), UpdateClose, "x2", CloseSignal{Actor: testActor, Reason: "sold"}, &closeOK),
		// In the task right after the close, while the loan writes its last rows.
		h.update(at("2027-01-07", 9, 1), UpdateClose, "x3", CloseSignal{Actor: testActor, Reason: "again"}, &closeAgain),
		{at: at("2027-01-07", 9, 1), do: func(env *testsuite.TestWorkflowEnvironment) {
			env.UpdateWorkflow(UpdateRepay, "late", updateRecorder(&repayAfterClose),
				policy.Repayment{TxnID: "T-late", Amount: decimal.RequireFromString("1.00"), PaidAt: at("2027-01-07", 9, 0)})
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		o        outcome
		wantType string
		field    string
	}{
		{"pause in the past", pausePast, ErrTypeRejected, "until"},
		{"pause too far", pauseFar, ErrTypeRejected, "until"},
		{"pause", pauseOK, "", ""},
		{"resume", resumeOK, "", ""},
		{"resume not paused", resumeAgain, ErrTypeConflict, ""},
		{"contact bad phone", contactBad, ErrTypeRejected, "phone"},
		{"contact nothing", contactNone, ErrTypeRejected, ""},
		{"contact", contactOK, "", ""},
		{"reschedule into the past", reschedBad, ErrTypeRejected, "installments[0].due_date"},
		{"reschedule", reschedOK, "", ""},
		{"close without reason", closeNoReason, ErrTypeRejected, "reason"},
		{"close", closeOK, "", ""},
		{"close again", closeAgain, ErrTypeLoanFinished, ""},
		{"repay after close", repayAfterClose, ErrTypeLoanFinished, ""},
	} {
		if !c.o.done {
			t.Errorf("%s: no answer", c.name)
			continue
		}
		if got := errType(c.o.err); got != c.wantType {
			t.Errorf("%s: error type %q (%v), want %q", c.name, got, c.o.err, c.wantType)
			continue
		}
		if c.field != "" {
			var app *temporal.ApplicationError
			errors.As(c.o.err, &app)
			fields := ErrorFields(app)
			if len(fields) == 0 || fields[0].Field != c.field {
				t.Errorf("%s: fields %+v, want %s", c.name, fields, c.field)
			}
		}
	}
	if pauseOK.snap.State != policy.StatePaused || closeOK.snap.State != policy.StateClosed {
		t.Errorf("answers: pause → %s, close → %s", pauseOK.snap.State, closeOK.snap.State)
	}
	if reschedOK.snap.ScheduleVersion != 1 || snap.State != policy.StateClosed {
		t.Errorf("reschedule answered version %d; final state %s", reschedOK.snap.ScheduleVersion, snap.State)
	}
	// What was applied is in the ledger, keyed by update id; refusals left nothing.
	for kind, n := range map[string]int{store.KindPaused: 1, store.KindResumed: 1, store.KindContactUpdated: 1,
		store.KindRescheduled: 1, store.KindClosed: 1, store.KindSignalRejected: 0} {
		rows := h.store.ledgerKinds(kind)
		if len(rows) != n {
			t.Errorf("%d %s rows, want %d", len(rows), kind, n)
		}
		for _, r := range rows {
			if !strings.Contains(r.DedupeKey, "/update/") {
				t.Errorf("%s key %s is not the update's", kind, r.DedupeKey)
			}
		}
	}
}

// Item 8: a signal the workflow refuses (from the Web UI) is written to the
// ledger with its reason instead of being dropped.
func TestRefusedSignalsAreAudited(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-SIGREJ", 1, "2027-01-15")
	past := at("2027-01-01", 0, 0)
	if _, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-01-05", 9, 0), SignalPause, PauseSignal{Actor: testActor, Reason: "x", Until: &past}),
		signal(at("2027-01-05", 10, 0), SignalResume, ResumeSignal{Actor: testActor, Reason: "not paused"}),
		signal(at("2027-01-05", 11, 0), SignalUpdateContact, ContactUpdate{Actor: testActor, Reason: "test", Email: "not-an-email"}),
		signal(at("2027-01-05", 12, 0), SignalClose, CloseSignal{Actor: testActor}),
		signal(at("2027-01-06", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	rows := h.store.ledgerKinds(store.KindSignalRejected)
	if len(rows) != 4 {
		t.Fatalf("%d signal_rejected rows, want 4: %+v", len(rows), rows)
	}
	for _, r := range rows {
		d := string(r.Detail)
		if strings.Contains(d, "not-an-email") {
			t.Errorf("a refused contact update's row quotes the address: %s", d)
		}
	}
}

// Item 14: a txn_id repeated with the same content is a repeat (the same
// answer); with another amount or paid_at it is a conflict naming the field.
func TestRepeatedTxnWithOtherContentConflicts(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-TXN", 2, "2027-01-15")
	var same, noPaidAt, otherAmount, otherTime outcome
	paid := at("2027-01-10", 15, 0)
	r := func(amount string, at time.Time) policy.Repayment {
		return policy.Repayment{TxnID: "T-1", Amount: decimal.RequireFromString(amount), PaidAt: at}
	}
	if _, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.repay(paid, "T-1", "300.00", paid),
		h.update(at("2027-01-10", 16, 0), UpdateRepay, "u1", r("300.00", paid), &same),
		h.update(at("2027-01-10", 16, 1), UpdateRepay, "u2", r("300", time.Time{}), &noPaidAt),
		h.update(at("2027-01-10", 16, 2), UpdateRepay, "u3", r("310.00", paid), &otherAmount),
		h.update(at("2027-01-10", 16, 3), UpdateRepay, "u4", r("300.00", paid.Add(time.Minute)), &otherTime),
		signal(at("2027-01-11", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	if same.err != nil || noPaidAt.err != nil {
		t.Errorf("repeats refused: %v / %v", same.err, noPaidAt.err)
	}
	for name, c := range map[string]struct {
		o     outcome
		field string
	}{"amount": {otherAmount, "amount"}, "paid_at": {otherTime, "paid_at"}} {
		var app *temporal.ApplicationError
		if !errors.As(c.o.err, &app) || app.Type() != ErrTypeConflict {
			t.Errorf("%s: %v, want a %s error", name, c.o.err, ErrTypeConflict)
			continue
		}
		if f := ErrorFields(app); len(f) != 1 || f[0].Field != c.field {
			t.Errorf("%s: fields %+v", name, f)
		}
	}
	if n := len(h.store.ledgerKinds(store.KindRepaymentApplied)); n != 1 {
		t.Errorf("%d repayment rows, want 1", n)
	}
}

// A repayment without paid_at was paid when the workflow took it.
func TestRepaymentWithoutPaidAtIsPaidNow(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-NOW", 2, "2027-01-15")
	var o outcome
	when := at("2027-01-10", 15, 0)
	if _, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		h.update(when, UpdateRepay, "u1", policy.Repayment{TxnID: "T-1", Amount: decimal.RequireFromString("5.00")}, &o),
		signal(at("2027-01-11", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	if o.err != nil || len(o.snap.Applied) != 1 || !o.snap.Applied[0].PaidAt.Equal(when) {
		t.Fatalf("answer %+v, %v; want paid at %s", o.snap.Applied, o.err, when)
	}
}

// Items 10–13: hostile input that reached the workflow through the Web UI
// or an old client is refused by the validators (updates) and audited
// (signals); the loan goes on and takes the next good repayment.
func TestHostileInputIsRefusedInsideTheWorkflow(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-HOSTILE", 2, "2027-01-15")
	many := make([]policy.Installment, policy.MaxInstallments+1)
	for i := range many {
		many[i] = policy.Installment{Seq: i + 3, DueDate: policy.MustDate("2027-03-01").AddDays(i),
			Principal: decimal.RequireFromString("1.00"), Interest: decimal.Zero, Fee: decimal.Zero}
	}
	bigToken := strings.Repeat("x", 1<<20)
	cases := []struct {
		name  string
		upd   string
		arg   any
		field string
	}{
		{"NUL in a name", UpdateContact, ContactUpdate{Actor: testActor, Reason: "test", Name: "张\x00伟"}, "name"},
		{"1 MiB push token", UpdateContact, ContactUpdate{Actor: testActor, Reason: "test", PushToken: bigToken}, "push_token"},
		{"1 MiB name", UpdateContact, ContactUpdate{Actor: testActor, Reason: "test", Name: strings.Repeat("名", 1<<18)}, "name"},
		{"601 installments", UpdateReschedule, RescheduleSignal{Actor: testActor, Reason: "x", Installments: many}, "installments"},
		{"reason with a control character", UpdateClose, CloseSignal{Actor: testActor, Reason: "sold\x1b[2J"}, "reason"},
		{"paid_at in year 1", UpdateRepay, policy.Repayment{TxnID: "T-old", Amount: decimal.RequireFromString("5.00"),
			PaidAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Second)}, "paid_at"},
		{"txn id ..", UpdateRepay, policy.Repayment{TxnID: "..", Amount: decimal.RequireFromString("5.00"),
			PaidAt: at("2027-01-05", 9, 0)}, "txn_id"},
	}
	outs := make([]outcome, len(cases))
	var events []*event
	for i, c := range cases {
		events = append(events, h.update(at("2027-01-05", 9, i), c.upd, fmt.Sprintf("u%d", i), c.arg, &outs[i]))
		// The same as a signal (repay has none).
		if c.upd != UpdateRepay {
			events = append(events, signal(at("2027-01-05", 10, i), c.upd, c.arg))
		}
	}
	var good outcome
	events = append(events,
		h.update(at("2027-01-06", 9, 0), UpdateRepay, "good", policy.Repayment{TxnID: "T-good",
			Amount: decimal.RequireFromString("5.00"), PaidAt: at("2027-01-06", 9, 0)}, &good),
		signal(at("2027-01-07", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}))
	if _, err := h.run(in, at("2027-01-01", 9, 0), events); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		var app *temporal.ApplicationError
		if !errors.As(outs[i].err, &app) || app.Type() != ErrTypeRejected {
			t.Errorf("%s: %v, want %s", c.name, outs[i].err, ErrTypeRejected)
			continue
		}
		if f := ErrorFields(app); len(f) == 0 || !strings.HasPrefix(f[0].Field, c.field) {
			t.Errorf("%s: fields %+v, want %s", c.name, f, c.field)
		}
	}
	if n := len(h.store.ledgerKinds(store.KindSignalRejected)); n != len(cases)-2 {
		t.Errorf("%d signal_rejected rows, want %d", n, len(cases)-2)
	}
	if good.err != nil || len(h.store.ledgerKinds(store.KindRepaymentApplied)) != 1 {
		t.Errorf("the good repayment after the hostile ones: %v", good.err)
	}
	if n := len(h.store.ledgerKinds(store.KindContactUpdated)); n != 0 {
		t.Errorf("%d contact updates applied", n)
	}
}

// A repayment that settles an installment while the loan is still sending
// its first (catch-up) point ends the run all the same: the count of
// settled installments is taken when the run begins.
func TestSettledDuringTheFirstPointContinuesAsNew(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-EARLY", 2, "2027-01-15")
	start := at("2027-01-17", 11, 0) // D+2: the catch-up point goes out at once
	if _, err := h.run(in, start, []*event{
		h.repay(start, "T-1", "1045.00", start),
		signal(at("2027-01-20", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
	}); err != nil {
		t.Fatal(err)
	}
	if h.runs < 2 {
		t.Errorf("runs = %d, want a continue-as-new after installment 1 was settled", h.runs)
	}
}

// Signals that wait together (here: sent while a ledger write runs, drained
// after it) are applied with the close last, so a contact change sent
// before a close is applied rather than refused as too late.
func TestDrainedSignalsApplyTheCloseLast(t *testing.T) {
	h := newHarness(t)
	var env *testsuite.TestWorkflowEnvironment
	hs := h.withHooks(&env)
	sent := false
	hs.setHook(func(e store.LedgerEntry) error {
		if e.Kind == store.KindPaused && !sent {
			sent = true
			env.SignalWorkflow(SignalUpdateContact, ContactUpdate{Actor: testActor, Reason: "test", Email: "new@example.cn"})
			env.SignalWorkflow(SignalClose, CloseSignal{Actor: testActor, Reason: "sold"})
		}
		return nil
	})
	in := testLoan("L-ORDER", 1, "2027-01-15")
	snap, err := h.run(in, at("2027-01-01", 9, 0), []*event{
		signal(at("2027-01-05", 9, 0), SignalPause, PauseSignal{Actor: testActor, Reason: "dispute"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if snap.State != policy.StateClosed {
		t.Fatalf("state %s", snap.State)
	}
	if n := len(h.store.ledgerKinds(store.KindContactUpdated)); n != 1 {
		t.Errorf("%d contact updates applied (refused: %d), want 1", n, len(h.store.ledgerKinds(store.KindSignalRejected)))
	}
}
