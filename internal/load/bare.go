package load

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The baseline: what the same server does with workflows that do nothing
// of dunning's. They run on task queues of their own, polled by a worker in
// the driver's process.
const (
	// BareWaitQueue holds BareWait workflows: started for the onboarding
	// baseline, updated for the repayment baseline.
	BareWaitQueue = "load-bare-wait"
	// BareActivityQueue holds BareActivity workflows: the burst baseline.
	BareActivityQueue = "load-bare-activity"
	// BareUpdate is the no-op update BareWait answers.
	BareUpdate = "noop"
)

// BareWait waits until it is cancelled, answering BareUpdate with its
// argument: a workflow that only waits and takes updates.
func BareWait(ctx workflow.Context) error {
	if err := workflow.SetUpdateHandler(ctx, BareUpdate, func(_ workflow.Context, v int) (int, error) { return v, nil }); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return false })
}

// BareActivity runs one NoopActivity and ends.
func BareActivity(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	return workflow.ExecuteActivity(ctx, NoopActivity).Get(ctx, nil)
}

// NoopActivity does nothing.
func NoopActivity(context.Context) error { return nil }

// registerBare puts the baseline workflows and activity on w.
func registerBare(w worker.Worker) {
	w.RegisterWorkflow(BareWait)
	w.RegisterWorkflow(BareActivity)
	w.RegisterActivityWithOptions(NoopActivity, activity.RegisterOptions{Name: "NoopActivity"})
}
