package lifecycle

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// simulateProbe runs probeWorkflow in the SDK's test environment, counted,
// run after run: 10 s after each run starts it gets probeSignal, then at
// 15 s (run 2 only) an update its validator rejects, at 20 s probeUpdate.
func simulateProbe(t *testing.T, start time.Time) []*Counter {
	t.Helper()
	var out []*Counter
	in := probeInput{Run: 1}
	for {
		var s testsuite.WorkflowTestSuite
		s.SetLogger(tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
		env := s.NewTestWorkflowEnvironment()
		env.SetStartTime(start)
		c := NewCounter()
		Attach(c, env)
		h := Hooks(c)
		env.SetWorkerOptions(worker.Options{Interceptors: h.Interceptors})
		env.SetOnActivityCompletedListener(h.OnActivityCompleted)
		env.RegisterWorkflow(probeWorkflow)
		env.RegisterActivity(probeActivity)
		cb := func(want bool) *testsuite.TestUpdateCallback {
			return &testsuite.TestUpdateCallback{
				OnAccept: func() {
					if !want {
						t.Error("the update with -1 was accepted")
					}
				},
				OnReject: func(err error) {
					if want {
						t.Errorf("update rejected: %v", err)
					}
				},
				OnComplete: func(any, error) {},
			}
		}
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(probeSignal, nil) }, 10*time.Second)
		if in.Run == 2 {
			env.RegisterDelayedCallback(func() { env.UpdateWorkflow(probeUpdate, "rejected", cb(false), -1) }, 15*time.Second)
		}
		env.RegisterDelayedCallback(func() { env.UpdateWorkflow(probeUpdate, "bump", cb(true), 1) }, 20*time.Second)
		env.ExecuteWorkflow(probeWorkflow, in)
		if !env.IsWorkflowCompleted() {
			t.Fatal("probe did not complete")
		}
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
		var can *workflow.ContinueAsNewError
		if err := env.GetWorkflowError(); errors.As(err, &can) {
			start, in = env.Now(), probeInput{Run: in.Run + 1}
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		return out
	}
}

// The interceptors and listeners feed the rules what the workflow does: the
// probe's runs count as the rules say, task by task.
func TestProbeInTestEnvironment(t *testing.T) {
	runs := simulateProbe(t, time.Date(2027, 1, 15, 10, 0, 0, 0, time.UTC))
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	tasks := []string{"start", "activities of task 1++", "timer", "signal", "update"}
	for i, end := range []Counts{{can: 1}, {completed: 1}} {
		want := probeRun(end)
		if got := runs[i].Counts(); got.String() != want.String() {
			t.Errorf("run %d:\n got  %s\n want %s", i+1, got, want)
		}
		if got := runs[i].Tasks(); !slices.Equal(got, tasks) {
			t.Errorf("run %d tasks %q, want %q", i+1, got, tasks)
		}
	}
}
