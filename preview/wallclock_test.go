package preview

import (
	"context"
	"runtime"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"dunning/policy"
)

// TestWallClockGuard: the engine finds the test environment's wall clock
// (an unexported field of the SDK's) and replaces it, and previews leave
// nothing behind: 40 previews of loans that continue-as-new at every
// installment paid kept some 19 MB reachable for days before
// wallClockGuard, and keep next to nothing now. Not parallel: the heap is
// measured, and parallel tests wait until the sequential ones are done.
func TestWallClockGuard(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	if guardWallClock(s.NewTestWorkflowEnvironment()) == nil {
		t.Fatal("the test environment has no wall clock field where guardWallClock looks: the SDK changed; look again at wallclock.go")
	}
	book, pays := equivBook(t, 40)
	tr := renderer(t)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// One preview first: templates, zones and the SDK's own caches load once.
	if _, err := Run(context.Background(), book[0], Options{Policy: policy.Default(), Templates: tr, Payments: pays[0]}); err != nil {
		t.Fatal(err)
	}
	before := heap()
	runs := 0
	for i, l := range book {
		tl, err := Run(context.Background(), l, Options{Policy: policy.Default(), Templates: tr, Payments: pays[i]})
		if err != nil {
			t.Fatal(err)
		}
		runs += tl.Runs
	}
	grown := int64(heap()) - int64(before)
	t.Logf("%d previews, %d runs of the workflow: the heap grew %d kB", len(book), runs, grown>>10)
	if grown > 8<<20 {
		t.Errorf("%d previews kept %d MB reachable after they ended", len(book), grown>>20)
	}
}
