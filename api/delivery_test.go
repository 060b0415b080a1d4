package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// fakeDelivery is an in-memory DeliveryStore. Opt-outs behave as the
// opt_outs table does (one open per channel and address; OptIn revokes only
// one of the source asked for); loans are listed by address; ApplyReceipt
// answers what the test set. Every call is recorded.
type fakeDelivery struct {
	mu sync.Mutex

	optOuts map[string]string   // source of the open opt-out, by "channel address"
	loans   map[string][]string // loan ids, by "channel address"

	// notice, changed: what ApplyReceipt answers.
	notice  store.Notice
	changed bool

	// fail makes a method (by name) fail with the error.
	fail map[string]error
	// before, when set, runs at the start of every call with its method name.
	before func(method string)

	calls    []string // "OptOut sms +86… keyword STOP", in order
	receipts []store.Receipt
	contacts map[string][]store.Contact // added, by loan id
}

func newFakeDelivery() *fakeDelivery {
	return &fakeDelivery{
		optOuts:  map[string]string{},
		loans:    map[string][]string{},
		fail:     map[string]error{},
		contacts: map[string][]store.Contact{},
	}
}

var _ DeliveryStore = (*fakeDelivery)(nil)

// enter records a call and returns the error it is to fail with.
func (f *fakeDelivery) enter(method string, args ...string) error {
	if f.before != nil {
		f.before(method)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.Join(append([]string{method}, args...), " "))
	return f.fail[method]
}

