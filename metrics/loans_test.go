package metrics

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeCounts answers visibility counts from a table of queries, counting the
// calls and how many ran at once.
type fakeCounts struct {
	counts map[string]int64 // by the query's last condition ("LoanState=overdue"); "" is the total
	fail   string           // a query containing it fails
	block  bool             // every call waits for its context to end

	calls, running, peak atomic.Int64
}

func (f *fakeCounts) count(ctx context.Context, query string) (int64, error) {
	f.calls.Add(1)
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(time.Millisecond) // let the others overlap
	if f.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if f.fail != "" && strings.Contains(query, f.fail) {
		return 0, errors.New("visibility unavailable")
	}
	key := "" // the total has two conditions, the others a third
	if strings.Count(query, " AND ") == 2 {
		cond := query[strings.LastIndex(query, " AND ")+5:]
		key = strings.ReplaceAll(strings.ReplaceAll(cond, `"`, ""), " = ", "=")
	}
	return f.counts[key], nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scrape gathers reg: dunning_loans by "state/bucket" and the error count.
func scrape(t *testing.T, reg *prometheus.Registry) (loans map[string]float64, errs float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	loans = map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case Loans.Name:
				loans[label(m, "state")+"/"+label(m, "bucket")] = m.GetGauge().GetValue()
			case LoanCountErrors.Name:
				errs = m.GetCounter().GetValue()
			}
		}
	}
	return loans, errs
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestLoanQueries(t *testing.T) {
	qs := LoanQueries()
	if len(qs) != 1+len(LoanStates)+len(Buckets) {
		t.Fatalf("%d queries", len(qs))
	}
	want := map[string]string{
		"all/all":     `WorkflowType = "LoanWorkflow" AND ExecutionStatus = "Running"`,
		"overdue/all": `WorkflowType = "LoanWorkflow" AND ExecutionStatus = "Running" AND LoanState = "overdue"`,
		"all/90+":     `WorkflowType = "LoanWorkflow" AND ExecutionStatus = "Running" AND DelinquencyBucket = "90+"`,
	}
	seen := map[string]bool{}
	for _, q := range qs {
		k := q.State + "/" + q.Bucket
		if seen[k] {
			t.Errorf("%s twice", k)
		}
		seen[k] = true
		if w, ok := want[k]; ok && q.Query != w {
			t.Errorf("%s: query %s, want %s", k, q.Query, w)
		}
		if strings.Contains(q.Query, "GROUP BY") {
			t.Errorf("%s: visibility groups by ExecutionStatus only: %s", k, q.Query)
		}
	}
}

func TestLoanCollector(t *testing.T) {
	full := map[string]int64{"": 10, "LoanState=current": 4, "LoanState=overdue": 5, "LoanState=paused": 1,
		"DelinquencyBucket=1-7": 3, "DelinquencyBucket=8-15": 2}
	tests := []struct {
		name      string
		fake      *fakeCounts
		wantLoans map[string]float64 // a subset of the series; nil: none at all
		wantErrs  float64
	}{
		{
			name: "every count",
			fake: &fakeCounts{counts: full},
			wantLoans: map[string]float64{
				"all/all": 10, "current/all": 4, "overdue/all": 5, "paused/all": 1, "charged_off/all": 0,
				"paid_off/all": 0, "closed/all": 0, "all/current": 0, "all/1-7": 3, "all/8-15": 2, "all/90+": 0,
			},
		},
		{name: "one count fails: no series, an error", fake: &fakeCounts{counts: full, fail: `"8-15"`}, wantErrs: 1},
		{name: "visibility hangs: the refresh gives up", fake: &fakeCounts{block: true}, wantErrs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			reg := prometheus.NewRegistry()
			reg.MustRegister(NewLoanCollector(tt.fake.count, LoanOptions{
				Timeout: 50 * time.Millisecond, Parallel: 3, Now: clock.now,
			}))
			start := time.Now()
			loans, errs := scrape(t, reg)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("scrape took %v", d)
			}
			if errs != tt.wantErrs {
				t.Errorf("errors %v, want %v", errs, tt.wantErrs)
			}
			if tt.wantLoans == nil && len(loans) > 0 {
				t.Errorf("series after a failed refresh: %v", loans)
			}
			for k, v := range tt.wantLoans {
				if got, ok := loans[k]; !ok || got != v {
					t.Errorf("dunning_loans %s = %v (present %v), want %v", k, got, ok, v)
				}
			}
			if tt.wantLoans != nil && len(loans) != len(LoanQueries()) {
				t.Errorf("%d series, want %d", len(loans), len(LoanQueries()))
			}
			if p := tt.fake.peak.Load(); p > 3 {
				t.Errorf("%d counts at once, Parallel is 3", p)
			}
		})
	}
}

func TestLoanCollectorCaches(t *testing.T) {
	tests := []struct {
		name      string
		after     time.Duration // since the first scrape
		wantCalls int64         // in all, after the second scrape
	}{
		{"within the TTL: cached", 29 * time.Second, 1},
		{"at the TTL: counted again", 30 * time.Second, 2},
	}
	for _, tt := range tests {
		for _, fail := range []bool{false, true} {
			name := tt.name
			if fail {
				name += ", failed refresh"
			}
			t.Run(name, func(t *testing.T) {
				fake := &fakeCounts{counts: map[string]int64{"": 7}}
				if fail {
					fake.fail = "WorkflowType" // every query
				}
				clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
				reg := prometheus.NewRegistry()
				reg.MustRegister(NewLoanCollector(fake.count, LoanOptions{Now: clock.now}))
				scrape(t, reg)
				clock.add(tt.after)
				loans, errs := scrape(t, reg)
				per := int64(len(LoanQueries()))
				if got := fake.calls.Load(); got != tt.wantCalls*per {
					t.Errorf("%d counts, want %d refresh(es) of %d", got, tt.wantCalls, per)
				}
				if fail {
					if len(loans) != 0 || errs != float64(tt.wantCalls) {
						t.Errorf("loans %v errors %v", loans, errs)
					}
				} else if loans["all/all"] != 7 || errs != 0 {
					t.Errorf("loans %v errors %v", loans, errs)
				}
			})
		}
	}
}

func TestLoanCollectorRecovers(t *testing.T) {
	fake := &fakeCounts{counts: map[string]int64{"": 3}, fail: "WorkflowType"}
	clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	c := NewLoanCollector(fake.count, LoanOptions{Now: clock.now})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	if loans, _ := scrape(t, reg); len(loans) != 0 {
		t.Fatalf("series while failing: %v", loans)
	}
	c.mu.Lock()
	fake.fail = ""
	c.mu.Unlock()
	clock.add(30 * time.Second)
	loans, errs := scrape(t, reg)
	if loans["all/all"] != 3 || errs != 1 {
		t.Errorf("after recovery: loans %v, errors %v", loans, errs)
	}
}

func TestLoanCollectorConcurrentScrapes(t *testing.T) {
	fake := &fakeCounts{counts: map[string]int64{"": 1}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewLoanCollector(fake.count, LoanOptions{}))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, per := fake.calls.Load(), int64(len(LoanQueries())); got != per {
		t.Errorf("8 scrapes at once made %d counts, want one refresh (%d)", got, per)
	}
}
