package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/shopspring/decimal"

	"dunning/policies"
	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// now is the tests' clock: a week after the example loan's first due date.
var now = time.Date(2026, 12, 8, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// loanJSON is DESIGN.md's example loan with changes applied by edit.
func loanJSON(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	m := map[string]any{
		"loan_id":  "L-2026-0001",
		"currency": "CNY",
		"policy":   "default",
		"customer": map[string]any{
			"id": "C-778", "name": "张伟", "phone": "+8613800138000", "email": "zhang.wei@example.cn",
			"push_token": "fcm-token", "locale": "zh-CN", "time_zone": "Asia/Shanghai",
		},
		"installments": []any{
			map[string]any{"seq": 1, "due_date": "2026-12-01", "principal": "1000.00", "interest": "45.00", "fee": "0.00"},
			map[string]any{"seq": 2, "due_date": "2027-01-01", "principal": "1000.00", "interest": "40.00", "fee": "0.00"},
		},
	}
	if edit != nil {
		edit(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func customer(m map[string]any) map[string]any { return m["customer"].(map[string]any) }
func installment(m map[string]any, i int) map[string]any {
	return m["installments"].([]any)[i].(map[string]any)
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// snapshot is a loan's balance as the workflow answers it.
func snapshot(loanID, currency string, applied ...string) policy.Snapshot {
	b := policy.Breakdown{Principal: d("1000"), Interest: d("45"), Fee: d("0"), Penalty: d("3.5"), LateFee: d("20"), Total: d("1068.5")}
	s := policy.Snapshot{
		LoanID: loanID, State: policy.StateOverdue, DaysPastDue: 7, Bucket: "1-7", Stage: "overdue_firm",
		AsOf: now, Currency: currency, Overdue: b, Outstanding: b, Credit: d("0"),
		Installments: []policy.InstallmentState{
			{Seq: 1, DueDate: policy.MustDate("2026-12-01"), Status: policy.StatusOverdue, DaysPastDue: 7, Outstanding: b},
			{Seq: 2, DueDate: policy.MustDate("2027-01-01"), Status: policy.StatusUpcoming},
		},
	}
	for _, txn := range applied {
		s.Applied = append(s.Applied, policy.Allocation{TxnID: txn, Amount: d("100"), PaidAt: now.Add(-time.Hour)})
	}
	return s
}

type testAPI struct {
	h     http.Handler
	tc    *fakeTemporal
	st    *fakeStore
	logs  *bytes.Buffer
	token string
}

func newTestAPI(t *testing.T, edit ...func(*Deps)) *testAPI {
	t.Helper()
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAPI{tc: newFakeTemporal(), st: &fakeStore{}, logs: &bytes.Buffer{}}
	deps := Deps{
		Temporal: ta.tc, Store: ta.st, Policies: reg,
		HasLocale: func(l string) bool { return l == "zh-CN" || l == "en" },
		Logger:    slog.New(slog.NewTextHandler(ta.logs, nil)),
		Now:       func() time.Time { return now },
	}
	for _, e := range edit {
		e(&deps)
	}
	ta.token = deps.Token
	ta.h = New(deps)
	return ta
}

// do sends a request as a client does: a body goes with Content-Type
// application/json.
func (ta *testAPI) do(t *testing.T, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return ta.doWith(t, method, path, body, ct)
}

// doWith sends a request with the Content-Type ct ("" for none).
func (ta *testAPI) doWith(t *testing.T, method, path, body, ct string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if ta.token != "" {
		req.Header.Set("Authorization", "Bearer "+ta.token)
	}
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, req)
	return rec
}

// decode reads a JSON answer into a map.
func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, rec.Body)
	}
	return m
}

// fieldsOf lists the field names of an error answer.
func fieldsOf(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("not an error body: %v\n%s", err, rec.Body)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func wantCode(t *testing.T, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d, want %d; body %s", rec.Code, code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "text/") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestStartLoan(t *testing.T) {
	ta := newTestAPI(t)
	rec := ta.do(t, "POST", "/v1/loans", loanJSON(t, nil))
	wantCode(t, rec, http.StatusCreated)
	got := decode(t, rec)
	want := map[string]any{"loan_id": "L-2026-0001", "workflow_id": "loan-L-2026-0001", "run_id": "run-1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("answer %v has extra keys", got)
	}

	if len(ta.tc.starts) != 1 {
		t.Fatalf("%d starts", len(ta.tc.starts))
	}
	s := ta.tc.starts[0]
	o := s.opts
	if o.ID != "loan-L-2026-0001" || o.TaskQueue != workflows.TaskQueue {
		t.Errorf("id %q task queue %q", o.ID, o.TaskQueue)
	}
	if o.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY {
		t.Errorf("reuse policy %v", o.WorkflowIDReusePolicy)
	}
	if o.StaticSummary != "Loan L-2026-0001 · CNY · 2 installments · policy default" {
		t.Errorf("summary %q", o.StaticSummary)
	}
	for _, secret := range []string{"张伟", "+8613800138000", "zhang.wei", "fcm-token"} {
		if strings.Contains(o.StaticSummary+o.StaticDetails, secret) {
			t.Errorf("summary or details reveal %q", secret)
		}
	}
	sa := o.TypedSearchAttributes
	if v, _ := sa.GetKeyword(workflows.AttrLoanID); v != "L-2026-0001" {
		t.Errorf("LoanId %q", v)
	}
	if v, _ := sa.GetKeyword(workflows.AttrCustomerID); v != "C-778" {
		t.Errorf("CustomerId %q", v)
	}
	if v, _ := sa.GetKeyword(workflows.AttrLoanState); v != "current" {
		t.Errorf("LoanState %q", v)
	}
	if s.input.Policy.Name != "default" || s.input.Loan.LoanID != "L-2026-0001" || s.input.State != nil {
		t.Errorf("input policy %q loan %q state %v", s.input.Policy.Name, s.input.Loan.LoanID, s.input.State)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/loans/L-2026-0001" {
		t.Errorf("Location %q", loc)
	}

	// The same loan again: 200 with the running workflow's run, nothing new.
	rec = ta.do(t, "POST", "/v1/loans", loanJSON(t, nil))
	wantCode(t, rec, http.StatusOK)
	if got := decode(t, rec); got["run_id"] != "run-1" || got["workflow_id"] != "loan-L-2026-0001" {
		t.Errorf("repeat answered %v", got)
	}
	if len(ta.tc.starts) != 1 {
		t.Errorf("repeat started a workflow")
	}

	// A paid-off loan's id cannot be started again.
	ta.tc.add("L-PAID", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, snapshot("L-PAID", "CNY"))
	rec = ta.do(t, "POST", "/v1/loans", loanJSON(t, func(m map[string]any) { m["loan_id"] = "L-PAID" }))
	wantCode(t, rec, http.StatusConflict)
	if !strings.Contains(decode(t, rec)["error"].(string), "already finished") {
		t.Errorf("409 body %s", rec.Body)
	}
}

func TestStartLoanRejects(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string
	}{
		{"empty loan_id", loanJSON(t, func(m map[string]any) { m["loan_id"] = "" }), "loan_id"},
		{"bad phone", loanJSON(t, func(m map[string]any) { customer(m)["phone"] = "13800138000" }), "customer.phone"},
		{"bad email", loanJSON(t, func(m map[string]any) { customer(m)["email"] = "not an email" }), "customer.email"},
		{"bad due date", loanJSON(t, func(m map[string]any) { installment(m, 0)["due_date"] = "2026-02-30" }), "installments[0].due_date"},
		{"dates not increasing", loanJSON(t, func(m map[string]any) { installment(m, 1)["due_date"] = "2026-11-01" }), "installments[1].due_date"},
		{"JPY with decimals", loanJSON(t, func(m map[string]any) {
			m["currency"] = "JPY"
			installment(m, 0)["principal"] = "1000.50"
		}), "installments[0].principal"},
		{"unknown key", loanJSON(t, func(m map[string]any) { m["amount_due"] = "1" }), "amount_due"},
		{"amount not a number", loanJSON(t, func(m map[string]any) { installment(m, 0)["fee"] = "1,5" }), "installments[0].fee"},
		{"unknown policy", loanJSON(t, func(m map[string]any) { m["policy"] = "gentle" }), "policy"},
		{"locale without templates", loanJSON(t, func(m map[string]any) { customer(m)["locale"] = "fr" }), "customer.locale"},
		{"unknown time zone", loanJSON(t, func(m map[string]any) { customer(m)["time_zone"] = "Mars/Olympus" }), "customer.time_zone"},
		{"no installments", loanJSON(t, func(m map[string]any) { m["installments"] = []any{} }), "installments"},
		{"malformed JSON", `{"loan_id": "L-1",`, ""},
		{"empty body", ``, ""},
		{"array", `[]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			rec := ta.do(t, "POST", "/v1/loans", tt.body)
			wantCode(t, rec, http.StatusBadRequest)
			if fields := fieldsOf(t, rec); !slices.Contains(fields, tt.wantField) {
				t.Errorf("fields %q do not name %q; body %s", fields, tt.wantField, rec.Body)
			}
			if !strings.HasPrefix(decode(t, rec)["error"].(string), "invalid loan: ") {
				t.Errorf("error %s", rec.Body)
			}
			if starts, _, _ := ta.tc.calls(); starts != 0 {
				t.Errorf("a bad loan started a workflow")
			}
		})
	}
}

func TestStatus(t *testing.T) {
	ta := newTestAPI(t)
	ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))

	rec := ta.do(t, "GET", "/v1/loans/L-1", "")
	wantCode(t, rec, http.StatusOK)
	got := decode(t, rec)
	overdue := got["overdue"].(map[string]any)
	for k, want := range map[string]string{"principal": "1000.00", "penalty": "3.50", "late_fee": "20.00", "total": "1068.50"} {
		if overdue[k] != want { // a string, with the currency's minor units
			t.Errorf("overdue.%s = %#v, want %q", k, overdue[k], want)
		}
	}
	if got["credit"] != "0.00" || got["state"] != "overdue" || got["days_past_due"] != 7.0 {
		t.Errorf("snapshot %v", got)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-404", "")
	wantCode(t, rec, http.StatusNotFound)
	if strings.TrimSpace(rec.Body.String()) != `{"error":"loan L-404 not found"}` {
		t.Errorf("404 body %s", rec.Body)
	}

	for _, bad := range []string{"L%241", "L%20x", strings.Repeat("x", 65), "%C3%A9"} {
		rec = ta.do(t, "GET", "/v1/loans/"+bad, "")
		wantCode(t, rec, http.StatusBadRequest)
		if fields := fieldsOf(t, rec); !slices.Equal(fields, []string{"id"}) {
			t.Errorf("%s: fields %v", bad, fields)
		}
	}
	if ta.tc.queries != 2 {
		t.Errorf("%d queries, want 2 (bad ids must not reach Temporal)", ta.tc.queries)
	}

	ta.tc.down = true
	rec = ta.do(t, "GET", "/v1/loans/L-1", "")
	wantCode(t, rec, http.StatusServiceUnavailable)
	if !strings.Contains(decode(t, rec)["error"].(string), "temporal unavailable") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("503 answer %s", rec.Body)
	}
}

func TestRepay(t *testing.T) {
	validatorSaid := func(err error) func(*fakeTemporal) {
		return func(f *fakeTemporal) { f.updateErr = workflowError(err) }
	}
	tests := []struct {
		name       string
		loan       string
		status     enumspb.WorkflowExecutionStatus
		applied    []string
		setup      func(*fakeTemporal)
		body       string
		wantCode   int
		wantFields []string
		wantError  string
		wantUpdate bool
	}{
		{name: "applied", loan: "L-1", body: `{"txn_id":"T-9","amount":"100.00","paid_at":"2026-12-08T09:00:00+08:00"}`,
			wantCode: 200, wantUpdate: true},
		{name: "paid_at defaults to now", loan: "L-1", body: `{"txn_id":"T-9","amount":"100"}`, wantCode: 200, wantUpdate: true},
		{name: "zero amount", loan: "L-1", body: `{"txn_id":"T-9","amount":"0"}`, wantCode: 400, wantFields: []string{"amount"}},
		{name: "negative amount", loan: "L-1", body: `{"txn_id":"T-9","amount":"-5.00"}`, wantCode: 400, wantFields: []string{"amount"}},
		{name: "amount not a number", loan: "L-1", body: `{"txn_id":"T-9","amount":"100,00"}`, wantCode: 400, wantFields: []string{"amount"}},
		{name: "no txn_id", loan: "L-1", body: `{"amount":"1.00"}`, wantCode: 400, wantFields: []string{"txn_id"}},
		{name: "unknown field", loan: "L-1", body: `{"txn_id":"T-9","amount":"1.00","amt":"1"}`, wantCode: 400, wantFields: []string{"amt"}},
		{name: "paid in the future", loan: "L-1", body: `{"txn_id":"T-9","amount":"1.00","paid_at":"2026-12-09T10:00:00+08:00"}`,
			wantCode: 400, wantFields: []string{"paid_at"}},
		{name: "unknown currency", loan: "L-1", body: `{"txn_id":"T-9","amount":"1.00","currency":"XYZ"}`, wantCode: 400, wantFields: []string{"currency"}},
		{name: "malformed JSON", loan: "L-1", body: `{"txn_id":`, wantCode: 400, wantFields: []string{""}},
		{name: "validator rejects", loan: "L-1", body: `{"txn_id":"T-9","amount":"1.005"}`,
			setup:    validatorSaid(policy.ValidationError{{Field: "amount", Problem: "1.005 has more decimals than CNY allows (2)"}}),
			wantCode: 422, wantFields: []string{"amount"}, wantError: "amount: 1.005 has more decimals than CNY allows (2)", wantUpdate: true},
		{name: "validator: loan finishing", loan: "L-1", body: `{"txn_id":"T-9","amount":"1.00"}`,
			setup: validatorSaid(workflows.ErrLoanFinished), wantCode: 409, wantError: "loan is no longer open", wantUpdate: true},
		{name: "unknown loan", loan: "L-404", body: `{"txn_id":"T-9","amount":"1.00"}`, wantCode: 404,
			wantError: "loan L-404 not found", wantUpdate: true},
		{name: "paid off", loan: "L-1", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, body: `{"txn_id":"T-9","amount":"1.00"}`,
			wantCode: 409, wantError: "loan is no longer open", wantUpdate: true},
		{name: "paid off, repeated txn", loan: "L-1", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, applied: []string{"T-1", "T-9"},
			body: `{"txn_id":"T-9","amount":"100.00"}`, wantCode: 200, wantUpdate: true},
		{name: "temporal down", loan: "L-1", setup: func(f *fakeTemporal) { f.down = true }, body: `{"txn_id":"T-9","amount":"1.00"}`,
			wantCode: 503, wantError: "temporal unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			st := tt.status
			if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
				st = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			}
			ta.tc.add("L-1", st, snapshot("L-1", "CNY", tt.applied...))
			if tt.setup != nil {
				tt.setup(ta.tc)
			}
			rec := ta.do(t, "POST", "/v1/loans/"+tt.loan+"/repayments", tt.body)
			wantCode(t, rec, tt.wantCode)
			got := decode(t, rec)
			if tt.wantCode == 200 {
				if got["loan_id"] != "L-1" || got["outstanding"].(map[string]any)["total"] != "1068.50" {
					t.Errorf("snapshot %s", rec.Body)
				}
			}
			if tt.wantFields != nil {
				if fields := fieldsOf(t, rec); !slices.Equal(fields, tt.wantFields) {
					t.Errorf("fields %q, want %q", fields, tt.wantFields)
				}
			}
			if tt.wantError != "" && !strings.Contains(got["error"].(string), tt.wantError) {
				t.Errorf("error %q, want it to contain %q", got["error"], tt.wantError)
			}
			_, updates, _ := ta.tc.calls()
			if tt.wantUpdate != (updates == 1) {
				t.Fatalf("%d updates sent, want update %v", updates, tt.wantUpdate)
			}
			if updates == 1 {
				u := ta.tc.updates[0]
				r := u.Args[0].(policy.Repayment)
				if u.UpdateName != workflows.UpdateRepay || u.UpdateID != "repay/T-9" || u.WorkflowID != "loan-"+tt.loan || r.TxnID != "T-9" {
					t.Errorf("update %+v", u)
				}
				if r.PaidAt.IsZero() || r.PaidAt.After(now) {
					t.Errorf("paid_at %v", r.PaidAt)
				}
			}
		})
	}
}

func TestRepayRetriesAfterContinueAsNew(t *testing.T) {
	for _, tt := range []struct {
		lost, wantCode, wantUpdates int
	}{{1, 200, 2}, {2, 500, 2}} {
		ta := newTestAPI(t)
		ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
		ta.tc.lostUpdates = tt.lost
		rec := ta.do(t, "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-1","amount":"1.00"}`)
		wantCode(t, rec, tt.wantCode)
		if _, updates, _ := ta.tc.calls(); updates != tt.wantUpdates {
			t.Errorf("%d lost: %d updates sent, want %d", tt.lost, updates, tt.wantUpdates)
		}
	}
}

func TestSignals(t *testing.T) {
	tests := []struct {
		name, path, method, body string
		loanStatus               enumspb.WorkflowExecutionStatus
		wantCode                 int
		wantFields               []string
		wantSignal               string
		wantArg                  string
	}{
		{name: "pause", path: "/v1/loans/L-1/pause", body: `{"reason":"hardship","until":"2026-12-20T00:00:00+08:00"}`,
			wantCode: 202, wantSignal: workflows.SignalPause, wantArg: `{"reason":"hardship","until":"2026-12-20T00:00:00+08:00"}`},
		{name: "pause with no body", path: "/v1/loans/L-1/pause", body: ``, wantCode: 202, wantSignal: workflows.SignalPause, wantArg: `{"reason":""}`},
		{name: "pause until the past", path: "/v1/loans/L-1/pause", body: `{"reason":"x","until":"2026-12-01T00:00:00+08:00"}`,
			wantCode: 400, wantFields: []string{"until"}},
		{name: "pause bad until", path: "/v1/loans/L-1/pause", body: `{"until":"tomorrow"}`, wantCode: 400, wantFields: []string{"until"}},
		{name: "resume", path: "/v1/loans/L-1/resume", body: `{}`, wantCode: 202, wantSignal: workflows.SignalResume, wantArg: `{}`},
		{name: "close", path: "/v1/loans/L-1/close", body: `{"reason":"sold to agency"}`, wantCode: 202,
			wantSignal: workflows.SignalClose, wantArg: `{"reason":"sold to agency"}`},
		{name: "close without reason", path: "/v1/loans/L-1/close", body: `{}`, wantCode: 400, wantFields: []string{"reason"}},
		{name: "close blank reason", path: "/v1/loans/L-1/close", body: `{"reason":"  "}`, wantCode: 400, wantFields: []string{"reason"}},
		{name: "close unknown key", path: "/v1/loans/L-1/close", body: `{"reason":"x","why":"y"}`, wantCode: 400, wantFields: []string{"why"}},
		{name: "close unknown loan", path: "/v1/loans/L-404/close", body: `{"reason":"x"}`, wantCode: 404},
		{name: "close finished loan", path: "/v1/loans/L-1/close", body: `{"reason":"x"}`,
			loanStatus: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, wantCode: 409},
		{name: "contact", method: "PUT", path: "/v1/loans/L-1/contact", body: `{"phone":"+8613900139000","opt_outs":["push"]}`,
			wantCode: 202, wantSignal: workflows.SignalUpdateContact, wantArg: `{"phone":"+8613900139000","opt_outs":["push"]}`},
		{name: "contact bad phone", method: "PUT", path: "/v1/loans/L-1/contact", body: `{"phone":"139 0013 9000"}`,
			wantCode: 400, wantFields: []string{"phone"}},
		{name: "contact bad email and zone", method: "PUT", path: "/v1/loans/L-1/contact", body: `{"email":"x@","time_zone":"Nowhere/City"}`,
			wantCode: 400, wantFields: []string{"email", "time_zone"}},
		{name: "contact locale without templates", method: "PUT", path: "/v1/loans/L-1/contact", body: `{"locale":"de"}`,
			wantCode: 400, wantFields: []string{"locale"}},
		{name: "contact unknown opt-out", method: "PUT", path: "/v1/loans/L-1/contact", body: `{"opt_outs":["fax"]}`,
			wantCode: 400, wantFields: []string{"opt_outs[0]"}},
		{name: "contact empty", method: "PUT", path: "/v1/loans/L-1/contact", body: `{}`, wantCode: 400, wantFields: []string{""}},
		{name: "contact unknown loan", method: "PUT", path: "/v1/loans/L-404/contact", body: `{"name":"王芳"}`, wantCode: 404},
		{name: "contact with POST", method: "POST", path: "/v1/loans/L-1/contact", body: `{"name":"王芳"}`, wantCode: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			st := tt.loanStatus
			if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
				st = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			}
			ta.tc.add("L-1", st, snapshot("L-1", "CNY"))
			method := tt.method
			if method == "" {
				method = "POST"
			}
			rec := ta.do(t, method, tt.path, tt.body)
			wantCode(t, rec, tt.wantCode)
			if tt.wantCode == 202 && strings.TrimSpace(rec.Body.String()) != `{"status":"accepted"}` {
				t.Errorf("202 body %s", rec.Body)
			}
			if tt.wantFields != nil {
				if fields := fieldsOf(t, rec); !slices.Equal(fields, tt.wantFields) {
					t.Errorf("fields %q, want %q; %s", fields, tt.wantFields, rec.Body)
				}
			}
			_, _, signals := ta.tc.calls()
			if tt.wantSignal == "" {
				if signals != 0 {
					t.Errorf("sent %d signals", signals)
				}
				return
			}
			if signals != 1 {
				t.Fatalf("sent %d signals, want 1", signals)
			}
			sig := ta.tc.signals[0]
			arg, _ := json.Marshal(sig.arg)
			if sig.name != tt.wantSignal || sig.workflowID != "loan-L-1" || string(arg) != tt.wantArg {
				t.Errorf("signal %s to %s with %s, want %s with %s", sig.name, sig.workflowID, arg, tt.wantSignal, tt.wantArg)
			}
		})
	}
}

