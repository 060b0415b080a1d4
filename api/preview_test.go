package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"dunning/policies"
	"dunning/policy"
)

// POST /v1/preview answers the preview's timeline for a loan body, with the
// API's validation, and starts nothing.
func TestPreview(t *testing.T) {
	ta := newTestAPI(t)
	rec := ta.do(t, "POST", "/v1/preview", loanJSON(t, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var tl struct {
		LoanID string `json:"loan_id"`
		Policy string `json:"policy"`
		Points []struct {
			At       string `json:"at"`
			Offset   int    `json:"offset"`
			Template string `json:"template"`
			Balance  struct {
				Total string `json:"total"`
			} `json:"balance"`
			Messages []struct {
				Channel  string `json:"channel"`
				Text     string `json:"text"`
				Segments int    `json:"segments"`
			} `json:"messages"`
		} `json:"points"`
		End struct {
			State string `json:"state"`
			At    string `json:"at"`
		} `json:"end"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tl); err != nil {
		t.Fatal(err)
	}
	if tl.LoanID != "L-2026-0001" || tl.Policy != "default" || tl.End.State != "charged_off" || len(tl.Points) != 10 {
		t.Fatalf("preview %s", rec.Body)
	}
	if p := tl.Points[5]; p.Offset != 7 || p.Template != "overdue_firm" || p.Balance.Total != "2108.50" ||
		p.Messages[0].Channel != "sms" || !strings.Contains(p.Messages[0].Text, "1068.50") || p.Messages[0].Segments < 1 {
		t.Errorf("D+7 point %+v", p)
	}
	if n := len(ta.tc.starts) + len(ta.tc.updates) + len(ta.tc.signals) + ta.tc.queries; n != 0 {
		t.Errorf("a preview made %d calls to Temporal", n)
	}

	rec = ta.do(t, "POST", "/v1/preview?pay=2026-12-06:3000.00", loanJSON(t, nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"end":{"state":"paid_off"`) {
		t.Errorf("paid off on D+5: %d %s", rec.Code, rec.Body)
	}
}

func TestPreviewBadInput(t *testing.T) {
	ta := newTestAPI(t)
	for _, tc := range []struct {
		name, query, body, field string
	}{
		{"invalid loan", "", loanJSON(t, func(m map[string]any) { customer(m)["phone"] = "13800138000" }), "customer.phone"},
		{"unknown policy", "?policy=nope", loanJSON(t, nil), "policy"},
		{"bad payment", "?pay=2026-12-06:-1", loanJSON(t, nil), "pay[0]"},
		{"payment without amount", "?pay=2026-12-06:1&pay=2026-12-07", loanJSON(t, nil), "pay[1]"},
		{"unknown parameter", "?pays=2026-12-06:1", loanJSON(t, nil), "pays"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := ta.do(t, "POST", "/v1/preview"+tc.query, tc.body)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"`+tc.field+`"`) {
				t.Errorf("status %d %s, want 400 naming %s", rec.Code, rec.Body, tc.field)
			}
		})
	}
}

// Previews run at most GOMAXPROCS at once; a request that finds every slot
// taken for its whole timeout gets 503 with Retry-After.
func TestPreviewBusy(t *testing.T) {
	ta := newTestAPI(t, func(d *Deps) { d.Timeout = 50 * time.Millisecond })
	s := ta.h.(*server)
	for range cap(s.previews.slots) {
		s.previews.slots <- struct{}{}
	}
	rec := ta.do(t, "POST", "/v1/preview", loanJSON(t, nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("status %d %s, want 503 with Retry-After", rec.Code, rec.Body)
	}
}

// defaultPolicyText is policies/default.yaml, with edit applied to its text.
func defaultPolicyText(t *testing.T, edit func(string) string) string {
	t.Helper()
	b, err := policies.FS.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if edit != nil {
		s = edit(s)
	}
	return s
}

// defaultPolicyJSON is policies/default.yaml as a JSON object, with edit
// applied to the decoded object.
func defaultPolicyJSON(t *testing.T, edit func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(defaultPolicyText(t, nil)), &m); err != nil {
		t.Fatal(err)
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

// previewBody is a POST /v1/preview body with a policy beside the loan:
// fields are raw JSON by key ("loan", "policy", "policy_yaml").
func previewBody(fields ...string) string {
	parts := make([]string, 0, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		parts = append(parts, fmt.Sprintf("%q:%s", fields[i], fields[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// quoted is s as a JSON string.
func quoted(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// POST /v1/preview with a policy inline, as JSON or as a policy file's
// text: the preview runs under it (here: the default policy without its
// late fee), named by its own name or "inline", and nothing reaches
// Temporal.
func TestPreviewInlinePolicy(t *testing.T) {
	noFee := func(m map[string]any) {
		m["name"] = "lab"
		m["penalty"].(map[string]any)["late_fee"] = "0.00"
	}
	for _, tc := range []struct {
		name, body, wantPolicy string
	}{
		{"JSON", previewBody("loan", loanJSON(t, nil), "policy", defaultPolicyJSON(t, noFee)), "lab"},
		{"JSON without a name", previewBody("loan", loanJSON(t, nil), "policy", defaultPolicyJSON(t, func(m map[string]any) {
			noFee(m)
			delete(m, "name")
		})), "inline"},
		{"a policy file's text", previewBody("loan", loanJSON(t, nil), "policy_yaml", quoted(t, defaultPolicyText(t, func(s string) string {
			s = strings.Replace(s, "name: default", "name: lab-yaml", 1)
			return strings.Replace(s, `late_fee: "20.00"`, `late_fee: "0.00"`, 1)
		}))), "lab-yaml"},
		{"the loan's own policy is not used", previewBody("loan", loanJSON(t, func(m map[string]any) { m["policy"] = "not-shipped" }),
			"policy", defaultPolicyJSON(t, noFee)), "lab"},
		{"a policy null is none", previewBody("loan", loanJSON(t, nil), "policy", "null"), "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t)
			rec := ta.do(t, "POST", "/v1/preview?pay=2026-12-20:100.00", tc.body)
			wantCode(t, rec, http.StatusOK)
			var tl struct {
				Policy string `json:"policy"`
				Points []struct {
					Offset  int `json:"offset"`
					Balance struct {
						Total string `json:"total"`
					} `json:"balance"`
				} `json:"points"`
				Repayments []struct {
					Applied bool `json:"applied"`
				} `json:"repayments"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &tl); err != nil {
				t.Fatal(err)
			}
			wantTotal := "2088.50" // D+7: 2085.00 + 3.50 penalty, no late fee
			if tc.wantPolicy == "default" {
				wantTotal = "2108.50"
			}
			if tl.Policy != tc.wantPolicy || len(tl.Points) < 6 || tl.Points[5].Offset != 7 || tl.Points[5].Balance.Total != wantTotal ||
				len(tl.Repayments) != 1 || !tl.Repayments[0].Applied {
				t.Errorf("policy %q, want %q; D+7 total %+v, want %s; repayments %+v", tl.Policy, tc.wantPolicy, tl.Points, wantTotal, tl.Repayments)
			}
			if n := len(ta.tc.starts) + len(ta.tc.updates) + len(ta.tc.signals) + ta.tc.queries; n != 0 {
				t.Errorf("a preview made %d calls to Temporal", n)
			}
		})
	}
}

