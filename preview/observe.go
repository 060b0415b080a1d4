package preview

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"

	"dunning/policy"
)

// Hooks are what an observer adds to one run of the workflow in a preview
// (RunObserved): worker interceptors to run it with, and listeners for
// activity and local activity completions (the preview keeps the
// environment's only such listeners for itself and calls these after its
// own).
type Hooks struct {
	Interceptors             []interceptor.WorkerInterceptor
	OnActivityCompleted      func(*activity.Info, converter.EncodedValue, error)
	OnLocalActivityCompleted func(*activity.Info, converter.EncodedValue, error)
}

// Observe is called once per run of the workflow (run 1 first, one more per
// continue-as-new) with that run's test environment, after its start time
// is set and before the workflow starts. It may set the environment's
// other listeners (timers) and register delayed callbacks, and returns the
// hooks to run with.
type Observe func(run int, env *testsuite.TestWorkflowEnvironment) Hooks

// RunObserved is Run with observe called for every run of the workflow: the
// same preview (same engine, store, payments and close at charge-off), seen
// from inside. internal/lifecycle counts history events with it.
func RunObserved(ctx context.Context, l policy.Loan, o Options, observe Observe) (*Timeline, error) {
	e, err := newEngine(l, o)
	if err != nil {
		return nil, err
	}
	if err := e.run(ctx, observe); err != nil {
		return nil, err
	}
	return e.timeline()
}
