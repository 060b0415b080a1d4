package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
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

// doKey sends a request with an Idempotency-Key header (none when key is "").
func (ta *testAPI) doKey(t *testing.T, method, path, body, key string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if ta.token != "" {
		req.Header.Set("Authorization", "Bearer "+ta.token)
	}
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, req)
	return rec
}

// mustJSON is v as the workflow sends it: encoding/json, as the data
// converter's JSON payloads.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantRawBody checks that a 200 answer is want's JSON byte for byte: the API
// passes the workflow's JSON on unchanged.
func wantRawBody(t *testing.T, rec *httptest.ResponseRecorder, want any) {
	t.Helper()
	if got, w := rec.Body.String(), mustJSON(t, want)+"\n"; got != w {
		t.Errorf("body\n%s\nwant the workflow's JSON\n%s", got, w)
	}
}

// wantErrorBody checks that an error answer is exactly {"error": msg}, with
// "fields": fields when there are any.
func wantErrorBody(t *testing.T, rec *httptest.ResponseRecorder, msg string, fields []policy.FieldError) {
	t.Helper()
	want := map[string]any{"error": msg}
	if len(fields) > 0 {
		want["fields"] = fields
	}
	var w, got any
	if err := json.Unmarshal([]byte(mustJSON(t, want)), &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, rec.Body)
	}
	if !reflect.DeepEqual(got, w) {
		t.Errorf("body\n%s\nwant\n%s", strings.TrimSpace(rec.Body.String()), mustJSON(t, want))
	}
}

// errorOf is the "error" of an error answer.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	s, _ := decode(t, rec)["error"].(string)
	return s
}

// The update ids of a repayment of T-9, RepayUpdateID's formula computed
// outside Go: "repay/T-9/" and the first 8 bytes, in hex, of
// sha256(amount "|" paid_at in UTC, RFC 3339 with nanoseconds, or "" "|" currency).
const (
	idT9At0100Z  = "repay/T-9/c7dd5cd846c9c219" // sha256("100|2026-12-08T01:00:00Z|")
	idT9NoPaidAt = "repay/T-9/2ef66184f7fff199" // sha256("100||")
	idT9CNY      = "repay/T-9/00888822f3a0c718" // sha256("100||CNY")
	idT9Nanos    = "repay/T-9/1824f3eaaad5f9a3" // sha256("100|2026-12-08T01:00:00.5Z|")
)

