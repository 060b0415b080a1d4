package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"

	"dunning/metrics"
)

// defaultMetricsAddr is where the worker serves /metrics without
// METRICS_ADDR: loopback only; a container sets METRICS_ADDR=:9090.
const defaultMetricsAddr = "127.0.0.1:9090"

// metricsAddr is METRICS_ADDR, defaultMetricsAddr when unset; "off" turns
// the worker's metrics off.
func metricsAddr() string {
	if v := strings.TrimSpace(os.Getenv("METRICS_ADDR")); v != "" {
		return v
	}
	return defaultMetricsAddr
}

// serveMetrics makes the worker's metrics (metrics.NewWorker) and serves
// them on http://addr/metrics until stop is called; stop also reports the
// SDK's last metrics. The same address serves the probes: GET /readyz
// (ready: Temporal and PostgreSQL answer) and GET /healthz (live: 200 while
// the process serves). The port is bound before serveMetrics returns, so a
// taken one stops the worker at start. With WORKER_PPROF=1 it also serves
// net/http/pprof under /debug/pprof/. addr "off" returns a nil
// *metrics.Worker, whose methods do nothing: no endpoint, no probes, no SDK
// metrics, a no-op Recorder.
func serveMetrics(log *slog.Logger, addr string, ready http.Handler) (m *metrics.Worker, stop func(), err error) {
	if strings.EqualFold(addr, "off") {
		log.Info("metrics off (METRICS_ADDR=off)")
		return nil, func() {}, nil
	}
	m, err = metrics.NewWorker(log)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("metrics endpoint (METRICS_ADDR=%s): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /readyz", ready)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	if os.Getenv("WORKER_PPROF") == "1" {
		// Profiling for `make load` (docs/PERFORMANCE.md): off unless asked
		// for, since a profile names the code and its hot paths.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		log.Info("pprof served", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", "error", err)
		}
	}()
	log.Info("metrics served", "url", "http://"+ln.Addr().String()+"/metrics")
	return m, func() {
		if err := m.Close(); err != nil {
			log.Warn("flush SDK metrics", "error", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			log.Warn("stop metrics endpoint", "error", err)
		}
	}, nil
}
