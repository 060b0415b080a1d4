package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"dunning/activities"
	"dunning/channels"
	"dunning/internal/pgtest"
	"dunning/internal/temporalutil"
	"dunning/store"
	"dunning/templates"
	"dunning/workflows"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// stack is one test's Temporal client, database and provider sink.
type stack struct {
	t     *testing.T
	c     client.Client
	store *store.Store
	dbURL string
	sink  *channels.DevSink
	tmpl  *templates.Renderer
}

func newStack(t *testing.T) *stack {
	t.Helper()
	addr := os.Getenv("DUNNING_TEST_TEMPORAL")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DUNNING_TEST_TEMPORAL is not set: run `make test`, which starts the Temporal dev server")
		}
		t.Skip("DUNNING_TEST_TEMPORAL is not set; `make test` starts a Temporal dev server and sets it")
	}
	ctx := context.Background()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: "default", Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatalf("connect to temporal at %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	if err := temporalutil.EnsureSearchAttributes(ctx, c, "default"); err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDatabase(t)
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	tmpl, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	return &stack{t: t, c: c, store: st, dbURL: url, sink: &channels.DevSink{Logger: quiet}, tmpl: tmpl}
}

// startWorker runs the loan workflow and activities on a task queue of this
// test's own, so tests sharing the server never take each other's tasks.
func (s *stack) startWorker(queue string) worker.Worker {
	s.t.Helper()
	w := worker.New(s.c, queue, worker.Options{})
	workflows.Register(w, &activities.Activities{
		Store: s.store, Senders: channels.DevRegistry(s.sink), Templates: s.tmpl, Log: quiet,
		Brand: activities.Brand{Name: "安心借", Hotline: "400-800-1234", RepayURL: "https://m.example.cn/r"},
	})
	if err := w.Start(); err != nil {
		s.t.Fatalf("start worker: %v", err)
	}
	return w
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, within, last)
}

// recordHistory writes the workflow's history to workflows/testdata when
// DUNNING_RECORD_HISTORIES is set.
func (s *stack) recordHistory(workflowID, runID, name string) {
	if os.Getenv("DUNNING_RECORD_HISTORIES") == "" {
		return
	}
	ctx := context.Background()
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, 0)
	hist := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatalf("history of %s: %v", workflowID, err)
		}
		hist.Events = append(hist.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		s.t.Fatal(err)
	}
	dir := filepath.Join("..", "workflows", "testdata")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	path := filepath.Join(dir, "history-"+name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("recorded %d events to %s", len(hist.Events), path)
}

func queueName(t *testing.T) string {
	return fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}
