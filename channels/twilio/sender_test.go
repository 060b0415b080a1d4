package twilio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dunning/channels"
)

const testTo = "+8613800138000"

func testMessage() channels.Message {
	return channels.Message{IdempotencyKey: "L-1/0/1/7/sms", Channel: channels.SMS, To: testTo,
		Template: "overdue_firm", Locale: "zh-CN", Text: "【安心借】您的借款已逾期7天"}
}

// newSender returns a Sender whose API is a test server answering with h.
func newSender(t *testing.T, c Config, h http.HandlerFunc) *Sender {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if c.AccountSID == "" {
		c.AccountSID, c.AuthToken, c.From = testSID, testToken, testFrom
	}
	c.APIURL = srv.URL
	s, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// wire is what the fake API received.
type wire struct {
	method, path, contentType, user, pass string
	form                                  url.Values
}

func capture(r *http.Request) wire {
	user, pass, _ := r.BasicAuth()
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	return wire{method: r.Method, path: r.URL.Path, contentType: r.Header.Get("Content-Type"), user: user, pass: pass, form: form}
}

func created(w http.ResponseWriter, sid string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, `{"sid":"`+sid+`","status":"queued","date_created":"Mon, 30 Nov 2026 03:04:05 +0000","to":"`+testTo+`"}`)
}

func TestSendWireRequest(t *testing.T) {
	const sid = "SM0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		cfg  Config
		msg  func(m *channels.Message)
		want url.Values
	}{
		{name: "from a number, with status callback",
			cfg: Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, PublicBaseURL: "https://dunning.example.com/"},
			want: url.Values{"To": {testTo}, "From": {testFrom}, "Body": {"【安心借】您的借款已逾期7天"},
				"StatusCallback": {"https://dunning.example.com/v1/webhooks/twilio?key=L-1%2F0%2F1%2F7%2Fsms"}}},
		{name: "from a messaging service, no callback",
			cfg:  Config{AccountSID: testSID, AuthToken: testToken, From: testService},
			want: url.Values{"To": {testTo}, "MessagingServiceSid": {testService}, "Body": {"【安心借】您的借款已逾期7天"}}},
		{name: "SMS text in Body, as SendNotice passes it",
			cfg:  Config{AccountSID: testSID, AuthToken: testToken, From: testFrom},
			msg:  func(m *channels.Message) { m.Text, m.Body = "", "rendered body" },
			want: url.Values{"To": {testTo}, "From": {testFrom}, "Body": {"rendered body"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []wire
			s := newSender(t, tt.cfg, func(w http.ResponseWriter, r *http.Request) {
				got = append(got, capture(r))
				created(w, sid)
			})
			m := testMessage()
			if tt.msg != nil {
				tt.msg(&m)
			}
			r, err := s.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := channels.Receipt{Provider: "twilio", MessageID: sid, AcceptedAt: time.Date(2026, 11, 30, 3, 4, 5, 0, time.UTC)}
			if !r.AcceptedAt.Equal(want.AcceptedAt) || r.Provider != want.Provider || r.MessageID != want.MessageID {
				t.Errorf("receipt %+v, want %+v", r, want)
			}
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			w := got[0]
			if w.method != http.MethodPost || w.path != "/2010-04-01/Accounts/"+testSID+"/Messages.json" {
				t.Errorf("request %s %s", w.method, w.path)
			}
			if w.user != testSID || w.pass != testToken {
				t.Errorf("basic auth %q/%q, want the account SID and token", w.user, w.pass)
			}
			if w.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", w.contentType)
			}
			if !equalForms(w.form, tt.want) {
				t.Errorf("form %v\nwant %v", w.form, tt.want)
			}
		})
	}
}