func (f *fakeDelivery) OptOut(_ context.Context, channel, address, source, keyword string) (bool, error) {
	if err := f.enter("OptOut", channel, address, source, keyword); err != nil {
		return false, fmt.Errorf("opt out %s: %w", channel, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := channel + " " + address
	if _, open := f.optOuts[k]; open {
		return false, nil
	}
	f.optOuts[k] = source
	return true, nil
}

func (f *fakeDelivery) OptIn(_ context.Context, channel, address, source string) (bool, error) {
	if err := f.enter("OptIn", channel, address, source); err != nil {
		return false, fmt.Errorf("opt in %s: %w", channel, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := channel + " " + address
	if f.optOuts[k] != source {
		return false, nil
	}
	delete(f.optOuts, k)
	return true, nil
}

func (f *fakeDelivery) OptedOut(_ context.Context, channel, address string) (string, error) {
	if err := f.enter("OptedOut", channel, address); err != nil {
		return "", fmt.Errorf("opt-out of %s: %w", channel, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.optOuts[channel+" "+address], nil
}

func (f *fakeDelivery) LoansByAddress(_ context.Context, channel, address string) ([]string, error) {
	if err := f.enter("LoansByAddress", channel, address); err != nil {
		return nil, fmt.Errorf("loans at an address: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.loans[channel+" "+address]), nil
}

func (f *fakeDelivery) AddLoanContacts(_ context.Context, loanID string, contacts []store.Contact) error {
	if err := f.enter("AddLoanContacts", loanID); err != nil {
		return fmt.Errorf("contacts of loan %s: %w", loanID, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.contacts[loanID] = append(f.contacts[loanID], contacts...)
	return nil
}

func (f *fakeDelivery) ApplyReceipt(_ context.Context, r store.Receipt) (store.Notice, bool, error) {
	if err := f.enter("ApplyReceipt", r.Key, r.MessageID); err != nil {
		return store.Notice{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.receipts = append(f.receipts, r)
	return f.notice, f.changed, nil
}

func (f *fakeDelivery) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// signalErrTemporal is the fake Temporal with every signal failing with err.
type signalErrTemporal struct {
	*fakeTemporal
	err error
}

func (s signalErrTemporal) SignalWorkflow(context.Context, string, string, string, any) error {
	return s.err
}

const (
	phone        = "+8613800138000"
	inboundToken = "inb0und-t0ken"
	brand        = "Acme"
	twilioToken  = "tw1lio-auth-token"
	publicBase   = "https://dunning.example.com"
	sid          = "SM0123456789abcdef0123456789abcdef"
	inboundSID   = "SMfedcba9876543210fedcba9876543210"

	stopReply  = "Acme: you will receive no more SMS repayment reminders. Reply START to receive them again."
	stopReplyZ = "【Acme】您已退订还款提醒短信。如需恢复，请回复START。"
	startReply = "Acme: SMS repayment reminders are on again. Reply STOP to stop them. / 已恢复还款提醒短信，回复T退订。"
)

// errDBDown is the store not answering: pgx's connect and I/O errors wrap a
// net.Error.
var errDBDown = &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}

// newDeliveryAPI is newTestAPI with a fakeDelivery, an inbound token, a
// brand and Twilio webhooks configured; edit changes the deps after that.
func newDeliveryAPI(t *testing.T, edit ...func(*Deps)) (*testAPI, *fakeDelivery) {
	t.Helper()
	fd := newFakeDelivery()
	ta := newTestAPI(t, append([]func(*Deps){func(d *Deps) {
		d.Delivery = fd
		d.InboundToken = inboundToken
		d.BrandName = brand
		d.Twilio = &TwilioWebhooks{AuthToken: twilioToken, PublicBaseURL: publicBase}
	}}, edit...)...)
	return ta, fd
}

// withLoans lists loans L-1 (running), L-2 (finished) and L-3 (running) at
// the phone number.
func withLoans(ta *testAPI, fd *fakeDelivery) {
	ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
	ta.tc.add("L-2", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, snapshot("L-2", "CNY"))
	ta.tc.add("L-3", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-3", "CNY"))
	fd.loans["sms "+phone] = []string{"L-1", "L-2", "L-3"}
}

// optSignals are the signals name with arg to the running loans L-1 and L-3.
func optSignals(name, source, keyword string) []signalCall {
	arg := workflows.OptSignal{Channel: policy.SMS, Source: source, Keyword: keyword}
	return []signalCall{{"loan-L-1", name, arg}, {"loan-L-3", name, arg}}
}

func signalsOf(tc *fakeTemporal) []signalCall {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return slices.Clone(tc.signals)
}

func wantSignals(t *testing.T, tc *fakeTemporal, want []signalCall) {
	t.Helper()
	if got := signalsOf(tc); !reflect.DeepEqual(got, want) {
		t.Errorf("signals\n%+v\nwant\n%+v", got, want)
	}
}

func wantCalls(t *testing.T, fd *fakeDelivery, want []string) {
	t.Helper()
	if got := fd.callLog(); !slices.Equal(got, want) {
		t.Errorf("store calls\n%q\nwant\n%q", got, want)
	}
}

// metricLines are the samples of the counter name on GET /metrics.
func metricLines(t *testing.T, ta *testAPI, name string) []string {
	t.Helper()
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var out []string
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, name+"{") {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// postInbound posts body to /v1/inbound/sms with the Authorization header
// auth and the Content-Type ct ("" for none).
func postInbound(ta *testAPI, auth, ct, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/v1/inbound/sms", strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, req)
	return rec
}

func smsJSON(from, body string) string {
	b, _ := json.Marshal(map[string]string{"from": from, "body": body})
	return string(b)
}

func TestInboundSMS(t *testing.T) {
	const (
		bearer = "Bearer " + inboundToken
		ct     = "application/json"
	)
	stop := smsJSON(phone, "STOP")
	keywordOptOut := func(_ *testAPI, fd *fakeDelivery) { fd.optOuts["sms "+phone] = store.OptOutKeyword }
	tests := []struct {
		name        string
		edit        func(*Deps)
		setup       func(*testAPI, *fakeDelivery)
		auth, ct    string
		body        string
		want        int
		wantFields  []string // of a 400 or 415
		wantReply   *Reply
		wantSignals []signalCall
		wantCalls   []string
		wantOptOut  string // the store's open opt-out afterwards
		wantLog     string
	}{
		// configuration and authentication
		{name: "no inbound token", edit: func(d *Deps) { d.InboundToken = "" }, auth: bearer, ct: ct, body: stop, want: 503},
		{name: "no delivery store", edit: func(d *Deps) { d.Delivery = nil }, auth: bearer, ct: ct, body: stop, want: 503},
		{name: "no Authorization", ct: ct, body: stop, want: 401},
		{name: "wrong token", auth: "Bearer inb0und-t0kem", ct: ct, body: stop, want: 401},
		{name: "prefix of the token", auth: "Bearer inb0und", ct: ct, body: stop, want: 401},
		{name: "basic auth", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+inboundToken)), ct: ct, body: stop, want: 401},
		{name: "the API token is not the inbound token", edit: func(d *Deps) { d.Token = "api-token" },
			auth: "Bearer api-token", ct: ct, body: stop, want: 401},
		{name: "the inbound token needs no API token", edit: func(d *Deps) { d.Token = "api-token" },
			auth: bearer, ct: ct, body: smsJSON(phone, "hello"), want: 200, wantReply: &Reply{Action: "none"}},

		// bad requests
		{name: "text/plain", auth: bearer, ct: "text/plain", body: stop, want: 415, wantFields: []string{"Content-Type"}},
		{name: "form", auth: bearer, ct: "application/x-www-form-urlencoded", body: "from=%2B8613800138000&body=STOP",
			want: 415, wantFields: []string{"Content-Type"}},
		{name: "no Content-Type", auth: bearer, body: stop, want: 415, wantFields: []string{"Content-Type"}},
		{name: "body over 1 MiB", auth: bearer, ct: ct, body: smsJSON(phone, strings.Repeat("x", 1<<20)), want: 413},
		{name: "empty body", auth: bearer, ct: ct, want: 400, wantFields: []string{""}},
		{name: "not JSON", auth: bearer, ct: ct, body: `{"from":`, want: 400, wantFields: []string{""}},
		{name: "unknown key", auth: bearer, ct: ct, body: `{"from":"+8613800138000","body":"STOP","to":"+8610086"}`,
			want: 400, wantFields: []string{"to"}},
		{name: "from a number", auth: bearer, ct: ct, body: `{"from":8613800138000,"body":"STOP"}`, want: 400, wantFields: []string{"from"}},
		{name: "from missing", auth: bearer, ct: ct, body: `{"body":"STOP"}`, want: 400, wantFields: []string{"from"}},
		{name: "from without +", auth: bearer, ct: ct, body: smsJSON("8613800138000", "STOP"), want: 400, wantFields: []string{"from"}},
		{name: "from with spaces", auth: bearer, ct: ct, body: smsJSON("+86 138 0013 8000", "STOP"), want: 400, wantFields: []string{"from"}},

		// opt-out
		{name: "STOP", setup: withLoans, auth: bearer, ct: ct, body: stop, want: 200,
			wantReply:   &Reply{Action: "opt_out", Loans: 2, Reply: stopReply},
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "STOP"),
			wantCalls:   []string{"OptOut sms " + phone + " keyword STOP", "LoansByAddress sms " + phone},
			wantOptOut:  store.OptOutKeyword},
		{name: "stop. in lower case", setup: withLoans, auth: bearer, ct: ct + "; charset=utf-8", body: smsJSON(phone, " stop. "), want: 200,
			wantReply:   &Reply{Action: "opt_out", Loans: 2, Reply: stopReply},
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "STOP"),
			wantOptOut:  store.OptOutKeyword},
		{name: "退订 answered in Chinese", setup: withLoans, auth: bearer, ct: ct, body: smsJSON(phone, "退订"), want: 200,
			wantReply:   &Reply{Action: "opt_out", Loans: 2, Reply: stopReplyZ},
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "退订"),
			wantOptOut:  store.OptOutKeyword},
		{name: "STOP from a number no loan reaches", auth: bearer, ct: ct, body: stop, want: 200,
			wantReply: &Reply{Action: "opt_out", Reply: stopReply}, wantOptOut: store.OptOutKeyword},
		{name: "STOP reaching only a finished loan", setup: func(ta *testAPI, fd *fakeDelivery) {
			ta.tc.add("L-2", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil)
			fd.loans["sms "+phone] = []string{"L-2", "L-9"} // L-9: no workflow at all
		}, auth: bearer, ct: ct, body: stop, want: 200,
			wantReply: &Reply{Action: "opt_out", Reply: stopReply}, wantOptOut: store.OptOutKeyword},
		{name: "second STOP: no second confirmation", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			keywordOptOut(ta, fd)
		}, auth: bearer, ct: ct, body: stop, want: 200,
			wantReply:   &Reply{Action: "opt_out", Loans: 2},
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "STOP"),
			wantOptOut:  store.OptOutKeyword},
		{name: "STOP after a carrier opt-out: no confirmation", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.optOuts["sms "+phone] = store.OptOutCarrier
		}, auth: bearer, ct: ct, body: stop, want: 200,
			wantReply:   &Reply{Action: "opt_out", Loans: 2},
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "STOP"),
			wantOptOut:  store.OptOutCarrier},

		// opt-in
		{name: "START after STOP", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			keywordOptOut(ta, fd)
		}, auth: bearer, ct: ct, body: smsJSON(phone, "Start"), want: 200,
			wantReply:   &Reply{Action: "opt_in", Loans: 2, Reply: startReply},
			wantSignals: optSignals(workflows.SignalOptIn, store.OptOutKeyword, "START"),
			wantCalls:   []string{"OptIn sms " + phone + " keyword", "LoansByAddress sms " + phone}},
		{name: "UNSTOP after STOP", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			keywordOptOut(ta, fd)
		}, auth: bearer, ct: ct, body: smsJSON(phone, "unstop"), want: 200,
			wantReply:   &Reply{Action: "opt_in", Loans: 2, Reply: startReply},
			wantSignals: optSignals(workflows.SignalOptIn, store.OptOutKeyword, "UNSTOP")},
		// The store revoked nothing: no confirmation; the loans are still told
		// (a retry after a half-done START must reach them; a loan with nothing
		// to reverse ignores it).
		{name: "START with no opt-out", setup: withLoans, auth: bearer, ct: ct, body: smsJSON(phone, "START"), want: 200,
			wantReply:   &Reply{Action: "opt_in", Loans: 2},
			wantSignals: optSignals(workflows.SignalOptIn, store.OptOutKeyword, "START")},
		{name: "START does not revoke a carrier opt-out", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.optOuts["sms "+phone] = store.OptOutCarrier
		}, auth: bearer, ct: ct, body: smsJSON(phone, "START"), want: 200,
			wantReply:   &Reply{Action: "opt_in", Loans: 2},
			wantSignals: optSignals(workflows.SignalOptIn, store.OptOutKeyword, "START"), wantOptOut: store.OptOutCarrier},

		// anything else is left for a person
		{name: "a question", setup: withLoans, auth: bearer, ct: ct, body: smsJSON(phone, "When is my payment due?"), want: 200,
			wantReply: &Reply{Action: "none"}, wantCalls: []string{}},
		{name: "stop inside a sentence", setup: withLoans, auth: bearer, ct: ct, body: smsJSON(phone, "please stop calling my mother"),
			want: 200, wantReply: &Reply{Action: "none"}, wantCalls: []string{}},
		{name: "an empty text", setup: withLoans, auth: bearer, ct: ct, body: `{"from":"+8613800138000"}`, want: 200,
			wantReply: &Reply{Action: "none"}, wantCalls: []string{}},

		// failures
		{name: "OptOut fails", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.fail["OptOut"] = errors.New("syntax error in SQL")
		}, auth: bearer, ct: ct, body: stop, want: 500, wantCalls: []string{"OptOut sms " + phone + " keyword STOP"},
			wantLog: "delivery webhook failed"},
		{name: "OptIn fails", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.fail["OptIn"] = errors.New("syntax error in SQL")
		}, auth: bearer, ct: ct, body: smsJSON(phone, "START"), want: 500, wantLog: "delivery webhook failed"},
		{name: "LoansByAddress fails", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.fail["LoansByAddress"] = errors.New("syntax error in SQL")
		}, auth: bearer, ct: ct, body: stop, want: 500, wantOptOut: store.OptOutKeyword, wantLog: "delivery webhook failed"},
		{name: "database down", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.fail["OptOut"] = errDBDown
		}, auth: bearer, ct: ct, body: stop, want: 503},
		{name: "database too slow", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.fail["LoansByAddress"] = context.DeadlineExceeded
		}, auth: bearer, ct: ct, body: stop, want: 503, wantOptOut: store.OptOutKeyword},
		{name: "Temporal down", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			ta.tc.down = true
		}, auth: bearer, ct: ct, body: stop, want: 503, wantOptOut: store.OptOutKeyword},
		{name: "Temporal refuses the signal", edit: func(d *Deps) {
			d.Temporal = signalErrTemporal{d.Temporal.(*fakeTemporal), serviceerror.NewInvalidArgument("bad signal")}
		}, setup: withLoans, auth: bearer, ct: ct, body: stop, want: 500, wantOptOut: store.OptOutKeyword,
			wantLog: "delivery webhook failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*Deps)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			ta, fd := newDeliveryAPI(t, edits...)
			if tt.setup != nil {
				tt.setup(ta, fd)
			}
			rec := postInbound(ta, tt.auth, tt.ct, tt.body)
			wantCode(t, rec, tt.want)

			switch tt.want {
			case 200:
				var got map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				want := map[string]any{"action": tt.wantReply.Action, "loans": float64(tt.wantReply.Loans)}
				if tt.wantReply.Reply != "" {
					want["reply"] = tt.wantReply.Reply
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("answer %s, want %v", rec.Body, want)
				}
			case 400, 415:
				if got := fieldsOf(t, rec); !slices.Equal(got, tt.wantFields) {
					t.Errorf("fields %q, want %q; body %s", got, tt.wantFields, rec.Body)
				}
			case 401:
				if rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			case 500:
				if got := errorOf(t, rec); got != "internal error" {
					t.Errorf("500 says %q", got)
				}
			case 503:
				if tt.edit == nil && rec.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
			}
			if tt.want != 200 && tt.want != 500 && tt.want != 503 && len(fd.callLog()) > 0 {
				t.Errorf("a refused request reached the store: %q", fd.callLog())
			}
			if tt.want != 200 && tt.wantSignals == nil {
				if _, _, signals := ta.tc.calls(); signals != 0 {
					t.Errorf("%d signals", signals)
				}
			}
			if tt.want == 200 {
				wantSignals(t, ta.tc, tt.wantSignals)
			}
			if tt.wantCalls != nil {
				wantCalls(t, fd, tt.wantCalls)
			}
			if got := fd.optOuts["sms "+phone]; tt.want != 401 && tt.want != 415 && got != tt.wantOptOut {
				t.Errorf("open opt-out %q, want %q", got, tt.wantOptOut)
			}
			// An opt-out is counted once: when it was opened (and confirmed).
			var wantCount []string
			if tt.want == 200 && tt.wantReply.Action == "opt_out" && tt.wantReply.Reply != "" {
				wantCount = []string{`dunning_opt_outs_total{channel="sms",source="keyword"} 1`}
			}
			if got := metricLines(t, ta, "dunning_opt_outs_total"); !slices.Equal(got, wantCount) {
				t.Errorf("opt-outs counted %q, want %q", got, wantCount)
			}
			logs := ta.logs.String()
			if tt.wantLog != "" && !strings.Contains(logs, tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, logs)
			}
			if tt.wantLog == "" && strings.Contains(logs, "level=ERROR") {
				t.Errorf("unexpected error logged:\n%s", logs)
			}
			if strings.Contains(logs, strings.TrimPrefix(phone, "+")) {
				t.Errorf("logs quote the phone number:\n%s", logs)
			}
		})
	}
}

