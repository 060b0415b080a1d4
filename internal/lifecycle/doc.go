// Package lifecycle measures how many history events a loan's workflow
// leaves on a Temporal server over the loan's whole life (issue 9:
// events_per_installment, charge_off_events, max_run_events), without a
// server and without waiting a year. preview.RunObserved runs the real
// LoanWorkflow, activities and templates in the SDK's time-skipping test
// environment, repayments arriving as repay updates at their instants and
// every continue-as-new followed; a Counter per run counts the events a
// server would record for what that run does. `make lifecycle` (cmd/lifecycle)
// measures 12 installments paid on time, 12 never paid until charge-off and
// 360 paid on time, whatever the workflow code is when it runs.
//
// # Counting rules (go.temporal.io/sdk v1.51)
//
// What the run does comes from worker interceptors (the commands its code
// issues, the signals and updates that reach it, how it ends) and from the
// test environment's listeners (timers started, fired, canceled; activity
// results):
//
//   - Start: WorkflowExecutionStarted, and the first workflow task.
//   - Workflow task: WorkflowTaskScheduled, WorkflowTaskStarted,
//     WorkflowTaskCompleted. The server schedules one per wake-up: the start,
//     each timer fired, each signal, each update accepted, and each batch of
//     activity results. The batching rule: the results of the activities one
//     workflow task scheduled (a point's notices, sent in parallel) come back
//     as one batch and make one task, in whatever order they arrive; a
//     result of another batch, a timer, a signal or an update makes a new
//     one. A local activity runs inside the task that starts it.
//   - Activity: ActivityTaskScheduled, ActivityTaskStarted and
//     ActivityTaskCompleted, ActivityTaskFailed or ActivityTaskTimedOut: one
//     started event whatever the attempts, since the server records only the
//     last attempt's.
//   - Local activity: one MarkerRecorded.
//   - Timer (NewTimer, Sleep, AwaitWithTimeout): TimerStarted and TimerFired,
//     or TimerStarted and TimerCanceled when a later task cancels it; a timer
//     started and canceled in the same task leaves nothing (the SDK drops both
//     commands).
//   - GetVersion, the first call for a change id in a run: MarkerRecorded and
//     UpsertWorkflowSearchAttributes (TemporalChangeVersion); the upsert only
//     while the JSON list of the run's change versions stays under 2,048
//     bytes (the SDK's changeVersionSearchAttrSizeLimit). Later calls: nothing.
//   - SideEffect: one MarkerRecorded; MutableSideEffect: one when its value
//     changes (or is first recorded).
//   - UpsertSearchAttributes, UpsertTypedSearchAttributes: one
//     UpsertWorkflowSearchAttributes; UpsertMemo: one
//     WorkflowPropertiesModified.
//   - Signal: WorkflowExecutionSignaled, and a task.
//   - Update: WorkflowExecutionUpdateAccepted and
//     WorkflowExecutionUpdateCompleted, and a task. An update the validator
//     rejects leaves nothing: the server drops its speculative task.
//   - End: WorkflowExecutionCompleted, ContinuedAsNew, Failed or Canceled.
//
// A run that starts a child workflow, signals or cancels another workflow,
// runs a Nexus operation or cancels an activity is an error (Counter.Err),
// never a quietly wrong figure. Not modelled either: failed or timed-out
// workflow tasks, the heartbeat tasks of a local activity longer than a
// task's timeout, and the continue-as-new a server suggests at 4 Ki events
// or 4 MiB (the test environment never suggests it).
//
// # Calibration
//
// TestCalibrateAgainstServer runs scenarios that finish in seconds on the
// dev server (DUNNING_TEST_TEMPORAL) with the real worker, and again with the
// counter from the same start with the same messages at the same instants:
// a catch-up point on three channels then a payoff by the repay update; a
// repayment that settles one installment (continue-as-new), then a close
// signal; a collections case then a close; and probeWorkflow, which does
// once each what LoanWorkflow does not do today (a local activity, side
// effects, a memo, a rejected update). Every run's history must hold, type by
// type, what the counter counted, with one difference allowed and identified
// event by event: a batch of activity results the server split over two
// workflow tasks, because a result arrived after the task for the others had
// started (3 events more per split). On the dev server the probe's three
// parallel activities split in about half the runs, once or twice, as did a
// point's three notices before points-1 made them one SendPoint activity.
// The counts are therefore the fewest events a run has; Counter.Merged and
// Result.Split give the most, every batch split.
package lifecycle
