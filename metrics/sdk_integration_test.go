package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"dunning/internal/testenv"
	"dunning/metrics"
)

// flaky fails its first attempt.
func flaky(ctx context.Context) error {
	if activity.GetInfo(ctx).Attempt == 1 {
		return errors.New("first attempt fails")
	}
	return nil
}

// emitting emits what the loan workflow emits through its metrics handler,
// and runs an activity that fails once.
func emitting(ctx workflow.Context) error {
	m := workflow.GetMetricsHandler(ctx)
	m.Gauge(metrics.AuditStuckRows.Name).Update(2)
	m.Counter(metrics.AuditStuck.Name).Inc(1)
	m.WithTags(map[string]string{"from": "sms", "to": "push"}).Counter(metrics.Fallbacks.Name).Inc(1)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond},
	})
	return workflow.ExecuteActivity(ctx, flaky).Get(ctx, nil)
}

// TestSDKMetricsOnTheDevServer runs a worker with the worker's metrics
// against the dev server and checks that every temporal_* family it exports
// is in SDKCatalog with exactly the catalog's labels, that the workflow's
// own metrics carry the catalog's labels, that the exporter refused nothing
// (one name, one label set), and that dunning_loans counts through the
// server's visibility.
func TestSDKMetricsOnTheDevServer(t *testing.T) {
	testenv.Temporal(t) // skips without a dev server; registers the search attributes
	w, err := metrics.NewWorker(testenv.Quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort: os.Getenv("DUNNING_TEST_TEMPORAL"), Namespace: "default",
		Logger: tlog.NewStructuredLogger(testenv.Quiet), MetricsHandler: w.SDK,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := w.CountLoans(metrics.CountWorkflows(c), metrics.LoanOptions{}); err != nil {
		t.Fatal(err)
	}

	queue := fmt.Sprintf("metrics-test-%d", time.Now().UnixNano())
	wk := worker.New(c, queue, worker.Options{})
	wk.RegisterWorkflow(emitting)
	wk.RegisterActivity(flaky)
	if err := wk.Start(); err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, emitting)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	wk.Stop()
	if err := w.Close(); err != nil { // reports what is left
		t.Fatal(err)
	}

	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		seen[name] = true
		if metrics.IsRuntime(name) {
			continue
		}
		m, ok := metrics.Lookup(name)
		if !ok {
			t.Errorf("the worker exports %s, which no catalog lists", name)
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName())
			}
			if want := slices.Sorted(slices.Values(m.Labels)); !slices.Equal(slices.Sorted(slices.Values(labels)), want) {
				t.Errorf("%s has labels %v, the catalog says %v", name, labels, want)
			}
		}
	}
	for _, want := range []string{
		"temporal_workflow_task_schedule_to_start_latency_seconds",
		"temporal_workflow_task_execution_latency_seconds",
		"temporal_activity_schedule_to_start_latency_seconds",
		"temporal_activity_execution_latency_seconds",
		"temporal_activity_execution_failed_total",
		"temporal_workflow_completed_total",
		"temporal_workflow_endtoend_latency_seconds",
		"temporal_request_total",
		"temporal_long_request_total",
		"temporal_num_pollers",
		"temporal_worker_task_slots_available",
		metrics.AuditStuckRows.Name, metrics.AuditStuck.Name, metrics.Fallbacks.Name,
		metrics.Loans.Name, metrics.MetricErrors.Name,
	} {
		if !seen[want] {
			t.Errorf("the worker does not export %s", want)
		}
	}
	for _, mf := range mfs {
		if mf.GetName() == metrics.MetricErrors.Name && mf.GetMetric()[0].GetCounter().GetValue() != 0 {
			t.Errorf("the exporter refused %v metric(s)", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}
