package metrics

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.temporal.io/sdk/client"
)

// TestWorkerSDKHandler: what goes through the SDK's MetricsHandler comes out
// of the worker's registry with Prometheus names, label values untouched,
// timers as histograms in seconds; a name reused with other labels is
// dropped and counted, never a panic.
func TestWorkerSDKHandler(t *testing.T) {
	var logs bytes.Buffer
	w, err := NewWorker(slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := w.SDK.WithTags(map[string]string{"namespace": "default", "task_queue": "dunning-sms"})
	h.Counter("temporal_activity_execution_failed").Inc(2)
	h.Timer("temporal_activity_schedule_to_start_latency").Record(1500 * time.Millisecond)
	h.Gauge("dunning_audit_stuck_rows").Update(3)
	h.WithTags(map[string]string{"from": "sms", "to": "push"}).Counter("dunning_fallbacks_total").Inc(1)
	w.SDK.Counter("temporal_activity_execution_failed").Inc(5) // other labels: dropped
	w.SDK.Counter("temporal_activity_execution_failed").Inc(5) // logged once
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal("second Close:", err)
	}

	tests := []struct {
		metric string
		want   string
	}{
		{"temporal_activity_execution_failed_total", `
# HELP temporal_activity_execution_failed_total temporal_activity_execution_failed_total counter
# TYPE temporal_activity_execution_failed_total counter
temporal_activity_execution_failed_total{namespace="default",task_queue="dunning-sms"} 2
`},
		{"dunning_audit_stuck_rows", `
# HELP dunning_audit_stuck_rows dunning_audit_stuck_rows gauge
# TYPE dunning_audit_stuck_rows gauge
dunning_audit_stuck_rows{namespace="default",task_queue="dunning-sms"} 3
`},
		{"dunning_fallbacks_total", `
# HELP dunning_fallbacks_total dunning_fallbacks_total counter
# TYPE dunning_fallbacks_total counter
dunning_fallbacks_total{from="sms",namespace="default",task_queue="dunning-sms",to="push"} 1
`},
		{"dunning_metric_errors_total", `
# HELP dunning_metric_errors_total ` + MetricErrors.Help + `
# TYPE dunning_metric_errors_total counter
dunning_metric_errors_total 1
`},
	}
	for _, tt := range tests {
		if err := testutil.GatherAndCompare(w.Registry, strings.NewReader(tt.want), tt.metric); err != nil {
			t.Errorf("%s: %v", tt.metric, err)
		}
	}
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var hist bool
	for _, mf := range mfs {
		if mf.GetName() != "temporal_activity_schedule_to_start_latency_seconds" {
			continue
		}
		hist = true
		hg := mf.GetMetric()[0].GetHistogram()
		if hg.GetSampleCount() != 1 || hg.GetSampleSum() != 1.5 {
			t.Errorf("histogram count %d sum %v", hg.GetSampleCount(), hg.GetSampleSum())
		}
		if n := len(hg.GetBucket()); n != len(SDKBuckets) {
			t.Errorf("%d buckets", n)
		}
	}
	if !hist {
		t.Error("no temporal_activity_schedule_to_start_latency_seconds histogram")
	}
	if n := strings.Count(logs.String(), "metric dropped"); n != 1 {
		t.Errorf("%d log lines for one refused metric:\n%s", n, logs.String())
	}
}

func TestWorkerHandler(t *testing.T) {
	w, err := NewWorker(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.CountLoans((&fakeCounts{counts: map[string]int64{"": 2}}).count, LoanOptions{}); err != nil {
		t.Fatal(err)
	}
	w.Recorder().Notice("sms", "overdue_firm", "sent")
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	tests := []struct {
		accept, wantType string
	}{
		{"", "text/plain; version=0.0.4"},
		{"application/openmetrics-text; version=1.0.0", "application/openmetrics-text"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
			t.Errorf("Accept %q: %d %s", tt.accept, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{
			`dunning_loans{bucket="all",state="all"} 2`,
			`dunning_notices_total{channel="sms",status="sent",template="overdue_firm"} 1`,
			"go_goroutines ",
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("Accept %q: lacks %s", tt.accept, want)
			}
		}
	}
}

// A nil *Worker is metrics turned off.
func TestNilWorker(t *testing.T) {
	var w *Worker
	var o client.Options
	w.ClientOptions(&o)
	if o.MetricsHandler != nil {
		t.Error("off: a MetricsHandler was set")
	}
	if _, ok := w.Recorder().(Nop); !ok {
		t.Errorf("off: Recorder is %T", w.Recorder())
	}
	if err := w.CountLoans(nil, LoanOptions{}); err != nil {
		t.Error(err)
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}

	on, err := NewWorker(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	on.ClientOptions(&o)
	if o.MetricsHandler != on.SDK {
		t.Error("on: the client's MetricsHandler is not the SDK handler")
	}
	if on.Recorder() != Recorder(on.Business) {
		t.Error("on: Recorder is not Business")
	}
}