// The signals reach the loans whose workflows run even when the store
// lists a finished one first; the count is of those reached.
func TestHandleReplySkipsFinishedLoans(t *testing.T) {
	tc := newFakeTemporal()
	fd := newFakeDelivery()
	tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, nil)
	tc.add("L-2", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil)
	fd.loans["sms "+phone] = []string{"L-1", "L-2"}
	rep, err := HandleReply(context.Background(), tc, fd, brand, phone, "TD")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Reply{Action: "opt_out", Loans: 1, Reply: stopReplyZ}); rep != want {
		t.Errorf("reply %+v, want %+v", rep, want)
	}
	wantSignals(t, tc, []signalCall{{"loan-L-2", workflows.SignalOptOut,
		workflows.OptSignal{Channel: policy.SMS, Source: store.OptOutKeyword, Keyword: "TD"}}})

	// Temporal down: the error says so, and which loan.
	tc.down = true
	_, err = HandleReply(context.Background(), tc, fd, brand, phone, "STOP")
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "loan L-1") {
		t.Errorf("error %v", err)
	}
}

// twilioSignature is Twilio's documented signature of a webhook: base64 of
// HMAC-SHA1, keyed with the auth token, over the full URL followed by each
// POST parameter's name and value, in name order.
func twilioSignature(token, fullURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		b.WriteString(k)
		b.WriteString(form.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// twilioReq is a webhook request as Twilio sends it.
type twilioReq struct {
	uri  string     // path and query
	form url.Values // the POST parameters
	raw  string     // the body instead of form.Encode(), when not ""
	// sig is the X-Twilio-Signature: "" signs the request as Twilio does
	// (over publicBase + uri), noSig sends none.
	sig string
}

const noSig = "-"

func (r twilioReq) send(ta *testAPI) *httptest.ResponseRecorder {
	body := r.raw
	if body == "" {
		body = r.form.Encode()
	}
	req := httptest.NewRequest("POST", r.uri, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	switch r.sig {
	case "":
		req.Header.Set("X-Twilio-Signature", twilioSignature(twilioToken, publicBase+r.uri, r.form))
	case noSig:
	default:
		req.Header.Set("X-Twilio-Signature", r.sig)
	}
	rec := httptest.NewRecorder()
	ta.h.ServeHTTP(rec, req)
	return rec
}

// statusForm is a status callback's form: status, and the error code when
// not "".
func statusForm(status, code string) url.Values {
	f := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "From": {"+15005550006"}, "To": {phone}, "ApiVersion": {"2010-04-01"},
	}
	if code != "" {
		f.Set("ErrorCode", code)
	}
	return f
}

func TestTwilioStatus(t *testing.T) {
	const uri = "/v1/webhooks/twilio?key=L-1%2Fv1%2F3%2Fsms"
	notice := store.Notice{IdempotencyKey: "L-1/v1/3/sms", LoanID: "L-1", Channel: "sms", Recipient: phone, Status: store.NoticeUndelivered}
	report := func(code string, permanent bool) []signalCall {
		return []signalCall{{"loan-L-1", workflows.SignalDeliveryReport, workflows.DeliveryReport{
			Key: "L-1/v1/3/sms", Channel: policy.SMS, Status: "undelivered", Error: code, Permanent: permanent}}}
	}
	receipt := func(key, status, code string) []store.Receipt {
		return []store.Receipt{{Key: key, Provider: "twilio", MessageID: sid, Status: status, Error: code}}
	}
	undelivered := statusForm("undelivered", "30005")
	tampered := statusForm("undelivered", "30003")
	tests := []struct {
		name         string
		edit         func(*Deps)
		setup        func(*testAPI, *fakeDelivery)
		req          twilioReq
		want         int
		wantReceipts []store.Receipt
		wantSignals  []signalCall
		wantCalls    []string // the store's, when not nil
		wantOptOut   string   // the store's open opt-out of the number afterwards
		// optOutCounted is the source of the one opt-out counted, "" none,
		// "-" not checked.
		optOutCounted string
		wantLog       string
	}{
		// configuration and signatures
		{name: "no Twilio config", edit: func(d *Deps) { d.Twilio = nil }, req: twilioReq{uri: uri, form: undelivered}, want: 503},
		{name: "no auth token", edit: func(d *Deps) { d.Twilio.AuthToken = "" }, req: twilioReq{uri: uri, form: undelivered}, want: 503},
		{name: "no public URL", edit: func(d *Deps) { d.Twilio.PublicBaseURL = "" }, req: twilioReq{uri: uri, form: undelivered}, want: 503},
		{name: "no delivery store", edit: func(d *Deps) { d.Delivery = nil }, req: twilioReq{uri: uri, form: undelivered}, want: 503},
		{name: "no signature", req: twilioReq{uri: uri, form: undelivered, sig: noSig}, want: 403},
		{name: "signed with another token", req: twilioReq{uri: uri, form: undelivered,
			sig: twilioSignature("another-token", publicBase+uri, undelivered)}, want: 403},
		{name: "signed without the query", req: twilioReq{uri: uri, form: undelivered,
			sig: twilioSignature(twilioToken, publicBase+"/v1/webhooks/twilio", undelivered)}, want: 403},
		{name: "signed for another host", req: twilioReq{uri: uri, form: undelivered,
			sig: twilioSignature(twilioToken, "https://evil.example.com"+uri, undelivered)}, want: 403},
		{name: "parameters changed after signing", req: twilioReq{uri: uri, form: undelivered,
			sig: twilioSignature(twilioToken, publicBase+uri, tampered)}, want: 403},
		{name: "signature not base64", req: twilioReq{uri: uri, form: undelivered, sig: "not a signature"}, want: 403},
		{name: "public URL with a trailing slash", edit: func(d *Deps) { d.Twilio.PublicBaseURL = publicBase + "/" },
			setup: func(_ *testAPI, fd *fakeDelivery) { fd.notice = notice },
			req:   twilioReq{uri: uri, form: statusForm("delivered", "")}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "delivered", "")},

		// malformed
		{name: "unreadable form", req: twilioReq{uri: uri, raw: "MessageSid=%zz", sig: "x"}, want: 400},
		{name: "form over 64 KiB", req: twilioReq{uri: uri, form: url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"},
			"Body": {strings.Repeat("x", 64<<10)}}}, want: 400},
		{name: "no MessageSid", req: twilioReq{uri: uri, form: url.Values{"MessageStatus": {"delivered"}}}, want: 400},
		{name: "MessageSid not a SID", req: twilioReq{uri: uri, form: url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}}, want: 400},
		{name: "no MessageStatus", req: twilioReq{uri: uri, form: url.Values{"MessageSid": {sid}}}, want: 400},
		{name: "ErrorCode not a number", req: twilioReq{uri: uri, form: statusForm("undelivered", "-1")}, want: 400},

		// on its way
		{name: "queued", req: twilioReq{uri: uri, form: statusForm("queued", "")}, want: 204},
		{name: "sent", req: twilioReq{uri: uri, form: statusForm("sent", "")}, want: 204},
		{name: "a status we do not know", req: twilioReq{uri: uri, form: statusForm("partially_delivered", "")}, want: 204},

		// final
		{name: "delivered", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			fd.notice.Status = store.NoticeDelivered
		}, req: twilioReq{uri: uri, form: statusForm("delivered", "")}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "delivered", "")},
		{name: "read", setup: func(ta *testAPI, fd *fakeDelivery) { fd.notice, fd.changed = notice, true },
			req: twilioReq{uri: uri, form: statusForm("read", "")}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "delivered", "")},
		{name: "delivered while Temporal is down", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			ta.tc.down = true
		}, req: twilioReq{uri: uri, form: statusForm("delivered", "")}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "delivered", "")},
		{name: "undelivered, unknown number (permanent)", setup: func(ta *testAPI, fd *fakeDelivery) { fd.notice, fd.changed = notice, true },
			req: twilioReq{uri: uri, form: undelivered}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantSignals: report("30005", true),
			wantCalls: []string{"ApplyReceipt L-1/v1/3/sms " + sid, "OptOut sms " + phone + " carrier 30005"}, wantOptOut: store.OptOutCarrier, optOutCounted: store.OptOutCarrier},
		{name: "failed, unsubscribed (permanent)", setup: func(ta *testAPI, fd *fakeDelivery) { fd.notice, fd.changed = notice, true },
			req: twilioReq{uri: uri, form: statusForm("failed", "21610")}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "21610"), wantSignals: report("21610", true),
			wantOptOut: store.OptOutCarrier, optOutCounted: store.OptOutCarrier},
		{name: "undelivered, handset unreachable (not permanent)", setup: func(ta *testAPI, fd *fakeDelivery) { fd.notice, fd.changed = notice, true },
			req: twilioReq{uri: uri, form: tampered}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30003"), wantSignals: report("30003", false),
			wantCalls: []string{"ApplyReceipt L-1/v1/3/sms " + sid}},
		{name: "undelivered without a key: found by SID, reported with the notice's key",
			setup: func(ta *testAPI, fd *fakeDelivery) { fd.notice, fd.changed = notice, true },
			req:   twilioReq{uri: "/v1/webhooks/twilio", form: undelivered}, want: 204,
			wantReceipts: receipt("", "undelivered", "30005"), wantSignals: report("30005", true),
			wantOptOut: store.OptOutCarrier, optOutCounted: store.OptOutCarrier},
		{name: "permanent, the number opted out by keyword already", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			fd.optOuts["sms "+phone] = store.OptOutKeyword
		}, req: twilioReq{uri: uri, form: undelivered}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantSignals: report("30005", true),
			wantOptOut: store.OptOutKeyword, optOutCounted: "-"},
		{name: "permanent, a notice row without its recipient", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			fd.notice.Recipient = ""
		}, req: twilioReq{uri: uri, form: undelivered}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantSignals: report("30005", true),
			wantCalls: []string{"ApplyReceipt L-1/v1/3/sms " + sid}},
		// Twilio retries a receipt we answered 503 after the row moved: the
		// loan and the opt-outs are told again (both idempotent), nothing is
		// counted twice.
		{name: "a repeated receipt tells the loan again", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, false
			fd.optOuts["sms "+notice.Recipient] = store.OptOutCarrier
		},
			req: twilioReq{uri: uri, form: undelivered}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantSignals: report("30005", true),
			wantOptOut: store.OptOutCarrier},
		{name: "a message we do not know", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.fail["ApplyReceipt"] = fmt.Errorf("receipt for L-1/v1/3/sms: %w", store.ErrNotFound)
		}, req: twilioReq{uri: uri, form: undelivered}, want: 204, wantLog: "receipt for a message we do not know"},
		{name: "the loan has finished", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil)
		}, req: twilioReq{uri: uri, form: undelivered}, want: 204,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantOptOut: store.OptOutCarrier, optOutCounted: store.OptOutCarrier},

		// failures
		{name: "database down", setup: func(ta *testAPI, fd *fakeDelivery) { fd.fail["ApplyReceipt"] = errDBDown },
			req: twilioReq{uri: uri, form: undelivered}, want: 503},
		{name: "database fails", setup: func(ta *testAPI, fd *fakeDelivery) { fd.fail["ApplyReceipt"] = errors.New("syntax error in SQL") },
			req: twilioReq{uri: uri, form: undelivered}, want: 500, wantLog: "delivery webhook failed"},
		{name: "Temporal down", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			ta.tc.down = true
		}, req: twilioReq{uri: uri, form: undelivered}, want: 503,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantOptOut: store.OptOutCarrier, optOutCounted: store.OptOutCarrier},
		{name: "carrier opt-out: database down", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			fd.fail["OptOut"] = errDBDown
		}, req: twilioReq{uri: uri, form: undelivered}, want: 503,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005")},
		{name: "carrier opt-out fails", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.notice, fd.changed = notice, true
			fd.fail["OptOut"] = errors.New("syntax error in SQL")
		}, req: twilioReq{uri: uri, form: undelivered}, want: 500,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantLog: "delivery webhook failed"},
		{name: "Temporal refuses the signal", edit: func(d *Deps) {
			d.Temporal = signalErrTemporal{d.Temporal.(*fakeTemporal), serviceerror.NewInvalidArgument("bad signal")}
		}, setup: func(ta *testAPI, fd *fakeDelivery) { fd.notice, fd.changed = notice, true },
			req: twilioReq{uri: uri, form: undelivered}, want: 500,
			wantReceipts: receipt("L-1/v1/3/sms", "undelivered", "30005"), wantLog: "delivery webhook failed", wantOptOut: store.OptOutCarrier, optOutCounted: store.OptOutCarrier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*Deps)
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			ta, fd := newDeliveryAPI(t, edits...)
			ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
			if tt.setup != nil {
				tt.setup(ta, fd)
			}
			rec := tt.req.send(ta)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 204 && rec.Body.Len() != 0 {
				t.Errorf("204 with a body: %s", rec.Body)
			}
			if tt.want != 204 {
				if _, ok := decode(t, rec)["error"]; !ok {
					t.Errorf("no JSON error: %s", rec.Body)
				}
			}
			if tt.want == 503 && tt.edit == nil && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tt.want == 500 && errorOf(t, rec) != "internal error" {
				t.Errorf("500 says %s", rec.Body)
			}
			if !reflect.DeepEqual(fd.receipts, tt.wantReceipts) {
				t.Errorf("receipts\n%+v\nwant\n%+v", fd.receipts, tt.wantReceipts)
			}
			if tt.wantReceipts == nil && fd.fail["ApplyReceipt"] == nil && len(fd.callLog()) > 0 {
				t.Errorf("store calls %q", fd.callLog())
			}
			wantSignals(t, ta.tc, tt.wantSignals)
			if tt.wantCalls != nil {
				wantCalls(t, fd, tt.wantCalls)
			}
			if got := fd.optOuts["sms "+phone]; got != tt.wantOptOut {
				t.Errorf("open opt-out %q, want %q", got, tt.wantOptOut)
			}
			if tt.optOutCounted != "-" {
				var want []string
				if tt.optOutCounted != "" {
					want = []string{fmt.Sprintf(`dunning_opt_outs_total{channel="sms",source=%q} 1`, tt.optOutCounted)}
				}
				if got := metricLines(t, ta, "dunning_opt_outs_total"); !slices.Equal(got, want) {
					t.Errorf("opt-outs counted %q, want %q", got, want)
				}
			}
			// A receipt is counted when it moved the notice.
			var wantCount []string
			if fd.changed && len(fd.receipts) == 1 {
				wantCount = []string{fmt.Sprintf(`dunning_receipts_total{provider="twilio",status=%q} 1`, fd.receipts[0].Status)}
			}
			if got := metricLines(t, ta, "dunning_receipts_total"); !slices.Equal(got, wantCount) {
				t.Errorf("receipts counted %q, want %q", got, wantCount)
			}
			logs := ta.logs.String()
			if tt.wantLog != "" && !strings.Contains(logs, tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, logs)
			}
			if strings.Contains(logs, strings.TrimPrefix(phone, "+")) {
				t.Errorf("logs quote the phone number:\n%s", logs)
			}
		})
	}
}

