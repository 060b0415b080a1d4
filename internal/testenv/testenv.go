// Package testenv sets up what the integration tests share: a client of the
// Temporal dev server that `make test` starts (DUNNING_TEST_TEMPORAL), a
// fresh migrated database, and a worker with the real workflow and
// activities on a task queue of the test's own, so tests running at the
// same time never take each other's tasks. Without a server a test skips,
// except with CI=true, where it fails: in CI nothing skips.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"dunning/activities"
	"dunning/channels"
	"dunning/internal/pgtest"
	"dunning/internal/temporalutil"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
	"dunning/workflows"
)

// Quiet discards logs.
var Quiet = slog.New(slog.DiscardHandler)

// Brand is what test notices sign with.
var Brand = activities.Brand{Name: "安心借", Hotline: "400-800-1234", RepayURL: "https://m.example.cn/r"}

// Temporal connects to the test dev server with the search attributes
// registered; the client closes when the test ends.
func Temporal(t testing.TB) client.Client {
	t.Helper()
	addr := os.Getenv("DUNNING_TEST_TEMPORAL")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DUNNING_TEST_TEMPORAL is not set: run `make test`, which starts the Temporal dev server")
		}
		t.Skip("DUNNING_TEST_TEMPORAL is not set; `make test` starts a Temporal dev server and sets it")
	}
	ctx := context.Background()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: tlog.NewStructuredLogger(Quiet)})
	if err != nil {
		t.Fatalf("connect to temporal at %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	if err := temporalutil.EnsureSearchAttributes(ctx, c, "default"); err != nil {
		t.Fatal(err)
	}
	return c
}

// Store is a fresh, migrated database of the test's own.
func Store(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// Templates loads the shipped templates.
func Templates(t testing.TB) *templates.Renderer {
	t.Helper()
	r, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Queue is a task queue name no other test uses.
func Queue(t testing.TB) string {
	return fmt.Sprintf("test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// StartWorker runs the loan workflow and the real activities over st (the
// test's database, or a wrapper that injects faults), sending to
// sink, on queue; it is stopped when the test ends (or earlier by the caller).
func StartWorker(t testing.TB, c client.Client, st activities.Store, tmpl *templates.Renderer, sink *channels.DevSink, queue string) interface{ Stop() } {
	t.Helper()
	return StartWorkerWith(t, c, st, tmpl, channels.DevRegistry(sink), queue)
}

// StartWorkerWith is StartWorker with the senders given (a provider adapter
// pointed at a mock).
func StartWorkerWith(t testing.TB, c client.Client, st activities.Store, tmpl *templates.Renderer, senders activities.Senders, queue string) interface{ Stop() } {
	t.Helper()
	acts := &activities.Activities{
		Store: st, Senders: senders, Templates: tmpl, Log: Quiet, Brand: Brand,
	}
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w, acts)
	ws := []worker.Worker{w}
	// Each channel's notices run on a queue of their own (workflows.ChannelQueue).
	for _, ch := range policy.AllChannels {
		cw := worker.New(c, workflows.ChannelQueue(queue, ch), worker.Options{})
		workflows.RegisterChannel(cw, acts)
		ws = append(ws, cw)
	}
	// Ladder points and confirmations (SendPoint) run on the points queue.
	pw := worker.New(c, workflows.PointQueue(queue), worker.Options{})
	workflows.RegisterPoints(pw, acts)
	ws = append(ws, pw)
	for _, w := range ws {
		if err := w.Start(); err != nil {
			t.Fatalf("start worker: %v", err)
		}
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			for _, w := range ws {
				w.Stop()
			}
		}
	})
	return &onceWorker{workers: ws, stopped: &stopped}
}

// onceWorker lets a test stop its workers (the loan queue's and the
// channels') early without a second Stop at cleanup.
type onceWorker struct {
	workers []worker.Worker
	stopped *bool
}

// Stop stops every worker once.
func (w *onceWorker) Stop() {
	if !*w.stopped {
		*w.stopped = true
		for _, x := range w.workers {
			x.Stop()
		}
	}
}
