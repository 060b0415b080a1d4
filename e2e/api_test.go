package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"dunning/api"
	"dunning/policies"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// call sends a JSON request to the API and decodes a JSON answer into out.
func call(t *testing.T, srv *httptest.Server, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer e2e-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// The lending system's whole conversation over HTTP against the real
// server: start (and start again), bad input, partial, duplicate and full
// repayment, the notices and the ledger in PostgreSQL.
func TestLoanOverHTTP(t *testing.T) {
	s := newStack(t)
	queue := queueName(t)
	w := s.startWorker(queue)
	defer w.Stop()
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Temporal: s.c, Store: s.store, Policies: reg, HasLocale: s.tmpl.Has, Token: "e2e-token", TaskQueue: queue}))
	defer srv.Close()

	l := overdueLoan(t, 10)
	var started map[string]string
	if code := call(t, srv, "POST", "/v1/loans", l, &started); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, started)
	}
	if started["workflow_id"] != workflows.WorkflowID(l.LoanID) || started["run_id"] == "" {
		t.Errorf("start answered %v", started)
	}
	var again map[string]string
	if code := call(t, srv, "POST", "/v1/loans", l, &again); code != http.StatusOK || again["run_id"] != started["run_id"] {
		t.Errorf("second start: %d %v, want 200 with run %s", code, again, started["run_id"])
	}
	bad := l
	bad.LoanID = "L-BAD-" + l.LoanID
	bad.Customer.Phone = "12345"
	var problem map[string]any
	if code := call(t, srv, "POST", "/v1/loans", bad, &problem); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(problem), "customer.phone") {
		t.Errorf("bad phone: %d %v", code, problem)
	}
	if code := call(t, srv, "GET", "/v1/loans/"+bad.LoanID, nil, nil); code != http.StatusNotFound {
		t.Errorf("a rejected loan was started: GET answered %d", code)
	}

	// The +7 catch-up goes out at once.
	eventually(t, 20*time.Second, "the +7 notices", func() (bool, string) {
		got := sentTemplates(s.notices(l.LoanID))
		return strings.Count(got, "overdue_firm/") == 3, got
	})

	var snap map[string]any
	if code := call(t, srv, "GET", "/v1/loans/"+l.LoanID, nil, &snap); code != http.StatusOK {
		t.Fatalf("status: %d", code)
	}
	if snap["state"] != "overdue" || snap["days_past_due"] != float64(10) || snap["bucket"] != "8-15" {
		t.Errorf("status: state %v dpd %v bucket %v", snap["state"], snap["days_past_due"], snap["bucket"])
	}
	overdue := snap["overdue"].(map[string]any)
	// 1000.00 principal, 45.00 interest, 10 days × 0.50 penalty, 20.00 late fee.
	if overdue["total"] != "1070.00" || overdue["penalty"] != "5.00" {
		t.Errorf("overdue = %v, want total \"1070.00\" penalty \"5.00\"", overdue)
	}

	pay := func(txn, amount string) (int, map[string]any) {
		var out map[string]any
		code := call(t, srv, "POST", "/v1/loans/"+l.LoanID+"/repayments",
			map[string]string{"txn_id": txn, "amount": amount, "paid_at": time.Now().Add(-time.Second).Format(time.RFC3339)}, &out)
		return code, out
	}
	if code, out := pay("T-neg", "-1.00"); code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
		t.Errorf("negative amount: %d %v", code, out)
	}
	code, part := pay("T-1", "500.00")
	if code != http.StatusOK || part["state"] != "overdue" {
		t.Fatalf("partial: %d %v", code, part)
	}
	code, dup := pay("T-1", "500.00")
	if code != http.StatusOK || fmt.Sprint(dup["outstanding"]) != fmt.Sprint(part["outstanding"]) {
		t.Errorf("duplicate: %d outstanding %v, want %v", code, dup["outstanding"], part["outstanding"])
	}
	code, full := pay("T-2", "2000.00")
	if code != http.StatusOK || full["state"] != "paid_off" {
		t.Fatalf("full: %d %v", code, full)
	}

	eventually(t, 20*time.Second, "the paid_off SMS", func() (bool, string) {
		got := sentTemplates(s.notices(l.LoanID))
		return strings.Contains(got, "paid_off/sms"), got
	})
	// The ledger is complete once the workflow is: wait for it.
	var final policy.Snapshot
	if err := s.c.GetWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "").Get(context.Background(), &final); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	got := sentTemplates(s.notices(l.LoanID))
	if strings.Count(got, "payment_received/sms") != 1 {
		t.Errorf("payment_received sent %d times: %s", strings.Count(got, "payment_received/sms"), got)
	}
	var notices []store.Notice
	if code := call(t, srv, "GET", "/v1/loans/"+l.LoanID+"/notices", nil, &notices); code != http.StatusOK || len(notices) == 0 {
		t.Errorf("notices: %d (%d rows)", code, len(notices))
	}

	ledger, err := s.store.LedgerByLoan(context.Background(), l.LoanID)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range ledger {
		kinds[e.Kind]++
	}
	for kind, want := range map[string]int{"loan_started": 1, "repayment_applied": 2, "late_fee_assessed": 1, "paid_off": 1} {
		if kinds[kind] != want {
			t.Errorf("ledger has %d %s rows, want %d (all: %v)", kinds[kind], kind, want, kinds)
		}
	}
	if kinds["penalty_posted"] == 0 {
		t.Errorf("no penalty_posted row: %v", kinds)
	}
	var audit api.Audit
	if code := call(t, srv, "GET", "/v1/loans/"+l.LoanID+"/audit", nil, &audit); code != http.StatusOK || len(audit.Entries) < len(ledger) {
		t.Errorf("audit: %d, %d entries", code, len(audit.Entries))
	}
	s.recordHistory(workflows.WorkflowID(l.LoanID), started["run_id"], "http-partial-duplicate-full")
}

