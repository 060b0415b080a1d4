package lifecycle

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dunning/preview"
)

// Observer counts the history events of every run of a workflow in the
// SDK's test environment: Observe (a preview.Observe) gives each run a
// Counter, fed by worker interceptors (what the workflow code does) and the
// environment's listeners (timers, activity results: what reaches it).
type Observer struct {
	mu   sync.Mutex
	runs []*Counter
	// Setup, when set, is called with each run's number and environment
	// after the counter is attached (a test registers its signals here).
	Setup func(run int, env *testsuite.TestWorkflowEnvironment)
}

// Observe attaches a new Counter to run n of the workflow in env.
func (o *Observer) Observe(n int, env *testsuite.TestWorkflowEnvironment) preview.Hooks {
	c := NewCounter()
	o.mu.Lock()
	o.runs = append(o.runs, c)
	o.mu.Unlock()
	Attach(c, env)
	if o.Setup != nil {
		o.Setup(n, env)
	}
	return Hooks(c)
}

// Runs are the counters of the runs observed so far, the first run first.
func (o *Observer) Runs() []*Counter {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*Counter(nil), o.runs...)
}

// Attach sets env's timer listeners to count into c. With Hooks (the
// interceptor and the activity listener) that is everything c needs; a test
// environment that is not a preview's sets its worker options and activity
// listener from Hooks itself.
func Attach(c *Counter, env *testsuite.TestWorkflowEnvironment) {
	// Only the workflow's own timers notify these listeners, not the
	// environment's delayed callbacks (the preview's repayments).
	env.SetOnTimerScheduledListener(func(id string, _ time.Duration) { c.TimerStarted(id) })
	env.SetOnTimerFiredListener(c.TimerFired)
	env.SetOnTimerCanceledListener(c.TimerCanceled)
}

// Hooks are the worker interceptor and the activity listener that count
// into c.
func Hooks(c *Counter) preview.Hooks {
	return preview.Hooks{
		Interceptors: []interceptor.WorkerInterceptor{&workerInterceptor{c: c}},
		OnActivityCompleted: func(info *activity.Info, _ converter.EncodedValue, err error) {
			if errors.Is(err, activity.ErrResultPending) {
				return // completed later, asynchronously: counted then
			}
			c.ActivityClosed(info.ActivityID, outcome(err))
		},
	}
}

// outcome names how an activity ended from the error the workflow got.
func outcome(err error) string {
	var te *temporal.TimeoutError
	var ce *temporal.CanceledError
	switch {
	case err == nil:
		return Completed
	case errors.As(err, &te):
		return TimedOut
	case errors.As(err, &ce):
		return Canceled
	}
	return Failed
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	c *Counter
}

func (w *workerInterceptor) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &inbound{c: w.c}
	i.Next = next
	return i
}

// inbound sees what reaches the run: its start, signals, updates, its end.
type inbound struct {
	interceptor.WorkflowInboundInterceptorBase
	c *Counter
}

func (i *inbound) Init(next interceptor.WorkflowOutboundInterceptor) error {
	o := &outbound{c: i.c}
	o.Next = next
	return i.Next.Init(o)
}

func (i *inbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	i.c.Started()
	res, err := i.Next.ExecuteWorkflow(ctx, in)
	var can *workflow.ContinueAsNewError
	var ce *temporal.CanceledError
	switch {
	case err == nil:
		i.c.Closed(EndCompleted)
	case errors.As(err, &can):
		i.c.Closed(EndContinuedAsNew)
	case errors.As(err, &ce):
		i.c.Closed(EndCanceled)
	default:
		i.c.Closed(EndFailed)
	}
	return res, err
}

func (i *inbound) HandleSignal(ctx workflow.Context, in *interceptor.HandleSignalInput) error {
	i.c.Signal(in.SignalName)
	return i.Next.HandleSignal(ctx, in)
}

func (i *inbound) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	err := i.Next.ValidateUpdate(ctx, in)
	if err == nil {
		i.c.UpdateAccepted()
	}
	return err
}

func (i *inbound) ExecuteUpdate(ctx workflow.Context, in *interceptor.UpdateInput) (any, error) {
	res, err := i.Next.ExecuteUpdate(ctx, in)
	i.c.UpdateCompleted()
	return res, err
}

// outbound sees the commands the run issues. Every method that adds an
// event is here; the ones these rules do not model report themselves.
type outbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	c   *Counter
	seq int
}

