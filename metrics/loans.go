package metrics

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"dunning/policy"
)

// What the loans gauge counts: the loan workflows (workflows.WorkflowType)
// by their search attributes (workflows.AttrLoanState,
// workflows.AttrDelinquencyBucket). Repeated here because the workflows
// package imports the activities, which import this package; a test checks
// they agree.
const (
	LoanWorkflowType      = "LoanWorkflow"
	AttrLoanState         = "LoanState"
	AttrDelinquencyBucket = "DelinquencyBucket"
)

// All is the value of the dunning_loans label that is not broken down.
const All = "all"

// LoanStates are the loan states dunning_loans counts (every policy state: a
// paid-off or closed loan is still running for the moment it finishes).
var LoanStates = []string{
	policy.StateCurrent, policy.StateOverdue, policy.StatePaused,
	policy.StateChargedOff, policy.StatePaidOff, policy.StateClosed,
}

// Buckets are the delinquency buckets of policy.Bucket.
var Buckets = []string{"current", "1-7", "8-15", "16-30", "31-60", "61-90", "90+"}

// LoanQuery is one visibility count behind one dunning_loans series.
type LoanQuery struct {
	State, Bucket string
	Query         string
}

// LoanQueries are the counts one refresh of dunning_loans makes: running
// loans in all, then per state, then per bucket. Temporal's visibility
// (the dev server's SQL store, as PostgreSQL, MySQL and Elasticsearch
// visibility) groups counts by ExecutionStatus only ("'group by' clause is
// only supported for ExecutionStatus search attribute"), so each value is a
// query of its own; states and buckets are not crossed, which would take 42.
func LoanQueries() []LoanQuery {
	base := fmt.Sprintf("WorkflowType = %q AND ExecutionStatus = \"Running\"", LoanWorkflowType)
	qs := []LoanQuery{{State: All, Bucket: All, Query: base}}
	for _, s := range LoanStates {
		qs = append(qs, LoanQuery{State: s, Bucket: All, Query: fmt.Sprintf("%s AND %s = %q", base, AttrLoanState, s)})
	}
	for _, b := range Buckets {
		qs = append(qs, LoanQuery{State: All, Bucket: b, Query: fmt.Sprintf("%s AND %s = %q", base, AttrDelinquencyBucket, b)})
	}
	return qs
}

// CountFunc counts the workflow executions a visibility query matches.
type CountFunc func(ctx context.Context, query string) (int64, error)

// CountWorkflows counts with c's CountWorkflow, in c's namespace.
func CountWorkflows(c client.Client) CountFunc {
	return func(ctx context.Context, query string) (int64, error) {
		resp, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			return 0, err
		}
		return resp.GetCount(), nil
	}
}

// LoanOptions tune a LoanCollector; zero values take the defaults.
type LoanOptions struct {
	// TTL is how long one refresh serves scrapes, failed or not (30 s), so
	// scrapes stay cheap and a Temporal outage is not hammered.
	TTL time.Duration
	// Timeout bounds one refresh (8 s, under Prometheus's default scrape
	// timeout of 10 s).
	Timeout time.Duration
	// Parallel is how many counts run at once (4).
	Parallel int
	// Log gets a warning per failed refresh; nil discards.
	Log *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// LoanCollector is the dunning_loans gauge, filled on scrape from
// LoanQueries and cached for TTL, with dunning_loans_count_errors_total.
// When a refresh fails (any of its counts), dunning_loans is absent until a
// refresh succeeds: a stale count is never served as a fresh one.
type LoanCollector struct {
	count  CountFunc
	opts   LoanOptions
	desc   *prometheus.Desc
	errors prometheus.Counter

	mu     sync.Mutex
	at     time.Time           // of the last refresh; zero before the first
	values map[[2]string]int64 // by {state, bucket}; nil after a failed refresh
}

// NewLoanCollector returns the collector of dunning_loans over count;
// register it in the worker's registry.
func NewLoanCollector(count CountFunc, opts LoanOptions) *LoanCollector {
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 8 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &LoanCollector{
		count:  count,
		opts:   opts,
		desc:   prometheus.NewDesc(Loans.Name, Loans.Help, Loans.Labels, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: LoanCountErrors.Name, Help: LoanCountErrors.Help}),
	}
}

// Describe implements prometheus.Collector.
func (c *LoanCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector: the cached counts, refreshed
// first when older than TTL.
func (c *LoanCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if c.at.IsZero() || c.opts.Now().Sub(c.at) >= c.opts.TTL {
		c.values = c.refresh()
		c.at = c.opts.Now()
	}
	values := c.values
	c.mu.Unlock()
	for k, v := range values {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), k[0], k[1])
	}
	c.errors.Collect(ch)
}

// refresh makes every count of LoanQueries, Parallel at a time; nil if one
// fails.
func (c *LoanCollector) refresh() map[[2]string]int64 {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	qs := LoanQueries()
	counts := make([]int64, len(qs))
	errs := make([]error, len(qs))
	sem := make(chan struct{}, c.opts.Parallel)
	var wg sync.WaitGroup
	for i, q := range qs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			counts[i], errs[i] = c.count(ctx, q.Query)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", q.Query, errs[i])
			}
		}()
	}
	wg.Wait()
	failed, first := 0, error(nil)
	for _, err := range errs {
		if err != nil {
			failed++
			first = cmp.Or(first, err)
		}
	}
	if failed > 0 {
		c.errors.Inc()
		c.opts.Log.Warn("dunning_loans not counted", "failed", failed, "of", len(qs), "error", first)
		return nil
	}
	values := make(map[[2]string]int64, len(qs))
	for i, q := range qs {
		values[[2]string{q.State, q.Bucket}] = counts[i]
	}
	return values
}
