package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPrometheusRecorder(t *testing.T) {
	tests := []struct {
		name   string
		record func(Recorder)
		metric Metric
		want   string // the exposition of metric, without HELP and TYPE
	}{
		{
			name: "notices",
			record: func(r Recorder) {
				r.Notice("sms", "overdue_firm", "sent")
				r.Notice("sms", "overdue_firm", "sent")
				r.Notice("email", "reminder_due", "failed")
				r.Notice("push", "", "skipped")
			},
			metric: Notices,
			want: `dunning_notices_total{channel="email",status="failed",template="reminder_due"} 1
dunning_notices_total{channel="push",status="skipped",template="none"} 1
dunning_notices_total{channel="sms",status="sent",template="overdue_firm"} 2
`,
		},
		{
			name:   "receipts",
			record: func(r Recorder) { r.Receipt("twilio", "delivered"); r.Receipt("aliyun", "failed") },
			metric: Receipts,
			want: `dunning_receipts_total{provider="aliyun",status="failed"} 1
dunning_receipts_total{provider="twilio",status="delivered"} 1
`,
		},
		{
			name:   "opt-outs",
			record: func(r Recorder) { r.OptOut("sms", "keyword"); r.OptOut("email", "invalid_recipient") },
			metric: OptOuts,
			want: `dunning_opt_outs_total{channel="email",source="invalid_recipient"} 1
dunning_opt_outs_total{channel="sms",source="keyword"} 1
`,
		},
		{
			name:   "repayments applied",
			record: func(r Recorder) { r.RepaymentApplied(); r.RepaymentApplied(); r.RepaymentApplied() },
			metric: RepaymentsApplied,
			want:   "dunning_repayments_applied_total 3\n",
		},
		{
			name:   "repayments applied before any: 0",
			record: func(Recorder) {},
			metric: RepaymentsApplied,
			want:   "dunning_repayments_applied_total 0\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			r, err := NewPrometheusRecorder(reg)
			if err != nil {
				t.Fatal(err)
			}
			tt.record(r)
			Nop{}.Notice("sms", "x", "sent") // records nowhere
			want := "# HELP " + tt.metric.Name + " " + tt.metric.Help + "\n# TYPE " + tt.metric.Name + " counter\n" + tt.want
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), tt.metric.Name); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRecordersAreIndependent(t *testing.T) {
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	ra, err := NewPrometheusRecorder(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPrometheusRecorder(b); err != nil {
		t.Fatal(err)
	}
	ra.RepaymentApplied()
	if n, _ := testutil.GatherAndCount(b, RepaymentsApplied.Name); n != 1 {
		t.Fatalf("%d series", n)
	}
	if v := testutil.ToFloat64(ra.repayments); v != 1 {
		t.Errorf("a: %v", v)
	}
	if _, err := NewPrometheusRecorder(a); err == nil {
		t.Error("a second recorder on one registry: no error")
	}
}

func TestMetricConstructors(t *testing.T) {
	reg := prometheus.NewRegistry()
	tests := []struct {
		name string
		make func() error
		ok   bool
	}{
		{"counter vec", func() error { _, err := HTTPRequests.CounterVec(reg); return err }, true},
		{"counter", func() error { _, err := LoansStarted.Counter(reg); return err }, true},
		{"counter of a gauge", func() error { _, err := Loans.CounterVec(reg); return err }, false},
		{"plain counter with labels", func() error { _, err := Notices.Counter(reg); return err }, false},
		{"registered twice", func() error { _, err := LoansStarted.Counter(reg); return err }, false},
	}
	for _, tt := range tests {
		if err := tt.make(); (err == nil) != tt.ok {
			t.Errorf("%s: error %v", tt.name, err)
		}
	}
}

func TestNewRegistryHasRuntimeMetrics(t *testing.T) {
	mfs, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var goroutines bool
	for _, mf := range mfs {
		goroutines = goroutines || mf.GetName() == "go_goroutines"
		if !IsRuntime(mf.GetName()) {
			t.Errorf("a new registry serves %s", mf.GetName())
		}
	}
	if !goroutines {
		t.Error("no go_goroutines")
	}
}
