package lifecycle

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
)

// Counts are history events by type.
type Counts map[enumspb.EventType]int

// Total is the number of events.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Add adds o to c.
func (c Counts) Add(o Counts) {
	for k, v := range o {
		c[k] += v
	}
}

// Types are the event types present in any of cs, in the order of the
// server's enum (the order a history reads in, roughly).
func Types(cs ...Counts) []enumspb.EventType {
	var out []enumspb.EventType
	for _, c := range cs {
		for k, v := range c {
			if v != 0 && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Name is an event type as the Temporal CLI and Web UI write it:
// "ActivityTaskScheduled" (the API's own String).
func Name(t enumspb.EventType) string { return t.String() }

// String lists the counts by type, "Name=n" in enum order, then the total.
func (c Counts) String() string {
	var parts []string
	for _, t := range Types(c) {
		parts = append(parts, fmt.Sprintf("%s=%d", Name(t), c[t]))
	}
	return strings.Join(append(parts, fmt.Sprintf("total=%d", c.Total())), " ")
}

// changeVersionLimit is the SDK's limit (internal
// changeVersionSearchAttrSizeLimit, go.temporal.io/sdk v1.51): GetVersion
// upserts TemporalChangeVersion only while the serialized list of the run's
// change versions stays under it.
const changeVersionLimit = 2048

// opener says what made the server schedule a workflow task.
type opener struct {
	kind  string // "start", "activity", "timer", "signal", "update"
	group int    // for "activity": the workflow task that scheduled it
}

// Counter counts the history events one run of a workflow has on a Temporal
// server, from what the run does (see the package documentation for the
// rules). Its methods are the rules; observe.go calls them from the SDK's
// interceptors and the test environment's listeners. It is safe for
// concurrent use.
type Counter struct {
	mu     sync.Mutex
	counts Counts
	// wft is the number of the current workflow task (1 is the first).
	wft    int
	opened opener
	// causes says, per workflow task, what the server scheduled it for.
	causes     []string
	activities map[string]int    // activity id → workflow task that scheduled it
	timers     map[string]int    // timer id → workflow task that started it
	versions   map[string]int    // change id → version recorded
	mutable    map[string]any    // MutableSideEffect id → last value recorded
	before     map[string]Counts // signal name → counts before the first one
	merged     int               // activity results batched into a task opened by another
	unmodelled []string
	closed     bool
}

// NewCounter is a counter for one run.
func NewCounter() *Counter {
	return &Counter{counts: Counts{}, activities: map[string]int{}, timers: map[string]int{}, versions: map[string]int{}, mutable: map[string]any{},
		before: map[string]Counts{}}
}

func (c *Counter) add(t enumspb.EventType, n int) { c.counts[t] += n }

// task opens a workflow task: scheduled, started, completed.
func (c *Counter) task(o opener, cause string) {
	c.wft++
	c.opened = o
	c.causes = append(c.causes, cause)
	c.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 1)
	c.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, 1)
	c.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1)
}

// Started is the run's start: WorkflowExecutionStarted and its first
// workflow task.
func (c *Counter) Started() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 1)
	c.task(opener{kind: "start"}, "start")
}

// ActivityScheduled is an activity the current workflow task schedules.
func (c *Counter) ActivityScheduled(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 1)
	c.activities[id] = c.wft
}

// Activity outcomes, as the activity's last event records them.
const (
	Completed = "completed"
	Failed    = "failed"
	TimedOut  = "timed out"
	Canceled  = "canceled"
)

// ActivityClosed is activity id's result reaching the workflow: its started
// event (one, whatever the attempts: the server records only the last) and
// its closing event. The server schedules a workflow task for it unless the
// current one was scheduled for the completion of activities scheduled by
// the same workflow task: activities a task schedules together complete in
// one batch (the batching rule; see the package documentation).
func (c *Counter) ActivityClosed(id, outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	group, ok := c.activities[id]
	if !ok {
		c.unmodelled = append(c.unmodelled, fmt.Sprintf("completion of activity %q that was never scheduled", id))
		return
	}
	delete(c.activities, id)
	c.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, 1)
	switch outcome {
	case Completed:
		c.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
	case Failed:
		c.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, 1)
	case TimedOut:
		c.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 1)
	default:
		c.unmodelled = append(c.unmodelled, fmt.Sprintf("activity %q %s", id, outcome))
		return
	}
	o := opener{kind: "activity", group: group}
	if c.opened == o {
		c.causes[len(c.causes)-1] += "+"
		c.merged++
		return
	}
	c.task(o, fmt.Sprintf("activities of task %d", group))
}

// LocalActivity is a local activity: one marker, in the workflow task that
// runs it (no task of its own).
func (c *Counter) LocalActivity() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_MARKER_RECORDED, 1)
}

// TimerStarted is a timer the current workflow task starts.
func (c *Counter) TimerStarted(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_TIMER_STARTED, 1)
	c.timers[id] = c.wft
}

