package metrics

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

var validName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

func TestCatalogs(t *testing.T) {
	seen := map[string]bool{}
	for _, list := range []struct {
		name    string
		metrics []Metric
	}{{"Catalog", Catalog}, {"SDKCatalog", SDKCatalog}} {
		for _, m := range list.metrics {
			if seen[m.Name] {
				t.Errorf("%s: %s listed twice", list.name, m.Name)
			}
			seen[m.Name] = true
			if !validName.MatchString(m.Name) {
				t.Errorf("%s: %q is not a Prometheus name", list.name, m.Name)
			}
			if (m.Kind == Counter) != strings.HasSuffix(m.Name, "_total") {
				t.Errorf("%s: %s is a %s: only counters, and all of them, end in _total", list.name, m.Name, m.Kind)
			}
			if m.Help == "" || m.Source == "" {
				t.Errorf("%s: %s lacks help or source", list.name, m.Name)
			}
			for _, l := range m.Labels {
				if !validName.MatchString(l) || strings.HasPrefix(l, "__") || l == "le" {
					t.Errorf("%s: %s: bad label %q", list.name, m.Name, l)
				}
			}
			if len(slices.Compact(slices.Sorted(slices.Values(m.Labels)))) != len(m.Labels) {
				t.Errorf("%s: %s: a label twice in %v", list.name, m.Name, m.Labels)
			}
		}
	}
	for name := range SDKExtraLabels {
		if _, ok := Lookup(name); !ok || !strings.HasPrefix(name, "temporal_") {
			t.Errorf("SDKExtraLabels names %s, which SDKCatalog lacks", name)
		}
	}
	for _, m := range Catalog {
		if m.Source == SourceWorkflow && !strings.HasPrefix(m.Name, "dunning_") {
			t.Errorf("%s: workflow metrics are named dunning_*", m.Name)
		}
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		series string
		want   string // the metric's name; "" when unknown
	}{
		{"dunning_notices_total", "dunning_notices_total"},
		{"dunning_loans", "dunning_loans"},
		{"http_requests_total", "http_requests_total"},
		{"dunning_fallbacks_total", "dunning_fallbacks_total"},
		{"temporal_activity_execution_failed_total", "temporal_activity_execution_failed_total"},
		{"temporal_workflow_task_schedule_to_start_latency_seconds_bucket", "temporal_workflow_task_schedule_to_start_latency_seconds"},
		{"temporal_workflow_task_schedule_to_start_latency_seconds_count", "temporal_workflow_task_schedule_to_start_latency_seconds"},
		{"temporal_workflow_task_schedule_to_start_latency_seconds_sum", "temporal_workflow_task_schedule_to_start_latency_seconds"},
		{"temporal_num_pollers", "temporal_num_pollers"},
		// Names other exporters would give, which ours does not.
		{"temporal_activity_execution_failed", ""},
		{"temporal_workflow_task_schedule_to_start_latency", ""},
		{"temporal_workflow_task_schedule_to_start_latency_bucket", ""},
		{"dunning_notices", ""},
		{"dunning_notices_total_bucket", ""},
		{"go_goroutines", ""},
	}
	for _, tt := range tests {
		m, ok := Lookup(tt.series)
		if ok != (tt.want != "") || m.Name != tt.want {
			t.Errorf("Lookup(%s) = %s, %v; want %q", tt.series, m.Name, ok, tt.want)
		}
	}
	if !IsRuntime("go_goroutines") || !IsRuntime("process_resident_memory_bytes") || IsRuntime("dunning_loans") {
		t.Error("IsRuntime")
	}
}

func TestHasLabel(t *testing.T) {
	tests := []struct {
		m     Metric
		label string
		want  bool
	}{
		{Notices, "channel", true},
		{Notices, "task_queue", false},
		{Fallbacks, "from", true},
		{Fallbacks, "task_queue", true},
		{AuditStuckRows, "workflow_type", true},
		{Loans, "state", true},
		{Loans, "le", false},
		{HTTPRequests, "code", true},
	}
	for _, tt := range tests {
		if got := tt.m.HasLabel(tt.label); got != tt.want {
			t.Errorf("%s has %s: %v", tt.m.Name, tt.label, got)
		}
	}
	m, _ := Lookup("temporal_activity_schedule_to_start_latency_seconds")
	if !m.HasLabel("le") || !m.HasLabel("task_queue") {
		t.Errorf("%s: histogram labels %v", m.Name, m.Labels)
	}
	if m, _ := Lookup("temporal_request_failure_total"); !m.HasLabel("status_code") || !m.HasLabel("operation") {
		t.Errorf("temporal_request_failure_total labels %v", m.Labels)
	}
}
