package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"dunning/internal/testenv"
)

// getReady asks r for /readyz and decodes the answer.
func getReady(t *testing.T, r http.Handler) (int, readyBody) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body readyBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, body
}

func TestReadiness(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("connection refused") }
	hangs := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

	r := &readiness{timeout: 100 * time.Millisecond}
	if code, body := getReady(t, r); code != 503 || body.Status != "starting" {
		t.Errorf("before connecting: %d %+v", code, body)
	}

	r.set(map[string]func(context.Context) error{"temporal": ok, "database": ok})
	code, body := getReady(t, r)
	if code != 200 || body.Status != "ok" || body.Checks["temporal"].Status != "ok" || body.Checks["database"].Status != "ok" {
		t.Errorf("both up: %d %+v", code, body)
	}

	r.set(map[string]func(context.Context) error{"temporal": ok, "database": down})
	code, body = getReady(t, r)
	if code != 503 || body.Status != "unavailable" || body.Checks["temporal"].Status != "ok" ||
		body.Checks["database"].Status != "error" || body.Checks["database"].Error != "connection refused" {
		t.Errorf("database down: %d %+v", code, body)
	}

	start := time.Now()
	r.set(map[string]func(context.Context) error{"temporal": hangs, "database": ok})
	code, body = getReady(t, r)
	if code != 503 || body.Checks["temporal"].Status != "error" || body.Checks["database"].Status != "ok" {
		t.Errorf("temporal hangs: %d %+v", code, body)
	}
	if d := time.Since(start); d > r.timeout+time.Second {
		t.Errorf("a hanging check held /readyz for %s (bound %s)", d, r.timeout)
	}

	r.stop()
	if code, body := getReady(t, r); code != 503 || body.Status != "stopping" || body.Checks != nil {
		t.Errorf("stopping: %d %+v", code, body)
	}
}

// TestReadyChecks runs the worker's real checks against the test dev server
// and PostgreSQL, then against a Temporal address nobody serves and a closed
// database pool.
func TestReadyChecks(t *testing.T) {
	c := testenv.Temporal(t)
	st := testenv.Store(t)
	r := &readiness{}
	r.set(readyChecks(c, st))
	if code, body := getReady(t, r); code != 200 || body.Status != "ok" {
		t.Fatalf("dev server and PostgreSQL up: %d %+v", code, body)
	}

	// Nothing listens on port 1.
	nowhere, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: tlog.NewStructuredLogger(testenv.Quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer nowhere.Close()
	st.Close()
	r.set(readyChecks(nowhere, st))
	code, body := getReady(t, r)
	if code != 503 || body.Status != "unavailable" {
		t.Errorf("both down: %d %+v", code, body)
	}
	for _, dep := range []string{"temporal", "database"} {
		if c := body.Checks[dep]; c.Status != "error" || c.Error == "" {
			t.Errorf("%s: %+v, want an error", dep, c)
		}
	}
}
