package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"dunning/metrics"
)

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name, Type, Query string
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("grafana", "dunning.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("grafana/dunning.json: %v", err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// TestDashboard: the dashboard is one Grafana can import, every query is on
// a metric we export (metrics.Catalog) or one the SDK exports as our worker
// names it (metrics.SDKCatalog), with labels that metric has, and the
// dashboard shows what operations asked for.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 {
		t.Errorf("uid %q title %q schemaVersion %d", d.UID, d.Title, d.SchemaVersion)
	}
	if !slices.ContainsFunc(d.Templating.List, func(v struct{ Name, Type, Query string }) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}) {
		t.Error("no $datasource variable of type prometheus")
	}
	ids := map[int]string{}
	used := map[string]bool{}
	for _, p := range allPanels(d.Panels) {
		if prev, ok := ids[p.ID]; ok {
			t.Errorf("panel id %d of %q is also %q's", p.ID, p.Title, prev)
		}
		ids[p.ID] = p.Title
		if p.Title == "" || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %d %q: title or gridPos %+v", p.ID, p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("%q has no query", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("%q: datasource %+v, want the $datasource variable", p.Title, p.Datasource)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if refs[tg.RefID] || tg.RefID == "" {
				t.Errorf("%q: refId %q empty or twice", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource != nil && tg.Datasource.UID != "${datasource}" {
				t.Errorf("%q: a query on datasource %+v", p.Title, tg.Datasource)
			}
			q, err := parseQuery(tg.Expr)
			if err != nil {
				t.Errorf("%q: %s: %v", p.Title, tg.Expr, err)
				continue
			}
			if len(q.selectors) == 0 {
				t.Errorf("%q: %s names no metric", p.Title, tg.Expr)
			}
			var known []metrics.Metric
			for _, sel := range q.selectors {
				used[sel.name] = true
				m, ok := metrics.Lookup(sel.name)
				if !ok {
					t.Errorf("%q: %s is neither in metrics.Catalog nor a metric the SDK exports (metrics.SDKCatalog)", p.Title, sel.name)
					continue
				}
				used[m.Name] = true
				known = append(known, m)
				for _, l := range sel.labels {
					if !m.HasLabel(l) {
						t.Errorf("%q: %s has no label %q (it has %v)", p.Title, sel.name, l, m.Labels)
					}
				}
			}
			for _, l := range q.grouping {
				if len(known) > 0 && !slices.ContainsFunc(known, func(m metrics.Metric) bool { return m.HasLabel(l) }) {
					t.Errorf("%q: groups by %q, which none of its metrics has", p.Title, l)
				}
			}
		}
	}
	// What the dashboard is for.
	for _, want := range []string{
		metrics.Notices.Name, metrics.Fallbacks.Name, metrics.Receipts.Name, metrics.OptOuts.Name,
		metrics.RepaymentsApplied.Name, metrics.Loans.Name, metrics.AuditStuckRows.Name,
		metrics.HTTPRequests.Name,
		"temporal_workflow_task_schedule_to_start_latency_seconds",
		"temporal_activity_schedule_to_start_latency_seconds",
		"temporal_activity_execution_failed_total",
	} {
		if !used[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// query is what a PromQL expression uses: its metric selectors with the
// labels they match on, and the labels it groups or matches by.
type query struct {
	selectors []selector
	grouping  []string
}

type selector struct {
	name   string
	labels []string
}

// keywords are PromQL words that are neither metrics nor functions.
var keywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"offset": true, "bool": true, "and": true, "or": true, "unless": true, "atan2": true,
	"inf": true, "nan": true, "Inf": true, "NaN": true,
}

// aggregators are PromQL's aggregation operators.
var aggregators = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// groupers take a parenthesized list of label names.
var groupers = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}

// parseQuery finds the metric names and label names of a PromQL expression:
// enough PromQL for dashboards (selectors, functions, aggregations with
// by/without, binary operators with on/ignoring/group_*), without pulling
// in the Prometheus server module.
func parseQuery(expr string) (query, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return query{}, err
	}
	var q query
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		next := func(k int) string {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return ""
		}
		switch {
		case groupers[tk] && next(1) == "(":
			i += 2
			for ; i < len(toks) && toks[i] != ")"; i++ {
				if isIdent(toks[i]) {
					q.grouping = append(q.grouping, toks[i])
				}
			}
		case keywords[tk]:
		case isIdent(tk) && next(1) == "(":
			// a function or an aggregation
		case aggregators[tk] && (next(1) == "by" || next(1) == "without"):
			// an aggregation with its grouping first: sum by (a) (x)
		case isIdent(tk):
			sel := selector{name: tk}
			if next(1) == "{" {
				i += 2
				for ; i < len(toks) && toks[i] != "}"; i++ {
					if isIdent(toks[i]) && strings.ContainsAny(next(1), "=!") {
						sel.labels = append(sel.labels, toks[i])
					}
				}
			}
			q.selectors = append(q.selectors, sel)
		case tk == "{":
			return query{}, errString("a selector without a metric name")
		}
	}
	return q, nil
}