func equalForms(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestSendClassifiesAnswers(t *testing.T) {
	const (
		invalid   = "invalid recipient"
		permanent = "permanent"
		transient = "transient"
	)
	twilioError := func(status, code int, msg string) (int, string) {
		return status, `{"code":` + strconv.Itoa(code) + `,"message":"` + msg + `","more_info":"https://www.twilio.com/docs/errors/` + strconv.Itoa(code) + `","status":` + strconv.Itoa(status) + `}`
	}
	type answer struct {
		status int
		body   string
	}
	mk := func(status, code int, msg string) answer {
		s, b := twilioError(status, code, msg)
		return answer{s, b}
	}
	in2min := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		answer     answer
		retryAfter string
		want       string
		wantCode   int
		wantDelay  time.Duration // with a tolerance of 2s
	}{
		{name: "21211 invalid To", answer: mk(400, 21211, "The 'To' number "+testTo+" is not a valid phone number."), want: invalid, wantCode: 21211},
		{name: "21614 not a mobile", answer: mk(400, 21614, "'To' number is not a valid mobile number"), want: invalid, wantCode: 21614},
		{name: "21610 unsubscribed", answer: mk(400, 21610, "Attempt to send to unsubscribed recipient"), want: invalid, wantCode: 21610},
		{name: "21612 not reachable by SMS", answer: mk(400, 21612, "The 'To' phone number: "+testTo+", is not currently reachable using the 'From' phone number: +15005550006 via SMS."), want: invalid, wantCode: 21612},
		{name: "21408 region not enabled is ours to fix", answer: mk(400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+testTo), want: permanent, wantCode: 21408},
		{name: "21606 bad From", answer: mk(400, 21606, "The From phone number +15005550006 is not a valid, SMS-capable inbound phone number"), want: permanent, wantCode: 21606},
		{name: "20003 authentication", answer: mk(401, 20003, "Authenticate"), want: permanent, wantCode: 20003},
		{name: "20404 wrong account", answer: mk(404, 20404, "The requested resource was not found"), want: permanent, wantCode: 20404},
		{name: "400 without a Twilio body", answer: answer{400, "<html>bad request</html>"}, want: permanent},
		{name: "429 with Retry-After seconds", answer: mk(429, 20429, "Too Many Requests"), retryAfter: "7", want: transient, wantCode: 20429, wantDelay: 7 * time.Second},
		{name: "429 without Retry-After", answer: mk(429, 20429, "Too Many Requests"), want: transient, wantCode: 20429},
		{name: "14107 rate limit on a 400", answer: mk(400, 14107, "Message rate limit exceeded"), want: transient, wantCode: 14107},
		{name: "21611 queue full", answer: mk(400, 21611, "This 'From' number has exceeded the maximum number of queued messages"), want: transient, wantCode: 21611},
		{name: "500", answer: mk(500, 20500, "Internal Server Error"), want: transient, wantCode: 20500},
		{name: "503 with Retry-After date", answer: mk(503, 20503, "Service Unavailable"), retryAfter: in2min, want: transient, wantCode: 20503, wantDelay: 2 * time.Minute},
		{name: "502 from a proxy", answer: answer{502, "<html>Bad Gateway</html>"}, want: transient},
		{name: "201 unreadable", answer: answer{201, "{not json"}, want: permanent},
		{name: "201 without sid", answer: answer{201, `{"status":"queued"}`}, want: permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.answer.status)
				io.WriteString(w, tt.answer.body)
			})
			_, err := s.Send(context.Background(), testMessage())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			t.Log(err)
			got := transient
			switch {
			case errors.Is(err, channels.ErrInvalidRecipient):
				got = invalid
			case channels.IsPermanent(err):
				got = permanent
			}
			if got != tt.want {
				t.Errorf("%v: classified %s, want %s", err, got, tt.want)
			}
			if d := channels.RetryDelay(err); d < tt.wantDelay-2*time.Second || d > tt.wantDelay+2*time.Second || (tt.wantDelay == 0 && d != 0) {
				t.Errorf("%v: retry delay %s, want %s", err, d, tt.wantDelay)
			}
			var apiErr *APIError
			if tt.wantCode != 0 && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode) {
				t.Errorf("%v: no APIError with code %d in the chain", err, tt.wantCode)
			}
			assertNoSecrets(t, err)
		})
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{testTo, strings.TrimPrefix(testTo, "+"), testToken} {
		if strings.Contains(msg, secret) {
			t.Errorf("error shows %q: %s", secret, msg)
		}
	}
	if !strings.Contains(msg, channels.MaskPhone(testTo)) {
		t.Errorf("error does not name the masked recipient: %s", msg)
	}
}