// inboundForm is the form Twilio posts for an SMS from phone saying body.
func inboundForm(body string) url.Values {
	return url.Values{
		"MessageSid": {inboundSID}, "SmsMessageSid": {inboundSID}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From": {phone}, "To": {"+15005550006"}, "Body": {body}, "NumMedia": {"0"},
	}
}

func TestTwilioInbound(t *testing.T) {
	const (
		uri   = "/v1/inbound/twilio"
		xmlHd = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
		empty = xmlHd + "<Response></Response>"
		// the brand "A&B <Loans>" escaped
		stopMsg  = xmlHd + "<Response><Message>A&amp;B &lt;Loans&gt;: you will receive no more SMS repayment reminders. Reply START to receive them again.</Message></Response>"
		zhMsg    = xmlHd + "<Response><Message>【A&amp;B &lt;Loans&gt;】您已退订还款提醒短信。如需恢复，请回复START。</Message></Response>"
		startMsg = xmlHd + "<Response><Message>A&amp;B &lt;Loans&gt;: SMS repayment reminders are on again. Reply STOP to stop them. / 已恢复还款提醒短信，回复T退订。</Message></Response>"
	)
	stop := inboundForm("STOP")
	tests := []struct {
		name        string
		edit        func(*Deps)
		setup       func(*testAPI, *fakeDelivery)
		req         twilioReq
		want        int
		wantBody    string // of a 200, exactly
		wantSignals []signalCall
		wantStore   bool // the store was called
		counted     bool // an opt-out is counted
	}{
		{name: "no Twilio config", edit: func(d *Deps) { d.Twilio = nil }, req: twilioReq{uri: uri, form: stop}, want: 503},
		{name: "no delivery store", edit: func(d *Deps) { d.Delivery = nil }, req: twilioReq{uri: uri, form: stop}, want: 503},
		{name: "no signature", req: twilioReq{uri: uri, form: stop, sig: noSig}, want: 403},
		{name: "signed with another token", req: twilioReq{uri: uri, form: stop,
			sig: twilioSignature("another-token", publicBase+uri, stop)}, want: 403},
		{name: "body changed after signing", req: twilioReq{uri: uri, form: stop,
			sig: twilioSignature(twilioToken, publicBase+uri, inboundForm("hello"))}, want: 403},
		{name: "signed for the status callback", req: twilioReq{uri: uri, form: stop,
			sig: twilioSignature(twilioToken, publicBase+"/v1/webhooks/twilio", stop)}, want: 403},
		{name: "no From", req: twilioReq{uri: uri, form: url.Values{"MessageSid": {inboundSID}, "Body": {"STOP"}}}, want: 400},
		{name: "no MessageSid", req: twilioReq{uri: uri, form: url.Values{"From": {phone}, "Body": {"STOP"}}}, want: 400},

		{name: "STOP", setup: withLoans, req: twilioReq{uri: uri, form: stop}, want: 200, wantBody: stopMsg,
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "STOP"), wantStore: true, counted: true},
		{name: "退订", setup: withLoans, req: twilioReq{uri: uri, form: inboundForm("退订！")}, want: 200, wantBody: zhMsg,
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "退订"), wantStore: true, counted: true},
		{name: "repeated STOP", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.optOuts["sms "+phone] = store.OptOutKeyword
		}, req: twilioReq{uri: uri, form: stop}, want: 200, wantBody: empty,
			wantSignals: optSignals(workflows.SignalOptOut, store.OptOutKeyword, "STOP"), wantStore: true},
		{name: "START after STOP", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			fd.optOuts["sms "+phone] = store.OptOutKeyword
		}, req: twilioReq{uri: uri, form: inboundForm("START")}, want: 200, wantBody: startMsg,
			wantSignals: optSignals(workflows.SignalOptIn, store.OptOutKeyword, "START"), wantStore: true},
		{name: "no keyword", setup: withLoans, req: twilioReq{uri: uri, form: inboundForm("I will pay on Friday")}, want: 200, wantBody: empty},
		{name: "a picture alone", setup: withLoans, req: twilioReq{uri: uri, form: inboundForm("")}, want: 200, wantBody: empty},

		{name: "database fails", setup: func(ta *testAPI, fd *fakeDelivery) { fd.fail["OptOut"] = errors.New("syntax error in SQL") },
			req: twilioReq{uri: uri, form: stop}, want: 500, wantStore: true},
		{name: "database down", setup: func(ta *testAPI, fd *fakeDelivery) { fd.fail["OptOut"] = errDBDown },
			req: twilioReq{uri: uri, form: stop}, want: 503, wantStore: true},
		{name: "Temporal down", setup: func(ta *testAPI, fd *fakeDelivery) {
			withLoans(ta, fd)
			ta.tc.down = true
		}, req: twilioReq{uri: uri, form: stop}, want: 503, wantStore: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edits := []func(*Deps){func(d *Deps) { d.BrandName = "A&B <Loans>" }}
			if tt.edit != nil {
				edits = append(edits, tt.edit)
			}
			ta, fd := newDeliveryAPI(t, edits...)
			if tt.setup != nil {
				tt.setup(ta, fd)
			}
			rec := tt.req.send(ta)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if got := rec.Body.String(); got != tt.wantBody {
					t.Errorf("body\n%s\nwant\n%s", got, tt.wantBody)
				}
			} else if _, ok := decode(t, rec)["error"]; !ok {
				t.Errorf("no JSON error: %s", rec.Body)
			}
			if called := len(fd.callLog()) > 0; called != tt.wantStore {
				t.Errorf("store calls %q", fd.callLog())
			}
			wantSignals(t, ta.tc, tt.wantSignals)
			var wantCount []string
			if tt.counted {
				wantCount = []string{`dunning_opt_outs_total{channel="sms",source="keyword"} 1`}
			}
			if got := metricLines(t, ta, "dunning_opt_outs_total"); !slices.Equal(got, wantCount) {
				t.Errorf("opt-outs counted %q, want %q", got, wantCount)
			}
		})
	}
}

