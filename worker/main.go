// Command worker runs dunning's loan workflows and activities: it connects to
// Temporal (settings from the environment, see internal/temporalutil) and
// PostgreSQL (DATABASE_URL), migrates the audit tables, registers the search
// attributes that are missing, and polls the "dunning" task queue until
// SIGINT or SIGTERM, then stops taking work and lets running activities end
// (at most workerStopTimeout). It serves Prometheus metrics on METRICS_ADDR
// (default 127.0.0.1:9090, path /metrics; "off" disables): the Temporal
// SDK's, the workflows', the activities' business counters and dunning_loans
// (see package metrics); the same address answers the probes /readyz
// (Temporal and PostgreSQL reachable) and /healthz.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // loans name IANA zones; do not depend on the host's zoneinfo

	"go.temporal.io/sdk/worker"

	"dunning/activities"
	"dunning/channels"
	"dunning/channels/providers"
	"dunning/internal/config"
	"dunning/internal/temporalutil"
	"dunning/metrics"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
	"dunning/workflows"
)

// workerStopTimeout is how long a stopping worker lets running activities
// finish (worker.Options.WorkerStopTimeout). All four workers stop at once,
// so the whole shutdown takes at most this plus the metrics flush (5 s): a
// container needs a longer grace period (docker-compose stop_grace_period,
// Kubernetes terminationGracePeriodSeconds; deploy/helm checks it).
const workerStopTimeout = 30 * time.Second

func main() {
	log := config.Logger()
	slog.SetDefault(log)
	if err := run(log); err != nil {
		log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := temporalutil.RequireEncryption(os.Getenv); err != nil {
		return err
	}
	// Delivery first: a worker whose providers are not configured would run
	// loans whose notices fail for hours. Refuse to start, naming the variables.
	sink := &channels.DevSink{Logger: log.With("component", "devsink")}
	senders, err := providers.FromEnv(os.Getenv, sink, log)
	if err != nil {
		return err
	}
	rates, err := channelRates(os.Getenv)
	if err != nil {
		return err
	}
	cacheSize, err := workflowCacheSize(os.Getenv)
	if err != nil {
		return err
	}
	if cacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(cacheSize)
	}

	ready := &readiness{}
	mx, stopMetrics, err := serveMetrics(log, metricsAddr(), ready)
	if err != nil {
		return err
	}
	defer stopMetrics()

	dbURL := config.DatabaseURL()
	if err := store.EnsureDatabase(ctx, dbURL); err != nil {
		return err
	}
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()

	tmpl, err := templates.New()
	if err != nil {
		return fmt.Errorf("load templates: %w", err)
	}

	c, err := temporalutil.Dial(ctx, log, 60*time.Second, mx.ClientOptions)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := mx.CountLoans(metrics.CountWorkflows(c), metrics.LoanOptions{Log: log}); err != nil {
		return err
	}
	opts, _ := temporalutil.Options(nil)
	if err := temporalutil.EnsureSearchAttributes(ctx, c, opts.Namespace); err != nil {
		return err
	}

	acts := &activities.Activities{Store: st, Senders: senders, Templates: tmpl, Brand: config.Brand(), Log: log,
		Metrics: mx.Recorder()}
	w := worker.New(c, workflows.TaskQueue, worker.Options{WorkerStopTimeout: workerStopTimeout})
	workflows.Register(w, acts)
	// One worker per channel queue, each under its provider's rate limit.
	// They stop together with the main worker, not one after another, so a
	// shutdown takes one workerStopTimeout, not four.
	var channelWorkers []worker.Worker
	stopChannels := sync.OnceFunc(func() {
		var wg sync.WaitGroup
		for _, cw := range channelWorkers {
			wg.Go(cw.Stop)
		}
		wg.Wait()
	})
	defer stopChannels()
	for _, ch := range policy.AllChannels {
		q := workflows.ChannelQueue(workflows.TaskQueue, ch)
		cw := worker.New(c, q, worker.Options{WorkerStopTimeout: workerStopTimeout, TaskQueueActivitiesPerSecond: rates[ch]})
		workflows.RegisterChannel(cw, acts)
		if err := cw.Start(); err != nil {
			return fmt.Errorf("worker for %s: %w", q, err)
		}
		channelWorkers = append(channelWorkers, cw)
		log.Info("worker polling", "task_queue", q, "activities_per_second", rates[ch])
	}
	// Ladder points and confirmations (SendPoint, points-1) send up to one
	// message per channel each: their queue runs at the slowest channel's
	// rate, so no channel exceeds its own across the replicas.
	pq := workflows.PointQueue(workflows.TaskQueue)
	pw := worker.New(c, pq, worker.Options{WorkerStopTimeout: workerStopTimeout, TaskQueueActivitiesPerSecond: pointRate(rates)})
	workflows.RegisterPoints(pw, acts)
	if err := pw.Start(); err != nil {
		return fmt.Errorf("worker for %s: %w", pq, err)
	}
	channelWorkers = append(channelWorkers, pw)
	log.Info("worker polling", "task_queue", pq, "activities_per_second", pointRate(rates))
	log.Info("worker polling", "task_queue", workflows.TaskQueue, "temporal", opts.HostPort, "namespace", opts.Namespace)
	ready.set(readyChecks(c, st))
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		ready.stop()
		close(interrupt)
		stopChannels()
	}()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log.Info("worker stopped cleanly")
	return nil
}

// workflowCacheSize is WORKFLOW_CACHE_SIZE: how many loans' workflows the
// worker keeps in memory between their tasks (the SDK's sticky cache; 0 or
// unset: the SDK's default, 10,000). Each cached loan holds about 90 KB
// (measured: docs/PRODUCTION.md), so the cache, not the number of loans,
// bounds a worker's memory. A loan evicted from it replays its history on
// its next wake-up, which for loans that sleep for days costs little.
func workflowCacheSize(getenv func(string) string) (int, error) {
	v := strings.TrimSpace(getenv("WORKFLOW_CACHE_SIZE"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("WORKFLOW_CACHE_SIZE=%q: want a number of workflows, 0 for the SDK's default", v)
	}
	return n, nil
}

// Default sends per second of each channel's queue (SMS_RATE, EMAIL_RATE,
// PUSH_RATE override them): Twilio's default long-code throughput is about
// 1 message/s per number and a messaging service scales it; SMTP relays and
// FCM take far more. Set them to what the provider account allows.
var defaultRates = map[policy.Channel]float64{policy.SMS: 10, policy.Email: 10, policy.Push: 50}

// channelRates reads the per-channel rate limits.
func channelRates(getenv func(string) string) (map[policy.Channel]float64, error) {
	out := map[policy.Channel]float64{}
	var errs []error
	for _, ch := range policy.AllChannels {
		name := strings.ToUpper(string(ch)) + "_RATE"
		out[ch] = defaultRates[ch]
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			errs = append(errs, fmt.Errorf("%s=%q: want a number of sends per second greater than 0", name, v))
			continue
		}
		out[ch] = f
	}
	return out, errors.Join(errs...)
}

// pointRate is the points queue's rate: the slowest channel's.
func pointRate(rates map[policy.Channel]float64) float64 {
	r := math.Inf(1)
	for _, ch := range policy.AllChannels {
		r = min(r, rates[ch])
	}
	return r
}
