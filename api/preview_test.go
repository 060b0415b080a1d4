package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
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