// ExecuteActivity gives an activity without an id of its own one the
// counter can recognise when its result comes back (the test environment
// numbers activities and timers from one sequence the workflow cannot see).
// An activity's id changes nothing the workflow or the activity does.
func (o *outbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	opts := workflow.GetActivityOptions(ctx)
	if opts.ActivityID == "" {
		o.seq++
		opts.ActivityID = fmt.Sprintf("lifecycle-%d", o.seq)
		ctx = workflow.WithActivityOptions(ctx, opts)
	}
	o.c.ActivityScheduled(opts.ActivityID)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *outbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.c.LocalActivity()
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

func (o *outbound) GetVersion(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	v := o.Next.GetVersion(ctx, changeID, minSupported, maxSupported)
	o.c.Version(changeID, int(v))
	return v
}

func (o *outbound) GetVersionWithOptions(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version, opts workflow.GetVersionOptions) workflow.Version {
	v := o.Next.GetVersionWithOptions(ctx, changeID, minSupported, maxSupported, opts)
	o.c.Version(changeID, int(v))
	return v
}

func (o *outbound) SideEffect(ctx workflow.Context, f func(ctx workflow.Context) any) converter.EncodedValue {
	o.c.SideEffect()
	return o.Next.SideEffect(ctx, f)
}

func (o *outbound) SideEffectWithOptions(ctx workflow.Context, opts workflow.SideEffectOptions, f func(ctx workflow.Context) any) converter.EncodedValue {
	o.c.SideEffect()
	return o.Next.SideEffectWithOptions(ctx, opts, f)
}

func (o *outbound) MutableSideEffect(ctx workflow.Context, id string, f func(ctx workflow.Context) any, equals func(a, b any) bool) converter.EncodedValue {
	var got any
	v := o.Next.MutableSideEffect(ctx, id, func(ctx workflow.Context) any { got = f(ctx); return got }, equals)
	o.c.MutableSideEffect(id, got, equals)
	return v
}

func (o *outbound) MutableSideEffectWithOptions(ctx workflow.Context, id string, opts workflow.MutableSideEffectOptions, f func(ctx workflow.Context) any, equals func(a, b any) bool) converter.EncodedValue {
	var got any
	v := o.Next.MutableSideEffectWithOptions(ctx, id, opts, func(ctx workflow.Context) any { got = f(ctx); return got }, equals)
	o.c.MutableSideEffect(id, got, equals)
	return v
}

func (o *outbound) UpsertSearchAttributes(ctx workflow.Context, attributes map[string]any) error {
	err := o.Next.UpsertSearchAttributes(ctx, attributes)
	if err == nil {
		o.c.SearchAttributes()
	}
	return err
}

func (o *outbound) UpsertTypedSearchAttributes(ctx workflow.Context, attributes ...temporal.SearchAttributeUpdate) error {
	err := o.Next.UpsertTypedSearchAttributes(ctx, attributes...)
	if err == nil {
		o.c.SearchAttributes()
	}
	return err
}

func (o *outbound) UpsertTypedSearchAttributesWithOptions(ctx workflow.Context, attributes []temporal.SearchAttributeUpdate, opts workflow.UpsertSearchAttributesOptions) error {
	err := o.Next.UpsertTypedSearchAttributesWithOptions(ctx, attributes, opts)
	if err == nil {
		o.c.SearchAttributes()
	}
	return err
}

func (o *outbound) UpsertMemo(ctx workflow.Context, memo map[string]any) error {
	err := o.Next.UpsertMemo(ctx, memo)
	if err == nil {
		o.c.Memo()
	}
	return err
}

func (o *outbound) UpsertMemoWithOptions(ctx workflow.Context, memo map[string]any, opts workflow.UpsertMemoOptions) error {
	err := o.Next.UpsertMemoWithOptions(ctx, memo, opts)
	if err == nil {
		o.c.Memo()
	}
	return err
}

func (o *outbound) ExecuteChildWorkflow(ctx workflow.Context, childWorkflowType string, args ...any) workflow.ChildWorkflowFuture {
	o.c.Unmodelled("child workflow " + childWorkflowType)
	return o.Next.ExecuteChildWorkflow(ctx, childWorkflowType, args...)
}

func (o *outbound) SignalExternalWorkflow(ctx workflow.Context, workflowID, runID, signalName string, arg any) workflow.Future {
	o.c.Unmodelled("signal to external workflow " + signalName)
	return o.Next.SignalExternalWorkflow(ctx, workflowID, runID, signalName, arg)
}

func (o *outbound) SignalExternalWorkflowWithOptions(ctx workflow.Context, workflowID, runID, signalName string, arg any, opts workflow.SignalExternalWorkflowOptions) workflow.Future {
	o.c.Unmodelled("signal to external workflow " + signalName)
	return o.Next.SignalExternalWorkflowWithOptions(ctx, workflowID, runID, signalName, arg, opts)
}

func (o *outbound) SignalChildWorkflow(ctx workflow.Context, workflowID, signalName string, arg any) workflow.Future {
	o.c.Unmodelled("signal to child workflow " + signalName)
	return o.Next.SignalChildWorkflow(ctx, workflowID, signalName, arg)
}

func (o *outbound) SignalChildWorkflowWithOptions(ctx workflow.Context, workflowID, signalName string, arg any, opts workflow.SignalChildWorkflowOptions) workflow.Future {
	o.c.Unmodelled("signal to child workflow " + signalName)
	return o.Next.SignalChildWorkflowWithOptions(ctx, workflowID, signalName, arg, opts)
}

func (o *outbound) RequestCancelExternalWorkflow(ctx workflow.Context, workflowID, runID string) workflow.Future {
	o.c.Unmodelled("cancel of external workflow")
	return o.Next.RequestCancelExternalWorkflow(ctx, workflowID, runID)
}

func (o *outbound) RequestCancelExternalWorkflowWithOptions(ctx workflow.Context, workflowID, runID string, opts workflow.CancelExternalWorkflowOptions) workflow.Future {
	o.c.Unmodelled("cancel of external workflow")
	return o.Next.RequestCancelExternalWorkflowWithOptions(ctx, workflowID, runID, opts)
}

func (o *outbound) ExecuteNexusOperation(ctx workflow.Context, in interceptor.ExecuteNexusOperationInput) workflow.NexusOperationFuture {
	o.c.Unmodelled("Nexus operation")
	return o.Next.ExecuteNexusOperation(ctx, in)
}
