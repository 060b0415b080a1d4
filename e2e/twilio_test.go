package e2e

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"dunning/api"
	"dunning/channels"
	"dunning/channels/twilio"
	"dunning/internal/testenv"
	"dunning/policy"
	"dunning/store"
)

// twilioMock is Twilio's Messages API as a test server: it takes every
// message (201 with a SID) and keeps the form it was sent.
type twilioMock struct {
	mu    sync.Mutex
	forms []url.Values
	auth  []string
}

func (m *twilioMock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/Messages.json") || r.Method != http.MethodPost {
		http.Error(w, `{"code":20404,"message":"not found","status":404}`, http.StatusNotFound)
		return
	}
	_ = r.ParseForm()
	user, pass, _ := r.BasicAuth()
	m.mu.Lock()
	m.forms = append(m.forms, r.PostForm)
	m.auth = append(m.auth, user+":"+pass)
	n := len(m.forms)
	m.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"SM%032x","status":"queued","date_created":"Mon, 30 Nov 2026 10:00:00 +0000"}`, n)
}

func (m *twilioMock) sent() ([]url.Values, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.forms), slices.Clone(m.auth)
}

// twilioSign is X-Twilio-Signature as Twilio computes it: HMAC-SHA1 over the
// full URL followed by every POST parameter's name and value, sorted by name.
func twilioSign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// postSigned posts form to fullURL as Twilio does, signed with token ("" for
// no signature).
func postSigned(t *testing.T, fullURL, token string, form url.Values) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", fullURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("X-Twilio-Signature", twilioSign(token, fullURL, form))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The stack with Twilio pointed at a mock: well-formed requests (basic auth,
// From, To, Body, a StatusCallback that carries the notice key); a signed
// "undelivered, unknown number" callback marks the notice, opts SMS out and
// sends the point by push; an unsigned one is refused; an inbound STOP is
// answered with TwiML.
func TestTwilioAgainstAMock(t *testing.T) {
	s := newStack(t)
	queue := queueName(t)
	mock := &twilioMock{}
	tw := httptest.NewServer(mock)
	defer tw.Close()
	const sid, token = "AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"

	// The API first: its URL is the public base URL Twilio calls back.
	var apiH http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { apiH.ServeHTTP(w, r) }))
	defer srv.Close()
	apiH = api.New(api.Deps{Temporal: s.c, Store: s.store, Delivery: s.store, HasLocale: s.tmpl.Has, Token: "e2e-token",
		TaskQueue: queue, BrandName: "安心借", Twilio: &api.TwilioWebhooks{AuthToken: token, PublicBaseURL: srv.URL}})

	sender, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: "+15005550006", APIURL: tw.URL, PublicBaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	senders := channels.Registry{channels.SMS: sender, channels.Email: s.sink, channels.Push: s.sink}
	testenv.StartWorkerWith(t, s.c, s.store, s.tmpl, senders, queue)

	l := overdueLoan(t, 1) // D+1: the point is SMS only
	if code := call(t, srv, "POST", "/v1/loans", l, nil); code != http.StatusCreated {
		t.Fatalf("start: %d", code)
	}
	var form url.Values
	eventually(t, 20*time.Second, "an SMS at the Twilio mock", func() (bool, string) {
		forms, _ := mock.sent()
		if len(forms) == 0 {
			return false, "none"
		}
		form = forms[0]
		return true, ""
	})
	_, auth := mock.sent()
	if auth[0] != sid+":"+token || form.Get("To") != l.Customer.Phone || form.Get("From") != "+15005550006" || form.Get("Body") == "" {
		t.Errorf("request: basic auth right %v, form %v", auth[0] == sid+":"+token, form)
	}
	cb, err := url.Parse(form.Get("StatusCallback"))
	if err != nil || !strings.HasPrefix(cb.String(), srv.URL+"/v1/webhooks/twilio?key=") {
		t.Fatalf("StatusCallback %q, want the API's webhook with the notice key", form.Get("StatusCallback"))
	}
	key := cb.Query().Get("key")

	report := url.Values{"MessageSid": {fmt.Sprintf("SM%032x", 1)}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30005"},
		"To": {l.Customer.Phone}, "AccountSid": {sid}}
	if code, _ := postSigned(t, cb.String(), "", report); code != http.StatusForbidden {
		t.Errorf("unsigned callback: %d, want 403", code)
	}
	if code, _ := postSigned(t, cb.String(), "wrong0123456789abcdef0123456789ab", report); code != http.StatusForbidden {
		t.Errorf("callback signed with another token: %d, want 403", code)
	}
	if code, body := postSigned(t, cb.String(), token, report); code != http.StatusNoContent {
		t.Fatalf("signed callback: %d %s", code, body)
	}
	eventually(t, 20*time.Second, "the undelivered SMS and the push fallback", func() (bool, string) {
		var row, push *store.Notice
		for _, n := range s.notices(l.LoanID) {
			switch {
			case n.IdempotencyKey == key:
				row = &n
			case n.Channel == "push" && strings.HasSuffix(n.IdempotencyKey, "/1/push"):
				push = &n
			}
		}
		ok := row != nil && row.Status == store.NoticeUndelivered && row.ProviderError == "30005" && push != nil && push.Status == store.NoticeSent
		return ok, fmt.Sprintf("sms %+v push %+v", row, push)
	})
	var snap policy.Snapshot
	call(t, srv, "GET", "/v1/loans/"+l.LoanID, nil, &snap)
	if !slices.Contains(snap.OptOuts, policy.SMS) {
		t.Errorf("opt_outs %v after a dead number", snap.OptOuts)
	}

	// The dead number is dead for loans started later too (a carrier opt-out).
	later := overdueLoan(t, -10)
	later.Customer.Phone = l.Customer.Phone
	if code := call(t, srv, "POST", "/v1/loans", later, nil); code != http.StatusCreated {
		t.Fatalf("start a later loan: %d", code)
	}
	var laterSnap policy.Snapshot
	call(t, srv, "GET", "/v1/loans/"+later.LoanID, nil, &laterSnap)
	if !slices.Contains(laterSnap.OptOuts, policy.SMS) {
		t.Errorf("a loan started after the dead-number receipt has opt_outs %v", laterSnap.OptOuts)
	}
	s.closeLoan(later.LoanID)

	// A reply STOP to the Twilio number (from a live number: the dead one is
	// opted out already): TwiML with the one confirmation.
	in := url.Values{"MessageSid": {fmt.Sprintf("SM%032x", 99)}, "From": {"+8613900139000"}, "To": {"+15005550006"}, "Body": {"STOP"}, "AccountSid": {sid}}
	code, body := postSigned(t, srv.URL+"/v1/inbound/twilio", token, in)
	if code != http.StatusOK || !strings.Contains(body, "<Response><Message>") || !strings.Contains(body, "安心借") {
		t.Errorf("inbound STOP: %d %s", code, body)
	}
	if code, _ := postSigned(t, srv.URL+"/v1/inbound/twilio", "", in); code != http.StatusForbidden {
		t.Errorf("unsigned inbound: %d, want 403", code)
	}
	s.closeLoan(l.LoanID)
}
