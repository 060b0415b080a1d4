package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"dunning/policies"
	"dunning/policy"
	"dunning/workflows"
)

// Fuzz targets for the two bodies the lending system sends, through the
// whole HTTP handler (strict decoding, CheckLoanAt / CheckRepayment, the
// call to a fake Temporal). Run one for 30 s with
//
//	go test -run '^$' -fuzz '^FuzzStartLoan$' -fuzztime 30s ./api/
//
// or both with make fuzz. The policy package fuzzes the decoder and the
// validators on their own (policy/fuzz_test.go); these check what the API
// makes of them: the status code, the error body, and what reaches the
// workflow.

// fuzzAPI is an API over a fake Temporal, with the shipped policies. New
// takes tens of milliseconds (it parses every template), so a target builds
// it once and empties the fake before each input (reset).
func fuzzAPI(tb testing.TB) (http.Handler, *fakeTemporal, *policy.Registry) {
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		tb.Fatal(err)
	}
	tc := newFakeTemporal()
	return New(Deps{
		Temporal: tc, Store: &fakeStore{}, Policies: reg,
		HasLocale: func(l string) bool { return l == "zh-CN" || l == "en" },
		Logger:    slog.New(slog.DiscardHandler),
		Now:       func() time.Time { return now },
	}), tc, reg
}

// reset forgets every workflow and call, as a fresh fake.
func (f *fakeTemporal) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.snapshot, f.runs = map[string]enumspb.WorkflowExecutionStatus{}, map[string]any{}, map[string]string{}
	f.starts, f.updates, f.signals, f.queries = nil, nil, nil, 0
}

// fuzzPost sends body as JSON to path.
func fuzzPost(h http.Handler, path string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// fuzzCheckRefusal checks a 400's body: JSON with an error and at least one
// field error; every field error named unless the body is not a JSON object
// as a whole (or it is the summary line of a long list), or the body is
// empty.
func fuzzCheckRefusal(t *testing.T, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || len(e.Fields) == 0 {
		t.Fatalf("400 without an error naming its fields (%v): %s\nbody %q", err, rec.Body, body)
	}
	trimmed := bytes.Trim(body, " \t\r\n") // JSON's white space, not Unicode's
	object := json.Valid(trimmed) && len(trimmed) > 0 && trimmed[0] == '{'
	for _, fe := range e.Fields {
		summary := strings.HasPrefix(fe.Problem, "and ") && strings.HasSuffix(fe.Problem, " more problems")
		if fe.Problem == "" || fe.Field == "" && object && !summary {
			t.Fatalf("400 for a JSON object with a problem that names no field: %+v\nanswer %s\nbody %q", fe, rec.Body, body)
		}
	}
}

// fuzzAcrossTemporal sends v through the SDK's default data converter, as
// the client encodes a workflow's input or an update's argument and the
// worker decodes it, into out. The fake Temporal keeps values as they are,
// so without this a value the client cannot encode (a time with an offset of
// 24 hours) would pass here and fail in production.
func fuzzAcrossTemporal(t *testing.T, v, out any) {
	t.Helper()
	dc := converter.GetDefaultDataConverter()
	p, err := dc.ToPayload(v)
	if err != nil {
		t.Fatalf("the Temporal client cannot encode %T: %v", v, err)
	}
	if err := dc.FromPayload(p, out); err != nil {
		t.Fatalf("the worker cannot decode %T: %v", v, err)
	}
}

// FuzzStartLoan posts fuzzed bodies to POST /v1/loans. The answer is 201 or
// 400, never a 500 or a panic; a 400 names the fields; a 201 started exactly
// one workflow, with the loan the body holds (as policy.DecodeLoan reads
// it), under its policy, and that loan crosses Temporal's JSON data
// converter unchanged and still passes CheckLoanAt.
func FuzzStartLoan(f *testing.F) {
	f.Add([]byte(loanJSON(&testing.T{}, nil)))
	f.Add([]byte(`{"loan_id":"L-9","currency":"JPY","policy":"default","customer":{"id":"C-1","name":"Ōta","email":"ota@example.jp","locale":"en","time_zone":"Asia/Tokyo","opt_outs":["sms","push"]},` +
		`"installments":[{"seq":1,"due_date":"2026-12-01","principal":"100000","interest":"0","fee":"1e2"},{"seq":7,"due_date":"2100-12-31","principal":"0","interest":"0","fee":"0.0"}]}`))
	f.Add([]byte(`{"loan_id":"L-9","currency":"CNY","customer":{"id":"C-1","phone":"+8613800138000","locale":"zh-CN"},"installments":[{"seq":1,"due_date":"2021-12-08","principal":"1","interest":"0","fee":"0"}]}`))
	f.Add([]byte(`{"loan_id":"L-9","currency":"CNY","customer":{"id":"C-1","phone":"+8613800138000","locale":"zh-CN"},"installments":[{"seq":1,"due_date":"2021-12-07","principal":"1","interest":"0","fee":"0"}]}`))
	f.Add([]byte(`{"loan_id":"..","currency":"CNY","policy":"weekly","customer":{"id":"C 1","phone":"+861","locale":"fr"},"installments":[]}`))
	f.Add([]byte(`{"": 1, "loan_id": 7}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"loan_id":"L-1"} trailing`))
	h, tc, reg := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		tc.reset()
		rec := fuzzPost(h, "/v1/loans", body)
		switch rec.Code {
		case http.StatusBadRequest:
			fuzzCheckRefusal(t, body, rec)
			if len(tc.starts) != 0 {
				t.Fatalf("a refused loan started a workflow\nbody %q", body)
			}
			return
		case http.StatusCreated:
		default:
			t.Fatalf("status %d: %s\nbody %q", rec.Code, rec.Body, body)
		}

		want, err := policy.DecodeLoan(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("201 for a body DecodeLoan refuses: %v", err)
		}
		if len(tc.starts) != 1 {
			t.Fatalf("201 after %d workflow starts", len(tc.starts))
		}
		start := tc.starts[0]
		if start.opts.ID != workflows.WorkflowID(want.LoanID) {
			t.Fatalf("started workflow %q for loan %q", start.opts.ID, want.LoanID)
		}
		wantJSON, _ := json.Marshal(want)
		gotJSON, _ := json.Marshal(start.input.Loan)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("the workflow got another loan:\n%s\nwant\n%s", gotJSON, wantJSON)
		}
		if pol, _ := reg.Get(want.PolicyName()); start.input.Policy.Name != pol.Name {
			t.Fatalf("the workflow runs under policy %q, the loan names %q", start.input.Policy.Name, want.PolicyName())
		}
		// What the workflow decodes from its input (the SDK's converter).
		var got workflows.Input
		fuzzAcrossTemporal(t, start.input, &got)
		if again, _ := json.Marshal(got.Loan); !bytes.Equal(again, wantJSON) {
			t.Fatalf("the loan changed crossing Temporal:\n%s\nwant\n%s", again, wantJSON)
		}
		if _, err := CheckLoanAt(got.Loan, reg, func(l string) bool { return l == "zh-CN" || l == "en" }, now); err != nil {
			t.Fatalf("the loan the workflow got no longer validates: %v", err)
		}
	})
}

