package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Recorder counts the business events of dunning. The activities and the
// API's webhooks call it; the worker and the API each give theirs a
// Prometheus implementation on their own registry (NewPrometheusRecorder),
// tests and disabled metrics use Nop. Label values should be the package
// constants they come from (policy channels, notice statuses, provider
// names), never free text: each distinct value is a time series. An empty
// value is recorded as "none".
type Recorder interface {
	// Notice counts a notice's outcome: dunning_notices_total
	// {channel, template, status}, status as stored (sent, failed, skipped,
	// unknown).
	Notice(channel, template, status string)
	// Receipt counts a provider's delivery receipt: dunning_receipts_total
	// {provider, status}, status as normalized by the channel adapter
	// (delivered, failed, undelivered...).
	Receipt(provider, status string)
	// OptOut counts a channel opted out: dunning_opt_outs_total
	// {channel, source}, source keyword (a STOP reply), invalid_recipient
	// (the provider refused the address at send), receipt (a receipt said
	// so) or contact (an operator's contact update).
	OptOut(channel, source string)
	// RepaymentApplied counts a repayment that changed a balance:
	// dunning_repayments_applied_total (a repeated txn_id is not one).
	RepaymentApplied()
}

// Nop is a Recorder that records nothing.
type Nop struct{}

// Notice does nothing.
func (Nop) Notice(channel, template, status string) {}

// Receipt does nothing.
func (Nop) Receipt(provider, status string) {}

// OptOut does nothing.
func (Nop) OptOut(channel, source string) {}

// RepaymentApplied does nothing.
func (Nop) RepaymentApplied() {}

var (
	_ Recorder = Nop{}
	_ Recorder = (*PrometheusRecorder)(nil)
)

// PrometheusRecorder is the Recorder of one process, on its registry.
type PrometheusRecorder struct {
	notices, receipts, optOuts *prometheus.CounterVec
	repayments                 prometheus.Counter
}

// NewPrometheusRecorder registers the business counters (Notices, Receipts,
// OptOuts, RepaymentsApplied) in reg and returns their Recorder.
func NewPrometheusRecorder(reg prometheus.Registerer) (*PrometheusRecorder, error) {
	var r PrometheusRecorder
	var errs []error
	var err error
	r.notices, err = Notices.CounterVec(reg)
	errs = append(errs, err)
	r.receipts, err = Receipts.CounterVec(reg)
	errs = append(errs, err)
	r.optOuts, err = OptOuts.CounterVec(reg)
	errs = append(errs, err)
	r.repayments, err = RepaymentsApplied.Counter(reg)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &r, nil
}

// Notice implements Recorder.
func (r *PrometheusRecorder) Notice(channel, template, status string) {
	r.notices.WithLabelValues(value(channel), value(template), value(status)).Inc()
}

// Receipt implements Recorder.
func (r *PrometheusRecorder) Receipt(provider, status string) {
	r.receipts.WithLabelValues(value(provider), value(status)).Inc()
}

// OptOut implements Recorder.
func (r *PrometheusRecorder) OptOut(channel, source string) {
	r.optOuts.WithLabelValues(value(channel), value(source)).Inc()
}

// RepaymentApplied implements Recorder.
func (r *PrometheusRecorder) RepaymentApplied() { r.repayments.Inc() }

func value(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// CounterVec makes the counter m describes, with its labels, and registers
// it in reg.
func (m Metric) CounterVec(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	if m.Kind != Counter {
		return nil, errors.New("metrics: " + m.Name + " is not a counter")
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Name, Help: m.Help}, m.Labels)
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}

// Counter makes the counter m describes, which has no labels, and registers
// it in reg: it is exported (as 0) before its first increment.
func (m Metric) Counter(reg prometheus.Registerer) (prometheus.Counter, error) {
	if m.Kind != Counter || len(m.Labels) > 0 {
		return nil, errors.New("metrics: " + m.Name + " is not a counter without labels")
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: m.Name, Help: m.Help})
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	return c, nil
}

// NewRegistry is an empty registry with the Go runtime and process
// collectors (go_*, process_*), for one server instance.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
