package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"dunning/api"
	"dunning/internal/testenv"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// auditIdentity is the Temporal client identity of the operator's client in
// these tests: the audit's history rows must name it.
const auditIdentity = "audit-e2e-operator@ops-console"

// getAudit reads a loan's audit export over HTTP.
func getAudit(t *testing.T, srv *httptest.Server, loanID string) api.Audit {
	t.Helper()
	var a api.Audit
	if code := call(t, srv, "GET", "/v1/loans/"+loanID+"/audit", nil, &a); code != http.StatusOK {
		t.Fatalf("audit of %s: %d", loanID, code)
	}
	return a
}

// getAuditCSV reads a loan's audit export as CSV records, header first.
func getAuditCSV(t *testing.T, srv *httptest.Server, loanID string) [][]string {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+"/v1/loans/"+loanID+"/audit?format=csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer e2e-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit csv of %s: %d %s", loanID, resp.StatusCode, body)
	}
	records, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("audit csv: %v\n%s", err, body)
	}
	return records
}

// find returns the entries of source and kind (and name, if not "").
func find(a api.Audit, source, kind, name string) []store.TimelineEntry {
	var out []store.TimelineEntry
	for _, e := range a.Entries {
		if e.Source == source && e.Kind == kind && (name == "" || e.Name == name) {
			out = append(out, e)
		}
	}
	return out
}