func TestStartLoanOptOuts(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(*fakeDelivery)
		edit         func(map[string]any) // the loan
		want         int
		wantOptOuts  []policy.Channel
		wantKeyword  []policy.Channel
		wantCalls    []string
		wantContacts []store.Contact // with an address (the store skips empty ones)
		noLookup     bool            // OptedOut is not called
	}{
		{name: "not opted out", want: 201,
			wantCalls:    []string{"OptedOut sms " + phone, "AddLoanContacts L-2026-0001"},
			wantContacts: []store.Contact{{Channel: "sms", Address: phone}}},
		{name: "opted out by keyword", setup: func(fd *fakeDelivery) { fd.optOuts["sms "+phone] = store.OptOutKeyword }, want: 201,
			wantOptOuts: []policy.Channel{policy.SMS}, wantKeyword: []policy.Channel{policy.SMS},
			wantCalls:    []string{"OptedOut sms " + phone, "AddLoanContacts L-2026-0001"},
			wantContacts: []store.Contact{{Channel: "sms", Address: phone}}},
		{name: "opted out by the carrier", setup: func(fd *fakeDelivery) { fd.optOuts["sms "+phone] = store.OptOutCarrier }, want: 201,
			wantOptOuts:  []policy.Channel{policy.SMS},
			wantContacts: []store.Contact{{Channel: "sms", Address: phone}}},
		{name: "the lender opted SMS out already", setup: func(fd *fakeDelivery) { fd.optOuts["sms "+phone] = store.OptOutKeyword },
			edit: func(m map[string]any) { customer(m)["opt_outs"] = []any{"push", "sms"} }, want: 201,
			// the lender's opt-out is not one a START may reverse
			wantOptOuts:  []policy.Channel{policy.Push, policy.SMS},
			wantContacts: []store.Contact{{Channel: "sms", Address: phone}}},
		{name: "another number opted out", setup: func(fd *fakeDelivery) { fd.optOuts["sms +8613900139000"] = store.OptOutKeyword }, want: 201,
			wantContacts: []store.Contact{{Channel: "sms", Address: phone}}},
		{name: "no phone: no lookup", setup: func(fd *fakeDelivery) { fd.optOuts["sms "+phone] = store.OptOutKeyword },
			edit: func(m map[string]any) { delete(customer(m), "phone") }, want: 201, noLookup: true},
		{name: "opt-outs unreadable", setup: func(fd *fakeDelivery) { fd.fail["OptedOut"] = errors.New("syntax error in SQL") }, want: 503,
			wantCalls: []string{"OptedOut sms " + phone}},
		{name: "database down", setup: func(fd *fakeDelivery) { fd.fail["OptedOut"] = errDBDown }, want: 503},
		{name: "contacts not recorded", setup: func(fd *fakeDelivery) { fd.fail["AddLoanContacts"] = errors.New("syntax error in SQL") }, want: 503,
			wantCalls: []string{"OptedOut sms " + phone, "AddLoanContacts L-2026-0001"}},
		{name: "invalid loan: no store call", edit: func(m map[string]any) { customer(m)["phone"] = "13800138000" }, want: 400,
			wantCalls: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta, fd := newDeliveryAPI(t)
			if tt.setup != nil {
				tt.setup(fd)
			}
			// A STOP arriving right after the start must find the loan: its
			// contacts are recorded before it starts.
			startsAtContacts := -1
			fd.before = func(method string) {
				if method == "AddLoanContacts" {
					startsAtContacts, _, _ = ta.tc.calls()
				}
			}
			rec := ta.do(t, "POST", "/v1/loans", loanJSON(t, tt.edit))
			wantCode(t, rec, tt.want)
			if tt.wantCalls != nil {
				wantCalls(t, fd, tt.wantCalls)
			}
			contacts := slices.DeleteFunc(slices.Clone(fd.contacts["L-2026-0001"]), func(c store.Contact) bool { return c.Address == "" })
			if len(contacts) == 0 {
				contacts = nil
			}
			if !reflect.DeepEqual(contacts, tt.wantContacts) {
				t.Errorf("contacts %+v, want %+v", contacts, tt.wantContacts)
			}
			if tt.noLookup && slices.ContainsFunc(fd.callLog(), func(c string) bool { return strings.HasPrefix(c, "OptedOut") }) {
				t.Errorf("opt-outs looked up: %q", fd.callLog())
			}
			starts, _, _ := ta.tc.calls()
			if tt.want != 201 {
				if starts != 0 {
					t.Errorf("%d starts", starts)
				}
				if tt.want == 503 && rec.Header().Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				return
			}
			if starts != 1 {
				t.Fatalf("%d starts", starts)
			}
			if startsAtContacts != 0 {
				t.Errorf("contacts recorded after %d starts, want before the start", startsAtContacts)
			}
			in := ta.tc.starts[0].input
			if !slices.Equal(in.Loan.Customer.OptOuts, tt.wantOptOuts) {
				t.Errorf("opt_outs %v, want %v", in.Loan.Customer.OptOuts, tt.wantOptOuts)
			}
			if !slices.Equal(in.KeywordOptOuts, tt.wantKeyword) {
				t.Errorf("keyword opt-outs %v, want %v", in.KeywordOptOuts, tt.wantKeyword)
			}
		})
	}

	// Without a delivery store the loan starts as given.
	ta := newTestAPI(t)
	rec := ta.do(t, "POST", "/v1/loans", loanJSON(t, nil))
	wantCode(t, rec, 201)
	if in := ta.tc.starts[0].input; len(in.Loan.Customer.OptOuts) != 0 || in.KeywordOptOuts != nil {
		t.Errorf("opt-outs %v keyword %v", in.Loan.Customer.OptOuts, in.KeywordOptOuts)
	}
}

