package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"

	"dunning/codec"
)

// endpoint is one route of the API that takes a JSON body, with a body it
// would accept in shape (the attacks below break that shape one way each).
type endpoint struct {
	method, path string
	base         string // a body of the endpoint's shape; "" for a body-less route
	dupKey       string // a key of base to send twice
	bigNumber    string // base with an absurd number in a field, and that field
	bigField     string
	inbound      bool // authenticated with the inbound token, not the API's
}

// hostileEndpoints is every route that reads a JSON body: a new one must be
// added here to be covered by TestHostileInputOnEveryEndpoint.
func hostileEndpoints(t *testing.T) []endpoint {
	loan := loanJSON(t, nil)
	return []endpoint{
		{method: "POST", path: "/v1/loans", base: loan, dupKey: "loan_id",
			bigNumber: loanJSON(t, func(m map[string]any) { installment(m, 0)["principal"] = "1e30" }), bigField: "installments[0].principal"},
		{method: "POST", path: "/v1/loans/L-1/repayments", base: `{"txn_id":"T-9","amount":"1.00"}`, dupKey: "txn_id",
			bigNumber: `{"txn_id":"T-9","amount":"1e30"}`, bigField: "amount"},
		{method: "POST", path: "/v1/loans/L-1/pause", base: `{"actor":"ops@lender.example","reason":"hardship"}`, dupKey: "reason",
			bigNumber: `{"actor":"ops@lender.example","reason":"hardship","until":1e30}`, bigField: "until"},
		{method: "POST", path: "/v1/loans/L-1/resume", base: `{"actor":"ops@lender.example","reason":"agreed"}`, dupKey: "reason",
			bigNumber: `{"actor":"ops@lender.example","reason":1e30}`, bigField: "reason"},
		{method: "POST", path: "/v1/loans/L-1/close", base: `{"actor":"ops@lender.example","reason":"sold"}`, dupKey: "reason",
			bigNumber: `{"actor":"ops@lender.example","reason":1e30}`, bigField: "reason"},
		{method: "PUT", path: "/v1/loans/L-1/contact", base: `{"actor":"ops@lender.example","reason":"moved","name":"王芳"}`, dupKey: "name",
			bigNumber: `{"actor":"ops@lender.example","reason":"moved","phone":1e30}`, bigField: "phone"},
		{method: "POST", path: "/v1/loans/L-1/reschedule",
			base:      `{"actor":"ops@lender.example","reason":"hardship","installments":[{"seq":3,"due_date":"2027-02-01","principal":"2085.00","interest":"0.00","fee":"0.00"}]}`,
			dupKey:    "reason",
			bigNumber: `{"actor":"ops@lender.example","reason":"hardship","installments":[{"seq":1e30,"due_date":"2027-02-01","principal":"2085.00","interest":"0.00","fee":"0.00"}]}`,
			// An absurd amount is the workflow validator's to refuse (422):
			// it knows the loan's currency (policy.ValidateReschedule).
			bigField: "installments[0].seq"},
		{method: "POST", path: "/v1/inbound/sms", base: smsJSON(phone, "STOP"), dupKey: "from",
			bigNumber: `{"from":1e30,"body":"STOP"}`, bigField: "from", inbound: true},
		// The preview takes a loan, or a loan with a policy inline beside it.
		{method: "POST", path: "/v1/preview", base: loan, dupKey: "loan_id",
			bigNumber: loanJSON(t, func(m map[string]any) { installment(m, 0)["principal"] = "1e30" }), bigField: "installments[0].principal"},
		{method: "POST", path: "/v1/preview", base: previewBody("loan", loan, "policy", defaultPolicyJSON(t, nil)), dupKey: "loan",
			bigNumber: previewBody("loan", loan, "policy", defaultPolicyJSON(t, func(m map[string]any) {
				m["penalty"].(map[string]any)["daily_rate"] = 1e30
			})), bigField: "policy.penalty.daily_rate"},
	}
}

