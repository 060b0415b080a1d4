package api

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

// metrics holds the API's counters and writes them in the Prometheus text
// exposition format (version 0.0.4). A handful of counters do not justify a
// client library.
type metrics struct {
	mu           sync.Mutex
	requests     map[requestKey]uint64
	loansStarted uint64
	repayments   uint64
}

// requestKey labels http_requests_total.
type requestKey struct {
	method, path string
	code         int
}

func newMetrics() *metrics {
	return &metrics{requests: make(map[requestKey]uint64)}
}

func (m *metrics) request(method, path string, code int) {
	m.mu.Lock()
	m.requests[requestKey{method, path, code}]++
	m.mu.Unlock()
}

func (m *metrics) loanStarted() {
	m.mu.Lock()
	m.loansStarted++
	m.mu.Unlock()
}

func (m *metrics) repayment() {
	m.mu.Lock()
	m.repayments++
	m.mu.Unlock()
}

// write writes every counter, sorted, so the output is stable.
func (m *metrics) write(w io.Writer) error {
	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	counts := make([]uint64, len(keys))
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		if c := strings.Compare(a.method, b.method); c != 0 {
			return c
		}
		return a.code - b.code
	})
	for i, k := range keys {
		counts[i] = m.requests[k]
	}
	started, repayments := m.loansStarted, m.repayments
	m.mu.Unlock()

	var b strings.Builder
	b.WriteString("# HELP http_requests_total HTTP requests answered, by method, route pattern and status code.\n")
	b.WriteString("# TYPE http_requests_total counter\n")
	for i, k := range keys {
		fmt.Fprintf(&b, "http_requests_total{method=%s,path=%s,code=\"%d\"} %d\n",
			labelValue(k.method), labelValue(k.path), k.code, counts[i])
	}
	b.WriteString("# HELP loans_started_total Loan workflows started (not counting loans already running).\n")
	b.WriteString("# TYPE loans_started_total counter\n")
	fmt.Fprintf(&b, "loans_started_total %d\n", started)
	b.WriteString("# HELP repayments_total Repayments the loan workflows answered with a balance.\n")
	b.WriteString("# TYPE repayments_total counter\n")
	fmt.Fprintf(&b, "repayments_total %d\n", repayments)
	_, err := io.WriteString(w, b.String())
	return err
}

// labelValue quotes s as a label value: backslash, double quote and newline
// escaped.
func labelValue(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
	return `"` + s + `"`
}