func TestContactOptOut(t *testing.T) {
	const newPhone = "+8613900139000"
	phoneBody := `{"actor":"li.wei@lender.cn","reason":"customer called","phone":"` + newPhone + `"}`
	tests := []struct {
		name        string
		noDelivery  bool
		setup       func(*testAPI, *fakeDelivery)
		body        string
		want        int
		wantCalls   []string
		wantSignals []signalCall
	}{
		{name: "new phone opted out by keyword", setup: func(_ *testAPI, fd *fakeDelivery) { fd.optOuts["sms "+newPhone] = store.OptOutKeyword },
			body: phoneBody, want: 200,
			wantCalls: []string{"AddLoanContacts L-1", "OptedOut sms " + newPhone},
			wantSignals: []signalCall{{"loan-L-1", workflows.SignalOptOut,
				workflows.OptSignal{Channel: policy.SMS, Source: store.OptOutKeyword}}}},
		{name: "new phone opted out by the carrier", setup: func(_ *testAPI, fd *fakeDelivery) { fd.optOuts["sms "+newPhone] = store.OptOutCarrier },
			body: phoneBody, want: 200,
			wantCalls: []string{"AddLoanContacts L-1", "OptedOut sms " + newPhone},
			wantSignals: []signalCall{{"loan-L-1", workflows.SignalOptOut,
				workflows.OptSignal{Channel: policy.SMS, Source: store.OptOutCarrier}}}},
		{name: "new phone not opted out", setup: func(_ *testAPI, fd *fakeDelivery) { fd.optOuts["sms "+phone] = store.OptOutKeyword },
			body: phoneBody, want: 200, wantCalls: []string{"AddLoanContacts L-1", "OptedOut sms " + newPhone}},
		{name: "no new phone", setup: func(_ *testAPI, fd *fakeDelivery) { fd.optOuts["sms "+newPhone] = store.OptOutKeyword },
			body: `{"actor":"li.wei@lender.cn","reason":"customer called","email":"wei.zhang@example.cn"}`, want: 200, wantCalls: []string{}},
		{name: "without a delivery store", noDelivery: true, body: phoneBody, want: 200, wantCalls: []string{}},
		{name: "the update refused: no store call", setup: func(ta *testAPI, fd *fakeDelivery) {
			fd.optOuts["sms "+newPhone] = store.OptOutKeyword
			ta.tc.updateErr = wfFinished()
		}, body: phoneBody, want: 409, wantCalls: []string{}},
		{name: "contacts not recorded", setup: func(_ *testAPI, fd *fakeDelivery) { fd.fail["AddLoanContacts"] = errors.New("syntax error in SQL") },
			body: phoneBody, want: 503, wantCalls: []string{"AddLoanContacts L-1"}},
		{name: "database down", setup: func(_ *testAPI, fd *fakeDelivery) { fd.fail["OptedOut"] = errDBDown },
			body: phoneBody, want: 503, wantCalls: []string{"AddLoanContacts L-1", "OptedOut sms " + newPhone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta, fd := newDeliveryAPI(t, func(d *Deps) {
				if tt.noDelivery {
					d.Delivery = nil
				}
			})
			ta.tc.add("L-1", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, snapshot("L-1", "CNY"))
			if tt.setup != nil {
				tt.setup(ta, fd)
			}
			// The opt-out follows the update the workflow accepted.
			fd.before = func(string) {
				if _, updates, _ := ta.tc.calls(); updates != 1 {
					t.Errorf("store called after %d updates, want 1", updates)
				}
			}
			rec := ta.do(t, "PUT", "/v1/loans/L-1/contact", tt.body)
			wantCode(t, rec, tt.want)
			if _, updates, _ := ta.tc.calls(); updates != 1 {
				t.Errorf("%d updates", updates)
			}
			wantCalls(t, fd, tt.wantCalls)
			wantSignals(t, ta.tc, tt.wantSignals)
			if tt.want == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if len(tt.wantCalls) > 0 && tt.want == 200 {
				if want := []store.Contact{{Channel: "sms", Address: newPhone}}; !reflect.DeepEqual(fd.contacts["L-1"], want) {
					t.Errorf("contacts %+v, want %+v", fd.contacts["L-1"], want)
				}
			}
		})
	}
}

func TestChannelOf(t *testing.T) {
	for _, ch := range policy.AllChannels {
		if got := channelOf(string(ch)); got != ch {
			t.Errorf("channelOf(%q) = %q", ch, got)
		}
	}
	if got := contactsOf(policy.Customer{Phone: phone, Email: "a@example.cn"}); !reflect.DeepEqual(got, []store.Contact{{Channel: "sms", Address: phone}}) {
		t.Errorf("contactsOf = %+v", got)
	}
}
