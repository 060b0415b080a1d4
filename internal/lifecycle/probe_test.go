package lifecycle

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/workflow"

	"dunning/workflows"
)

// probeWorkflow does, once each, every thing the counting rules count that
// LoanWorkflow does not do today (a local activity, side effects, a memo, a
// rejected update), besides what it does (versions, activities in parallel,
// timers fired and canceled, a signal, an update, continue-as-new): the
// calibration runs it on the real server beside the loans, so a workflow
// change that starts using them is counted by rules already checked.
//
// Run 1 and run 2 are alike; run 1 continues as new, run 2 completes. Each
// waits at the query's stage "await-signal" for probeSignal, then at
// "await-update" for probeUpdate.
func probeWorkflow(ctx workflow.Context, in probeInput) (int, error) {
	stage := "start"
	if err := workflow.SetQueryHandler(ctx, probeQuery, func() (string, error) { return stage, nil }); err != nil {
		return 0, err
	}
	bumped := false
	if err := workflow.SetUpdateHandlerWithOptions(ctx, probeUpdate,
		func(_ workflow.Context, n int) (int, error) { bumped = true; return n + 1, nil },
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, n int) error {
			if n < 0 {
				return errors.New("negative")
			}
			return nil
		}}); err != nil {
		return 0, err
	}
	workflow.GetVersion(ctx, "probe-1", workflow.DefaultVersion, 1)
	workflow.GetVersion(ctx, "probe-1", workflow.DefaultVersion, 1) // recorded once
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var fs []workflow.Future
	for i := range 3 {
		fs = append(fs, workflow.ExecuteActivity(actx, probeActivity, i))
	}
	for _, f := range fs {
		if err := f.Get(ctx, nil); err != nil {
			return 0, err
		}
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	if err := workflow.ExecuteLocalActivity(lctx, probeActivity, 9).Get(ctx, nil); err != nil {
		return 0, err
	}
	workflow.SideEffect(ctx, func(workflow.Context) any { return in.Run })
	eq := func(a, b any) bool { return a == b }
	workflow.MutableSideEffect(ctx, "m", func(workflow.Context) any { return 1 }, eq)
	workflow.MutableSideEffect(ctx, "m", func(workflow.Context) any { return 1 }, eq) // unchanged: nothing
	if err := workflow.UpsertMemo(ctx, map[string]any{"probe": in.Run}); err != nil {
		return 0, err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, workflows.AttrLoanState.ValueSet("probe")); err != nil {
		return 0, err
	}
	if err := workflow.Sleep(ctx, time.Second); err != nil {
		return 0, err
	}
	stage = "await-signal"
	tctx, cancel := workflow.WithCancel(ctx)
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, time.Hour), func(workflow.Future) {})
	sel.AddReceive(workflow.GetSignalChannel(ctx, probeSignal), func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.Select(ctx)
	cancel() // the hour's timer, started by an earlier task: TimerCanceled
	stage = "await-update"
	if err := workflow.Await(ctx, func() bool { return bumped }); err != nil {
		return 0, err
	}
	if in.Run == 1 {
		return 0, workflow.NewContinueAsNewError(ctx, probeWorkflow, probeInput{Run: 2})
	}
	return in.Run, nil
}

type probeInput struct{ Run int }

const (
	probeSignal = "go"
	probeUpdate = "bump"
	probeQuery  = "stage"
)

func probeActivity(_ context.Context, n int) (int, error) { return n, nil }

// probeRun are the events the rules give a run of probeWorkflow: started;
// tasks for the start, the three activities' batch, the second's timer,
// the signal and the update; markers for the version, the local activity,
// the side effect and the first mutable side effect; upserts for the version
// and the search attribute; the memo; three activities; the second's timer
// started and fired, the hour's started and canceled; the signal; the
// update accepted and completed (the rejected one leaves nothing); the end.
func probeRun(end Counts) Counts {
	return plus(Counts{started: 1, marker: 4, upsert: 2, memo: 1, actSched: 3, actStart: 3, actDone: 3,
		timerOn: 2, timerFire: 1, timerOff: 1, signaled: 1, accepted: 1, updated: 1}, wft(5), end)
}