func TestReschedule(t *testing.T) {
	ins := func(due, principal string) string {
		return fmt.Sprintf(`{"reason":"hardship","installments":[{"seq":3,"due_date":%q,"principal":%q,"interest":"0","fee":"0"}]}`, due, principal)
	}
	tests := []struct {
		name, loan, currency, body string
		wantCode                   int
		wantFields                 []string
	}{
		{"accepted", "L-1", "CNY", ins("2027-02-01", "2085.00"), 202, nil},
		{"due today", "L-1", "CNY", ins("2026-12-08", "2085.00"), 400, []string{"installments[0].due_date"}},
		{"JPY decimals", "L-1", "JPY", ins("2027-02-01", "2085.50"), 400, []string{"installments[0].principal"}},
		{"no installments", "L-1", "CNY", `{"installments":[]}`, 400, []string{"installments"}},
		{"unknown loan", "L-404", "CNY", ins("2027-02-01", "1"), 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", tt.currency))
			rec := ta.do(t, "POST", "/v1/loans/"+tt.loan+"/reschedule", tt.body)
			wantCode(t, rec, tt.wantCode)
			if tt.wantFields != nil {
				if fields := fieldsOf(t, rec); !slices.Equal(fields, tt.wantFields) {
					t.Errorf("fields %q, want %q", fields, tt.wantFields)
				}
			}
			_, _, signals := ta.tc.calls()
			if (tt.wantCode == 202) != (signals == 1) {
				t.Errorf("%d signals", signals)
			}
			if signals == 1 && ta.tc.signals[0].name != workflows.SignalReschedule {
				t.Errorf("signal %s", ta.tc.signals[0].name)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	ta := newTestAPI(t, func(d *Deps) { d.Token = "s3cret-token" })
	ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
	tests := []struct {
		name, header string
		want         int
	}{
		{"right token", "Bearer s3cret-token", 200},
		{"scheme in lower case", "bearer s3cret-token", 200},
		{"no header", "", 401},
		{"wrong token", "Bearer s3cret-tokem", 401},
		{"prefix of token", "Bearer s3cret", 401},
		{"basic auth", "Basic czNjcmV0LXRva2Vu", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/v1/loans/L-1", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			ta.h.ServeHTTP(rec, req)
			wantCode(t, rec, tt.want)
			if tt.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	// A start without the token never reaches Temporal.
	req := httptest.NewRequest("POST", "/v1/loans", strings.NewReader(loanJSON(t, nil)))
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, req)
	wantCode(t, rec, 401)
	if starts, _, _ := ta.tc.calls(); starts != 0 {
		t.Error("unauthenticated start reached Temporal")
	}
	// Health and metrics are open to probes and scrapers.
	for _, path := range []string{"/healthz", "/metrics"} {
		rec := httptest.NewRecorder()
		ta.h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		wantCode(t, rec, 200)
	}
}

func TestLimitsAndRouting(t *testing.T) {
	ta := newTestAPI(t)
	ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
	huge := `{"loan_id":"L-1","customer":{"name":"` + strings.Repeat("x", 1<<20) + `"}}`

	tests := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/v1/loans", huge, 413},
		{"POST", "/v1/loans/L-1/repayments", huge, 413},
		{"PUT", "/v1/loans/L-1/contact", huge, 413},
		{"GET", "/v1/loans", "", 405},
		{"DELETE", "/v1/loans/L-1", "", 405},
		{"GET", "/v1/loans/L-1/repayments", "", 405},
		{"GET", "/v1/nothing", "", 404},
		{"GET", "/", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := ta.do(t, tt.method, tt.path, tt.body)
			wantCode(t, rec, tt.want)
			if _, ok := decode(t, rec)["error"]; !ok {
				t.Errorf("no JSON error: %s", rec.Body)
			}
			if tt.want == 405 && rec.Header().Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if starts, updates, signals := ta.tc.calls(); starts+updates+signals != 0 {
		t.Errorf("rejected requests reached Temporal: %d starts %d updates %d signals", starts, updates, signals)
	}
}

func TestNoticesAndAudit(t *testing.T) {
	amt := d("100.00")
	ta := newTestAPI(t)
	ta.st.notices = []store.Notice{{ID: 1, LoanID: "L-1", Channel: "sms", Template: "overdue_firm", Recipient: "+8613800138000", Status: "sent"}}
	ta.st.timeline = []store.TimelineEntry{
		{At: now, Source: store.SourceLedger, ID: 7, LoanID: "L-1", Kind: "repayment_applied", Amount: &amt, Currency: "CNY"},
		{At: now, Source: store.SourceNotice, ID: 1, LoanID: "L-1", Kind: store.KindNotice, Channel: "sms", Recipient: "+8613800138000"},
	}

	rec := ta.do(t, "GET", "/v1/loans/L-1/notices", "")
	wantCode(t, rec, 200)
	var ns []store.Notice
	if err := json.Unmarshal(rec.Body.Bytes(), &ns); err != nil || len(ns) != 1 || ns[0].Recipient != "+8613800138000" {
		t.Errorf("notices %s (%v)", rec.Body, err)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 200)
	var entries []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &entries); err != nil || len(entries) != 2 || entries[0]["amount"] != "100.00" {
		t.Errorf("audit %s (%v)", rec.Body, err)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-1/audit?format=csv", "")
	wantCode(t, rec, 200)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "at,source,id,loan_id,kind") || !strings.Contains(lines[2], "'+8613800138000") {
		t.Errorf("csv:\n%s", rec.Body)
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, `filename="L-1-audit.csv"`) {
		t.Errorf("Content-Disposition %q", cd)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-1/audit?format=xml", "")
	wantCode(t, rec, 400)
	if fields := fieldsOf(t, rec); !slices.Equal(fields, []string{"format"}) {
		t.Errorf("fields %v", fields)
	}

	// An unknown loan has an empty list, not null.
	ta.st.notices, ta.st.timeline = nil, nil
	for _, path := range []string{"/v1/loans/L-2/notices", "/v1/loans/L-2/audit"} {
		rec = ta.do(t, "GET", path, "")
		wantCode(t, rec, 200)
		if strings.TrimSpace(rec.Body.String()) != "[]" {
			t.Errorf("%s: %s", path, rec.Body)
		}
	}

	ta.st.err = fmt.Errorf("notices of loan L-1: %w", ErrUnavailable)
	rec = ta.do(t, "GET", "/v1/loans/L-1/notices", "")
	wantCode(t, rec, 503)
	ta.st.err = errors.New("syntax error in SQL")
	rec = ta.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 500)
	if strings.Contains(rec.Body.String(), "SQL") {
		t.Errorf("500 leaks the store's error: %s", rec.Body)
	}

	noDB := newTestAPI(t, func(d *Deps) { d.Store = nil })
	rec = noDB.do(t, "GET", "/v1/loans/L-1/audit", "")
	wantCode(t, rec, 503)
}

func TestHealthz(t *testing.T) {
	ta := newTestAPI(t)
	rec := ta.do(t, "GET", "/healthz", "")
	wantCode(t, rec, 200)
	got := decode(t, rec)
	checks := got["checks"].(map[string]any)
	if got["status"] != "ok" || checks["temporal"].(map[string]any)["status"] != "ok" || checks["database"].(map[string]any)["status"] != "ok" {
		t.Errorf("healthz %s", rec.Body)
	}

	ta.tc.down = true
	ta.st.err = errors.New("connection refused")
	rec = ta.do(t, "GET", "/healthz", "")
	wantCode(t, rec, 200) // liveness: the process serves
	checks = decode(t, rec)["checks"].(map[string]any)
	for _, dep := range []string{"temporal", "database"} {
		c := checks[dep].(map[string]any)
		if c["status"] != "error" || c["error"] == "" {
			t.Errorf("%s: %v", dep, c)
		}
	}
}

func TestMetrics(t *testing.T) {
	ta := newTestAPI(t)
	ta.do(t, "POST", "/v1/loans", loanJSON(t, nil))
	ta.do(t, "POST", "/v1/loans", loanJSON(t, nil)) // already running: not counted as started
	ta.do(t, "POST", "/v1/loans", `{}`)
	ta.tc.snapshot["loan-L-2026-0001"] = snapshot("L-2026-0001", "CNY")
	ta.do(t, "POST", "/v1/loans/L-2026-0001/repayments", `{"txn_id":"T-1","amount":"10.00"}`)
	ta.do(t, "GET", "/v1/unknown", "")

	rec := ta.do(t, "GET", "/metrics", "")
	wantCode(t, rec, 200)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter\n",
		`http_requests_total{method="POST",path="/v1/loans",code="201"} 1` + "\n",
		`http_requests_total{method="POST",path="/v1/loans",code="200"} 1` + "\n",
		`http_requests_total{method="POST",path="/v1/loans",code="400"} 1` + "\n",
		`http_requests_total{method="POST",path="/v1/loans/{id}/repayments",code="200"} 1` + "\n",
		`http_requests_total{method="",path="unmatched",code="404"} 1` + "\n",
		"# TYPE loans_started_total counter\nloans_started_total 1\n",
		"# TYPE repayments_total counter\nrepayments_total 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

func TestLogs(t *testing.T) {
	ta := newTestAPI(t)
	ta.do(t, "POST", "/v1/loans", loanJSON(t, nil))
	ta.do(t, "PUT", "/v1/loans/L-2026-0001/contact", `{"phone":"+8613900139000","email":"wang.fang@example.cn"}`)
	logs := ta.logs.String()
	if n := strings.Count(logs, "msg=\"http request\""); n != 2 {
		t.Errorf("%d request lines, want 2:\n%s", n, logs)
	}
	for _, want := range []string{`pattern=/v1/loans `, `pattern=/v1/loans/{id}/contact`, "status=201", "status=202", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, secret := range []string{"13800138000", "13900139000", "zhang.wei", "wang.fang", "张伟"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs reveal %q:\n%s", secret, logs)
		}
	}
}

func TestWorkflowErrorIsApplicationError(t *testing.T) {
	// The fake's conversion matches what a client sees from a validator.
	var app *temporal.ApplicationError
	err := workflowError(policy.ValidationError{{Field: "amount", Problem: "too many decimals"}})
	if !errors.As(err, &app) || app.Message() != "amount: too many decimals" {
		t.Fatalf("%T %v", err, err)
	}
}

// TestHostileRequests sends input that must be refused before anything is
// started, updated or signalled: 400 naming the field (415 naming the
// Content-Type header), and no call to Temporal.
func TestHostileRequests(t *testing.T) {
	const appJSON = "application/json"
	loan := func(edit func(m map[string]any)) string { return loanJSON(t, edit) }
	// raw edits the loan's JSON text, for what a map cannot express.
	raw := func(old, new string) string {
		b := loanJSON(t, nil)
		if !strings.Contains(b, old) {
			t.Fatalf("loan JSON has no %s", old)
		}
		return strings.Replace(b, old, new, 1)
	}
	schedule := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			due := time.Date(2026, 12+time.Month(i), 1, 0, 0, 0, 0, time.UTC)
			out[i] = map[string]any{"seq": i + 1, "due_date": due.Format(time.DateOnly), "principal": "100.00", "interest": "0.00", "fee": "0.00"}
		}
		return out
	}
	const ins = `{"seq":3,"due_date":"2027-02-01","principal":"2085.00","interest":"0.00","fee":"0.00"}`
	tests := []struct {
		name, method, path, body, ct string
		wantCode                     int    // 0: accepted (any 2xx)
		wantField                    string // named in the answer's fields
	}{
		// 1. Amounts as JSON numbers.
		{"loan principal a number", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["principal"] = 10.5 }), appJSON, 400, "installments[0].principal"},
		{"loan fee an integer", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 1)["fee"] = 0 }), appJSON, 400, "installments[1].fee"},
		{"repayment amount a number", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":10.5}`, appJSON, 400, "amount"},
		{"reschedule principal a number", "POST", "/v1/loans/L-1/reschedule",
			`{"installments":[` + strings.Replace(ins, `"2085.00"`, `2085`, 1) + `]}`, appJSON, 400, "installments[0].principal"},
		// 2. Missing money.
		{"loan principal missing", "POST", "/v1/loans", loan(func(m map[string]any) { delete(installment(m, 0), "principal") }), appJSON, 400, "installments[0].principal"},
		{"loan interest null", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["interest"] = nil }), appJSON, 400, "installments[0].interest"},
		{"loan fee missing", "POST", "/v1/loans", loan(func(m map[string]any) { delete(installment(m, 1), "fee") }), appJSON, 400, "installments[1].fee"},
		{"repayment amount missing", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9"}`, appJSON, 400, "amount"},
		{"repayment amount null", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":null}`, appJSON, 400, "amount"},
		{"reschedule fee missing", "POST", "/v1/loans/L-1/reschedule",
			`{"installments":[` + strings.Replace(ins, `,"fee":"0.00"`, ``, 1) + `]}`, appJSON, 400, "installments[0].fee"},
		// 3. Control characters and invalid UTF-8.
		{"name with NUL", "POST", "/v1/loans", raw(`"张伟"`, `"张\u0000伟"`), appJSON, 400, "customer.name"},
		{"name with newline", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["name"] = "张\n伟" }), appJSON, 400, "customer.name"},
		{"name invalid UTF-8", "POST", "/v1/loans", raw(`"张伟"`, "\"M\xfcller\""), appJSON, 400, "customer.name"},
		{"customer id with newline", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["id"] = "C-778\n" }), appJSON, 400, "customer.id"},
		{"push token with ESC", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["push_token"] = "tok\x1b[2J" }), appJSON, 400, "customer.push_token"},
		{"locale with NUL", "POST", "/v1/loans", raw(`"zh-CN"`, `"zh-CN\u0000"`), appJSON, 400, "customer.locale"},
		{"time zone invalid UTF-8", "POST", "/v1/loans", raw(`"Asia/Shanghai"`, "\"Asia/\xc0\""), appJSON, 400, "customer.time_zone"},
		{"txn_id with NUL", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T\u00009","amount":"1.00"}`, appJSON, 400, "txn_id"},
		{"txn_id invalid UTF-8", "POST", "/v1/loans/L-1/repayments", "{\"txn_id\":\"T\xff\",\"amount\":\"1.00\"}", appJSON, 400, "txn_id"},
		{"pause reason with newline", "POST", "/v1/loans/L-1/pause", `{"reason":"a\nb"}`, appJSON, 400, "reason"},
		{"resume reason with NUL", "POST", "/v1/loans/L-1/resume", `{"reason":"\u0000"}`, appJSON, 400, "reason"},
		{"close reason invalid UTF-8", "POST", "/v1/loans/L-1/close", "{\"reason\":\"sold\xfe\"}", appJSON, 400, "reason"},
		{"close reason right-to-left override", "POST", "/v1/loans/L-1/close", `{"reason":"\u202Edlos"}`, appJSON, 400, "reason"},
		{"reschedule reason with tab", "POST", "/v1/loans/L-1/reschedule", `{"reason":"a\tb","installments":[` + ins + `]}`, appJSON, 400, "reason"},
		{"contact name with CR", "PUT", "/v1/loans/L-1/contact", `{"name":"王芳\r"}`, appJSON, 400, "name"},
		{"contact push token with NUL", "PUT", "/v1/loans/L-1/contact", `{"push_token":"\u0000"}`, appJSON, 400, "push_token"},
		// 4. Size limits.
		{"name of 201 characters", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["name"] = strings.Repeat("张", 201) }), appJSON, 400, "customer.name"},
		{"push token of 4097 bytes", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["push_token"] = strings.Repeat("t", 4097) }), appJSON, 400, "customer.push_token"},
		{"locale of 36 characters", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["locale"] = "zh-" + strings.Repeat("a", 33) }), appJSON, 400, "customer.locale"},
		{"time zone of 65 characters", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["time_zone"] = strings.Repeat("z", 65) }), appJSON, 400, "customer.time_zone"},
		{"opt-out twice", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["opt_outs"] = []string{"sms", "sms"} }), appJSON, 400, "customer.opt_outs[1]"},
		{"four opt-outs", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["opt_outs"] = []string{"sms", "email", "push", "sms"} }), appJSON, 400, "customer.opt_outs"},
		{"601 installments", "POST", "/v1/loans", loan(func(m map[string]any) { m["installments"] = schedule(601) }), appJSON, 400, "installments"},
		{"600 installments (a 50-year mortgage)", "POST", "/v1/loans", loan(func(m map[string]any) { m["installments"] = schedule(600) }), appJSON, 0, ""},
		{"pause reason of 501 characters", "POST", "/v1/loans/L-1/pause", `{"reason":"` + strings.Repeat("理", 501) + `"}`, appJSON, 400, "reason"},
		{"close reason of 501 characters", "POST", "/v1/loans/L-1/close", `{"reason":"` + strings.Repeat("x", 501) + `"}`, appJSON, 400, "reason"},
		{"reschedule reason of 501 characters", "POST", "/v1/loans/L-1/reschedule", `{"reason":"` + strings.Repeat("x", 501) + `","installments":[` + ins + `]}`, appJSON, 400, "reason"},
		{"contact name of 201 characters", "PUT", "/v1/loans/L-1/contact", `{"name":"` + strings.Repeat("王", 201) + `"}`, appJSON, 400, "name"},
		{"contact push token of 4097 bytes", "PUT", "/v1/loans/L-1/contact", `{"push_token":"` + strings.Repeat("t", 4097) + `"}`, appJSON, 400, "push_token"},
		{"contact time zone of 65 characters", "PUT", "/v1/loans/L-1/contact", `{"time_zone":"` + strings.Repeat("z", 65) + `"}`, appJSON, 400, "time_zone"},
		{"contact locale of 36 characters", "PUT", "/v1/loans/L-1/contact", `{"locale":"en-` + strings.Repeat("a", 33) + `"}`, appJSON, 400, "locale"},
		{"contact opt-out twice", "PUT", "/v1/loans/L-1/contact", `{"opt_outs":["push","push"]}`, appJSON, 400, "opt_outs[1]"},
		{"contact four opt-outs", "PUT", "/v1/loans/L-1/contact", `{"opt_outs":["sms","email","push","sms"]}`, appJSON, 400, "opt_outs"},
		// 5. Dates from another era.
		{"due date 0000-01-01", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "0000-01-01" }), appJSON, 400, "installments[0].due_date"},
		{"due date 1970-01-01", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "1970-01-01" }), appJSON, 400, "installments[0].due_date"},
		{"due date 2101-01-01", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 1)["due_date"] = "2101-01-01" }), appJSON, 400, "installments[1].due_date"},
		{"first due more than five years ago", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "2021-12-07" }), appJSON, 400, "installments[0].due_date"},
		{"first due five years ago", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "2021-12-08" }), appJSON, 0, ""},
		{"paid_at Go's zero time", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"0001-01-01T00:00:00Z"}`, appJSON, 400, "paid_at"},
		{"paid_at 1970", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"1970-01-01T00:00:00Z"}`, appJSON, 400, "paid_at"},
		{"paid_at 1999", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"1999-12-31T23:59:59+08:00"}`, appJSON, 400, "paid_at"},
		{"pause until Go's zero time", "POST", "/v1/loans/L-1/pause", `{"until":"0001-01-01T00:00:00Z"}`, appJSON, 400, "until"},
		{"pause until 2101", "POST", "/v1/loans/L-1/pause", `{"until":"2101-01-01T00:00:00Z"}`, appJSON, 400, "until"},
		// 6. Ids that are not ids.
		{"loan_id dot", "POST", "/v1/loans", loan(func(m map[string]any) { m["loan_id"] = "." }), appJSON, 400, "loan_id"},
		{"loan_id dot dot", "POST", "/v1/loans", loan(func(m map[string]any) { m["loan_id"] = ".." }), appJSON, 400, "loan_id"},
		{"loan_id leading dash", "POST", "/v1/loans", loan(func(m map[string]any) { m["loan_id"] = "-L1" }), appJSON, 400, "loan_id"},
		{"customer id dot dot", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["id"] = ".." }), appJSON, 400, "customer.id"},
		{"txn_id dot", "POST", "/v1/loans/L-1/repayments", `{"txn_id":".","amount":"1.00"}`, appJSON, 400, "txn_id"},
		{"txn_id dot dot", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"..","amount":"1.00"}`, appJSON, 400, "txn_id"},
		{"path id leading dash", "GET", "/v1/loans/-L1", "", "", 400, "id"},
		{"path id leading dot", "GET", "/v1/loans/.L1", "", "", 400, "id"},
		{"path id leading underscore", "POST", "/v1/loans/_L1/close", `{"reason":"x"}`, appJSON, 400, "id"},
		// 7. Content-Type.
		{"loan without Content-Type", "POST", "/v1/loans", loan(nil), "", 415, "Content-Type"},
		{"loan as text/plain", "POST", "/v1/loans", loan(nil), "text/plain", 415, "Content-Type"},
		{"loan as a form", "POST", "/v1/loans", loan(nil), "application/x-www-form-urlencoded", 415, "Content-Type"},
		{"loan in Latin-1", "POST", "/v1/loans", loan(nil), "application/json; charset=iso-8859-1", 415, "Content-Type"},
		{"loan with a malformed Content-Type", "POST", "/v1/loans", loan(nil), "application/json; charset", 415, "Content-Type"},
		{"loan as application/jsonp", "POST", "/v1/loans", loan(nil), "application/jsonp", 415, "Content-Type"},
		{"loan with charset and capitals", "POST", "/v1/loans", loan(nil), "Application/JSON; Charset=UTF-8", 0, ""},
		{"loan with charset utf-8", "POST", "/v1/loans", loan(nil), "application/json; charset=utf-8", 0, ""},
		{"repayment without Content-Type", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00"}`, "", 415, "Content-Type"},
		{"repayment as text/plain", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00"}`, "text/plain; charset=utf-8", 415, "Content-Type"},
		{"pause without Content-Type", "POST", "/v1/loans/L-1/pause", `{"reason":"x"}`, "", 415, "Content-Type"},
		{"pause with no body and no Content-Type", "POST", "/v1/loans/L-1/pause", "", "", 0, ""},
		{"resume with no body and no Content-Type", "POST", "/v1/loans/L-1/resume", "", "", 0, ""},
		{"resume with an empty body as text/plain", "POST", "/v1/loans/L-1/resume", "", "text/plain", 0, ""},
		{"pause with an empty form (curl -d '')", "POST", "/v1/loans/L-1/pause", "", "application/x-www-form-urlencoded", 0, ""},
		{"pause with white space as a form", "POST", "/v1/loans/L-1/pause", " \n", "application/x-www-form-urlencoded", 0, ""},
		{"pause with a form", "POST", "/v1/loans/L-1/pause", "reason=x", "application/x-www-form-urlencoded", 415, "Content-Type"},
		{"loan with an empty body as text/plain", "POST", "/v1/loans", "", "text/plain", 400, ""},
		{"close as text/plain", "POST", "/v1/loans/L-1/close", `{"reason":"x"}`, "text/plain", 415, "Content-Type"},
		{"contact without Content-Type", "PUT", "/v1/loans/L-1/contact", `{"name":"王芳"}`, "", 415, "Content-Type"},
		{"reschedule as XML", "POST", "/v1/loans/L-1/reschedule", `<installments/>`, "application/xml", 415, "Content-Type"},
		{"GET ignores Content-Type", "GET", "/v1/loans/L-1", "", "text/plain", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
			rec := ta.doWith(t, tt.method, tt.path, tt.body, tt.ct)
			if tt.wantCode == 0 {
				if rec.Code < 200 || rec.Code > 299 {
					t.Fatalf("status %d, want 2xx; body %s", rec.Code, rec.Body)
				}
				return
			}
			wantCode(t, rec, tt.wantCode)
			if fields := fieldsOf(t, rec); !slices.Contains(fields, tt.wantField) {
				t.Errorf("fields %q do not name %q; body %s", fields, tt.wantField, rec.Body)
			}
			if starts, updates, signals := ta.tc.calls(); starts+updates+signals != 0 {
				t.Errorf("refused request reached Temporal: %d starts %d updates %d signals", starts, updates, signals)
			}
		})
	}
}
