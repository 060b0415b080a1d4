// Command worker runs dunning's loan workflows and activities: it connects to
// Temporal (settings from the environment, see internal/temporalutil) and
// PostgreSQL (DATABASE_URL), migrates the audit tables, registers the search
// attributes that are missing, and polls the "dunning" task queue until
// SIGINT or SIGTERM, then stops taking work and lets running activities end.
// It serves Prometheus metrics on METRICS_ADDR (default 127.0.0.1:9090,
// path /metrics; "off" disables): the Temporal SDK's, the workflows', the
// activities' business counters and dunning_loans (see package metrics).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // loans name IANA zones; do not depend on the host's zoneinfo

	"go.temporal.io/sdk/worker"

	"dunning/activities"
	"dunning/channels"
	"dunning/internal/config"
	"dunning/internal/temporalutil"
	"dunning/metrics"
	"dunning/store"
	"dunning/templates"
	"dunning/workflows"
)

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

	mx, stopMetrics, err := serveMetrics(log, metricsAddr())
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

	sink := &channels.DevSink{Logger: log.With("component", "devsink")}
	w := worker.New(c, workflows.TaskQueue, worker.Options{WorkerStopTimeout: 30 * time.Second})
	workflows.Register(w, &activities.Activities{
		Store: st, Senders: channels.DevRegistry(sink), Templates: tmpl, Brand: config.Brand(), Log: log,
	})
	log.Info("worker polling", "task_queue", workflows.TaskQueue, "temporal", opts.HostPort, "namespace", opts.Namespace)
	interrupt := make(chan any)
	go func() {
		<-ctx.Done()
		close(interrupt)
	}()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log.Info("worker stopped cleanly")
	return nil
}