// nested is a JSON value nested depth arrays deep inside an object key.
func nested(depth int) string {
	return `{"zzz":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
}

// TestHostileInputOnEveryEndpoint is the regression table of issue 8's "API
// under attack": every route that reads a body, against every kind of
// hostile body, answers 4xx naming the problem, and nothing reaches Temporal
// or the delivery store. Per-field validation has its own tables
// (TestHostileRequests, TestInboundSMS); this one proves that no route was
// left out of the decoder's protections.
func TestHostileInputOnEveryEndpoint(t *testing.T) {
	type attack struct {
		name      string
		body      func(e endpoint) string
		want      int
		wantField func(e endpoint) string // "" when the answer names no field
		wantError string                  // a substring of the error message
	}
	field := func(f string) func(endpoint) string { return func(endpoint) string { return f } }
	attacks := []attack{
		{name: "unknown key", body: func(e endpoint) string { return strings.Replace(e.base, "{", `{"zzz":1,`, 1) },
			want: 400, wantField: field("zzz")},
		{name: "duplicate key", body: func(e endpoint) string {
			return strings.Replace(e.base, "{", `{"`+e.dupKey+`":"x",`, 1)
		}, want: 400, wantField: func(e endpoint) string { return e.dupKey }, wantError: "duplicate"},
		{name: "unknown key differing in case", body: func(e endpoint) string {
			return strings.Replace(e.base, "{", `{"`+strings.ToUpper(e.dupKey)+`":"x",`, 1)
		}, want: 400, wantField: func(e endpoint) string { return strings.ToUpper(e.dupKey) }},
		{name: "10 MB body", body: func(e endpoint) string {
			return strings.Replace(e.base, "{", `{"zzz":"`+strings.Repeat("x", 10<<20)+`",`, 1)
		}, want: 413, wantError: "larger than"},
		{name: "JSON nested 10,000 deep", body: func(endpoint) string { return nested(10000) }, want: 400},
		{name: "JSON nested 100,000 deep", body: func(endpoint) string { return nested(100000) }, want: 400},
		{name: "NaN", body: func(e endpoint) string { return strings.Replace(e.base, "{", `{"zzz":NaN,`, 1) }, want: 400},
		{name: "Infinity", body: func(e endpoint) string { return strings.Replace(e.base, "{", `{"zzz":Infinity,`, 1) }, want: 400},
		{name: "1e30", body: func(e endpoint) string { return e.bigNumber }, want: 400,
			wantField: func(e endpoint) string { return e.bigField }},
		{name: "top-level array", body: func(endpoint) string { return `[]` }, want: 400},
		{name: "top-level null", body: func(endpoint) string { return `null` }, want: 400},
		{name: "top-level string", body: func(endpoint) string { return `"STOP"` }, want: 400},
		{name: "two JSON values", body: func(e endpoint) string { return e.base + `{}` }, want: 400},
		{name: "truncated", body: func(e endpoint) string { return e.base[:len(e.base)-1] }, want: 400},
		{name: "UTF-8 byte order mark", body: func(e endpoint) string { return "\ufeff" + e.base }, want: 400},
		{name: "comment", body: func(e endpoint) string { return strings.Replace(e.base, "{", `{/* x */`, 1) }, want: 400},
		{name: "single quotes", body: func(e endpoint) string { return strings.ReplaceAll(e.base, `"`, `'`) }, want: 400},
		{name: "invalid UTF-8 in a key", body: func(e endpoint) string { return strings.Replace(e.base, "{", "{\"z\xff\":1,", 1) }, want: 400},
	}
	for _, e := range hostileEndpoints(t) {
		for _, a := range attacks {
			t.Run(e.method+" "+e.path+"/"+a.name, func(t *testing.T) {
				ta, fd := newDeliveryAPI(t)
				withLoans(ta, fd)
				req := httptest.NewRequest(e.method, e.path, strings.NewReader(a.body(e)))
				req.Header.Set("Content-Type", "application/json")
				if e.inbound {
					req.Header.Set("Authorization", "Bearer "+inboundToken)
				}
				rec := httptest.NewRecorder()
				ta.h.ServeHTTP(rec, req)
				wantCode(t, rec, a.want)
				msg := decode(t, rec)["error"]
				if s, _ := msg.(string); s == "" || !strings.Contains(s, a.wantError) {
					t.Errorf("error %q does not say %q", msg, a.wantError)
				}
				if a.wantField != nil {
					if f := a.wantField(e); !slices.Contains(fieldsOf(t, rec), f) {
						t.Errorf("fields %q do not name %q; body %s", fieldsOf(t, rec), f, rec.Body)
					}
				}
				if starts, updates, signals := ta.tc.calls(); starts+updates+signals != 0 {
					t.Errorf("hostile request reached Temporal: %d starts %d updates %d signals", starts, updates, signals)
				}
				if calls := fd.callLog(); len(calls) != 0 {
					t.Errorf("hostile request reached the delivery store: %q", calls)
				}
			})
		}
	}
}

// TestHostileIDsOnEveryRoute sends ids that are not ids — path traversal,
// SQL and shell metacharacters, NUL, an overlong id — to every route that
// takes one: each answers 400 naming "id", and nothing reaches Temporal or
// PostgreSQL.
func TestHostileIDsOnEveryRoute(t *testing.T) {
	routes := []struct{ method, path, body string }{
		{"GET", "/v1/loans/%s", ""},
		{"GET", "/v1/loans/%s/notices", ""},
		{"GET", "/v1/loans/%s/audit", ""},
		{"POST", "/v1/loans/%s/repayments", `{"txn_id":"T-9","amount":"1.00"}`},
		{"POST", "/v1/loans/%s/pause", `{"actor":"ops@lender.example","reason":"hardship"}`},
		{"POST", "/v1/loans/%s/resume", `{"actor":"ops@lender.example","reason":"agreed"}`},
		{"POST", "/v1/loans/%s/close", `{"actor":"ops@lender.example","reason":"sold"}`},
		{"PUT", "/v1/loans/%s/contact", `{"actor":"ops@lender.example","reason":"moved","name":"王芳"}`},
		{"POST", "/v1/loans/%s/reschedule", `{"actor":"ops@lender.example","reason":"x","installments":[{"seq":3,"due_date":"2027-02-01","principal":"2085.00","interest":"0.00","fee":"0.00"}]}`},
	}
	ids := []struct{ name, escaped string }{
		{"traversal", "..%2F..%2Fetc%2Fpasswd"},
		{"dot dot", ".."},
		{"SQL", "L-1%27%3B%20DROP%20TABLE%20notices%3B--"},
		{"shell", "%24%28reboot%29"},
		{"NUL", "L-1%00"},
		{"newline", "L-1%0A"},
		{"space", "L%201"},
		{"percent", "L%251"},
		{"unicode", "%E8%B4%B7%E6%AC%BE"},
		{"129 characters", strings.Repeat("L", 129)},
	}
	for _, r := range routes {
		for _, id := range ids {
			t.Run(r.method+" "+r.path+"/"+id.name, func(t *testing.T) {
				ta := newTestAPI(t)
				ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
				path := strings.Replace(r.path, "%s", id.escaped, 1)
				rec := ta.do(t, r.method, path, r.body)
				if rec.Code == http.StatusNotFound || rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect {
					// The router refused the path before any handler (a
					// cleaned "..", say): nothing ran, which is as good.
					return
				}
				wantCode(t, rec, 400)
				if !slices.Contains(fieldsOf(t, rec), "id") {
					t.Errorf("fields %q do not name id; body %s", fieldsOf(t, rec), rec.Body)
				}
				if starts, updates, signals := ta.tc.calls(); starts+updates+signals != 0 || ta.tc.queries != 0 {
					t.Errorf("hostile id reached Temporal: %d starts %d updates %d signals %d queries", starts, updates, signals, ta.tc.queries)
				}
				if len(ta.st.loans) != 0 {
					t.Errorf("hostile id reached PostgreSQL: %q", ta.st.loans)
				}
			})
		}
	}
}

// TestEveryRouteNeedsTheToken: with API_TOKEN set, every /v1 route and the
// codec answer 401 without the token, with a wrong one, with a prefix of it
// and with it as Basic auth; only health and metrics stay open. The inbound
// webhooks have their own secrets (TestInboundSMS, TestTwilioStatus).
func TestEveryRouteNeedsTheToken(t *testing.T) {
	const token = "s3cret-api-t0ken"
	routes := []struct{ method, path, body string }{
		{"POST", "/v1/loans", `{}`},
		{"GET", "/v1/loans/L-1", ""},
		{"POST", "/v1/loans/L-1/repayments", `{"txn_id":"T-9","amount":"1.00"}`},
		{"POST", "/v1/loans/L-1/pause", `{}`},
		{"POST", "/v1/loans/L-1/resume", `{}`},
		{"POST", "/v1/loans/L-1/close", `{"reason":"sold"}`},
		{"PUT", "/v1/loans/L-1/contact", `{}`},
		{"POST", "/v1/loans/L-1/reschedule", `{}`},
		{"GET", "/v1/loans/L-1/notices", ""},
		{"GET", "/v1/loans/L-1/audit", ""},
		{"GET", "/v1/notices", ""},
		{"GET", "/v1/opt-outs", ""},
		{"POST", "/v1/preview", `{}`},
		{"POST", "/codec/decode", `{"payloads":[]}`},
		{"POST", "/codec/encode", `{"payloads":[]}`},
	}
	auths := []struct{ name, header string }{
		{"none", ""},
		{"wrong", "Bearer s3cret-api-t0kem"},
		{"prefix", "Bearer s3cret"},
		{"longer", "Bearer " + token + "x"},
		{"basic", "Basic " + token},
		{"no scheme", token},
	}
	ta := newTestAPI(t, func(d *Deps) {
		d.Token = token
		// As starter serve wires it: the codec asks for API_TOKEN
		// when CODEC_TOKEN is unset (TestCodecHandlerToken).
		d.Codec = codec.Handler(testCodec(t), codec.HandlerOptions{Token: token})
	})
	ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
	for _, r := range routes {
		for _, a := range auths {
			req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
			if a.header != "" {
				req.Header.Set("Authorization", a.header)
			}
			rec := httptest.NewRecorder()
			ta.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s with %s auth: status %d, want 401", r.method, r.path, a.name, rec.Code)
			}
		}
	}
	if starts, updates, signals := ta.tc.calls(); starts+updates+signals != 0 || ta.tc.queries != 0 || len(ta.st.loans) != 0 {
		t.Errorf("unauthenticated requests reached Temporal or PostgreSQL")
	}
	// With the token each route gets past authentication.
	for _, r := range routes {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		ta.h.ServeHTTP(rec, req)
		if rec.Code == http.StatusUnauthorized {
			t.Errorf("%s %s with the token: 401", r.method, r.path)
		}
	}
}

// testCodec is a codec under a fixed test key.
func testCodec(t *testing.T) *codec.Codec {
	t.Helper()
	keys, err := codec.ParseKeys("k1:" + strings.Repeat("A", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	c, err := codec.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