// An inline policy is checked as a policy file is, and more strictly
// (policy.ParseInline); the body's shape is checked as every body is. Each
// problem is a 400 naming the field, and nothing reaches Temporal.
func TestPreviewInlinePolicyBadInput(t *testing.T) {
	loan := loanJSON(t, nil)
	policyJSON := defaultPolicyJSON(t, nil)
	for _, tc := range []struct {
		name, query, body string
		code              int
		field, problem    string
	}{
		{name: "a bad value", body: previewBody("loan", loan, "policy", defaultPolicyJSON(t, func(m map[string]any) {
			m["penalty"].(map[string]any)["daily_rate"] = "0.5"
		})), field: "policy.penalty.daily_rate", problem: "between 0 and 0.01"},
		{name: "an unknown key", body: previewBody("loan", loan, "policy", defaultPolicyJSON(t, func(m map[string]any) {
			m["penalty"].(map[string]any)["grace"] = 3
		})), field: "policy.penalty.grace", problem: "unknown key"},
		{name: "a missing key", body: previewBody("loan", loan, "policy", defaultPolicyJSON(t, func(m map[string]any) {
			delete(m, "caps")
		})), field: "policy.caps.max_per_channel_per_day", problem: "at least 1"},
		{name: "a bad value in a policy file's text", body: previewBody("loan", loan, "policy_yaml",
			quoted(t, defaultPolicyText(t, func(s string) string { return strings.Replace(s, "grace_days: 3", "grace_days: 31", 1) }))),
			field: "policy_yaml.penalty.grace_days", problem: "between 0 and 30"},
		{name: "YAML that does not parse", body: previewBody("loan", loan, "policy_yaml", quoted(t, "penalty: [")),
			field: "policy_yaml"},
		{name: "anchors and aliases", body: previewBody("loan", loan, "policy_yaml",
			quoted(t, defaultPolicyText(t, func(s string) string { return strings.Replace(s, "  sms: [push, email]", "  sms: &f [push, email]", 1) }))),
			field: "policy_yaml.fallback.sms", problem: "anchors and aliases"},
		{name: "an inline policy over 64 KiB", body: previewBody("loan", loan, "policy_yaml",
			quoted(t, defaultPolicyText(t, nil)+"#"+strings.Repeat("x", policy.MaxPolicyBytes))),
			field: "policy_yaml", problem: "at most 65536"},
		{name: "a body over 1 MiB", body: previewBody("loan", loan, "policy_yaml",
			quoted(t, strings.Repeat("#", 1<<20))), code: http.StatusRequestEntityTooLarge},
		{name: "a ladder of 65 rungs", body: previewBody("loan", loan, "policy", defaultPolicyJSON(t, func(m map[string]any) {
			rem := m["reminders"].(map[string]any)
			var ladder []any
			for i := range policy.MaxLadderRungs + 1 {
				ladder = append(ladder, map[string]any{"offset": i + 1, "channels": []string{"sms"}, "template": "overdue_firm"})
			}
			rem["ladder"] = ladder
		})), field: "policy.reminders.ladder", problem: "at most 64"},
		{name: "a policy that is not an object", body: previewBody("loan", loan, "policy", `"default"`),
			field: "policy", problem: "want an object"},
		{name: "policy_yaml that is not a string", body: previewBody("loan", loan, "policy_yaml", policyJSON),
			field: "policy_yaml", problem: "want a string"},
		{name: "both policy and policy_yaml", body: previewBody("loan", loan, "policy", policyJSON, "policy_yaml", quoted(t, defaultPolicyText(t, nil))),
			field: "policy_yaml", problem: "not both"},
		{name: "a name and an inline policy", query: "?policy=default", body: previewBody("loan", loan, "policy", policyJSON),
			field: "policy", problem: "given twice"},
		{name: "no loan", body: previewBody("loan", "null", "policy", policyJSON), field: "loan", problem: "required"},
		{name: "an invalid loan", body: previewBody("loan", loanJSON(t, func(m map[string]any) { customer(m)["phone"] = "13800138000" }),
			"policy", policyJSON), field: "loan.customer.phone"},
		{name: "a loan that does not decode", body: previewBody("loan", loanJSON(t, func(m map[string]any) { installment(m, 0)["principal"] = 1000 }),
			"policy", policyJSON), field: "loan.installments[0].principal"},
		{name: "an unknown key beside the loan", body: previewBody("loan", loan, "polcy", policyJSON), field: "polcy", problem: "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestAPI(t)
			rec := ta.do(t, "POST", "/v1/preview"+tc.query, tc.body)
			code := cmp.Or(tc.code, http.StatusBadRequest)
			wantCode(t, rec, code)
			if code == http.StatusBadRequest && !slices.Contains(fieldsOf(t, rec), tc.field) {
				t.Errorf("fields %q do not name %q: %s", fieldsOf(t, rec), tc.field, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.problem) {
				t.Errorf("answer does not say %q: %s", tc.problem, rec.Body)
			}
			if n := len(ta.tc.starts) + len(ta.tc.updates) + len(ta.tc.signals) + ta.tc.queries; n != 0 {
				t.Errorf("a refused preview made %d calls to Temporal", n)
			}
		})
	}
}
