package api

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	dmetrics "dunning/metrics"
)

// metrics is one API instance's counters, on a registry of its own (never
// the process-wide default, so tests and servers in one process count
// apart), served on GET /metrics by promhttp: http_requests_total,
// loans_started_total, repayments_total, the Go runtime's go_* and
// process_*, and the business counters (dunning_receipts_total,
// dunning_opt_outs_total, dunning_repayments_applied_total...) that handlers
// record through the embedded Recorder: s.metrics.Receipt("twilio",
// "delivered"). Names, labels and help are in package metrics.
type metrics struct {
	dmetrics.Recorder

	reg                      *prometheus.Registry
	requests                 *prometheus.CounterVec
	loansStarted, repayments prometheus.Counter
}

func newMetrics() *metrics {
	reg := dmetrics.NewRegistry()
	rec, err := dmetrics.NewPrometheusRecorder(reg)
	must(err)
	m := &metrics{Recorder: rec, reg: reg}
	m.requests, err = dmetrics.HTTPRequests.CounterVec(reg)
	must(err)
	m.loansStarted, err = dmetrics.LoansStarted.Counter(reg)
	must(err)
	m.repayments, err = dmetrics.Repayments.Counter(reg)
	must(err)
	return m
}

// must panics on an error registering the API's own metrics in a fresh
// registry: a programming mistake (a name twice), never a runtime condition.
func must(err error) {
	if err != nil {
		panic("api metrics: " + err.Error())
	}
}

// request counts an answer: the route pattern's method and path (never the
// request's own path, whose ids would make a series per loan) and the code.
func (m *metrics) request(method, path string, code int) {
	m.requests.WithLabelValues(method, path, strconv.Itoa(code)).Inc()
}

func (m *metrics) loanStarted() { m.loansStarted.Inc() }

func (m *metrics) repayment() { m.repayments.Inc() }

// handler serves the registry: the Prometheus text format by default,
// OpenMetrics or protobuf when the scraper asks, gzip when accepted.
func (m *metrics) handler() http.Handler { return dmetrics.Handler(m.reg) }