// Operators steer a loan over HTTP: every action is an update the workflow
// validates, answered with the snapshot after it or the workflow's refusal.
func TestOperatorActionsOverHTTP(t *testing.T) {
	s := newStack(t)
	queue := queueName(t)
	w := s.startWorker(queue)
	defer w.Stop()
	srv := httptest.NewServer(api.New(api.Deps{Temporal: s.c, Store: s.store, HasLocale: s.tmpl.Has, Token: "e2e-token", TaskQueue: queue}))
	defer srv.Close()

	l := overdueLoan(t, 3)
	var started map[string]string
	if code := call(t, srv, "POST", "/v1/loans", l, &started); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	path := "/v1/loans/" + l.LoanID
	// Every action says who takes it and why (issue 8).
	const operator = "li.wei@lender.cn"
	type answer struct {
		State           string `json:"state"`
		ScheduleVersion int    `json:"schedule_version"`
		Error           string `json:"error"`
		Fields          []policy.FieldError
	}
	for _, c := range []struct {
		name, method, path string
		body               any
		code               int
		state, field       string
	}{
		{"resume a loan not paused", "POST", "/resume", map[string]string{"actor": operator, "reason": "x"}, http.StatusConflict, "", ""},
		{"pause without actor", "POST", "/pause", map[string]string{"reason": "hardship review"}, http.StatusBadRequest, "", "actor"},
		{"pause without reason", "POST", "/pause", map[string]string{"actor": operator}, http.StatusBadRequest, "", "reason"},
		{"pause", "POST", "/pause", map[string]string{"actor": operator, "reason": "hardship review"}, http.StatusOK, policy.StatePaused, ""},
		{"resume", "POST", "/resume", map[string]string{"actor": operator, "reason": "review done"}, http.StatusOK, policy.StateOverdue, ""},
		{"opt out of push", "PUT", "/contact", map[string]any{"actor": operator, "reason": "customer asked", "opt_outs": []string{"push"}},
			http.StatusOK, policy.StateOverdue, ""},
		{"bad phone (API)", "PUT", "/contact", map[string]any{"actor": operator, "reason": "x", "phone": "not-a-phone"}, http.StatusBadRequest, "", "phone"},
		{"reschedule into the past (workflow)", "POST", "/reschedule", map[string]any{"actor": operator, "reason": "x", "installments": []map[string]any{
			{"seq": 3, "due_date": policy.LocalDate(time.Now(), time.UTC).AddDays(-2).String(), "principal": "1.00", "interest": "0.00", "fee": "0.00"}}},
			http.StatusUnprocessableEntity, "", "installments[0].due_date"},
		{"reschedule", "POST", "/reschedule", map[string]any{"actor": operator, "reason": "extension", "installments": []map[string]any{
			{"seq": 3, "due_date": policy.LocalDate(time.Now(), time.UTC).AddDays(40).String(), "principal": "2000.00", "interest": "10.00", "fee": "0.00"}}},
			http.StatusOK, policy.StateCurrent, ""},
		{"close without reason", "POST", "/close", map[string]string{"actor": operator}, http.StatusBadRequest, "", "reason"},
		{"close", "POST", "/close", map[string]string{"actor": operator, "reason": "sold to agency"}, http.StatusOK, policy.StateClosed, ""},
		{"close again", "POST", "/close", map[string]string{"actor": operator, "reason": "sold"}, http.StatusConflict, "", ""},
	} {
		var got answer
		code := call(t, srv, c.method, path+c.path, c.body, &got)
		if code != c.code {
			t.Fatalf("%s: %d %+v, want %d", c.name, code, got, c.code)
		}
		if c.state != "" && got.State != c.state {
			t.Errorf("%s: answered state %s, want %s", c.name, got.State, c.state)
		}
		if c.field != "" && (len(got.Fields) == 0 || got.Fields[0].Field != c.field) {
			t.Errorf("%s: fields %+v, want %s", c.name, got.Fields, c.field)
		}
		if c.name == "resume" {
			// The Web UI's path: a signal without an actor is refused and
			// audited, and changes nothing.
			if err := s.c.SignalWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), "", workflows.SignalPause,
				workflows.PauseSignal{Reason: "sent from the Web UI"}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, "the signal without an actor audited", func() (bool, string) {
				rows, err := s.store.LedgerByLoan(context.Background(), l.LoanID)
				if err != nil {
					return false, err.Error()
				}
				for _, r := range rows {
					if r.Kind == store.KindSignalRejected {
						return true, ""
					}
				}
				return false, fmt.Sprintf("%d ledger rows, none signal_rejected", len(rows))
			})
		}
	}
	run := s.c.GetWorkflow(context.Background(), workflows.WorkflowID(l.LoanID), started["run_id"])
	var final policy.Snapshot
	if err := run.Get(context.Background(), &final); err != nil {
		t.Fatal(err)
	}
	if final.State != policy.StateClosed || final.ScheduleVersion != 1 {
		t.Errorf("final state %s version %d, want closed after one reschedule", final.State, final.ScheduleVersion)
	}
	ledger, _ := s.store.LedgerByLoan(context.Background(), l.LoanID)
	kinds := map[string]int{}
	for _, e := range ledger {
		kinds[e.Kind]++
		if e.Kind == store.KindPaused && !strings.Contains(e.DedupeKey, "/update/") {
			t.Errorf("paused row key %s is not the update's", e.DedupeKey)
		}
	}
	for _, k := range []string{"paused", "resumed", "contact_updated", "rescheduled", "closed"} {
		if kinds[k] != 1 {
			t.Errorf("ledger %s rows = %d, want 1 (%v)", k, kinds[k], kinds)
		}
	}
	// Refused updates left nothing; the signal without an actor one row.
	if kinds[store.KindSignalRejected] != 1 {
		t.Errorf("%d signal_rejected rows, want 1 (the signal without an actor)", kinds[store.KindSignalRejected])
	}
	// Who and why, in the ledger and in the audit export.
	want := map[string]string{store.KindPaused: "hardship review", store.KindResumed: "review done",
		store.KindContactUpdated: "customer asked", store.KindRescheduled: "extension", store.KindClosed: "sold to agency"}
	var audit api.Audit
	if code := call(t, srv, "GET", path+"/audit", nil, &audit); code != http.StatusOK {
		t.Fatalf("audit: %d", code)
	}
	shown := map[string]bool{}
	for _, e := range audit.Entries {
		if e.Source != store.SourceLedger {
			continue
		}
		var d struct{ Actor, Reason, Signal string }
		if err := json.Unmarshal(e.Detail, &d); err != nil {
			t.Fatalf("%s detail %s: %v", e.Kind, e.Detail, err)
		}
		if reason, ok := want[e.Kind]; ok {
			shown[e.Kind] = true
			if d.Actor != operator || d.Reason != reason {
				t.Errorf("audit %s: actor %q reason %q, want %s and %q", e.Kind, d.Actor, d.Reason, operator, reason)
			}
		}
		if e.Kind == store.KindSignalRejected && (d.Signal != workflows.SignalPause || d.Actor != "" || !strings.Contains(d.Reason, "actor")) {
			t.Errorf("signal_rejected detail %s, want the pause refused for its actor", e.Detail)
		}
	}
	if len(shown) != len(want) {
		t.Errorf("the audit shows who and why for %v, want %d kinds", shown, len(want))
	}
	s.recordHistory(workflows.WorkflowID(l.LoanID), started["run_id"], "http-operator-updates")
}