func TestRepayUpdateID(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, cst)
	tests := []struct {
		name string
		r    policy.Repayment
		want string
	}{
		{"paid_at", policy.Repayment{TxnID: "T-9", Amount: d("100.00"), PaidAt: at}, idT9At0100Z},
		{"same amount written otherwise", policy.Repayment{TxnID: "T-9", Amount: d("100"), PaidAt: at}, idT9At0100Z},
		{"same instant in UTC", policy.Repayment{TxnID: "T-9", Amount: d("100.0"), PaidAt: at.UTC()}, idT9At0100Z},
		{"without paid_at", policy.Repayment{TxnID: "T-9", Amount: d("100.00")}, idT9NoPaidAt},
		{"with currency", policy.Repayment{TxnID: "T-9", Amount: d("100.00"), Currency: "CNY"}, idT9CNY},
		{"fractions of a second count", policy.Repayment{TxnID: "T-9", Amount: d("100"), PaidAt: at.Add(500 * time.Millisecond)}, idT9Nanos},
		{"another amount", policy.Repayment{TxnID: "T-9", Amount: d("1")}, "repay/T-9/213fbf118a1a5e9b"},
		{"another txn_id", policy.Repayment{TxnID: "T-10", Amount: d("100")}, "repay/T-10/2ef66184f7fff199"},
	}
	for _, tt := range tests {
		if got := RepayUpdateID(tt.r); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRepay(t *testing.T) {
	// answer is what the repay update returns: the balance after this
	// repayment, unlike the status query's snapshot (no applied list).
	answer := snapshot("L-1", "CNY", "T-9")
	answer.Outstanding.Total = d("968.5")
	finalSnap := snapshot("L-1", "CNY", "T-1", "T-9") // each 100 paid at 2026-12-08T09:00:00+08:00
	finalSnap.State = policy.StatePaidOff
	amountField := policy.FieldError{Field: "amount", Problem: "1.005 has more decimals than CNY allows (2)"}
	currencyField := policy.FieldError{Field: "currency", Problem: "USD is not the loan's currency (CNY)"}
	paidAtField := policy.FieldError{Field: "paid_at", Problem: "more than 1826 days before the loan's first due date"}
	conflictFields := policy.ValidationError{{Field: "amount", Problem: "txn_id T-9 was already applied with amount 100, not 90"}}
	const finishedMsg = "loan is no longer open: it was paid off or closed (loan L-1)"
	const paid0900 = "2026-12-08T09:00:00+08:00"
	tests := []struct {
		name    string
		loan    string                          // "" is L-1
		status  enumspb.WorkflowExecutionStatus // of L-1; unset is running
		refuse  error                           // what the workflow's validator returns
		setup   func(*fakeTemporal)
		body    string
		key     string // Idempotency-Key
		want    int
		wantMsg string // the error, exactly
		// wantPrefix: the error starts with it (400, 503)
		wantPrefix string
		wantFields []policy.FieldError // compared whole for refusals
		wantNames  []string            // field names of a 400
		wantID     string              // the update sent, "" none
		wantPaidAt string              // the update's PaidAt (RFC 3339), "" zero
		wantAmount string
		wantBody   any // the 200 answer; nil is answer
		queries    int // status queries made
	}{
		{name: "applied", body: `{"txn_id":"T-9","amount":"100.00","paid_at":"` + paid0900 + `"}`,
			want: 200, wantID: idT9At0100Z, wantPaidAt: paid0900, wantAmount: "100"},
		{name: "paid_at in UTC: the same update id", body: `{"txn_id":"T-9","amount":"100","paid_at":"2026-12-08T01:00:00Z"}`,
			want: 200, wantID: idT9At0100Z, wantPaidAt: "2026-12-08T01:00:00Z", wantAmount: "100"},
		{name: "without paid_at: zero PaidAt, the workflow's time", body: `{"txn_id":"T-9","amount":"100.00"}`,
			want: 200, wantID: idT9NoPaidAt, wantAmount: "100"},
		{name: "with currency", body: `{"txn_id":"T-9","amount":"100","currency":"CNY"}`,
			want: 200, wantID: idT9CNY, wantAmount: "100"},
		{name: "an Idempotency-Key does not change the update id", body: `{"txn_id":"T-9","amount":"100.00"}`, key: "K-1",
			want: 200, wantID: idT9NoPaidAt, wantAmount: "100"},
		{name: "paid_at within the clock skew", body: `{"txn_id":"T-9","amount":"100","paid_at":"2026-12-08T10:01:00+08:00"}`,
			want: 200, wantID: "repay/T-9/395277a86e4a9ecd" /* sha256("100|2026-12-08T02:01:00Z|") */, wantPaidAt: "2026-12-08T10:01:00+08:00", wantAmount: "100"},

		// What the API refuses on its face: 400, nothing sent.
		{name: "zero amount", body: `{"txn_id":"T-9","amount":"0"}`, want: 400, wantNames: []string{"amount"}},
		{name: "negative amount", body: `{"txn_id":"T-9","amount":"-5.00"}`, want: 400, wantNames: []string{"amount"}},
		{name: "amount not a number", body: `{"txn_id":"T-9","amount":"100,00"}`, want: 400, wantNames: []string{"amount"}},
		{name: "no txn_id", body: `{"amount":"1.00"}`, want: 400, wantNames: []string{"txn_id"}},
		{name: "unknown field", body: `{"txn_id":"T-9","amount":"1.00","amt":"1"}`, want: 400, wantNames: []string{"amt"}},
		{name: "paid beyond the clock skew", body: `{"txn_id":"T-9","amount":"1.00","paid_at":"2026-12-08T10:02:01+08:00"}`,
			want: 400, wantNames: []string{"paid_at"}},
		{name: "paid in the future", body: `{"txn_id":"T-9","amount":"1.00","paid_at":"2026-12-09T10:00:00+08:00"}`,
			want: 400, wantNames: []string{"paid_at"}},
		{name: "unknown currency", body: `{"txn_id":"T-9","amount":"1.00","currency":"XYZ"}`, want: 400, wantNames: []string{"currency"}},
		{name: "malformed JSON", body: `{"txn_id":`, want: 400, wantNames: []string{""}},

		// The workflow refuses: the fields come from the error's details.
		{name: "rejected: 422 with the fields", body: `{"txn_id":"T-9","amount":"1.005"}`,
			refuse: wfRejected(amountField), want: 422, wantMsg: amountField.Error(),
			wantFields: []policy.FieldError{amountField}, wantID: "repay/T-9/6c98845a84fa2637" /* sha256("1.005||") */, wantAmount: "1.005"},
		{name: "rejected: every field, in order", body: `{"txn_id":"T-9","amount":"1.00","currency":"USD","paid_at":"2020-01-01T00:00:00Z"}`,
			refuse: wfRejected(currencyField, paidAtField), want: 422,
			wantMsg:    policy.ValidationError{currencyField, paidAtField}.Error(),
			wantFields: []policy.FieldError{currencyField, paidAtField},
			wantID:     "repay/T-9/c5e39deb3ab173e0" /* sha256("1|2020-01-01T00:00:00Z|USD") */, wantPaidAt: "2020-01-01T00:00:00Z", wantAmount: "1"},
		{name: "rejected without fields", body: `{"txn_id":"T-9","amount":"1.00"}`,
			refuse: wfRefusal(workflows.ErrTypeRejected, errors.New("the loan takes no more repayments")), want: 422,
			wantMsg: "the loan takes no more repayments", wantID: "repay/T-9/213fbf118a1a5e9b", wantAmount: "1"},
		{name: "conflict: 409 with the fields", body: `{"txn_id":"T-9","amount":"90"}`,
			refuse: wfConflict(conflictFields), want: 409, wantMsg: conflictFields.Error(), wantFields: conflictFields,
			wantID: "repay/T-9/1dbf39194f23a300" /* sha256("90||") */, wantAmount: "90"},
		{name: "loan finishing: 409 after reading the balance", body: `{"txn_id":"T-9","amount":"1.00"}`,
			refuse: wfFinished(), want: 409, wantMsg: finishedMsg, wantID: "repay/T-9/213fbf118a1a5e9b", wantAmount: "1", queries: 1},

		// The workflow completed (paid off or closed): the update is not
		// found; the final snapshot says whether the txn_id was applied.
		{name: "paid off: a new repayment", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			body: `{"txn_id":"T-9","amount":"1.00"}`, want: 409, wantMsg: finishedMsg,
			wantID: "repay/T-9/213fbf118a1a5e9b", wantAmount: "1", queries: 1},
		{name: "paid off: a repeat without paid_at", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			setup: func(f *fakeTemporal) { f.snapshot["loan-L-1"] = finalSnap },
			body:  `{"txn_id":"T-9","amount":"100.00"}`, want: 200, wantBody: finalSnap,
			wantID: idT9NoPaidAt, wantAmount: "100", queries: 1},
		{name: "paid off: a repeat with the same paid_at in another offset", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			setup: func(f *fakeTemporal) { f.snapshot["loan-L-1"] = finalSnap },
			body:  `{"txn_id":"T-9","amount":"100","paid_at":"2026-12-08T01:00:00Z"}`, want: 200, wantBody: finalSnap,
			wantID: idT9At0100Z, wantPaidAt: "2026-12-08T01:00:00Z", wantAmount: "100", queries: 1},
		{name: "paid off: the txn_id with another amount", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			setup: func(f *fakeTemporal) { f.snapshot["loan-L-1"] = finalSnap },
			body:  `{"txn_id":"T-9","amount":"90.00"}`, want: 409,
			wantMsg:    "amount: txn_id T-9 was already applied with amount 100",
			wantFields: []policy.FieldError{{Field: "amount", Problem: "txn_id T-9 was already applied with amount 100"}},
			wantID:     "repay/T-9/1dbf39194f23a300", wantAmount: "90", queries: 1},
		{name: "paid off: the txn_id with another paid_at", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			setup: func(f *fakeTemporal) { f.snapshot["loan-L-1"] = finalSnap },
			body:  `{"txn_id":"T-9","amount":"100","paid_at":"2026-12-08T08:00:00+08:00"}`, want: 409,
			wantMsg:    "paid_at: txn_id T-9 was already applied as paid at " + paid0900,
			wantFields: []policy.FieldError{{Field: "paid_at", Problem: "txn_id T-9 was already applied as paid at " + paid0900}},
			wantID:     "repay/T-9/23b16fed44a75a06", // sha256("100|2026-12-08T00:00:00Z|")
			wantPaidAt: "2026-12-08T08:00:00+08:00", wantAmount: "100", queries: 1},
		{name: "paid off: the balance cannot be read", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			setup: func(f *fakeTemporal) { f.queryErr = errDown },
			body:  `{"txn_id":"T-9","amount":"100"}`, want: 503, wantPrefix: "temporal unavailable, try again later: ",
			wantID: idT9NoPaidAt, wantAmount: "100", queries: 1},

		{name: "the SDK's own refusal (no handler mid-deploy) is ours, not the caller's",
			refuse: temporal.NewApplicationError("unknown update repay. KnownUpdates=[]", ""),
			body:   `{"txn_id":"T-9","amount":"1.00"}`, want: 500, wantPrefix: "internal error: ",
			wantID: "repay/T-9/213fbf118a1a5e9b", wantAmount: "1"},
		{name: "unknown loan", loan: "L-404", body: `{"txn_id":"T-9","amount":"1.00"}`, want: 404,
			wantMsg: "loan L-404 not found", wantID: "repay/T-9/213fbf118a1a5e9b", wantAmount: "1"},
		{name: "temporal down", setup: func(f *fakeTemporal) { f.down = true }, body: `{"txn_id":"T-9","amount":"1.00"}`,
			want: 503, wantPrefix: "temporal unavailable, try again later: ", wantID: "repay/T-9/213fbf118a1a5e9b", wantAmount: "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			st := tt.status
			if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
				st = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			}
			ta.tc.add("L-1", st, snapshot("L-1", "CNY"))
			ta.tc.answer, ta.tc.updateErr = answer, tt.refuse
			if tt.setup != nil {
				tt.setup(ta.tc)
			}
			loan := cmp.Or(tt.loan, "L-1")
			rec := ta.doKey(t, "POST", "/v1/loans/"+loan+"/repayments", tt.body, tt.key)
			wantCode(t, rec, tt.want)
			switch {
			case tt.want == 200:
				wantRawBody(t, rec, cmp.Or[any](tt.wantBody, answer))
			case tt.wantPrefix != "":
				if msg := errorOf(t, rec); !strings.HasPrefix(msg, tt.wantPrefix) {
					t.Errorf("error %q, want it to start with %q", msg, tt.wantPrefix)
				}
				if names := fieldsOf(t, rec); !slices.Equal(names, tt.wantNames) {
					t.Errorf("fields %q, want %q", names, tt.wantNames)
				}
			case tt.want == 400:
				if msg := errorOf(t, rec); !strings.HasPrefix(msg, "invalid repayment: ") {
					t.Errorf("error %q", msg)
				}
				if names := fieldsOf(t, rec); !slices.Equal(names, tt.wantNames) {
					t.Errorf("fields %q, want %q; %s", names, tt.wantNames, rec.Body)
				}
			default:
				wantErrorBody(t, rec, tt.wantMsg, tt.wantFields)
			}
			if tt.want == 503 && rec.Header().Get("Retry-After") != "5" {
				t.Errorf("503 with Retry-After %q", rec.Header().Get("Retry-After"))
			}
			if ta.tc.queries != tt.queries {
				t.Errorf("%d status queries, want %d", ta.tc.queries, tt.queries)
			}
			starts, updates, signals := ta.tc.calls()
			if starts+signals != 0 {
				t.Errorf("%d starts %d signals", starts, signals)
			}
			if tt.wantID == "" {
				if updates != 0 {
					t.Errorf("%d updates sent, want none: %+v", updates, ta.tc.updates)
				}
				return
			}
			if updates != 1 {
				t.Fatalf("%d updates sent, want 1", updates)
			}
			u := ta.tc.updates[0]
			if u.UpdateName != workflows.UpdateRepay || u.UpdateID != tt.wantID || u.WorkflowID != "loan-"+loan ||
				u.RunID != "" || u.WaitForStage != client.WorkflowUpdateStageCompleted || len(u.Args) != 1 {
				t.Fatalf("update %s id %q to %s run %q stage %v with %d args; want %s id %q to loan-%s, completed, 1 arg",
					u.UpdateName, u.UpdateID, u.WorkflowID, u.RunID, u.WaitForStage, len(u.Args), workflows.UpdateRepay, tt.wantID, loan)
			}
			r, ok := u.Args[0].(policy.Repayment)
			if !ok {
				t.Fatalf("update argument %T, want policy.Repayment", u.Args[0])
			}
			if r.TxnID != "T-9" || !r.Amount.Equal(d(tt.wantAmount)) {
				t.Errorf("repayment %+v, want T-9 of %s", r, tt.wantAmount)
			}
			if tt.wantPaidAt == "" {
				if !r.PaidAt.IsZero() {
					t.Errorf("paid_at %v, want zero: the workflow's time", r.PaidAt)
				}
			} else if want, _ := time.Parse(time.RFC3339, tt.wantPaidAt); !r.PaidAt.Equal(want) {
				t.Errorf("paid_at %v, want %s", r.PaidAt, tt.wantPaidAt)
			}
			if got := RepayUpdateID(r); got != u.UpdateID {
				t.Errorf("update id %q is not RepayUpdateID of its argument (%q)", u.UpdateID, got)
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
			t.Fatalf("%d lost: %d updates sent, want %d", tt.lost, updates, tt.wantUpdates)
		}
		// The retry is the same update: the server deduplicates it.
		if a, b := ta.tc.updates[0], ta.tc.updates[1]; a.UpdateID != b.UpdateID || a.UpdateID != "repay/T-1/213fbf118a1a5e9b" {
			t.Errorf("%d lost: update ids %q then %q", tt.lost, a.UpdateID, b.UpdateID)
		}
		if tt.wantCode == 200 {
			wantRawBody(t, rec, snapshot("L-1", "CNY"))
		}
	}
}

// TestOperatorActions: pause, resume, close, contact and reschedule are
// updates of the same name, answered with the workflow's snapshot, or its
// typed refusal.
func TestOperatorActions(t *testing.T) {
	// answer is what the workflow's update returns; the status query would
	// answer another snapshot (not paused, no notices), so a 200 shows it
	// is the update's.
	answer := snapshot("L-1", "CNY")
	answer.Paused, answer.NoticesSent = true, 4
	argType := map[string]reflect.Type{
		workflows.UpdatePause:      reflect.TypeFor[workflows.PauseSignal](),
		workflows.UpdateResume:     reflect.TypeFor[workflows.ResumeSignal](),
		workflows.UpdateClose:      reflect.TypeFor[workflows.CloseSignal](),
		workflows.UpdateContact:    reflect.TypeFor[workflows.ContactUpdate](),
		workflows.UpdateReschedule: reflect.TypeFor[workflows.RescheduleSignal](),
	}
	// soon passes the API's check (after now) but not the workflow's, whose
	// clock has moved on by the time it validates.
	soon := now.Add(30 * time.Second).Format(time.RFC3339)
	untilField := policy.FieldError{Field: "until", Problem: soon + " is not in the future"}
	zoneField := policy.FieldError{Field: "time_zone", Problem: `unknown time zone "America/Ciudad_Juarez"`}
	dueField := policy.FieldError{Field: "installments[0].due_date", Problem: "must be after today (2026-12-09)"}
	key128 := "K" + strings.Repeat("k", policy.MaxTxnIDLen-1)
	const (
		finishedMsg = "loan is no longer open: it was paid off or closed (loan L-1)"
		unavailable = "temporal unavailable, try again later: "
		ins         = `{"seq":3,"due_date":"2027-02-01","principal":"2085.00","interest":"0.00","fee":"0.00"}`
	)
	tests := []struct {
		name    string
		method  string                          // "" is POST
		path    string                          // under /v1/loans/
		key     string                          // Idempotency-Key
		body    string                          //
		status  enumspb.WorkflowExecutionStatus // of L-1; unset is running
		refuse  error                           // what the workflow's validator returns
		down    bool
		want    int
		wantMsg string // the error, exactly
		// wantPrefix: the error starts with it (400, 503)
		wantPrefix string
		wantFields []policy.FieldError // of a refusal, compared whole
		wantNames  []string            // field names of a 400
		wantUpdate string              // the update sent, "" none
		wantID     string              // its id
		wantArg    string              // its argument as JSON
	}{
		// pause
		{name: "pause", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2026-12-20T00:00:00+08:00"}`, want: 200,
			wantUpdate: workflows.UpdatePause, wantArg: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2026-12-20T00:00:00+08:00"}`},
		{name: "pause with no body", path: "L-1/pause", want: 400,
			wantPrefix: "invalid pause: actor: must not be empty", wantNames: []string{"actor", "reason"}},
		{name: "pause without actor", path: "L-1/pause", body: `{"reason":"hardship"}`, want: 400,
			wantPrefix: "invalid pause: actor: must not be empty", wantNames: []string{"actor"}},
		{name: "pause without reason", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn"}`, want: 400,
			wantPrefix: "invalid pause: reason: must not be empty", wantNames: []string{"reason"}},
		{name: "pause by a display name", path: "L-1/pause", body: `{"actor":"Li Wei <li.wei@lender.cn>","reason":"hardship"}`, want: 400,
			wantPrefix: `invalid pause: actor: "Li Wei <li.wei@lender.cn>": use only letters`, wantNames: []string{"actor"}},
		{name: "pause by an actor of 129 bytes", path: "L-1/pause", body: `{"actor":"` + strings.Repeat("a", 129) + `","reason":"hardship"}`, want: 400,
			wantPrefix: "invalid pause: actor: must be at most 128 characters, got 129", wantNames: []string{"actor"}},
		{name: "pause with an Idempotency-Key", path: "L-1/pause", key: "K-2026-12-08.1", body: `{"actor":"li.wei@lender.cn","reason":"hardship"}`, want: 200,
			wantUpdate: workflows.UpdatePause, wantID: "pause/K-2026-12-08.1", wantArg: `{"actor":"li.wei@lender.cn","reason":"hardship"}`},
		{name: "pause with an Idempotency-Key of 128 bytes", path: "L-1/pause", key: key128, body: `{"actor":"li.wei@lender.cn","reason":"hardship"}`,
			want: 200, wantUpdate: workflows.UpdatePause, wantID: "pause/" + key128, wantArg: `{"actor":"li.wei@lender.cn","reason":"hardship"}`},
		{name: "pause until the past", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"x","until":"2026-12-01T00:00:00+08:00"}`, want: 400,
			wantPrefix: "invalid pause: until: 2026-12-01T00:00:00+08:00 is not in the future", wantNames: []string{"until"}},
		{name: "pause until now", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2026-12-08T10:00:00+08:00"}`, want: 400,
			wantPrefix: "invalid pause: until: ", wantNames: []string{"until"}},
		{name: "pause until 366 days ahead", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2027-12-09T10:00:00+08:00"}`, want: 200,
			wantUpdate: workflows.UpdatePause, wantArg: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2027-12-09T10:00:00+08:00"}`},
		{name: "pause until more than 366 days ahead", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2027-12-09T10:00:01+08:00"}`, want: 400,
			wantPrefix: "invalid pause: until: 2027-12-09T10:00:01+08:00 is more than 366 days ahead", wantNames: []string{"until"}},
		{name: "pause until not a time", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"tomorrow"}`, want: 400,
			wantPrefix: "invalid pause: ", wantNames: []string{"until"}},
		{name: "pause reason with a control character", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hard\u0007ship"}`, want: 400,
			wantPrefix: "invalid pause: ", wantNames: []string{"reason"}},
		{name: "pause with a bad Idempotency-Key", path: "L-1/pause", key: "../K-1", body: `{"actor":"li.wei@lender.cn","reason":"hardship"}`, want: 400,
			wantPrefix: `invalid pause: Idempotency-Key: "../K-1": must start with a letter or a digit`, wantNames: []string{"Idempotency-Key"}},
		{name: "pause with an Idempotency-Key of 129 bytes", path: "L-1/pause", key: key128 + "k", body: `{"actor":"li.wei@lender.cn","reason":"hardship"}`, want: 400,
			wantPrefix: "invalid pause: Idempotency-Key: ", wantNames: []string{"Idempotency-Key"}},
		{name: "pause with an Idempotency-Key holding a space", path: "L-1/pause", key: "K 1", body: `{"actor":"li.wei@lender.cn","reason":"hardship"}`, want: 400,
			wantPrefix: "invalid pause: Idempotency-Key: ", wantNames: []string{"Idempotency-Key"}},
		{name: "pause refused by the workflow", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"` + soon + `"}`, refuse: wfRejected(untilField),
			want: 422, wantMsg: untilField.Error(), wantFields: []policy.FieldError{untilField},
			wantUpdate: workflows.UpdatePause, wantArg: `{"actor":"li.wei@lender.cn","reason":"hardship","until":"` + soon + `"}`},
		{name: "pause a finishing loan", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, refuse: wfFinished(), want: 409, wantMsg: finishedMsg,
			wantUpdate: workflows.UpdatePause, wantArg: `{"actor":"li.wei@lender.cn","reason":"x"}`},
		{name: "pause a completed loan", path: "L-1/pause", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			want: 409, wantMsg: finishedMsg, wantUpdate: workflows.UpdatePause, wantArg: `{"actor":"li.wei@lender.cn","reason":"x"}`},
		{name: "pause an unknown loan", path: "L-404/pause", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, want: 404, wantMsg: "loan L-404 not found",
			wantUpdate: workflows.UpdatePause, wantArg: `{"actor":"li.wei@lender.cn","reason":"x"}`},
		{name: "pause with temporal down", path: "L-1/pause", key: "K-1", body: `{"actor":"li.wei@lender.cn","reason":"hardship"}`, down: true,
			want: 503, wantPrefix: unavailable,
			wantUpdate: workflows.UpdatePause, wantID: "pause/K-1", wantArg: `{"actor":"li.wei@lender.cn","reason":"hardship"}`},

		// resume
		{name: "resume", path: "L-1/resume", body: `{"actor":"li.wei@lender.cn","reason":"review done"}`, want: 200, wantUpdate: workflows.UpdateResume, wantArg: `{"actor":"li.wei@lender.cn","reason":"review done"}`},
		{name: "resume with no body", path: "L-1/resume", want: 400,
			wantPrefix: "invalid resume: actor: must not be empty", wantNames: []string{"actor", "reason"}},
		{name: "resume without actor", path: "L-1/resume", body: `{"reason":"review done"}`, want: 400,
			wantPrefix: "invalid resume: actor: must not be empty", wantNames: []string{"actor"}},
		{name: "resume without reason", path: "L-1/resume", body: `{"actor":"li.wei@lender.cn"}`, want: 400,
			wantPrefix: "invalid resume: reason: must not be empty", wantNames: []string{"reason"}},
		{name: "resume with a reason and an Idempotency-Key", path: "L-1/resume", key: "r1", body: `{"actor":"li.wei@lender.cn","reason":"customer called"}`, want: 200,
			wantUpdate: workflows.UpdateResume, wantID: "resume/r1", wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called"}`},
		{name: "resume reason with NUL", path: "L-1/resume", body: `{"actor":"li.wei@lender.cn","reason":"a\u0000"}`, want: 400,
			wantPrefix: "invalid resume: ", wantNames: []string{"reason"}},
		{name: "resume reason of 501 characters", path: "L-1/resume", body: `{"actor":"li.wei@lender.cn","reason":"` + strings.Repeat("理", 501) + `"}`, want: 400,
			wantPrefix: "invalid resume: reason: must be at most 500 characters, got 501", wantNames: []string{"reason"}},
		{name: "resume with a bad Idempotency-Key", path: "L-1/resume", key: "-r1", body: `{"actor":"li.wei@lender.cn","reason":"review done"}`, want: 400,
			wantPrefix: "invalid resume: Idempotency-Key: ", wantNames: []string{"Idempotency-Key"}},
		{name: "resume a loan that is not paused", path: "L-1/resume", body: `{"actor":"li.wei@lender.cn","reason":"review done"}`, refuse: wfConflict(errors.New("loan is not paused")),
			want: 409, wantMsg: "loan is not paused", wantUpdate: workflows.UpdateResume, wantArg: `{"actor":"li.wei@lender.cn","reason":"review done"}`},
		{name: "resume a finishing loan", path: "L-1/resume", body: `{"actor":"li.wei@lender.cn","reason":"review done"}`, refuse: wfFinished(), want: 409, wantMsg: finishedMsg,
			wantUpdate: workflows.UpdateResume, wantArg: `{"actor":"li.wei@lender.cn","reason":"review done"}`},
		{name: "resume an unknown loan", path: "L-404/resume", body: `{"actor":"li.wei@lender.cn","reason":"review done"}`, want: 404, wantMsg: "loan L-404 not found",
			wantUpdate: workflows.UpdateResume, wantArg: `{"actor":"li.wei@lender.cn","reason":"review done"}`},

		// close
		{name: "close", path: "L-1/close", body: `{"actor":"li.wei@lender.cn","reason":"sold to agency"}`, want: 200,
			wantUpdate: workflows.UpdateClose, wantArg: `{"actor":"li.wei@lender.cn","reason":"sold to agency"}`},
		{name: "close with an Idempotency-Key", path: "L-1/close", key: "sale-42", body: `{"actor":"li.wei@lender.cn","reason":"sold to agency"}`, want: 200,
			wantUpdate: workflows.UpdateClose, wantID: "close/sale-42", wantArg: `{"actor":"li.wei@lender.cn","reason":"sold to agency"}`},
		{name: "close without reason", path: "L-1/close", body: `{"actor":"li.wei@lender.cn"}`, want: 400,
			wantPrefix: "invalid close: reason: must not be empty", wantNames: []string{"reason"}},
		{name: "close without actor", path: "L-1/close", body: `{"reason":"sold to agency"}`, want: 400,
			wantPrefix: "invalid close: actor: must not be empty", wantNames: []string{"actor"}},
		{name: "close by an actor starting with -", path: "L-1/close", body: `{"actor":"-li","reason":"sold to agency"}`, want: 400,
			wantPrefix: `invalid close: actor: "-li": must start with a letter or a digit`, wantNames: []string{"actor"}},
		{name: "close with an empty object", path: "L-1/close", body: `{}`, want: 400,
			wantPrefix: "invalid close: actor: ", wantNames: []string{"actor", "reason"}},
		{name: "close with no body", path: "L-1/close", want: 400, wantPrefix: "invalid close: actor: ", wantNames: []string{"actor", "reason"}},
		{name: "close blank reason", path: "L-1/close", body: `{"actor":"li.wei@lender.cn","reason":"  "}`, want: 400,
			wantPrefix: "invalid close: reason: ", wantNames: []string{"reason"}},
		{name: "close reason with a newline", path: "L-1/close", body: `{"actor":"li.wei@lender.cn","reason":"sold\nto agency"}`, want: 400,
			wantPrefix: "invalid close: ", wantNames: []string{"reason"}},
		{name: "close unknown key", path: "L-1/close", body: `{"actor":"li.wei@lender.cn","reason":"x","why":"y"}`, want: 400,
			wantPrefix: "invalid close: ", wantNames: []string{"why"}},
		{name: "close with a bad Idempotency-Key", path: "L-1/close", key: "sale/42", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, want: 400,
			wantPrefix: "invalid close: Idempotency-Key: ", wantNames: []string{"Idempotency-Key"}},
		{name: "close a finishing loan", path: "L-1/close", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, refuse: wfFinished(), want: 409, wantMsg: finishedMsg,
			wantUpdate: workflows.UpdateClose, wantArg: `{"actor":"li.wei@lender.cn","reason":"x"}`},
		{name: "close a completed loan", path: "L-1/close", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			want: 409, wantMsg: finishedMsg, wantUpdate: workflows.UpdateClose, wantArg: `{"actor":"li.wei@lender.cn","reason":"x"}`},
		{name: "close an unknown loan", path: "L-404/close", body: `{"actor":"li.wei@lender.cn","reason":"x"}`, want: 404, wantMsg: "loan L-404 not found",
			wantUpdate: workflows.UpdateClose, wantArg: `{"actor":"li.wei@lender.cn","reason":"x"}`},

		// contact
		{name: "contact", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","phone":"+8613900139000","opt_outs":["push"]}`, want: 200,
			wantUpdate: workflows.UpdateContact, wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called","phone":"+8613900139000","opt_outs":["push"]}`},
		{name: "contact with an Idempotency-Key", method: "PUT", path: "L-1/contact", key: "C-1", body: `{"actor":"li.wei@lender.cn","reason":"customer called","email":"wang.fang@example.cn"}`,
			want: 200, wantUpdate: workflows.UpdateContact, wantID: workflows.UpdateContact + "/C-1", wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called","email":"wang.fang@example.cn"}`},
		{name: "contact with nothing to change", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called"}`,
			want: 400, wantPrefix: "invalid update_contact: nothing to change", wantNames: []string{""}},
		{name: "contact with no body", method: "PUT", path: "L-1/contact", want: 400,
			wantPrefix: "invalid update_contact: actor: must not be empty", wantNames: []string{"actor", "reason", ""}},
		{name: "contact without actor", method: "PUT", path: "L-1/contact", body: `{"reason":"customer called","email":"wang.fang@example.cn"}`,
			want: 400, wantPrefix: "invalid update_contact: actor: must not be empty", wantNames: []string{"actor"}},
		{name: "contact without reason", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","email":"wang.fang@example.cn"}`,
			want: 400, wantPrefix: "invalid update_contact: reason: must not be empty", wantNames: []string{"reason"}},
		{name: "contact without reason and a bad phone", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","phone":"1"}`,
			want: 400, wantPrefix: "invalid update_contact: reason: must not be empty", wantNames: []string{"reason", "phone"}},
		{name: "contact bad phone", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","phone":"139 0013 9000"}`, want: 400,
			wantPrefix: "invalid update_contact: ", wantNames: []string{"phone"}},
		{name: "contact bad email and zone", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","email":"x@","time_zone":"Nowhere/City"}`, want: 400,
			wantPrefix: "invalid update_contact: ", wantNames: []string{"email", "time_zone"}},
		{name: "contact locale without templates", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","locale":"de"}`, want: 400,
			wantPrefix: "invalid update_contact: ", wantNames: []string{"locale"}},
		{name: "contact unknown opt-out", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","opt_outs":["fax"]}`, want: 400,
			wantPrefix: "invalid update_contact: ", wantNames: []string{"opt_outs[0]"}},
		{name: "contact with a bad Idempotency-Key", method: "PUT", path: "L-1/contact", key: "C\x01", body: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`, want: 400,
			wantPrefix: "invalid update_contact: Idempotency-Key: ", wantNames: []string{"Idempotency-Key"}},
		{name: "contact refused by the workflow", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","time_zone":"America/Ciudad_Juarez"}`,
			refuse: wfRejected(zoneField), want: 422, wantMsg: zoneField.Error(), wantFields: []policy.FieldError{zoneField},
			wantUpdate: workflows.UpdateContact, wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called","time_zone":"America/Ciudad_Juarez"}`},
		{name: "contact a finishing loan", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`, refuse: wfFinished(),
			want: 409, wantMsg: finishedMsg, wantUpdate: workflows.UpdateContact, wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`},
		{name: "contact an unknown loan", method: "PUT", path: "L-404/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`, want: 404,
			wantMsg: "loan L-404 not found", wantUpdate: workflows.UpdateContact, wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`},
		{name: "contact with temporal down", method: "PUT", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`, down: true, want: 503,
			wantPrefix: unavailable, wantUpdate: workflows.UpdateContact, wantArg: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`},
		{name: "contact with POST", path: "L-1/contact", body: `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`, want: 405,
			wantMsg: "method POST not allowed here; allowed: PUT"},

		// reschedule (TestReschedule has more)
		{name: "reschedule", path: "L-1/reschedule", body: `{"actor":"li.wei@lender.cn","reason":"hardship","installments":[` + ins + `]}`, want: 200,
			wantUpdate: workflows.UpdateReschedule,
			wantArg:    `{"actor":"li.wei@lender.cn","reason":"hardship","installments":[{"seq":3,"due_date":"2027-02-01","principal":"2085","interest":"0","fee":"0"}]}`},
		{name: "reschedule without actor", path: "L-1/reschedule", body: `{"reason":"extension","installments":[` + ins + `]}`, want: 400,
			wantPrefix: "invalid reschedule: actor: must not be empty", wantNames: []string{"actor"}},
		{name: "reschedule without reason", path: "L-1/reschedule", body: `{"actor":"li.wei@lender.cn","installments":[` + ins + `]}`, want: 400,
			wantPrefix: "invalid reschedule: reason: must not be empty", wantNames: []string{"reason"}},
		{name: "reschedule with an Idempotency-Key", path: "L-1/reschedule", key: "RS-7", body: `{"actor":"li.wei@lender.cn","reason":"extension","installments":[` + ins + `]}`, want: 200,
			wantUpdate: workflows.UpdateReschedule, wantID: "reschedule/RS-7",
			wantArg: `{"actor":"li.wei@lender.cn","reason":"extension","installments":[{"seq":3,"due_date":"2027-02-01","principal":"2085","interest":"0","fee":"0"}]}`},
		{name: "reschedule reason with a tab", path: "L-1/reschedule", body: `{"actor":"li.wei@lender.cn","reason":"a\tb","installments":[` + ins + `]}`, want: 400,
			wantPrefix: "invalid reschedule: ", wantNames: []string{"reason"}},
		{name: "reschedule refused by the workflow", path: "L-1/reschedule",
			body:   `{"actor":"li.wei@lender.cn","reason":"extension","installments":[` + strings.Replace(ins, "2027-02-01", "2026-12-09", 1) + `]}`,
			refuse: wfRejected(dueField), want: 422, wantMsg: dueField.Error(), wantFields: []policy.FieldError{dueField},
			wantUpdate: workflows.UpdateReschedule,
			wantArg:    `{"actor":"li.wei@lender.cn","reason":"extension","installments":[{"seq":3,"due_date":"2026-12-09","principal":"2085","interest":"0","fee":"0"}]}`},
		{name: "reschedule a finishing loan", path: "L-1/reschedule", body: `{"actor":"li.wei@lender.cn","reason":"extension","installments":[` + ins + `]}`, refuse: wfFinished(),
			want: 409, wantMsg: finishedMsg, wantUpdate: workflows.UpdateReschedule,
			wantArg: `{"actor":"li.wei@lender.cn","reason":"extension","installments":[{"seq":3,"due_date":"2027-02-01","principal":"2085","interest":"0","fee":"0"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			st := tt.status
			if st == enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED {
				st = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
			}
			ta.tc.add("L-1", st, snapshot("L-1", "CNY"))
			ta.tc.answer, ta.tc.updateErr, ta.tc.down = answer, tt.refuse, tt.down
			rec := ta.doKey(t, cmp.Or(tt.method, "POST"), "/v1/loans/"+tt.path, tt.body, tt.key)
			wantCode(t, rec, tt.want)
			switch {
			case tt.want == 200:
				wantRawBody(t, rec, answer)
			case tt.wantPrefix != "":
				if msg := errorOf(t, rec); !strings.HasPrefix(msg, tt.wantPrefix) {
					t.Errorf("error %q, want it to start with %q", msg, tt.wantPrefix)
				}
				if names := fieldsOf(t, rec); !slices.Equal(names, tt.wantNames) {
					t.Errorf("fields %q, want %q; %s", names, tt.wantNames, rec.Body)
				}
			default:
				wantErrorBody(t, rec, tt.wantMsg, tt.wantFields)
			}
			if tt.want == 503 && rec.Header().Get("Retry-After") != "5" {
				t.Errorf("503 with Retry-After %q", rec.Header().Get("Retry-After"))
			}
			// An action is one update: no status query, no signal.
			starts, updates, signals := ta.tc.calls()
			if starts+signals != 0 || ta.tc.queries != 0 {
				t.Errorf("%d starts %d signals %d queries", starts, signals, ta.tc.queries)
			}
			if tt.wantUpdate == "" {
				if updates != 0 {
					t.Errorf("%d updates sent, want none", updates)
				}
				return
			}
			if updates != 1 {
				t.Fatalf("%d updates sent, want 1", updates)
			}
			u := ta.tc.updates[0]
			loan, _, _ := strings.Cut(tt.path, "/")
			if u.UpdateName != tt.wantUpdate || u.UpdateID != tt.wantID || u.WorkflowID != "loan-"+loan || u.RunID != "" ||
				u.WaitForStage != client.WorkflowUpdateStageCompleted {
				t.Errorf("update %s id %q to %s run %q stage %v; want %s id %q to loan-%s, completed",
					u.UpdateName, u.UpdateID, u.WorkflowID, u.RunID, u.WaitForStage, tt.wantUpdate, tt.wantID, loan)
			}
			if len(u.Args) != 1 {
				t.Fatalf("%d update arguments", len(u.Args))
			}
			if got := reflect.TypeOf(u.Args[0]); got != argType[tt.wantUpdate] {
				t.Errorf("argument %v, want %v", got, argType[tt.wantUpdate])
			}
			if got := mustJSON(t, u.Args[0]); got != tt.wantArg {
				t.Errorf("argument %s, want %s", got, tt.wantArg)
			}
		})
	}
}

// TestReschedule: the API checks a reschedule's reason only; its installments
// are the workflow's to judge against the loan as it stands (currency, today,
// installments paid), so they all reach it, without a status query first.
func TestReschedule(t *testing.T) {
	body := func(reason string, ins ...string) string {
		return fmt.Sprintf(`{"actor":"li.wei@lender.cn","reason":%q,"installments":[%s]}`, reason, strings.Join(ins, ","))
	}
	in := func(seq int, due, principal string) string {
		return fmt.Sprintf(`{"seq":%d,"due_date":%q,"principal":%q,"interest":"0.00","fee":"0.00"}`, seq, due, principal)
	}
	tests := []struct {
		name, loan, currency, body string
		refuse                     []policy.FieldError // the workflow's verdict
		want                       int
		wantNames                  []string
		wantIns                    int // installments sent; -1 none sent
	}{
		{name: "accepted", body: body("hardship", in(3, "2027-02-01", "2085.00")), want: 200, wantIns: 1},
		{name: "two installments", body: body("extension", in(3, "2027-02-01", "1000.00"), in(4, "2027-03-01", "1085.00")), want: 200, wantIns: 2},
		{name: "due today", body: body("hardship", in(3, "2026-12-08", "2085.00")),
			refuse: []policy.FieldError{{Field: "installments[0].due_date", Problem: "must be after today (2026-12-08)"}},
			want:   422, wantNames: []string{"installments[0].due_date"}, wantIns: 1},
		{name: "JPY decimals", currency: "JPY", body: body("hardship", in(3, "2027-02-01", "2085.50")),
			refuse: []policy.FieldError{{Field: "installments[0].principal", Problem: "2085.5 has more decimals than JPY allows (0)"}},
			want:   422, wantNames: []string{"installments[0].principal"}, wantIns: 1},
		{name: "seq of a paid installment", body: body("extension", in(1, "2027-02-01", "2085.00")),
			refuse: []policy.FieldError{{Field: "installments[0].seq", Problem: "must be greater than 1, the last paid installment"}},
			want:   422, wantNames: []string{"installments[0].seq"}, wantIns: 1},
		{name: "no installments", body: `{"actor":"li.wei@lender.cn","reason":"extension","installments":[]}`,
			refuse: []policy.FieldError{{Field: "installments", Problem: "must have at least one installment"}},
			want:   422, wantNames: []string{"installments"}, wantIns: 0},
		{name: "every problem named", body: body("extension", in(3, "2026-12-01", "1"), in(3, "2027-01-01", "1")),
			refuse: []policy.FieldError{
				{Field: "installments[0].due_date", Problem: "must be after today (2026-12-08)"},
				{Field: "installments[1].seq", Problem: "must be greater than 3"},
			},
			want: 422, wantNames: []string{"installments[0].due_date", "installments[1].seq"}, wantIns: 2},
		{name: "reason of 501 characters", body: body(strings.Repeat("x", 501), in(3, "2027-02-01", "2085.00")),
			want: 400, wantNames: []string{"reason"}, wantIns: -1},
		{name: "no reason", body: body("", in(3, "2027-02-01", "2085.00")), want: 400, wantNames: []string{"reason"}, wantIns: -1},
		{name: "principal a number", body: `{"actor":"li.wei@lender.cn","reason":"extension","installments":[{"seq":3,"due_date":"2027-02-01","principal":2085,"interest":"0","fee":"0"}]}`,
			want: 400, wantNames: []string{"installments[0].principal"}, wantIns: -1},
		{name: "unknown loan", loan: "L-404", body: body("extension", in(3, "2027-02-01", "1")), want: 404, wantIns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := newTestAPI(t)
			ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", cmp.Or(tt.currency, "CNY")))
			if tt.refuse != nil {
				ta.tc.updateErr = wfRejected(tt.refuse...)
			}
			loan := cmp.Or(tt.loan, "L-1")
			rec := ta.do(t, "POST", "/v1/loans/"+loan+"/reschedule", tt.body)
			wantCode(t, rec, tt.want)
			switch tt.want {
			case 200:
				wantRawBody(t, rec, snapshot("L-1", cmp.Or(tt.currency, "CNY")))
			case 422:
				wantErrorBody(t, rec, policy.ValidationError(tt.refuse).Error(), tt.refuse)
			case 404:
				wantErrorBody(t, rec, "loan L-404 not found", nil)
			default:
				if names := fieldsOf(t, rec); !slices.Equal(names, tt.wantNames) {
					t.Errorf("fields %q, want %q; %s", names, tt.wantNames, rec.Body)
				}
			}
			if ta.tc.queries != 0 {
				t.Errorf("%d status queries: the API no longer reads the loan to check a reschedule", ta.tc.queries)
			}
			_, updates, signals := ta.tc.calls()
			if signals != 0 {
				t.Errorf("%d signals", signals)
			}
			if tt.wantIns < 0 {
				if updates != 0 {
					t.Errorf("%d updates sent, want none", updates)
				}
				return
			}
			if updates != 1 {
				t.Fatalf("%d updates sent, want 1", updates)
			}
			u := ta.tc.updates[0]
			rs, ok := u.Args[0].(workflows.RescheduleSignal)
			if u.UpdateName != workflows.UpdateReschedule || u.WorkflowID != "loan-"+loan || u.UpdateID != "" || !ok {
				t.Fatalf("update %s id %q to %s with %T", u.UpdateName, u.UpdateID, u.WorkflowID, u.Args[0])
			}
			if len(rs.Installments) != tt.wantIns {
				t.Errorf("%d installments sent, want %d", len(rs.Installments), tt.wantIns)
			}
			// The installments go as sent: the workflow sees what the API was given.
			var sent struct {
				Installments []policy.Installment `json:"installments"`
			}
			if err := json.Unmarshal([]byte(tt.body), &sent); err != nil {
				t.Fatal(err)
			}
			if mustJSON(t, rs.Installments) != mustJSON(t, sent.Installments) {
				t.Errorf("installments sent %s, want %s", mustJSON(t, rs.Installments), mustJSON(t, sent.Installments))
			}
		})
	}
}

// TestUpdateErrors: api.Update, which the CLI shares, turns the workflow's
// typed refusals and Temporal's answers into the errors callers branch on.
func TestUpdateErrors(t *testing.T) {
	fields := []policy.FieldError{{Field: "reason", Problem: "must not be empty"}}
	tests := []struct {
		name   string
		loan   string
		status enumspb.WorkflowExecutionStatus
		refuse error
		down   bool
		check  func(t *testing.T, err error)
	}{
		{name: "rejected", refuse: wfRejected(fields...), check: func(t *testing.T, err error) {
			var rej *RejectedError
			if !errors.As(err, &rej) || rej.Message != "reason: must not be empty" || !reflect.DeepEqual(rej.Fields, fields) {
				t.Errorf("%T %v, want a *RejectedError naming reason", err, err)
			}
		}},
		{name: "conflict", refuse: wfConflict(errors.New("loan is not paused")), check: func(t *testing.T, err error) {
			var con *ConflictError
			if !errors.As(err, &con) || con.Message != "loan is not paused" || con.Fields != nil {
				t.Errorf("%T %v, want a *ConflictError without fields", err, err)
			}
		}},
		{name: "finishing", refuse: wfFinished(), check: func(t *testing.T, err error) {
			var rej *RejectedError
			if !errors.Is(err, ErrNotOpen) || errors.As(err, &rej) {
				t.Errorf("%v, want ErrNotOpen", err)
			}
		}},
		{name: "completed", status: enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotOpen) {
				t.Errorf("%v, want ErrNotOpen", err)
			}
		}},
		{name: "unknown", loan: "L-404", check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotOpen) {
				t.Errorf("%v, want ErrNotFound", err)
			}
		}},
		{name: "down", down: true, check: func(t *testing.T, err error) {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%v, want ErrUnavailable", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTemporal()
			f.add("L-1", cmp.Or(tt.status, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), snapshot("L-1", "CNY"))
			f.updateErr, f.down = tt.refuse, tt.down
			raw, err := Update(context.Background(), f, cmp.Or(tt.loan, "L-1"), workflows.UpdateClose, "close/K", workflows.CloseSignal{})
			if err == nil || raw != nil {
				t.Fatalf("answer %s, error %v", raw, err)
			}
			tt.check(t, err)
		})
	}
	f := newFakeTemporal()
	f.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
	raw, err := Update(context.Background(), f, "L-1", workflows.UpdateClose, "close/K", workflows.CloseSignal{Reason: "x"})
	if err != nil || string(raw) != mustJSON(t, snapshot("L-1", "CNY")) {
		t.Errorf("answer %s, error %v", raw, err)
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
	var audit struct {
		History string           `json:"history"`
		Entries []map[string]any `json:"entries"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &audit); err != nil || len(audit.Entries) != 2 || audit.Entries[0]["amount"] != "100.00" {
		t.Errorf("audit %s (%v)", rec.Body, err)
	}

	rec = ta.do(t, "GET", "/v1/loans/L-1/audit?format=csv", "")
	wantCode(t, rec, 200)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "at,source,id,loan_id,kind") || !strings.Contains(lines[1], "history_") ||
		!strings.Contains(lines[3], "'+8613800138000") {
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
	rec = ta.do(t, "GET", "/v1/loans/L-2/notices", "")
	wantCode(t, rec, 200)
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("notices: %s", rec.Body)
	}
	rec = ta.do(t, "GET", "/v1/loans/L-2/audit", "")
	wantCode(t, rec, 200)
	if !strings.Contains(rec.Body.String(), `"entries":[]`) {
		t.Errorf("audit: %s", rec.Body)
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
	ta.h.(*server).metrics.Receipt("twilio", "delivered") // what the webhooks record

	rec := ta.do(t, "GET", "/metrics", "")
	wantCode(t, rec, 200)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"# TYPE http_requests_total counter\n",
		`http_requests_total{code="201",method="POST",path="/v1/loans"} 1` + "\n",
		`http_requests_total{code="200",method="POST",path="/v1/loans"} 1` + "\n",
		`http_requests_total{code="400",method="POST",path="/v1/loans"} 1` + "\n",
		`http_requests_total{code="200",method="POST",path="/v1/loans/{id}/repayments"} 1` + "\n",
		`http_requests_total{code="404",method="",path="unmatched"} 1` + "\n",
		"# TYPE loans_started_total counter\nloans_started_total 1\n",
		"# TYPE repayments_total counter\nrepayments_total 1\n",
		`dunning_receipts_total{provider="twilio",status="delivered"} 1` + "\n",
		"dunning_repayments_applied_total 1\n",
		"# TYPE go_goroutines gauge\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	// Each server counts on its own registry.
	other := newTestAPI(t)
	body = other.do(t, "GET", "/metrics", "").Body.String()
	for _, absent := range []string{`path="/v1/loans"`, "loans_started_total 1", "dunning_receipts_total{"} {
		if strings.Contains(body, absent) {
			t.Errorf("another server's metrics show %q:\n%s", absent, body)
		}
	}
}

func TestLogs(t *testing.T) {
	ta := newTestAPI(t)
	ta.do(t, "POST", "/v1/loans", loanJSON(t, nil))
	rec := ta.do(t, "PUT", "/v1/loans/L-2026-0001/contact", `{"actor":"ops.li@lender.cn","reason":"customer called","phone":"+8613900139000","email":"wang.fang@example.cn"}`)
	wantCode(t, rec, http.StatusOK)
	logs := ta.logs.String()
	if n := strings.Count(logs, "msg=\"http request\""); n != 2 {
		t.Errorf("%d request lines, want 2:\n%s", n, logs)
	}
	for _, want := range []string{`pattern=/v1/loans `, `pattern=/v1/loans/{id}/contact status=200 `, "status=201", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// Nor who acted, nor why: the ledger has them.
	for _, secret := range []string{"13800138000", "13900139000", "zhang.wei", "wang.fang", "张伟", "L-2026-0001", "ops.li", "customer called"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs reveal %q:\n%s", secret, logs)
		}
	}
}

// TestWorkflowErrorIsApplicationError: the fake hands a refusal back as the
// SDK client does, an *temporal.ApplicationError whose details are payloads
// decoded on demand, so the API reads the fields as it must from a real
// server.
func TestWorkflowErrorIsApplicationError(t *testing.T) {
	fields := []policy.FieldError{{Field: "amount", Problem: "too many decimals"}, {Field: "currency", Problem: "not the loan's"}}
	err := overTheWire(wfRejected(fields...))
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		t.Fatalf("%T %v", err, err)
	}
	if app.Type() != workflows.ErrTypeRejected || app.Message() != "amount: too many decimals; currency: not the loan's" || !app.NonRetryable() {
		t.Errorf("type %q message %q non-retryable %v", app.Type(), app.Message(), app.NonRetryable())
	}
	if got := workflows.ErrorFields(app); !reflect.DeepEqual(got, fields) {
		t.Errorf("fields %v, want %v", got, fields)
	}
	// Encoded as JSON on the way: the details decode into any shape, which
	// Go values handed over as they are would not.
	var generic []map[string]string
	if err := app.Details(&generic); err != nil || len(generic) != 2 || generic[1]["field"] != "currency" {
		t.Errorf("details as JSON: %v %v", generic, err)
	}

	for _, tt := range []struct {
		err  error
		typ  string
		msg  string
		want []policy.FieldError
	}{
		{wfConflict(errors.New("loan is not paused")), workflows.ErrTypeConflict, "loan is not paused", nil},
		{wfFinished(), workflows.ErrTypeLoanFinished, workflows.ErrLoanFinished.Error(), nil},
	} {
		var app *temporal.ApplicationError
		if !errors.As(overTheWire(tt.err), &app) || app.Type() != tt.typ || app.Message() != tt.msg || !app.NonRetryable() {
			t.Errorf("%v: %v", tt.err, app)
			continue
		}
		if got := workflows.ErrorFields(app); got != nil {
			t.Errorf("%s: fields %v, want none", tt.typ, got)
		}
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
			`{"actor":"li.wei@lender.cn","reason":"extension","installments":[` + strings.Replace(ins, `"2085.00"`, `2085`, 1) + `]}`, appJSON, 400, "installments[0].principal"},
		// 2. Missing money.
		{"loan principal missing", "POST", "/v1/loans", loan(func(m map[string]any) { delete(installment(m, 0), "principal") }), appJSON, 400, "installments[0].principal"},
		{"loan interest null", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["interest"] = nil }), appJSON, 400, "installments[0].interest"},
		{"loan fee missing", "POST", "/v1/loans", loan(func(m map[string]any) { delete(installment(m, 1), "fee") }), appJSON, 400, "installments[1].fee"},
		{"repayment amount missing", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9"}`, appJSON, 400, "amount"},
		{"repayment amount null", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":null}`, appJSON, 400, "amount"},
		{"reschedule fee missing", "POST", "/v1/loans/L-1/reschedule",
			`{"actor":"li.wei@lender.cn","reason":"extension","installments":[` + strings.Replace(ins, `,"fee":"0.00"`, ``, 1) + `]}`, appJSON, 400, "installments[0].fee"},
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
		{"pause reason with newline", "POST", "/v1/loans/L-1/pause", `{"actor":"li.wei@lender.cn","reason":"a\nb"}`, appJSON, 400, "reason"},
		{"resume reason with NUL", "POST", "/v1/loans/L-1/resume", `{"actor":"li.wei@lender.cn","reason":"\u0000"}`, appJSON, 400, "reason"},
		{"close reason invalid UTF-8", "POST", "/v1/loans/L-1/close", "{\"actor\":\"li.wei@lender.cn\",\"reason\":\"sold\xfe\"}", appJSON, 400, "reason"},
		{"close reason right-to-left override", "POST", "/v1/loans/L-1/close", `{"actor":"li.wei@lender.cn","reason":"\u202Edlos"}`, appJSON, 400, "reason"},
		{"reschedule reason with tab", "POST", "/v1/loans/L-1/reschedule", `{"actor":"li.wei@lender.cn","reason":"a\tb","installments":[` + ins + `]}`, appJSON, 400, "reason"},
		{"contact name with CR", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳\r"}`, appJSON, 400, "name"},
		{"contact push token with NUL", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","push_token":"\u0000"}`, appJSON, 400, "push_token"},
		{"pause actor with newline", "POST", "/v1/loans/L-1/pause", `{"actor":"li\nwei","reason":"x"}`, appJSON, 400, "actor"},
		{"close actor with NUL", "POST", "/v1/loans/L-1/close", `{"actor":"li\u0000","reason":"x"}`, appJSON, 400, "actor"},
		{"resume actor as a formula", "POST", "/v1/loans/L-1/resume", `{"actor":"=cmd|' /C calc'!A0","reason":"x"}`, appJSON, 400, "actor"},
		{"contact actor right-to-left override", "PUT", "/v1/loans/L-1/contact", `{"actor":"\u202Eil","reason":"x","name":"王芳"}`, appJSON, 400, "actor"},
		{"reschedule actor of 512 KiB", "POST", "/v1/loans/L-1/reschedule", `{"actor":"` + strings.Repeat("a", 1<<19) + `","reason":"x","installments":[` + ins + `]}`, appJSON, 400, "actor"},
		// 4. Size limits.
		{"name of 201 characters", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["name"] = strings.Repeat("张", 201) }), appJSON, 400, "customer.name"},
		{"push token of 4097 bytes", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["push_token"] = strings.Repeat("t", 4097) }), appJSON, 400, "customer.push_token"},
		{"locale of 36 characters", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["locale"] = "zh-" + strings.Repeat("a", 33) }), appJSON, 400, "customer.locale"},
		{"time zone of 65 characters", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["time_zone"] = strings.Repeat("z", 65) }), appJSON, 400, "customer.time_zone"},
		{"opt-out twice", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["opt_outs"] = []string{"sms", "sms"} }), appJSON, 400, "customer.opt_outs[1]"},
		{"four opt-outs", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["opt_outs"] = []string{"sms", "email", "push", "sms"} }), appJSON, 400, "customer.opt_outs"},
		{"601 installments", "POST", "/v1/loans", loan(func(m map[string]any) { m["installments"] = schedule(601) }), appJSON, 400, "installments"},
		{"600 installments (a 50-year mortgage)", "POST", "/v1/loans", loan(func(m map[string]any) { m["installments"] = schedule(600) }), appJSON, 0, ""},
		{"pause reason of 501 characters", "POST", "/v1/loans/L-1/pause", `{"actor":"li.wei@lender.cn","reason":"` + strings.Repeat("理", 501) + `"}`, appJSON, 400, "reason"},
		{"close reason of 501 characters", "POST", "/v1/loans/L-1/close", `{"actor":"li.wei@lender.cn","reason":"` + strings.Repeat("x", 501) + `"}`, appJSON, 400, "reason"},
		{"reschedule reason of 501 characters", "POST", "/v1/loans/L-1/reschedule", `{"actor":"li.wei@lender.cn","reason":"` + strings.Repeat("x", 501) + `","installments":[` + ins + `]}`, appJSON, 400, "reason"},
		{"contact name of 201 characters", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","name":"` + strings.Repeat("王", 201) + `"}`, appJSON, 400, "name"},
		{"contact push token of 4097 bytes", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","push_token":"` + strings.Repeat("t", 4097) + `"}`, appJSON, 400, "push_token"},
		{"contact time zone of 65 characters", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","time_zone":"` + strings.Repeat("z", 65) + `"}`, appJSON, 400, "time_zone"},
		{"contact locale of 36 characters", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","locale":"en-` + strings.Repeat("a", 33) + `"}`, appJSON, 400, "locale"},
		{"contact opt-out twice", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","opt_outs":["push","push"]}`, appJSON, 400, "opt_outs[1]"},
		{"contact four opt-outs", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","opt_outs":["sms","email","push","sms"]}`, appJSON, 400, "opt_outs"},
		// 5. Dates from another era.
		{"due date 0000-01-01", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "0000-01-01" }), appJSON, 400, "installments[0].due_date"},
		{"due date 1970-01-01", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "1970-01-01" }), appJSON, 400, "installments[0].due_date"},
		{"due date 2101-01-01", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 1)["due_date"] = "2101-01-01" }), appJSON, 400, "installments[1].due_date"},
		{"first due more than five years ago", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "2021-12-07" }), appJSON, 400, "installments[0].due_date"},
		{"first due five years ago", "POST", "/v1/loans", loan(func(m map[string]any) { installment(m, 0)["due_date"] = "2021-12-08" }), appJSON, 0, ""},
		{"paid_at Go's zero time", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"0001-01-01T00:00:00Z"}`, appJSON, 400, "paid_at"},
		{"paid_at 1970", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"1970-01-01T00:00:00Z"}`, appJSON, 400, "paid_at"},
		// Found by FuzzDecodeRepayment: an offset of a whole day parses, but
		// the update could not be encoded for Temporal (a 500, not a 400).
		{"paid_at offset +24:00 (fuzz)", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"2026-12-01T00:00:00+24:00"}`, appJSON, 400, "paid_at"},
		{"pause until offset -23:60", "POST", "/v1/loans/L-1/pause", `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2026-12-20T00:00:00-23:60"}`, appJSON, 400, "until"},
		{"paid_at 1999", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00","paid_at":"1999-12-31T23:59:59+08:00"}`, appJSON, 400, "paid_at"},
		{"pause until Go's zero time", "POST", "/v1/loans/L-1/pause", `{"actor":"li.wei@lender.cn","reason":"hardship","until":"0001-01-01T00:00:00Z"}`, appJSON, 400, "until"},
		{"pause until 2101", "POST", "/v1/loans/L-1/pause", `{"actor":"li.wei@lender.cn","reason":"hardship","until":"2101-01-01T00:00:00Z"}`, appJSON, 400, "until"},
		// 6. Ids that are not ids.
		{"loan_id dot", "POST", "/v1/loans", loan(func(m map[string]any) { m["loan_id"] = "." }), appJSON, 400, "loan_id"},
		{"loan_id dot dot", "POST", "/v1/loans", loan(func(m map[string]any) { m["loan_id"] = ".." }), appJSON, 400, "loan_id"},
		{"loan_id leading dash", "POST", "/v1/loans", loan(func(m map[string]any) { m["loan_id"] = "-L1" }), appJSON, 400, "loan_id"},
		{"customer id dot dot", "POST", "/v1/loans", loan(func(m map[string]any) { customer(m)["id"] = ".." }), appJSON, 400, "customer.id"},
		{"txn_id dot", "POST", "/v1/loans/L-1/repayments", `{"txn_id":".","amount":"1.00"}`, appJSON, 400, "txn_id"},
		{"txn_id dot dot", "POST", "/v1/loans/L-1/repayments", `{"txn_id":"..","amount":"1.00"}`, appJSON, 400, "txn_id"},
		{"path id leading dash", "GET", "/v1/loans/-L1", "", "", 400, "id"},
		{"path id leading dot", "GET", "/v1/loans/.L1", "", "", 400, "id"},
		{"path id leading underscore", "POST", "/v1/loans/_L1/close", `{"actor":"li.wei@lender.cn","reason":"x"}`, appJSON, 400, "id"},
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
		{"pause without Content-Type", "POST", "/v1/loans/L-1/pause", `{"actor":"li.wei@lender.cn","reason":"x"}`, "", 415, "Content-Type"},
		// An empty body needs no Content-Type: it is an empty object, which
		// lacks the actor and the reason every action needs.
		{"pause with no body and no Content-Type", "POST", "/v1/loans/L-1/pause", "", "", 400, "actor"},
		{"resume with no body and no Content-Type", "POST", "/v1/loans/L-1/resume", "", "", 400, "actor"},
		{"resume with an empty body as text/plain", "POST", "/v1/loans/L-1/resume", "", "text/plain", 400, "reason"},
		{"pause with an empty form (curl -d '')", "POST", "/v1/loans/L-1/pause", "", "application/x-www-form-urlencoded", 400, "actor"},
		{"pause with white space as a form", "POST", "/v1/loans/L-1/pause", " \n", "application/x-www-form-urlencoded", 400, "reason"},
		{"pause with a form", "POST", "/v1/loans/L-1/pause", "reason=x", "application/x-www-form-urlencoded", 415, "Content-Type"},
		{"loan with an empty body as text/plain", "POST", "/v1/loans", "", "text/plain", 400, ""},
		{"close as text/plain", "POST", "/v1/loans/L-1/close", `{"actor":"li.wei@lender.cn","reason":"x"}`, "text/plain", 415, "Content-Type"},
		{"contact without Content-Type", "PUT", "/v1/loans/L-1/contact", `{"actor":"li.wei@lender.cn","reason":"customer called","name":"王芳"}`, "", 415, "Content-Type"},
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
