// Package metrics is dunning's Prometheus metrics in one place: the name,
// type, labels and help of every metric the API and the worker export
// (Catalog), the Temporal SDK's own metrics as the worker exports them
// (SDKCatalog), the business metrics (Recorder, with a Prometheus
// implementation and a no-op), the open-loans gauge counted through Temporal
// visibility (LoanCollector), and the worker's registry with the SDK's
// MetricsHandler (NewWorker).
//
// Where each metric comes from:
//
//   - the API (starter serve, GET /metrics): http_requests_total,
//     loans_started_total, repayments_total, and the business counters its
//     webhooks record (receipts, opt-outs by keyword, repayments applied);
//   - the worker (METRICS_ADDR, /metrics): the business counters its
//     activities record (notices, opt-outs of invalid recipients), the SDK's
//     temporal_* metrics, dunning_loans, and the metrics workflow code emits
//     through workflow.GetMetricsHandler (dunning_audit_stuck_rows,
//     dunning_audit_stuck_total, dunning_fallbacks_total).
//
// Both endpoints also serve the Go runtime's go_* and process_* metrics.
// Every registry here is one instance's own, never prometheus's global
// default, so tests and several servers in one process do not share counts.
package metrics

import (
	"slices"
	"strings"
)

// Kind is a metric's Prometheus type.
type Kind string

// Metric kinds.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
)

// Source says which process serves a metric and how it is made.
type Source string

// Metric sources.
const (
	// SourceAPI: the API's /metrics (client_golang).
	SourceAPI Source = "api"
	// SourceWorker: the worker's /metrics (client_golang).
	SourceWorker Source = "worker"
	// SourceBoth: a Recorder metric, served by whichever process records it
	// (the API's webhooks, the worker's activities); sum over both jobs.
	SourceBoth Source = "api+worker"
	// SourceWorkflow: emitted by workflow code through
	// workflow.GetMetricsHandler and served on the worker's /metrics by the
	// SDK's handler, which adds SDKLabels (and skips replays).
	SourceWorkflow Source = "workflow"
)

// Metric describes one metric family: its exposed name (a counter's ends in
// _total), kind, label names and help.
type Metric struct {
	Name   string
	Kind   Kind
	Labels []string
	Help   string
	Source Source
}

// SDKLabels are the labels the Temporal SDK puts on every metric it exports,
// its own and those emitted through workflow.GetMetricsHandler.
var SDKLabels = []string{"namespace", "client_name", "worker_type", "workflow_type", "activity_type", "task_queue"}

// The metrics dunning exports. Catalog lists them all.
var (
	HTTPRequests = Metric{Name: "http_requests_total", Kind: Counter, Labels: []string{"method", "path", "code"},
		Help: "HTTP requests answered, by method, route pattern and status code.", Source: SourceAPI}
	LoansStarted = Metric{Name: "loans_started_total", Kind: Counter,
		Help: "Loan workflows started (not counting loans already running).", Source: SourceAPI}
	Repayments = Metric{Name: "repayments_total", Kind: Counter,
		Help: "Repayments the loan workflows answered with a balance.", Source: SourceAPI}

	Notices = Metric{Name: "dunning_notices_total", Kind: Counter, Labels: []string{"channel", "template", "status"},
		Help: "Notices by outcome: status sent, failed, skipped or unknown.", Source: SourceBoth}
	Receipts = Metric{Name: "dunning_receipts_total", Kind: Counter, Labels: []string{"provider", "status"},
		Help: "Delivery receipts (status callbacks) from providers, by provider and delivery status.", Source: SourceBoth}
	OptOuts = Metric{Name: "dunning_opt_outs_total", Kind: Counter, Labels: []string{"channel", "source"},
		Help: "Channels opted out, by channel and source (keyword, invalid_recipient, receipt, contact).", Source: SourceBoth}
	RepaymentsApplied = Metric{Name: "dunning_repayments_applied_total", Kind: Counter,
		Help: "Repayments applied to a loan's balance (a repeated txn_id is not counted).", Source: SourceBoth}

	Loans = Metric{Name: "dunning_loans", Kind: Gauge, Labels: []string{"state", "bucket"},
		Help: `Running loan workflows, counted through Temporal visibility: by state with bucket="all", ` +
			`by delinquency bucket with state="all", all of them with both "all".`, Source: SourceWorker}
	LoanCountErrors = Metric{Name: "dunning_loans_count_errors_total", Kind: Counter,
		Help: "Refreshes of dunning_loans that failed (the gauge is absent until one succeeds).", Source: SourceWorker}
	MetricErrors = Metric{Name: "dunning_metric_errors_total", Kind: Counter,
		Help: "SDK or workflow metrics dropped because the exporter refused them (a name reused with other labels).", Source: SourceWorker}

	AuditStuckRows = Metric{Name: "dunning_audit_stuck_rows", Kind: Gauge, Labels: SDKLabels,
		Help: "Audit rows, cases and notice rows a loan could not write, as last reported by any loan.", Source: SourceWorkflow}
	AuditStuck = Metric{Name: "dunning_audit_stuck_total", Kind: Counter, Labels: SDKLabels,
		Help: "Audit flushes that left something unwritten.", Source: SourceWorkflow}
	Fallbacks = Metric{Name: "dunning_fallbacks_total", Kind: Counter, Labels: append(slices.Clone(SDKLabels), "from", "to"),
		Help: "Notices sent again on a fallback channel because the address on the first was invalid.", Source: SourceWorkflow}
)

// Catalog is every metric dunning exports itself, in one list: the dashboard
// test and docs/PRODUCTION.md are checked against it.
var Catalog = []Metric{
	HTTPRequests, LoansStarted, Repayments,
	Notices, Receipts, OptOuts, RepaymentsApplied,
	Loans, LoanCountErrors, MetricErrors,
	AuditStuckRows, AuditStuck, Fallbacks,
}

