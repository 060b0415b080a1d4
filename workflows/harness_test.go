package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/channels"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// memStore is an in-memory audit store with the same idempotency rules as
// the PostgreSQL one (unique notice keys, ledger dedupe keys). optedOut
// ("<channel> <address>") and clock (time.Now when nil) are what its
// ReserveNoticeChecked sees as the opt_outs table and the database's clock.
type memStore struct {
	mu       sync.Mutex
	notices  []store.Notice
	ledger   []store.LedgerEntry
	cases    []store.Case
	optedOut map[string]bool
	clock    func() time.Time
}

// setClock makes now the store's clock: the harness gives it the test
// environment's, so the send-time check sees the workflow's time.
func (m *memStore) setClock(now func() time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clock = now
}

func (m *memStore) find(key string) int {
	for i, n := range m.notices {
		if n.IdempotencyKey == key {
			return i
		}
	}
	return -1
}

func (m *memStore) ReserveNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(n.IdempotencyKey); i >= 0 {
		return m.notices[i], false, nil
	}
	n.Status = store.NoticePending
	m.notices = append(m.notices, n)
	return n, true, nil
}

func (m *memStore) MarkProviderCalled(_ context.Context, key string, called bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(key); i >= 0 && m.notices[i].Status == store.NoticePending {
		now := time.Now()
		switch {
		case !called:
			m.notices[i].ProviderCalledAt = nil
		case m.notices[i].ProviderCalledAt == nil:
			m.notices[i].ProviderCalledAt = &now
		}
	}
	return nil
}

func (m *memStore) CompleteNotice(_ context.Context, key, status, reason, provider, msgID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(key)
	if i < 0 {
		return store.ErrNotFound
	}
	n := &m.notices[i]
	n.Status, n.Reason, n.Provider, n.ProviderMessageID, n.SentAt = status, reason, provider, msgID, &at
	return nil
}

func (m *memStore) RecordSkipped(_ context.Context, n store.Notice) (store.Notice, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := m.find(n.IdempotencyKey); i >= 0 {
		return m.notices[i], nil
	}
	n.Status = store.NoticeSkipped
	m.notices = append(m.notices, n)
	return n, nil
}

// FinalizeNotice is store.Store.FinalizeNotice: insert n in its final status,
// or complete a pending row with n's status and reason; a final row is
// returned unchanged.
func (m *memStore) FinalizeNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.Status != store.NoticeFailed && n.Status != store.NoticeSkipped {
		return store.Notice{}, false, fmt.Errorf("finalize notice %s: status %q: %w", n.IdempotencyKey, n.Status, store.ErrInvalid)
	}
	if i := m.find(n.IdempotencyKey); i >= 0 {
		if m.notices[i].Status != store.NoticePending {
			return m.notices[i], false, nil
		}
		m.notices[i].Status, m.notices[i].Reason = n.Status, n.Reason
		if m.notices[i].ProviderCalledAt != nil && n.Status == store.NoticeFailed {
			// As in PostgreSQL: the provider may have it; the receipt settles it.
			m.notices[i].Status, m.notices[i].Reason = store.NoticeUnknown, "outcome unknown: "+n.Reason
		}
		return m.notices[i], true, nil
	}
	m.notices = append(m.notices, n)
	return n, true, nil
}

func (m *memStore) AppendLedger(_ context.Context, e store.LedgerEntry) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.ledger {
		if x.DedupeKey == e.DedupeKey {
			return false, nil
		}
	}
	m.ledger = append(m.ledger, e)
	return true, nil
}

func (m *memStore) OpenCase(_ context.Context, c store.Case) (store.Case, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.cases {
		if x.DedupeKey == c.DedupeKey {
			return x, false, nil
		}
	}
	c.ID = int64(len(m.cases) + 1)
	m.cases = append(m.cases, c)
	return c, true, nil
}

func (m *memStore) sent() []store.Notice {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Notice
	for _, n := range m.notices {
		if n.Status == store.NoticeSent {
			out = append(out, n)
		}
	}
	return out
}