// The audit export on the real server joins the three sources of a loan
// that went through an operator's update (a pause whose timer runs out), a
// reminder, a repayment that continues it as new and an operator's close
// signal: the ledger rows, the notices with their text, and the history
// events of both runs with the update and signal names and the identity of
// the client that sent them, in time order, with no borrower data in the
// history rows.
func TestAuditJoinsLedgerNoticesAndHistory(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	// The operator's own client, with an identity of its own.
	op, err := client.Dial(client.Options{HostPort: os.Getenv("DUNNING_TEST_TEMPORAL"), Namespace: "default",
		Identity: auditIdentity, Logger: tlog.NewStructuredLogger(testenv.Quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	srv := httptest.NewServer(api.New(api.Deps{Temporal: op, Store: s.store, HasLocale: s.tmpl.Has, Token: "e2e-token", TaskQueue: queue}))
	defer srv.Close()

	l := overdueLoan(t, 2) // inside grace: the +1 reminder goes out at once, 1045.00 settles installment 1
	var started map[string]string
	if code := call(t, srv, "POST", "/v1/loans", l, &started); code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, started)
	}
	eventually(t, 20*time.Second, "the +1 reminder", func() (bool, string) {
		got := sentTemplates(s.notices(l.LoanID))
		return strings.Contains(got, "overdue_gentle/sms"), got
	})
	path := "/v1/loans/" + l.LoanID
	pause := map[string]any{"actor": "li.wei@lender.cn", "reason": "hardship review", "until": time.Now().Add(3 * time.Second).Format(time.RFC3339Nano)}
	if code := call(t, srv, "POST", path+"/pause", pause, nil); code != http.StatusOK {
		t.Fatalf("pause: %d", code)
	}
	// The pause runs out on its timer.
	eventually(t, 30*time.Second, "the pause's timer", func() (bool, string) {
		a := getAudit(t, srv, l.LoanID)
		return len(find(a, store.SourceHistory, "timer_fired", "")) > 0, fmt.Sprint(len(a.Entries), " entries")
	})
	var snap map[string]any
	if code := call(t, srv, "POST", path+"/repayments", map[string]string{"txn_id": "T-AUDIT-1", "amount": "1045.00"}, &snap); code != http.StatusOK {
		t.Fatalf("repay: %d %v", code, snap)
	}
	ctx := context.Background()
	eventually(t, 20*time.Second, "a new run", func() (bool, string) {
		d, err := s.c.DescribeWorkflow(ctx, workflows.WorkflowID(l.LoanID), "")
		if err != nil {
			return false, err.Error()
		}
		return d.WorkflowExecution.RunID != started["run_id"], d.WorkflowExecution.RunID
	})
	if err := op.SignalWorkflow(ctx, workflows.WorkflowID(l.LoanID), "", workflows.SignalClose,
		workflows.CloseSignal{Actor: "li.wei@lender.cn", Reason: "sold to agency"}); err != nil {
		t.Fatal(err)
	}
	var final policy.Snapshot
	if err := s.c.GetWorkflow(ctx, workflows.WorkflowID(l.LoanID), "").Get(ctx, &final); err != nil {
		t.Fatalf("workflow result: %v", err)
	}

	a := getAudit(t, srv, l.LoanID)
	if a.History != api.HistoryComplete || len(a.Runs) != 2 || a.Runs[0] != started["run_id"] || a.LoanID != l.LoanID {
		t.Fatalf("history %s (%s), runs %v, want complete with 2 runs from %s", a.History, a.HistoryNote, a.Runs, started["run_id"])
	}
	sources := map[string]int{}
	for i, e := range a.Entries {
		sources[e.Source]++
		if i > 0 && e.At.Before(a.Entries[i-1].At) {
			t.Errorf("entry %d (%s/%s at %s) before entry %d (%s)", i, e.Source, e.Kind, e.At, i-1, a.Entries[i-1].At)
		}
	}
	if sources[store.SourceLedger] == 0 || sources[store.SourceNotice] == 0 || sources[store.SourceHistory] == 0 {
		t.Errorf("sources %v, want all three", sources)
	}
	for _, w := range []struct{ kind, name, identity string }{
		{"update_accepted", workflows.UpdatePause, auditIdentity},
		{"update_completed", workflows.UpdatePause, auditIdentity},
		{"update_accepted", workflows.UpdateRepay, auditIdentity},
		{"signal_received", workflows.SignalClose, auditIdentity},
	} {
		got := find(a, store.SourceHistory, w.kind, w.name)
		if len(got) != 1 || got[0].Identity != w.identity || got[0].ID == 0 || got[0].EventType == "" || got[0].RunID == "" {
			t.Errorf("%s %s: %+v, want one from %s", w.kind, w.name, got, w.identity)
		}
	}
	if got := find(a, store.SourceHistory, "update_accepted", workflows.UpdatePause); len(got) == 1 && got[0].UpdateID == "" {
		t.Errorf("pause update without its id: %+v", got[0])
	}
	for kind, n := range map[string]int{"workflow_started": 2, "continued_as_new": 1, "timer_fired": 1, "workflow_completed": 1} {
		if got := len(find(a, store.SourceHistory, kind, "")); got < n || (kind != "timer_fired" && got != n) {
			t.Errorf("%d %s rows, want %d", got, kind, n)
		}
	}
	if can := find(a, store.SourceHistory, "continued_as_new", ""); len(can) == 1 && !strings.Contains(string(can[0].Detail), a.Runs[1]) {
		t.Errorf("continue-as-new row does not name the next run: %s", can[0].Detail)
	}
	for _, kind := range []string{store.KindLoanStarted, store.KindPaused, store.KindRepaymentApplied, store.KindClosed} {
		if len(find(a, store.SourceLedger, kind, "")) == 0 {
			t.Errorf("no ledger %s row", kind)
		}
	}
	if p := find(a, store.SourceLedger, store.KindPaused, ""); len(p) > 0 && !strings.Contains(string(p[0].Detail), "hardship review") {
		t.Errorf("paused row without its reason: %s", p[0].Detail)
	}
	reminders := find(a, store.SourceNotice, store.KindNotice, "")
	if !slices.ContainsFunc(reminders, func(e store.TimelineEntry) bool {
		return e.Template == "overdue_gentle" && e.Channel == "sms" && e.Status == store.NoticeSent && e.Body != ""
	}) {
		t.Errorf("no sent overdue_gentle SMS with its text among %d notices", len(reminders))
	}
	// The borrower's details are in the notices (where compliance needs
	// them) but never in a history row, whatever the payloads hold.
	for _, e := range a.Entries {
		if e.Source != store.SourceHistory {
			continue
		}
		b, _ := json.Marshal(e)
		for _, p := range []string{l.Customer.Phone, l.Customer.Name, l.Customer.Email, l.Customer.PushToken} {
			if p != "" && strings.Contains(string(b), p) {
				t.Errorf("history row holds %q: %s", p, b)
			}
		}
	}

	records := getAuditCSV(t, srv, l.LoanID)
	col := map[string]int{}
	for i, h := range records[0] {
		col[h] = i
	}
	if len(records) != 2+len(a.Entries) || records[1][col["kind"]] != "history_complete" {
		t.Fatalf("csv: %d records for %d entries, first %v", len(records), len(a.Entries), records[1])
	}
	if !slices.ContainsFunc(records[2:], func(r []string) bool {
		return r[col["source"]] == "history" && r[col["kind"]] == "update_accepted" && r[col["name"]] == "pause" && r[col["identity"]] == auditIdentity
	}) {
		t.Errorf("csv has no pause update row from %s", auditIdentity)
	}
}

// A loan Temporal has no workflow for (its retention removed the history;
// here: rows written for an id that never ran) answers from the ledger and
// notices, saying the history expired.
func TestAuditOfALoanWithoutWorkflow(t *testing.T) {
	s := newStack(t)
	srv := httptest.NewServer(api.New(api.Deps{Temporal: s.c, Store: s.store, HasLocale: s.tmpl.Has, Token: "e2e-token"}))
	defer srv.Close()
	ctx := context.Background()
	loanID := fmt.Sprintf("L-E2E-GONE-%d", time.Now().UnixNano())
	wid, run := workflows.WorkflowID(loanID), "run-long-gone"
	at := time.Now().Add(-400 * 24 * time.Hour)
	if _, err := s.store.AppendLedger(ctx, store.LedgerEntry{LoanID: loanID, Kind: store.KindLoanStarted, OccurredAt: at,
		WorkflowID: wid, RunID: run, DedupeKey: loanID + "/loan_started/" + run + "/1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.RecordSkipped(ctx, store.Notice{IdempotencyKey: loanID + "/0/1/7/push", LoanID: loanID, CustomerID: "C-1",
		Channel: "push", Template: "overdue_firm", Locale: "zh-CN", Reason: "opted_out", WorkflowID: wid, RunID: run, Attempt: 1}); err != nil {
		t.Fatal(err)
	}

	a := getAudit(t, srv, loanID)
	if a.History != api.HistoryExpired || !strings.Contains(a.HistoryNote, "retention") || !slices.Equal(a.ExpiredRuns, []string{run}) ||
		len(a.Runs) != 0 || len(a.Entries) != 2 || a.Entries[0].Source != store.SourceLedger || a.Entries[1].Source != store.SourceNotice {
		t.Errorf("audit %+v", a)
	}
	records := getAuditCSV(t, srv, loanID)
	if len(records) != 4 || records[1][1] != store.SourceHistory || records[1][4] != "history_expired" {
		t.Errorf("csv %v", records)
	}
}