func TestSendNetworkErrorsAreTransient(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		s, err := New(Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(context.Background(), testMessage())
		if err == nil || channels.IsPermanent(err) {
			t.Fatalf("Send = %v, want a transient error", err)
		}
		assertNoSecrets(t, err)
	})
	t.Run("timeout", func(t *testing.T) {
		s := newSender(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client hanging up only once the body
			// is read.
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := s.Send(ctx, testMessage())
		if err == nil || channels.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want a transient deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %s: the context did not reach the request", d)
		}
		assertNoSecrets(t, err)
	})
	t.Run("connection dropped mid-answer", func(t *testing.T) {
		s := newSender(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("no hijacker")
				return
			}
			conn, _, _ := hj.Hijack()
			conn.Close()
		})
		_, err := s.Send(context.Background(), testMessage())
		if err == nil || channels.IsPermanent(err) {
			t.Fatalf("Send = %v, want a transient error", err)
		}
		assertNoSecrets(t, err)
	})
}

func TestSendRefusesUnsendableMessages(t *testing.T) {
	var calls atomic.Int32
	s := newSender(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		created(w, "SM0123456789abcdef0123456789abcdef")
	})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		edit      func(m *channels.Message)
		permanent bool
	}{
		{name: "no recipient", edit: func(m *channels.Message) { m.To = "" }, permanent: true},
		{name: "no text", edit: func(m *channels.Message) { m.Text, m.Body = "", " " }, permanent: true},
		{name: "email message", edit: func(m *channels.Message) { m.Channel = channels.Email }, permanent: true},
		{name: "canceled context", ctx: canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage()
			if tt.edit != nil {
				tt.edit(&m)
			}
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err := s.Send(ctx, m)
			if err == nil || channels.IsPermanent(err) != tt.permanent || errors.Is(err, channels.ErrInvalidRecipient) {
				t.Fatalf("Send = %v, want an error with permanent %v", err, tt.permanent)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests reached Twilio", n)
	}
}

func TestSenderIsNotADeduplicator(t *testing.T) {
	s, err := New(Config{AccountSID: testSID, AuthToken: testToken, From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	if channels.Deduplicates(s) {
		t.Error("Twilio has no idempotency key: Sender must not claim to deduplicate")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"12", 12 * time.Second}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got := channels.ParseRetryAfter(h, now); got != tt.want {
			t.Errorf("channels.ParseRetryAfter(%q) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	for _, tt := range []struct{ in, to, want string }{
		{"The 'To' number +8613800138000 is not valid", "+8613800138000", "The 'To' number +86138****8000 is not valid"},
		{"number 8613800138000 again", "+8613800138000", "number 86138****8000 again"},
		{"error 21211 on 2026-11-30", "", "error 21211 on 2026-11-30"},
		{"From +15005550006", "", "From +150****0006"},
	} {
		if got := scrub(tt.in, tt.to); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := []rune(scrub(strings.Repeat("x ", 1000), "")); len(got) != channels.MaxProviderMessage+1 {
		t.Errorf("scrub kept %d runes, want %d", len(got), channels.MaxProviderMessage+1)
	}
}

// An error answer that proves Twilio did not take the message lets the
// retry send it (channels.IsNotAccepted); a timeout does not.
func TestErrorAnswersThatProveNothingWasTaken(t *testing.T) {
	for _, c := range []struct {
		status int
		want   bool
	}{
		{http.StatusTooManyRequests, true}, {http.StatusInternalServerError, true}, {http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true}, {http.StatusGatewayTimeout, false}, {http.StatusRequestTimeout, false},
	} {
		err := classifyAPI(&APIError{Status: c.status}, http.Header{})
		if got := channels.IsNotAccepted(err); got != c.want {
			t.Errorf("HTTP %d: not accepted %v, want %v", c.status, got, c.want)
		}
		if channels.IsPermanent(err) {
			t.Errorf("HTTP %d is permanent", c.status)
		}
	}
}
