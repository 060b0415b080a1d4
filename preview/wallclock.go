package preview

import (
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/facebookgo/clock"
	"go.temporal.io/sdk/testsuite"
)

// The SDK's test environment (go.temporal.io/sdk v1.51.0,
// internal/internal_workflow_testsuite.go, autoFireNextTimer) arms a real
// wall-clock timer for its next workflow timer whenever it has nothing to do
// while an activity runs: time.AfterFunc for all the simulated time still
// left on that timer (days, or the ten years of the run timeout). It stops
// that timer only when the workflow timer later fires on the simulated
// clock. A workflow timer that is cancelled (RequestCancelTimer does not
// stop it), or still pending when the run ends, keeps its wall-clock timer
// running, and the timer's function keeps the whole environment reachable:
// the workflow's state, every payload, a 1,000-entry callback channel. A
// 12-installment loan left about 0.9 MB behind that no collection could
// free; 10,000 loans would have held some 9 GB, and `starter simulate` of
// 10,000 loans was killed for want of memory on a 24 GB machine.
//
// wallClockGuard works around it: the environment gets a wall clock that
// remembers every timer it arms, and the engine stops them all once the run
// is over, when nothing can wait on them any more. Nothing changes while the
// workflow runs, so neither does the preview.

// wallClockGuard is the wall clock of one test environment.
type wallClockGuard struct {
	clock.Clock
	mu     sync.Mutex
	timers []*clock.Timer
}

// AfterFunc arms a wall-clock timer, as the real clock does, and remembers it.
func (g *wallClockGuard) AfterFunc(d time.Duration, f func()) *clock.Timer {
	t := g.Clock.AfterFunc(d, f)
	g.mu.Lock()
	g.timers = append(g.timers, t)
	g.mu.Unlock()
	return t
}

// stop stops every timer armed so far and reports how many there were. A
// nil guard (guardWallClock found no wall clock) stops nothing.
func (g *wallClockGuard) stop() int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := len(g.timers)
	for _, t := range g.timers {
		t.Stop()
	}
	g.timers = nil
	return n
}

// guardWallClock gives env a wallClockGuard as its wall clock and returns
// it. The field is unexported in the SDK, so it is found by name and type;
// if an SDK upgrade moved it, guardWallClock returns nil and the preview runs
// as before (TestWallClockGuard then fails: look again at the SDK).
func guardWallClock(env *testsuite.TestWorkflowEnvironment) *wallClockGuard {
	v := reflect.ValueOf(env).Elem()
	for _, name := range []string{"impl", "testWorkflowEnvironmentShared", "wallClock"} {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return nil
		}
		if v = v.FieldByName(name); !v.IsValid() {
			return nil
		}
	}
	if v.Type() != reflect.TypeFor[clock.Clock]() || !v.CanAddr() {
		return nil
	}
	field := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	current, ok := field.Interface().(clock.Clock)
	if !ok || current == nil {
		return nil
	}
	g := &wallClockGuard{Clock: current}
	field.Set(reflect.ValueOf(clock.Clock(g)))
	return g
}
