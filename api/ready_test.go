package api

import (
	"errors"
	"testing"
)

// TestReadyz: /readyz is 503 while Temporal does not answer and 200 while it
// does; a database outage is reported as degraded but keeps the API in its
// Service (loans and repayments need Temporal only). It needs no token.
func TestReadyz(t *testing.T) {
	status := func(ta *testAPI, code int) (string, map[string]any) {
		t.Helper()
		rec := ta.do(t, "GET", "/readyz", "")
		wantCode(t, rec, code)
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		got := decode(t, rec)
		return got["status"].(string), got["checks"].(map[string]any)
	}
	checkStatus := func(checks map[string]any, dep string) string {
		return checks[dep].(map[string]any)["status"].(string)
	}

	ta := newTestAPI(t)
	if s, checks := status(ta, 200); s != "ok" || checkStatus(checks, "temporal") != "ok" || checkStatus(checks, "database") != "ok" {
		t.Errorf("all up: %s %v", s, checks)
	}

	ta.st.err = errors.New("connection refused")
	if s, checks := status(ta, 200); s != "degraded" || checkStatus(checks, "database") != "error" {
		t.Errorf("database down: %s %v", s, checks)
	}

	ta.tc.down = true
	if s, checks := status(ta, 503); s != "unavailable" || checkStatus(checks, "temporal") != "error" {
		t.Errorf("temporal and database down: %s %v", s, checks)
	}
	ta.st.err = nil
	if s, _ := status(ta, 503); s != "unavailable" {
		t.Errorf("temporal down: %s", s)
	}

	noDB := newTestAPI(t, func(d *Deps) { d.Store = nil })
	if s, checks := status(noDB, 200); s != "ok" || checkStatus(checks, "database") != "not configured" {
		t.Errorf("no database configured: %s %v", s, checks)
	}

	// Probes carry no token.
	withToken := newTestAPI(t, func(d *Deps) { d.Token = "secret" })
	withToken.token = ""
	status(withToken, 200)
}