func (m *memStore) ledgerKinds(kind string) []store.LedgerEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.LedgerEntry
	for _, e := range m.ledger {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// harness runs a loan workflow in the SDK's time-skipping test environment
// with the real activities over an in-memory store and the dev sink,
// following continue-as-new from run to run.
type harness struct {
	t       *testing.T
	suite   testsuite.WorkflowTestSuite
	store   *memStore
	sink    *channels.DevSink
	acts    *activities.Activities
	runs    int
	results map[string]policy.Snapshot // repay results by txn_id
	rejects map[string]error
	inputs  []Input // the input of every run
	// startedAt is the workflow time each notice's activity started, by key.
	startedAt map[string]time.Time
	// configure is called on each new environment (e.g. to suggest continue-as-new).
	configure func(env *testsuite.TestWorkflowEnvironment)
}

// event is something the outside world does at an instant.
type event struct {
	at   time.Time
	do   func(env *testsuite.TestWorkflowEnvironment)
	done bool
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	tmpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &harness{t: t, store: &memStore{}, sink: &channels.DevSink{Logger: quiet},
		results: map[string]policy.Snapshot{}, rejects: map[string]error{}, startedAt: map[string]time.Time{}}
	h.suite.SetLogger(nopLogger{})
	h.acts = &activities.Activities{Store: h.store, Senders: channels.DevRegistry(h.sink), Templates: tmpl,
		Brand: activities.Brand{Name: "安心借", Hotline: "400-800-1234", RepayURL: "https://m.example.cn/r"}, Log: quiet}
	return h
}

// run executes the loan from start until it completes, applying events at
// their instants, across every continue-as-new.
func (h *harness) run(in Input, start time.Time, events []*event) (policy.Snapshot, error) {
	h.t.Helper()
	for {
		h.runs++
		h.inputs = append(h.inputs, in)
		env := h.suite.NewTestWorkflowEnvironment()
		env.SetStartTime(start)
		env.SetTestTimeout(60 * time.Second)
		env.SetStartWorkflowOptions(startOptions(in.Loan.LoanID))
		Register(env, h.acts)
		h.store.setClock(env.Now)
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
			var keys []string
			switch info.ActivityType.Name {
			case "SendNotice":
				var req activities.NoticeRequest
				if err := args.Get(&req); err == nil {
					keys = append(keys, req.Key)
				}
			case "SendPoint":
				var req activities.PointRequest
				if err := args.Get(&req); err == nil {
					for _, n := range req.Notices {
						keys = append(keys, n.Key)
					}
				}
			}
			for _, k := range keys {
				if _, ok := h.startedAt[k]; !ok {
					h.startedAt[k] = env.Now()
				}
			}
		})
		if h.configure != nil {
			h.configure(env)
		}
		for _, e := range events {
			if e.done {
				continue
			}
			e := e
			env.RegisterDelayedCallback(func() { e.done = true; e.do(env) }, max(e.at.Sub(start), 0))
		}
		env.ExecuteWorkflow(LoanWorkflow, in)
		if !env.IsWorkflowCompleted() {
			h.t.Fatal("workflow did not complete")
		}
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			var next Input
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				h.t.Fatalf("decode continue-as-new input: %v", err)
			}
			in, start = next, env.Now()
			if h.runs > 100 {
				h.t.Fatal("more than 100 runs")
			}
			continue
		}
		if err != nil {
			return policy.Snapshot{}, err
		}
		var snap policy.Snapshot
		if err := env.GetWorkflowResult(&snap); err != nil {
			return policy.Snapshot{}, err
		}
		return snap, nil
	}
}

func (h *harness) repay(at time.Time, txn, amount string, paidAt time.Time) *event {
	return &event{at: at, do: func(env *testsuite.TestWorkflowEnvironment) {
		r := policy.Repayment{TxnID: txn, Amount: decimal.RequireFromString(amount), PaidAt: paidAt}
		env.UpdateWorkflow(UpdateRepay, "repay-"+txn+"-"+at.String(), &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { h.rejects[txn] = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					h.rejects[txn] = err
					return
				}
				if s, ok := v.(policy.Snapshot); ok {
					h.results[txn] = s
				}
			},
		}, r)
	}}
}

func signal(at time.Time, name string, arg any) *event {
	return &event{at: at, do: func(env *testsuite.TestWorkflowEnvironment) { env.SignalWorkflow(name, arg) }}
}

// assertExactlyOnce checks every notice key is unique and delivered once.
func (h *harness) assertExactlyOnce() {
	h.t.Helper()
	seen := map[string]bool{}
	for _, n := range h.store.notices {
		if seen[n.IdempotencyKey] {
			h.t.Errorf("notice key %s recorded twice", n.IdempotencyKey)
		}
		seen[n.IdempotencyKey] = true
		if n.Status == store.NoticeSent && h.sink.Sent(n.IdempotencyKey) != 1 {
			h.t.Errorf("notice %s delivered %d times", n.IdempotencyKey, h.sink.Sent(n.IdempotencyKey))
		}
		if n.Status == store.NoticePending {
			h.t.Errorf("notice %s left pending", n.IdempotencyKey)
		}
	}
}

// templatesSent lists "template/channel" of the sent notices in order.
func (h *harness) templatesSent() []string {
	var out []string
	for _, n := range h.store.sent() {
		out = append(out, n.Template+"/"+n.Channel)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func sumAmounts(es []store.LedgerEntry) string {
	t := decimal.Zero
	for _, e := range es {
		if e.Amount != nil {
			t = t.Add(*e.Amount)
		}
	}
	return t.StringFixed(2)
}
