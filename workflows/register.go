package workflows

import (
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
)

// Register puts the loan workflow and its activities on a worker; the worker
// binary and the integration tests wire the same way.
func Register(w worker.Registry, a *activities.Activities) {
	RegisterWorkflow(w)
	w.RegisterActivity(a)
}

// RegisterWorkflow puts the loan workflow, under its type name WorkflowType,
// on a worker or a replayer: the replay tests and `starter replay` check
// histories against exactly what the worker runs.
func RegisterWorkflow(w worker.WorkflowRegistry) {
	w.RegisterWorkflowWithOptions(LoanWorkflow, workflow.RegisterOptions{Name: WorkflowType})
}

// RegisterChannel puts the activities on a worker of one channel's queue
// (ChannelQueue): only notices run there, under that channel's rate limit.
func RegisterChannel(w worker.Registry, a *activities.Activities) {
	w.RegisterActivityWithOptions(a.SendNotice, activity.RegisterOptions{Name: "SendNotice"})
}

// RegisterPoints puts SendPoint on a worker of the points queue (PointQueue).
func RegisterPoints(w worker.Registry, a *activities.Activities) {
	w.RegisterActivityWithOptions(a.SendPoint, activity.RegisterOptions{Name: "SendPoint"})
}
