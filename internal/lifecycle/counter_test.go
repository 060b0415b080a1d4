package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
)

// Short names for the tables below.
const (
	started   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
	completed = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
	can       = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
	failed    = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
	wftSched  = enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
	wftStart  = enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED
	wftDone   = enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
	actSched  = enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
	actStart  = enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED
	actDone   = enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
	actFailed = enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED
	actTimed  = enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
	timerOn   = enumspb.EVENT_TYPE_TIMER_STARTED
	timerFire = enumspb.EVENT_TYPE_TIMER_FIRED
	timerOff  = enumspb.EVENT_TYPE_TIMER_CANCELED
	marker    = enumspb.EVENT_TYPE_MARKER_RECORDED
	upsert    = enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
	memo      = enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED
	signaled  = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
	accepted  = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
	updated   = enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
)

// wft are n workflow tasks.
func wft(n int) Counts { return Counts{wftSched: n, wftStart: n, wftDone: n} }

func plus(cs ...Counts) Counts {
	out := Counts{}
	for _, c := range cs {
		out.Add(c)
	}
	for k, v := range out {
		if v == 0 {
			delete(out, k)
		}
	}
	return out
}

// The counting rules, one by one: what each thing a run does adds to its
// history, and when the server schedules a workflow task.
func TestCountingRules(t *testing.T) {
	eq := func(a, b any) bool { return a == b }
	for _, c := range []struct {
		name  string
		do    func(c *Counter)
		want  Counts
		tasks []string
	}{
		{"start and complete: started, one task, completed", func(c *Counter) {
			c.Started()
			c.Closed(EndCompleted)
		}, plus(Counts{started: 1, completed: 1}, wft(1)), []string{"start"}},
		{"continue-as-new and failure close a run with one event", func(c *Counter) {
			c.Started()
			c.Closed(EndContinuedAsNew)
		}, plus(Counts{started: 1, can: 1}, wft(1)), []string{"start"}},
		{"one activity: scheduled, started, completed, and a task for its result", func(c *Counter) {
			c.Started()
			c.ActivityScheduled("a")
			c.ActivityClosed("a", Completed)
			c.Closed(EndFailed)
		}, plus(Counts{started: 1, actSched: 1, actStart: 1, actDone: 1, failed: 1}, wft(2)),
			[]string{"start", "activities of task 1"}},
		{"activities scheduled together complete in one batch: one task", func(c *Counter) {
			c.Started()
			for _, id := range []string{"sms", "email", "push"} {
				c.ActivityScheduled(id)
			}
			c.ActivityClosed("email", Completed)
			c.ActivityClosed("sms", Completed)
			c.ActivityClosed("push", Completed)
		}, plus(Counts{started: 1, actSched: 3, actStart: 3, actDone: 3}, wft(2)),
			[]string{"start", "activities of task 1++"}},
		{"activities one after the other: a task each", func(c *Counter) {
			c.Started()
			c.ActivityScheduled("a")
			c.ActivityClosed("a", Completed)
			c.ActivityScheduled("b")
			c.ActivityClosed("b", Failed)
			c.ActivityScheduled("c")
			c.ActivityClosed("c", TimedOut)
		}, plus(Counts{started: 1, actSched: 3, actStart: 3, actDone: 1, actFailed: 1, actTimed: 1}, wft(4)),
			[]string{"start", "activities of task 1", "activities of task 2", "activities of task 3"}},
		{"a straggler of a batch joins the task its batch opened, even after that task scheduled more", func(c *Counter) {
			c.Started()
			c.ActivityScheduled("a")
			c.ActivityScheduled("b")
			c.ActivityClosed("a", Completed)
			c.ActivityScheduled("c")
			c.ActivityClosed("b", Completed)
			c.ActivityClosed("c", Completed)
		}, plus(Counts{started: 1, actSched: 3, actStart: 3, actDone: 3}, wft(3)),
			[]string{"start", "activities of task 1+", "activities of task 2"}},
		{"a batch interrupted by a timer is two tasks", func(c *Counter) {
			c.Started()
			c.ActivityScheduled("a")
			c.ActivityScheduled("b")
			c.TimerStarted("t")
			c.ActivityClosed("a", Completed)
			c.TimerFired("t")
			c.ActivityClosed("b", Completed)
		}, plus(Counts{started: 1, actSched: 2, actStart: 2, actDone: 2, timerOn: 1, timerFire: 1}, wft(4)),
			[]string{"start", "activities of task 1", "timer", "activities of task 1"}},
		{"a local activity is a marker in the task that runs it", func(c *Counter) {
			c.Started()
			c.LocalActivity()
			c.LocalActivity()
		}, plus(Counts{started: 1, marker: 2}, wft(1)), []string{"start"}},
		{"a timer that fires: started, fired, a task", func(c *Counter) {
			c.Started()
			c.TimerStarted("t")
			c.TimerFired("t")
		}, plus(Counts{started: 1, timerOn: 1, timerFire: 1}, wft(2)), []string{"start", "timer"}},
		{"a timer canceled by a later task: started, canceled", func(c *Counter) {
			c.Started()
			c.TimerStarted("t")
			c.Signal("wake")
			c.TimerCanceled("t")
		}, plus(Counts{started: 1, timerOn: 1, timerOff: 1, signaled: 1}, wft(2)), []string{"start", "signal"}},
		{"a timer canceled by the task that started it leaves nothing", func(c *Counter) {
			c.Started()
			c.TimerStarted("t")
			c.TimerCanceled("t")
		}, plus(Counts{started: 1}, wft(1)), []string{"start"}},
		{"GetVersion: a marker and a TemporalChangeVersion upsert, once per change id", func(c *Counter) {
			c.Started()
			c.Version("hardening-1", 1)
			c.Version("hardening-1", 1)
			c.Version("delivery-1", 1)
		}, plus(Counts{started: 1, marker: 2, upsert: 2}, wft(1)), []string{"start"}},
		{"GetVersion past the SDK's 2,048-byte limit: the marker without the upsert", func(c *Counter) {
			c.Started()
			// `["<61 bytes>-1",...]`: 66 bytes per change; 31 make 2,047.
			for i := range 33 {
				c.Version(fmt.Sprintf("%s%02d", strings.Repeat("x", 59), i), 1)
			}
		}, plus(Counts{started: 1, marker: 33, upsert: 31}, wft(1)), []string{"start"}},
		{"SideEffect: a marker each; MutableSideEffect: a marker when the value changes", func(c *Counter) {
			c.Started()
			c.SideEffect()
			c.SideEffect()
			c.MutableSideEffect("m", 1, eq)
			c.MutableSideEffect("m", 1, eq)
			c.MutableSideEffect("m", 2, eq)
			c.MutableSideEffect("n", 2, eq)
		}, plus(Counts{started: 1, marker: 5}, wft(1)), []string{"start"}},
		{"upserts: search attributes one event, memo one WorkflowPropertiesModified", func(c *Counter) {
			c.Started()
			c.SearchAttributes()
			c.SearchAttributes()
			c.Memo()
		}, plus(Counts{started: 1, upsert: 2, memo: 1}, wft(1)), []string{"start"}},
		{"a signal: signaled and a task", func(c *Counter) {
			c.Started()
			c.Signal("close")
			c.Closed(EndCompleted)
		}, plus(Counts{started: 1, signaled: 1, completed: 1}, wft(2)), []string{"start", "signal"}},
		{"an accepted update: a task, accepted, completed", func(c *Counter) {
			c.Started()
			c.UpdateAccepted()
			c.ActivityScheduled("confirm")
			c.UpdateCompleted()
			c.ActivityClosed("confirm", Completed)
		}, plus(Counts{started: 1, accepted: 1, updated: 1, actSched: 1, actStart: 1, actDone: 1}, wft(3)),
			[]string{"start", "update", "activities of task 2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctr := NewCounter()
			c.do(ctr)
			if err := ctr.Err(); err != nil {
				t.Fatal(err)
			}
			if got := ctr.Counts(); got.String() != c.want.String() {
				t.Errorf("counts:\n got  %s\n want %s", got, c.want)
			}
			if got := ctr.Tasks(); !slices.Equal(got, c.tasks) {
				t.Errorf("tasks: got %q, want %q", got, c.tasks)
			}
		})
	}
}

