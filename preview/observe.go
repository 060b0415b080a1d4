package preview

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dunning/policy"
	"dunning/workflows"
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
	if err := e.runObserved(ctx, observe); err != nil {
		return nil, err
	}
	return e.timeline()
}

// runObserved is engine.run with observe; keep the two in step
// (TestRunObservedIsRun compares their timelines).
func (e *engine) runObserved(ctx context.Context, observe Observe) error {
	in := workflows.Input{Loan: e.loan, Policy: e.pol}
	start := e.start
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("preview loan %s: %w", e.loan.LoanID, err)
		}
		e.runs++
		if e.runs > MaxRuns {
			return fmt.Errorf("preview loan %s: more than %d runs of the workflow", e.loan.LoanID, MaxRuns)
		}
		env, err := e.executeObserved(in, start, observe)
		if err != nil {
			return err
		}
		werr := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(werr, &can) {
			var next workflows.Input
			if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
				return fmt.Errorf("preview loan %s: continue-as-new input: %w", e.loan.LoanID, err)
			}
			in, start = next, env.Now()
			continue
		}
		if werr != nil {
			return fmt.Errorf("preview loan %s: the workflow failed: %w", e.loan.LoanID, werr)
		}
		if err := env.GetWorkflowResult(&e.result); err != nil {
			return fmt.Errorf("preview loan %s: result: %w", e.loan.LoanID, err)
		}
		return nil
	}
}

// executeObserved is engine.execute with the run's hooks.
func (e *engine) executeObserved(in workflows.Input, start time.Time, observe Observe) (env *testsuite.TestWorkflowEnvironment, err error) {
	env = e.suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.SetTestTimeout(e.opts.Stuck)
	var h Hooks
	if observe != nil {
		h = observe(e.runs, env)
	}
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: e.opts.Stuck, Interceptors: h.Interceptors})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.WorkflowID(e.loan.LoanID), TaskQueue: workflows.TaskQueue})
	workflows.Register(env, e.acts)
	e.rec.setClock(env.Now)
	for _, p := range e.payments {
		if p.done {
			continue
		}
		env.RegisterDelayedCallback(func() { e.pay(env, p) }, max(p.At.Sub(start), 0))
	}
	env.SetOnActivityCompletedListener(func(info *activity.Info, v converter.EncodedValue, err error) {
		e.maybeEnd(env)
		if h.OnActivityCompleted != nil {
			h.OnActivityCompleted(info, v, err)
		}
	})
	env.SetOnLocalActivityCompletedListener(func(info *activity.Info, v converter.EncodedValue, err error) {
		e.maybeEnd(env)
		if h.OnLocalActivityCompleted != nil {
			h.OnLocalActivityCompleted(info, v, err)
		}
	})
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: loan %s: %v", ErrStuck, e.loan.LoanID, p)
		}
	}()
	env.ExecuteWorkflow(workflows.LoanWorkflow, in)
	if !env.IsWorkflowCompleted() {
		return nil, fmt.Errorf("%w: loan %s did not complete", ErrStuck, e.loan.LoanID)
	}
	return env, nil
}
