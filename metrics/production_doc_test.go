package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/PRODUCTION.md documents every metric of the catalog, and the SDK
// metrics it names are ones the worker exports.
func TestProductionDocListsEveryMetric(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "PRODUCTION.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, m := range Catalog {
		if !strings.Contains(doc, "`"+m.Name+"`") {
			t.Errorf("docs/PRODUCTION.md does not document %s", m.Name)
		}
	}
	// Names that look like SDK metrics and are not: Temporal's databases.
	notMetrics := []string{"temporal_visibility"}
	for _, name := range regexp.MustCompile(`\btemporal_[a-z_]+`).FindAllString(doc, -1) {
		if _, ok := Lookup(name); !ok && !slices.Contains(notMetrics, name) {
			t.Errorf("docs/PRODUCTION.md names %s, which the worker does not export", name)
		}
	}
	for _, want := range []string{"METRICS_ADDR", "127.0.0.1:9090", "deploy/grafana/dunning.json"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/PRODUCTION.md does not mention %s", want)
		}
	}
}
