package main

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// readyTimeout bounds each dependency check of /readyz, so a probe answers
// well within a Kubernetes probe's timeoutSeconds even when Temporal or the
// database hangs.
const readyTimeout = 2 * time.Second

// readiness answers the worker's GET /readyz: 200 when it polls and reaches
// both Temporal (CheckHealth) and PostgreSQL (ping), 503 otherwise, with a
// JSON body saying which check failed. Until the worker has connected to
// both it answers 503 "starting"; from SIGTERM on, 503 "stopping". A
// Kubernetes rollout waits for it, so a new worker that cannot reach
// Temporal or the database (a wrong secret, a network policy) stops the
// rollout instead of replacing working replicas.
type readiness struct {
	timeout time.Duration // of each check; readyTimeout when zero

	mu       sync.Mutex
	checks   map[string]func(context.Context) error // nil while starting
	stopping bool
}

// readyCheck is one dependency's state in /readyz, shaped like the API's
// /healthz checks.
type readyCheck struct {
	Status    string `json:"status"` // ok or error
	Error     string `json:"error,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
}

// readyBody is /readyz's answer.
type readyBody struct {
	Status string                `json:"status"` // ok, unavailable, starting or stopping
	Checks map[string]readyCheck `json:"checks,omitempty"`
}

// pinger is what /readyz checks of the audit store (*store.Store).
type pinger interface {
	Ping(ctx context.Context) error
}

// readyChecks are the worker's dependency checks: Temporal's CheckHealth on
// the worker's own connection, and a ping of the database pool.
func readyChecks(c client.Client, db pinger) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"temporal": func(ctx context.Context) error {
			_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		"database": db.Ping,
	}
}

// set makes the worker ready to be checked: each named check (temporal,
// database) must pass for a 200.
func (r *readiness) set(checks map[string]func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = checks
}

// stop makes /readyz answer 503 "stopping" for good.
func (r *readiness) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopping = true
}

// ServeHTTP runs the checks at once, each within the timeout.
func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	checks, stopping := r.checks, r.stopping
	r.mu.Unlock()
	switch {
	case stopping:
		writeReady(w, http.StatusServiceUnavailable, readyBody{Status: "stopping"})
		return
	case checks == nil:
		writeReady(w, http.StatusServiceUnavailable, readyBody{Status: "starting"})
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), cmp.Or(r.timeout, readyTimeout))
	defer cancel()
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		out = readyBody{Status: "ok", Checks: map[string]readyCheck{}}
	)
	for name, check := range checks {
		wg.Go(func() {
			start := time.Now()
			err := check(ctx)
			c := readyCheck{Status: "ok", LatencyMS: time.Since(start).Milliseconds()}
			if err != nil {
				c.Status, c.Error = "error", err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			out.Checks[name] = c
			if err != nil {
				out.Status = "unavailable"
			}
		})
	}
	wg.Wait()
	code := http.StatusOK
	if out.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeReady(w, code, out)
}

func writeReady(w http.ResponseWriter, code int, body readyBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