// FuzzRepay posts fuzzed bodies to POST /v1/loans/L-1/repayments of a
// running loan. The answer is 200 or 400, never a 500 or a panic; a 400
// names the fields and sends nothing; a 200 sent one repay update carrying
// the repayment the body holds (as policy.DecodeRepayment reads it: amount,
// txn_id, paid_at with its offset), which CheckRepayment accepts.
func FuzzRepay(f *testing.F) {
	f.Add([]byte(`{"txn_id":"BANK-77812","amount":"500.00","paid_at":"2026-12-08T09:30:00+08:00"}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":"100","currency":"CNY"}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":"1.005","currency":"JPY","paid_at":"2026-12-08T10:01:59+08:00"}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":"999999999999999.99","paid_at":"2000-01-01T00:00:00+14:00"}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":"100","paid_at":"2026-12-08T10:03:00+08:00"}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":"0","currency":"XXX","paid_at":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":100}`))
	f.Add([]byte(`{"txn_id":"T-9","amount":"1","paid_at":"2026-12-01T00:00:00+23:60"}`)) // a whole day's offset: 400
	f.Add([]byte(`null`))
	h, tc, _ := fuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		tc.reset()
		tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
		rec := fuzzPost(h, "/v1/loans/L-1/repayments", body)
		switch rec.Code {
		case http.StatusBadRequest:
			fuzzCheckRefusal(t, body, rec)
			if len(tc.updates) != 0 {
				t.Fatalf("a refused repayment reached the workflow\nbody %q", body)
			}
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d: %s\nbody %q", rec.Code, rec.Body, body)
		}

		want, err := policy.DecodeRepayment(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("200 for a body DecodeRepayment refuses: %v", err)
		}
		if len(tc.updates) != 1 || tc.updates[0].UpdateName != workflows.UpdateRepay || len(tc.updates[0].Args) != 1 {
			t.Fatalf("200 after updates %+v", tc.updates)
		}
		sent, ok := tc.updates[0].Args[0].(policy.Repayment)
		if !ok {
			t.Fatalf("the repay update carries %T", tc.updates[0].Args[0])
		}
		// What the workflow decodes (the SDK's converter).
		var got policy.Repayment
		fuzzAcrossTemporal(t, sent, &got)
		_, wantOff := want.PaidAt.Zone()
		_, gotOff := got.PaidAt.Zone()
		if got.TxnID != want.TxnID || !got.Amount.Equal(want.Amount) || got.Currency != want.Currency ||
			!got.PaidAt.Equal(want.PaidAt) || gotOff != wantOff {
			t.Fatalf("the workflow got repayment %+v, the body says %+v", got, want)
		}
		check := got
		if check.PaidAt.IsZero() {
			check.PaidAt = now
		}
		if err := CheckRepayment(check, now); err != nil {
			t.Fatalf("a repayment sent to the workflow fails CheckRepayment: %v", err)
		}
	})
}
