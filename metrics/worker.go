package metrics

import (
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// SDKBuckets are the histogram buckets, in seconds, of the SDK's timers:
// from a millisecond (task execution) to an hour (schedule-to-start of a
// notice held back by its channel's rate limit).
var SDKBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
}

// sdkReportInterval is how often the SDK's metrics reach the registry.
const sdkReportInterval = time.Second

// Worker is the worker process's metrics: one registry holding the
// Temporal SDK's metrics, what workflow code emits through
// workflow.GetMetricsHandler, the business metrics of its activities and,
// once CountLoans is called, dunning_loans. A nil *Worker is metrics turned
// off: its methods do nothing and Recorder is Nop.
type Worker struct {
	// Registry holds everything the worker exports.
	Registry *prometheus.Registry
	// SDK is the client's MetricsHandler (see ClientOptions): the SDK's own
	// metrics and workflow.GetMetricsHandler's end up in Registry.
	SDK client.MetricsHandler
	// Business counts the activities' events on Registry (see Recorder).
	Business *PrometheusRecorder

	closer    interface{ Close() error }
	closeOnce sync.Once
}

// NewWorker makes the worker's registry and the SDK's MetricsHandler over
// it: contrib/tally with tally's Prometheus reporter, Prometheus naming
// (counters end in _total, timers are histograms in seconds) and label values
// kept as they are ("dunning-sms", not "dunning_sms"). A metric the reporter
// refuses (a name reused with another label set) is dropped, logged once and
// counted in dunning_metric_errors_total, never a panic. log nil discards.
func NewWorker(log *slog.Logger) (*Worker, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := NewRegistry()
	rec, err := NewPrometheusRecorder(reg)
	if err != nil {
		return nil, err
	}
	dropped, err := MetricErrors.Counter(reg)
	if err != nil {
		return nil, err
	}
	var logged sync.Map
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:              reg,
		DefaultTimerType:        tallyprom.HistogramTimerType,
		DefaultHistogramBuckets: SDKBuckets,
		OnRegisterError: func(err error) {
			dropped.Inc()
			if _, seen := logged.LoadOrStore(err.Error(), true); !seen {
				log.Error("metric dropped: the exporter refused it", "error", err)
			}
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              tallyprom.DefaultSeparator,
		SanitizeOptions:        &sanitize,
		OmitCardinalityMetrics: true,
	}, sdkReportInterval)
	scope = sdktally.NewPrometheusNamingScope(scope)
	return &Worker{Registry: reg, SDK: sdktally.NewMetricsHandler(scope), Business: rec, closer: closer}, nil
}

// sanitize makes names and label names valid for Prometheus and keeps label
// values as they are (Prometheus takes any UTF-8 there).
var sanitize = tally.SanitizeOptions{
	NameCharacters:       sdktally.PrometheusSanitizeOptions.NameCharacters,
	KeyCharacters:        sdktally.PrometheusSanitizeOptions.KeyCharacters,
	ValueCharacters:      tally.ValidCharacters{Ranges: []tally.SanitizeRange{{0, unicode.MaxRune}}},
	ReplacementCharacter: tally.DefaultReplacementCharacter,
}

// ClientOptions sets the client's MetricsHandler to w.SDK; pass it to the
// dial (temporalutil.Dial). Nil leaves the SDK's default (no metrics).
func (w *Worker) ClientOptions(o *client.Options) {
	if w != nil {
		o.MetricsHandler = w.SDK
	}
}

// Recorder is what the activities record business events with
// (Activities.Metrics): w.Business, or Nop when w is nil.
func (w *Worker) Recorder() Recorder {
	if w == nil {
		return Nop{}
	}
	return w.Business
}

// CountLoans adds dunning_loans, counted with count (CountWorkflows of the
// worker's client). Nil does nothing.
func (w *Worker) CountLoans(count CountFunc, opts LoanOptions) error {
	if w == nil {
		return nil
	}
	return w.Registry.Register(NewLoanCollector(count, opts))
}

// Handler serves Registry in the Prometheus exposition formats.
func (w *Worker) Handler() http.Handler { return Handler(w.Registry) }

// Close reports the SDK's last metrics and stops its reporting loop. Nil
// does nothing.
func (w *Worker) Close() error {
	if w == nil {
		return nil
	}
	var err error
	w.closeOnce.Do(func() { err = w.closer.Close() })
	return err
}

// Handler serves g with promhttp: text, OpenMetrics or protobuf as the
// scraper asks, gzip when accepted. A collector's error does not fail the
// scrape: the other metrics are served.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, EnableOpenMetrics: true})
}