type errString string

func (e errString) Error() string { return string(e) }

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// tokenize splits expr into identifiers, numbers, operators and brackets;
// string literals become "" and range or subquery brackets ([5m],
// [$__rate_interval]) are dropped.
func tokenize(expr string) ([]string, error) {
	var toks []string
	rs := []rune(expr)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
		case r == '"' || r == '\'' || r == '`':
			j := i + 1
			for ; j < len(rs) && rs[j] != r; j++ {
				if rs[j] == '\\' && r != '`' {
					j++
				}
			}
			if j >= len(rs) {
				return nil, errString("unterminated string")
			}
			toks = append(toks, `""`)
			i = j
		case r == '[':
			j := i
			for ; j < len(rs) && rs[j] != ']'; j++ {
			}
			if j >= len(rs) {
				return nil, errString("unterminated [")
			}
			i = j
		case r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			j := i
			for ; j < len(rs) && (rs[j] == '_' || rs[j] == ':' || rs[j] >= 'a' && rs[j] <= 'z' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= '0' && rs[j] <= '9'); j++ {
			}
			toks = append(toks, string(rs[i:j]))
			i = j - 1
		case r >= '0' && r <= '9' || r == '.':
			j := i
			for ; j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == '.' || rs[j] == 'e' || rs[j] >= 'a' && rs[j] <= 'z'); j++ {
			}
			toks = append(toks, "0") // a number or a duration (offset 5m)
			i = j - 1
		case r == '$':
			return nil, errString("a Grafana variable outside a range or a string")
		default:
			toks = append(toks, string(r))
		}
	}
	return toks, nil
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		expr      string
		selectors []selector
		grouping  []string
		err       bool
	}{
		{expr: "up", selectors: []selector{{name: "up"}}},
		{
			expr:      `sum by (channel, status) (rate(dunning_notices_total{status="failed", channel=~"sms|push"}[$__rate_interval]))`,
			selectors: []selector{{name: "dunning_notices_total", labels: []string{"status", "channel"}}},
			grouping:  []string{"channel", "status"},
		},
		{
			expr:      `histogram_quantile(0.95, sum by (le, task_queue) (rate(temporal_activity_schedule_to_start_latency_seconds_bucket[5m])))`,
			selectors: []selector{{name: "temporal_activity_schedule_to_start_latency_seconds_bucket"}},
			grouping:  []string{"le", "task_queue"},
		},
		{
			expr:      `sum(rate(a_total{code=~"5.."}[1m])) / ignoring(code) group_left sum(rate(b_total[1m] offset 1h)) > bool 0`,
			selectors: []selector{{name: "a_total", labels: []string{"code"}}, {name: "b_total"}},
			grouping:  []string{"code"},
		},
		{expr: `sum(x) without (instance)`, selectors: []selector{{name: "x"}}, grouping: []string{"instance"}},
		{expr: `topk without (a) (5, x)`, selectors: []selector{{name: "x"}}, grouping: []string{"a"}},
		{expr: `max(dunning_loans{state="it's \"all\""})`, selectors: []selector{{name: "dunning_loans", labels: []string{"state"}}}},
		{expr: `{__name__="x"}`, err: true},
		{expr: `rate(x{a="b}[5m])`, err: true},
		{expr: `x{a="$var"} * $factor`, err: true},
	}
	for _, tt := range tests {
		q, err := parseQuery(tt.expr)
		if (err != nil) != tt.err {
			t.Errorf("%s: error %v", tt.expr, err)
			continue
		}
		if tt.err {
			continue
		}
		if !slices.EqualFunc(q.selectors, tt.selectors, func(a, b selector) bool {
			return a.name == b.name && slices.Equal(a.labels, b.labels)
		}) || !slices.Equal(q.grouping, tt.grouping) {
			t.Errorf("%s:\n got %+v %v\nwant %+v %v", tt.expr, q.selectors, q.grouping, tt.selectors, tt.grouping)
		}
	}
}