// TimerFired is timer id firing: TimerFired and a workflow task.
func (c *Counter) TimerFired(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.timers[id]; !ok {
		c.unmodelled = append(c.unmodelled, fmt.Sprintf("timer %q fired without being started", id))
		return
	}
	delete(c.timers, id)
	c.add(enumspb.EVENT_TYPE_TIMER_FIRED, 1)
	c.task(opener{kind: "timer"}, "timer")
}

// TimerCanceled is timer id canceled by the current workflow task:
// TimerCanceled, or nothing at all (and no TimerStarted either) when the
// same task started it, since the SDK then drops both commands.
func (c *Counter) TimerCanceled(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	started, ok := c.timers[id]
	if !ok {
		return // fired already
	}
	delete(c.timers, id)
	if started == c.wft {
		c.add(enumspb.EVENT_TYPE_TIMER_STARTED, -1)
		return
	}
	c.add(enumspb.EVENT_TYPE_TIMER_CANCELED, 1)
}

// Version is a workflow.GetVersion call. The first call for a change id in a
// run records a marker and, while the run's change versions serialize under
// the SDK's limit, upserts the TemporalChangeVersion search attribute; later
// calls record nothing.
func (c *Counter) Version(changeID string, version int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.versions[changeID]; ok {
		return
	}
	c.versions[changeID] = version
	// The SDK's value: "<changeID>-<version>" of this change and every
	// earlier one of the run (its order does not change the size).
	var list []string
	for id, v := range c.versions {
		list = append(list, fmt.Sprintf("%s-%d", id, v))
	}
	c.add(enumspb.EVENT_TYPE_MARKER_RECORDED, 1)
	b, _ := json.Marshal(list)
	if len(b) < changeVersionLimit {
		c.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 1)
	}
}

// SideEffect is a workflow.SideEffect: one marker.
func (c *Counter) SideEffect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_MARKER_RECORDED, 1)
}

// MutableSideEffect is a workflow.MutableSideEffect that returned v: a
// marker when v differs (by equals) from the value last recorded for id,
// or none was.
func (c *Counter) MutableSideEffect(id string, v any, equals func(a, b any) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.mutable[id]
	if ok && equals(old, v) {
		return
	}
	c.mutable[id] = v
	c.add(enumspb.EVENT_TYPE_MARKER_RECORDED, 1)
}

// SearchAttributes is an upsert of search attributes: one event.
func (c *Counter) SearchAttributes() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, 1)
}

// Memo is an upsert of the memo: one WorkflowPropertiesModified.
func (c *Counter) Memo() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED, 1)
}

// Signal is signal name delivered to the run: WorkflowExecutionSignaled
// and a workflow task. The counts just before the first signal of each name
// are kept (BeforeSignal).
func (c *Counter) Signal(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.before[name]; !ok {
		c.before[name] = c.snapshot()
	}
	c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 1)
	c.task(opener{kind: "signal"}, "signal")
}

// UpdateAccepted is an update its validator accepted: a workflow task and
// WorkflowExecutionUpdateAccepted. An update the validator rejects leaves no
// event: its (speculative) workflow task is dropped.
func (c *Counter) UpdateAccepted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.task(opener{kind: "update"}, "update")
	c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 1)
}

// UpdateCompleted is an accepted update's handler returning, with a result
// or an error: WorkflowExecutionUpdateCompleted.
func (c *Counter) UpdateCompleted() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, 1)
}

// How a run ends.
const (
	EndCompleted      = "completed"
	EndContinuedAsNew = "continued as new"
	EndFailed         = "failed"
	EndCanceled       = "canceled"
)

// Closed is the run's last event.
func (c *Counter) Closed(how string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	switch how {
	case EndCompleted:
		c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, 1)
	case EndContinuedAsNew:
		c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, 1)
	case EndFailed:
		c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, 1)
	case EndCanceled:
		c.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, 1)
	default:
		c.unmodelled = append(c.unmodelled, "end "+how)
	}
}

// Unmodelled notes something the run did that these rules do not count
// (a child workflow, an external signal, a Nexus operation...): the counts
// are then wrong, and Err says so.
func (c *Counter) Unmodelled(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unmodelled = append(c.unmodelled, what)
}

// Counts are the events counted so far.
func (c *Counter) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshot()
}

// BeforeSignal are the counts just before the first signal called name
// reached the run, and whether one did.
func (c *Counter) BeforeSignal(name string) (Counts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.before[name]
	return b, ok
}

func (c *Counter) snapshot() Counts {
	out := Counts{}
	for k, v := range c.counts {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// Tasks says, per workflow task, what it was scheduled for: "start",
// "timer", "signal", "update", or "activities of task n" with a "+" per
// further completion of the same batch.
func (c *Counter) Tasks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.causes)
}

// Merged is how many activity results the batching rule put into a
// workflow task that another result of the same batch opened. On a server
// each of them may instead come in after that task started and get a task
// of its own (a split batch, as the calibration sees often): at most
// 3 × Merged events more than Counts.
func (c *Counter) Merged() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.merged
}

// Ended reports whether the run ended (Closed).
func (c *Counter) Ended() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Err reports what the rules could not count, if anything.
func (c *Counter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.unmodelled) > 0 {
		return fmt.Errorf("history events not counted: %s", strings.Join(c.unmodelled, "; "))
	}
	return nil
}
