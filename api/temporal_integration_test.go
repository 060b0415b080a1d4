package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"dunning/channels"
	"dunning/internal/demo"
	"dunning/internal/testenv"
	"dunning/policies"
	"dunning/policy"
	"dunning/workflows"
)

// realServer runs the API over a real Temporal dev server (DUNNING_TEST_TEMPORAL,
// set by `make test`) with the loan workflow and its activities in this
// process, for what fakes cannot show: how the server answers a repeated
// start, an update to a completed workflow and a rejected update.
func realServer(t *testing.T) (*testAPI, client.Client) {
	t.Helper()
	c := testenv.Temporal(t)
	st := testenv.Store(t)
	tmpl := testenv.Templates(t)
	queue := testenv.Queue(t)
	testenv.StartWorker(t, c, st, tmpl, &channels.DevSink{Logger: testenv.Quiet}, queue)
	quiet := testenv.Quiet
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAPI{h: New(Deps{Temporal: c, Store: st, Policies: reg, HasLocale: tmpl.Has, Logger: quiet, TaskQueue: queue}), token: ""}
	return ta, c
}

func TestRealServerEdges(t *testing.T) {
	ta, c := realServer(t)
	now := time.Now()
	tz := demo.DaytimeZone(now)
	loc, _ := time.LoadLocation(tz)
	l := demo.Loan(1, 10, 1, "1000.00", policy.LocalDate(now, loc), tz)
	l.LoanID = fmt.Sprintf("L-API-%d", now.UnixNano())
	body, _ := json.Marshal(l)
	path := "/v1/loans/" + l.LoanID

	rec := ta.do(t, "POST", "/v1/loans", string(body))
	wantCode(t, rec, http.StatusCreated)
	run := decode(t, rec)["run_id"]
	rec = ta.do(t, "POST", "/v1/loans", string(body))
	wantCode(t, rec, http.StatusOK)
	if got := decode(t, rec)["run_id"]; got != run {
		t.Errorf("repeated start answered run %v, want %v", got, run)
	}

	// The workflow's validator: over-precise amount, wrong currency.
	rec = ta.do(t, "POST", path+"/repayments", `{"txn_id":"T-x","amount":"1.005"}`)
	wantCode(t, rec, http.StatusUnprocessableEntity)
	if f := fieldsOf(t, rec); len(f) != 1 || f[0] != "amount" {
		t.Errorf("422 fields %v: %s", f, rec.Body)
	}
	rec = ta.do(t, "POST", path+"/repayments", `{"txn_id":"T-x","amount":"1.00","currency":"USD"}`)
	wantCode(t, rec, http.StatusUnprocessableEntity)
	if f := fieldsOf(t, rec); len(f) != 1 || f[0] != "currency" {
		t.Errorf("422 fields %v: %s", f, rec.Body)
	}

	rec = ta.do(t, "GET", path, "")
	wantCode(t, rec, http.StatusOK)
	total := decode(t, rec)["outstanding"].(map[string]any)["total"].(string)
	rec = ta.do(t, "POST", path+"/repayments", fmt.Sprintf(`{"txn_id":"T-1","amount":%q}`, total))
	wantCode(t, rec, http.StatusOK)
	if st := decode(t, rec)["state"]; st != "paid_off" {
		t.Fatalf("state after paying %s: %v", total, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.GetWorkflow(ctx, workflows.WorkflowID(l.LoanID), "").Get(ctx, nil); err != nil {
		t.Fatalf("workflow did not complete: %v", err)
	}

	// Completed: a repeat of T-1 answers the balance, a new payment 409.
	rec = ta.do(t, "POST", path+"/repayments", fmt.Sprintf(`{"txn_id":"T-1","amount":%q}`, total))
	wantCode(t, rec, http.StatusOK)
	if st := decode(t, rec)["state"]; st != "paid_off" {
		t.Errorf("repeat after paid-off answered state %v", st)
	}
	rec = ta.do(t, "POST", path+"/repayments", `{"txn_id":"T-2","amount":"1.00"}`)
	wantCode(t, rec, http.StatusConflict)
	if !strings.HasPrefix(decode(t, rec)["error"].(string), "loan is no longer open") {
		t.Errorf("409 body %s", rec.Body)
	}
	rec = ta.do(t, "GET", path, "")
	wantCode(t, rec, http.StatusOK)
	rec = ta.do(t, "POST", path+"/pause", `{"actor":"li.wei@lender.cn","reason":"x"}`)
	wantCode(t, rec, http.StatusConflict)
	rec = ta.do(t, "POST", "/v1/loans", string(body))
	wantCode(t, rec, http.StatusConflict)

	// Unknown loans.
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/v1/loans/L-NOPE-1", ""},
		{"POST", "/v1/loans/L-NOPE-1/repayments", `{"txn_id":"T-1","amount":"1.00"}`},
		{"POST", "/v1/loans/L-NOPE-1/close", `{"actor":"li.wei@lender.cn","reason":"x"}`},
	} {
		rec = ta.do(t, req.method, req.path, req.body)
		wantCode(t, rec, http.StatusNotFound)
	}
}

func TestRealServerUnreachable(t *testing.T) {
	if os.Getenv("DUNNING_TEST_TEMPORAL") == "" {
		t.Skip("DUNNING_TEST_TEMPORAL is not set")
	}
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ta := &testAPI{h: New(Deps{Temporal: c, Timeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})}
	start := time.Now()
	rec := ta.do(t, "GET", "/v1/loans/L-1", "")
	wantCode(t, rec, http.StatusServiceUnavailable)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("503 took %s", d)
	}
	rec = ta.do(t, "GET", "/healthz", "")
	wantCode(t, rec, http.StatusOK)
	if !strings.Contains(rec.Body.String(), `"temporal":{"status":"error"`) {
		t.Errorf("healthz %s", rec.Body)
	}
}