// SDKCatalog is the Temporal Go SDK's metrics (v1.51) as the worker exports
// them (contrib/tally with the Prometheus naming scope): a counter gets
// _total, a timer becomes a histogram in seconds named ..._seconds. Every
// one carries SDKLabels; some add more (SDKExtraLabels). Nexus metrics are
// left out: dunning runs no Nexus worker. TestSDKMetricsOnTheDevServer
// checks the list, names and labels, against what a worker exports.
var SDKCatalog = sdkCatalog()

// SDKExtraLabels are the labels some SDK metrics add to SDKLabels.
var SDKExtraLabels = map[string][]string{
	"temporal_workflow_task_execution_failed_total":          {"failure_reason"},
	"temporal_activity_execution_failed_total":               {"failure_reason"},
	"temporal_local_activity_execution_failed_total":         {"failure_reason"},
	"temporal_num_pollers":                                   {"poller_type"},
	"temporal_request_total":                                 {"operation"},
	"temporal_request_attempt_total":                         {"operation"},
	"temporal_request_latency_seconds":                       {"operation"},
	"temporal_request_latency_attempt_seconds":               {"operation"},
	"temporal_request_failure_total":                         {"operation", "status_code"},
	"temporal_request_failure_attempt_total":                 {"operation", "status_code"},
	"temporal_request_resource_exhausted_total":              {"operation", "status_code", "cause"},
	"temporal_request_resource_exhausted_attempt_total":      {"operation", "status_code", "cause"},
	"temporal_long_request_total":                            {"operation"},
	"temporal_long_request_attempt_total":                    {"operation"},
	"temporal_long_request_latency_seconds":                  {"operation"},
	"temporal_long_request_latency_attempt_seconds":          {"operation"},
	"temporal_long_request_failure_total":                    {"operation", "status_code"},
	"temporal_long_request_failure_attempt_total":            {"operation", "status_code"},
	"temporal_long_request_resource_exhausted_total":         {"operation", "status_code", "cause"},
	"temporal_long_request_resource_exhausted_attempt_total": {"operation", "status_code", "cause"},
}

func sdkCatalog() []Metric {
	counters := []string{
		"workflow_completed", "workflow_canceled", "workflow_failed", "workflow_continue_as_new",
		"workflow_task_queue_poll_empty", "workflow_task_queue_poll_succeed", "workflow_task_execution_failed",
		"workflow_task_no_completion", "activity_poll_no_task", "activity_execution_failed",
		"unregistered_activity_invocation", "activity_task_error", "local_activity_total",
		"local_activity_canceled", "local_activity_execution_cancelled", "local_activity_failed",
		"local_activity_execution_failed", "local_activity_error", "corrupted_signals", "worker_start",
		"poller_start", "sticky_cache_hit", "sticky_cache_miss", "sticky_cache_total_forced_eviction",
		// gRPC requests: each call, and each attempt of it (retries included).
		"request", "request_failure", "request_resource_exhausted",
		"request_attempt", "request_failure_attempt", "request_resource_exhausted_attempt",
		"long_request", "long_request_failure", "long_request_resource_exhausted",
		"long_request_attempt", "long_request_failure_attempt", "long_request_resource_exhausted_attempt",
	}
	timers := []string{
		"workflow_endtoend_latency", "workflow_task_replay_latency", "workflow_task_schedule_to_start_latency",
		"workflow_task_execution_latency", "activity_schedule_to_start_latency", "activity_execution_latency",
		"activity_succeed_endtoend_latency", "local_activity_execution_latency",
		"local_activity_succeed_endtoend_latency", "request_latency", "long_request_latency",
		"request_latency_attempt", "long_request_latency_attempt",
	}
	gauges := []string{
		"worker_task_slots_available", "worker_task_slots_used", "num_pollers", "sticky_cache_size",
		"workflow_active_thread_count",
	}
	var out []Metric
	add := func(name string, k Kind) {
		out = append(out, Metric{Name: name, Kind: k, Labels: SDKLabels, Source: SourceWorker, Help: "Temporal SDK"})
	}
	for _, n := range counters {
		add("temporal_"+n+"_total", Counter)
	}
	for _, n := range timers {
		add("temporal_"+n+"_seconds", Histogram)
	}
	for _, n := range gauges {
		add("temporal_"+n, Gauge)
	}
	for i, m := range out {
		if extra := SDKExtraLabels[m.Name]; extra != nil {
			out[i].Labels = append(slices.Clone(SDKLabels), extra...)
		}
	}
	return out
}

// Lookup finds the metric a series name belongs to, in Catalog or
// SDKCatalog: a histogram's series are its name with _bucket, _sum or
// _count. ok is false for a name neither exports (the runtime's go_* and
// process_* metrics included: see IsRuntime).
func Lookup(series string) (m Metric, ok bool) {
	for _, list := range [][]Metric{Catalog, SDKCatalog} {
		for _, m := range list {
			if m.Name == series {
				return m, true
			}
			if m.Kind == Histogram {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if series == m.Name+suffix {
						return m, true
					}
				}
			}
		}
	}
	return Metric{}, false
}

// IsRuntime reports whether a series name is one of the Go runtime and
// process metrics every endpoint serves (go_*, process_*).
func IsRuntime(series string) bool {
	return strings.HasPrefix(series, "go_") || strings.HasPrefix(series, "process_")
}

// HasLabel reports whether m has the label name. Histogram series also have
// "le".
func (m Metric) HasLabel(name string) bool {
	return slices.Contains(m.Labels, name) || (m.Kind == Histogram && name == "le")
}
