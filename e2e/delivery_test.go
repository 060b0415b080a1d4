package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"dunning/api"
	"dunning/policy"
	"dunning/workflows"
)

// inbound posts a reply as an SMS gateway does.
func inbound(t *testing.T, srv *httptest.Server, token, from, body string) (int, api.Reply) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"from": from, "body": body})
	req, _ := http.NewRequest("POST", srv.URL+"/v1/inbound/sms", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep api.Reply
	_ = json.NewDecoder(resp.Body).Decode(&rep)
	return resp.StatusCode, rep
}

// A borrower replies 退订: SMS stops on every open loan of that number, and
// on a loan started later; one confirmation only; START reverses it.
func TestStopReplyOptsTheNumberOut(t *testing.T) {
	s := newStack(t)
	queue := s.workerQueue()
	srv := httptest.NewServer(api.New(api.Deps{Temporal: s.c, Store: s.store, Delivery: s.store, HasLocale: s.tmpl.Has,
		Token: "e2e-token", TaskQueue: queue, InboundToken: "gw-token", BrandName: "安心借"}))
	defer srv.Close()

	phone := fmt.Sprintf("+861380013%04d", time.Now().UnixNano()%10000)
	start := func(id string) string {
		l := overdueLoan(t, -10) // not due yet: nothing urgent in flight
		l.LoanID, l.Customer.Phone = id, phone
		var started map[string]string
		if code := call(t, srv, "POST", "/v1/loans", l, &started); code != http.StatusCreated {
			t.Fatalf("start %s: %d", id, code)
		}
		return l.LoanID
	}
	optOuts := func(id string) []policy.Channel {
		var snap policy.Snapshot
		call(t, srv, "GET", "/v1/loans/"+id, nil, &snap)
		return snap.OptOuts
	}
	base := fmt.Sprintf("L-STOP-%d", time.Now().UnixNano())
	a, b := start(base+"-A"), start(base+"-B")

	if code, _ := inbound(t, srv, "wrong", phone, "退订"); code != http.StatusUnauthorized {
		t.Errorf("a wrong gateway token: %d, want 401", code)
	}
	code, rep := inbound(t, srv, "gw-token", phone, " 退订！")
	if code != http.StatusOK || rep.Action != "opt_out" || rep.Loans != 2 || rep.Reply == "" {
		t.Fatalf("STOP: %d %+v, want opt_out on 2 loans with a confirmation", code, rep)
	}
	for _, id := range []string{a, b} {
		eventually(t, 10*time.Second, "sms opted out on "+id, func() (bool, string) {
			o := optOuts(id)
			return slices.Contains(o, policy.SMS), fmt.Sprint(o)
		})
	}
	if _, again := inbound(t, srv, "gw-token", phone, "STOP"); again.Reply != "" {
		t.Errorf("a second STOP was confirmed again: %q", again.Reply)
	}
	if _, other := inbound(t, srv, "gw-token", phone, "我已经还款了"); other.Action != "none" || other.Reply != "" {
		t.Errorf("a question was taken for a keyword: %+v", other)
	}
	c := start(base + "-C") // started later: opted out from the start
	if o := optOuts(c); !slices.Contains(o, policy.SMS) {
		t.Errorf("a loan started after STOP has opt_outs %v", o)
	}
	code, rep = inbound(t, srv, "gw-token", phone, "START")
	if code != http.StatusOK || rep.Action != "opt_in" || rep.Loans != 3 || rep.Reply == "" {
		t.Fatalf("START: %d %+v", code, rep)
	}
	for _, id := range []string{a, b, c} {
		eventually(t, 10*time.Second, "sms back on "+id, func() (bool, string) {
			o := optOuts(id)
			return !slices.Contains(o, policy.SMS), fmt.Sprint(o)
		})
	}
	for _, id := range []string{a, b, c} {
		if err := s.c.SignalWorkflow(context.Background(), workflows.WorkflowID(id), "", workflows.SignalClose, workflows.CloseSignal{Actor: testActor, Reason: "test over"}); err != nil {
			t.Fatal(err)
		}
	}
}