// What the rules cannot count makes the counter an error, never a quiet
// wrong figure.
func TestCounterRefusesWhatItCannotCount(t *testing.T) {
	for _, c := range []struct {
		name string
		do   func(c *Counter)
		want string
	}{
		{"child workflow", func(c *Counter) { c.Unmodelled("child workflow Payout") }, "child workflow Payout"},
		{"activity canceled", func(c *Counter) { c.ActivityScheduled("a"); c.ActivityClosed("a", Canceled) }, `activity "a" canceled`},
		{"result of an activity never scheduled", func(c *Counter) { c.ActivityClosed("z", Completed) }, `activity "z" that was never scheduled`},
		{"timer fired never started", func(c *Counter) { c.TimerFired("9") }, `timer "9" fired`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctr := NewCounter()
			ctr.Started()
			c.do(ctr)
			if err := ctr.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Err() = %v, want one naming %q", err, c.want)
			}
		})
	}
}

// The counts just before the first close signal are what a charged-off
// loan's history holds while it waits.
func TestBeforeSignal(t *testing.T) {
	c := NewCounter()
	c.Started()
	c.TimerStarted("t")
	c.TimerFired("t")
	c.Signal("close")
	c.Signal("close")
	c.Closed(EndCompleted)
	before, ok := c.BeforeSignal("close")
	if !ok || before.Total() != 1+3+2+3 {
		t.Errorf("before the first close: %v (%v), want 9 events", before, ok)
	}
	if _, ok := c.BeforeSignal("pause"); ok {
		t.Error("BeforeSignal of a signal never sent")
	}
	if got := c.Counts().Total(); got != 9+2*(1+3)+1 {
		t.Errorf("total %d, want 18", got)
	}
}
