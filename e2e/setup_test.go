package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"

	"dunning/channels"
	"dunning/internal/testenv"
	"dunning/store"
	"dunning/templates"
	"dunning/workflows"
)

var quiet = testenv.Quiet

// testActor is the operator of the e2e tests' actions (every operator action
// names who takes it).
const testActor = "ops.e2e@lender.example"

// stack is one test's Temporal client, database and provider sink.
type stack struct {
	t     *testing.T
	c     client.Client
	store *store.Store
	sink  *channels.DevSink
	tmpl  *templates.Renderer
}

func newStack(t *testing.T) *stack {
	t.Helper()
	c := testenv.Temporal(t)
	return &stack{t: t, c: c, store: testenv.Store(t), sink: &channels.DevSink{Logger: quiet}, tmpl: testenv.Templates(t)}
}

// startWorker runs the loan workflow and activities on queue.
func (s *stack) startWorker(queue string) interface{ Stop() } {
	s.t.Helper()
	return testenv.StartWorker(s.t, s.c, s.store, s.tmpl, s.sink, queue)
}

// workerQueue starts a worker on a task queue of the test's own and returns
// the queue; the worker stops when the test ends.
func (s *stack) workerQueue() string {
	q := queueName(s.t)
	s.startWorker(q)
	return q
}

// closeLoan ends a test's loan with a close signal.
func (s *stack) closeLoan(loanID string) {
	s.t.Helper()
	if err := s.c.SignalWorkflow(context.Background(), workflows.WorkflowID(loanID), "", workflows.SignalClose,
		workflows.CloseSignal{Actor: testActor, Reason: "test over"}); err != nil {
		s.t.Fatal(err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, within, last)
}

// recordHistory writes the workflow's history to workflows/testdata when
// DUNNING_RECORD_HISTORIES is set.
func (s *stack) recordHistory(workflowID, runID, name string) {
	if os.Getenv("DUNNING_RECORD_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatalf("history of %s: %v", workflowID, err)
		}
		hist.Events = append(hist.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		s.t.Fatal(err)
	}
	dir := filepath.Join("..", "workflows", "testdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	// A recorded history is never overwritten: it is what a loan running
	// today did, and the replay test must keep proving that the code replays
	// it. A new recording gets the date and, if needed, a number.
	base := filepath.Join(dir, "history-"+name+"-"+time.Now().UTC().Format("20060102"))
	for i := 1; ; i++ {
		path := base + ".json"
		if i > 1 {
			path = fmt.Sprintf("%s-%d.json", base, i)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			s.t.Fatal(err)
		}
		if _, err := f.Write(b); err != nil {
			s.t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			s.t.Fatal(err)
		}
		s.t.Logf("recorded %d events to %s", len(hist.Events), path)
		return
	}
}

func queueName(t *testing.T) string { return testenv.Queue(t) }
