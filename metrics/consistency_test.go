package metrics_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"dunning/metrics"
	"dunning/policy"
	"dunning/workflows"
)

// The loans gauge queries with the workflows' own names.
func TestLoanNamesMatchTheWorkflow(t *testing.T) {
	tests := []struct{ ours, theirs string }{
		{metrics.LoanWorkflowType, workflows.WorkflowType},
		{metrics.AttrLoanState, workflows.AttrLoanState.GetName()},
		{metrics.AttrDelinquencyBucket, workflows.AttrDelinquencyBucket.GetName()},
	}
	for _, tt := range tests {
		if tt.ours != tt.theirs {
			t.Errorf("metrics has %q, workflows %q", tt.ours, tt.theirs)
		}
	}
}

// Buckets are exactly policy.Bucket's values, in order of days past due.
func TestBucketsArePolicys(t *testing.T) {
	var got []string
	for dpd := -1; dpd <= 400; dpd++ {
		if b := policy.Bucket(dpd); !slices.Contains(got, b) {
			got = append(got, b)
		}
	}
	if !slices.Equal(got, metrics.Buckets) {
		t.Errorf("policy.Bucket gives %v, metrics.Buckets is %v", got, metrics.Buckets)
	}
}

// emitted matches a metric emitted in workflow code with a literal name.
var emitted = regexp.MustCompile(`\.(Counter|Gauge|Timer)\("([^"]+)"\)`)

// Every metric workflow code emits through workflow.GetMetricsHandler is in
// the catalog, under the name the exporter gives it, as a workflow metric.
func TestWorkflowMetricsAreCataloged(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "workflows", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range emitted.FindAllStringSubmatch(string(src), -1) {
			found++
			kind, name := m[1], m[2]
			switch {
			case kind == "Counter" && !strings.HasSuffix(name, "_total"):
				name += "_total"
			case kind == "Timer" && !strings.HasSuffix(name, "_seconds"):
				name += "_seconds"
			}
			c, ok := metrics.Lookup(name)
			if !ok || c.Source != metrics.SourceWorkflow {
				t.Errorf("%s emits %s %q, exported as %s: add it to metrics.Catalog as a workflow metric",
					filepath.Base(f), kind, m[2], name)
				continue
			}
			if want := map[string]metrics.Kind{"Counter": metrics.Counter, "Gauge": metrics.Gauge, "Timer": metrics.Histogram}[kind]; c.Kind != want {
				t.Errorf("%s emits %s as a %s; the catalog says %s", filepath.Base(f), name, kind, c.Kind)
			}
		}
	}
	if found == 0 {
		t.Error("no metric found in workflows/*.go: has the code moved?")
	}
}
