package aliyun

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dunning/channels"
)

const testTo = "+8613800138000"

var testTemplates = map[string]string{"overdue_firm": "SMS_123456", "upcoming": "SMS_654321"}

func testMessage() channels.Message {
	return channels.Message{IdempotencyKey: "L-1/0/1/7/sms", Channel: channels.SMS, To: testTo,
		Template: "overdue_firm", Locale: "zh-CN", Body: "【安心借】您的借款已逾期7天"}
}

// percentEncode is the encoding of Aliyun's RPC signature (version 1.0):
// RFC 3986, UTF-8, only A-Z a-z 0-9 - _ . ~ left as they are, hex upper case.
func percentEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// rpcSignature computes the signature the documented way, independently of
// the SDK: the parameters but Signature sorted by name, each name=value
// percent-encoded and joined with "&"; the string to sign is
// METHOD&%2F&percentEncode(that); HMAC-SHA1 keyed with secret+"&", base64.
func rpcSignature(method string, q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, percentEncode(k)+"="+percentEncode(q.Get(k)))
	}
	stringToSign := method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// fakeAliyun is SendSms as Aliyun answers it: it checks the signature with
// the secret, then answers with answer (or OK).
type fakeAliyun struct {
	t      *testing.T
	secret string
	answer func(w http.ResponseWriter, q url.Values)

	mu   sync.Mutex
	reqs []url.Values
}

func (f *fakeAliyun) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	q := r.URL.Query()
	f.mu.Lock()
	f.reqs = append(f.reqs, q)
	f.mu.Unlock()
	// The secret itself never travels.
	dump := r.URL.String() + string(body) + fmt.Sprint(r.Header)
	if strings.Contains(dump, f.secret) || strings.Contains(dump, url.QueryEscape(f.secret)) {
		f.t.Errorf("the AccessKey secret was sent")
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"Code":"InvalidAction.NotFound","Message":"%s %s","RequestId":"R-404"}`, r.Method, r.URL.Path)
		return
	}
	if want := rpcSignature(r.Method, q, f.secret); q.Get("Signature") != want {
		w.WriteHeader(http.StatusBadRequest)
		// Aliyun echoes its string to sign, phone number included.
		fmt.Fprintf(w, `{"Code":"SignatureDoesNotMatch","Message":"Specified signature is not matched with our calculation. server string to sign is:POST&%%2F&PhoneNumbers%%3D%s","RequestId":"R-SIG","HostId":"dysmsapi.aliyuncs.com"}`,
			q.Get("PhoneNumbers"))
		return
	}
	if f.answer != nil {
		f.answer(w, q)
		return
	}
	io.WriteString(w, `{"Code":"OK","Message":"OK","BizId":"900619746936498440^0","RequestId":"R-OK"}`)
}

func (f *fakeAliyun) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs
}

// newSender returns a Sender pointed at a fake SendSms answering with answer.
func newSender(t *testing.T, answer func(w http.ResponseWriter, q url.Values)) (*Sender, *fakeAliyun) {
	t.Helper()
	f := &fakeAliyun{t: t, secret: testSecret, answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s, err := New(Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign,
		Templates: testTemplates, Endpoint: srv.URL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, f
}

func TestSendSignedRequest(t *testing.T) {
	s, f := newSender(t, nil)
	before := time.Now().UTC().Add(-time.Second)
	r, err := s.Send(context.Background(), testMessage())
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Provider != "aliyun" || r.MessageID != "900619746936498440^0" || r.AcceptedAt.Before(before) {
		t.Errorf("receipt %+v", r)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	q := reqs[0]
	want := map[string]string{
		"Action":           "SendSms",
		"Version":          "2017-05-25",
		"Format":           "JSON",
		"AccessKeyId":      testKeyID,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureVersion": "1.0",
		"RegionId":         "cn-hangzhou",
		"PhoneNumbers":     "13800138000",
		"SignName":         testSign,
		"TemplateCode":     "SMS_123456",
		"TemplateParam":    "{}", // testMessage has no Params
		"OutId":            "L-1/0/1/7/sms",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Get("SignatureNonce") == "" || q.Get("Signature") == "" {
		t.Errorf("no nonce or signature: %v", q)
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
	if err != nil || time.Since(ts).Abs() > 5*time.Minute {
		t.Errorf("Timestamp %q: %v", q.Get("Timestamp"), err)
	}
	// Every request gets a fresh nonce, so a replayed request is refused.
	if _, err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	if reqs := f.requests(); reqs[0].Get("SignatureNonce") == reqs[1].Get("SignatureNonce") {
		t.Error("nonce reused")
	}
}

func TestSendWithAWrongSecretIsPermanent(t *testing.T) {
	f := &fakeAliyun{t: t, secret: "TheSecretAliyunKnows"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, err := New(Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign,
		Templates: testTemplates, Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), testMessage())
	var apiErr *APIError
	if !channels.IsPermanent(err) || errors.Is(err, channels.ErrInvalidRecipient) || !errors.As(err, &apiErr) || apiErr.Code != "SignatureDoesNotMatch" {
		t.Fatalf("Send = %v, want permanent SignatureDoesNotMatch", err)
	}
	if strings.Contains(err.Error(), "PhoneNumbers") {
		t.Errorf("the string to sign was kept: %v", err)
	}
	assertNoSecrets(t, err)
}

func TestSendClassifiesAnswers(t *testing.T) {
	const (
		invalid   = "invalid recipient"
		permanent = "permanent"
		transient = "transient"
	)
	body := func(code, msg string) string {
		return `{"Code":"` + code + `","Message":"` + msg + `","RequestId":"R-1"}`
	}
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		want       string
		wantCode   string
		wantDelay  time.Duration
	}{
		{name: "illegal number", status: 200, body: body("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号 13800138000"), want: invalid, wantCode: "isv.MOBILE_NUMBER_ILLEGAL"},
		{name: "too many numbers is not the recipient", status: 200, body: body("isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制"), want: permanent, wantCode: "isv.MOBILE_COUNT_OVER_LIMIT"},
		{name: "blacklisted keyword is our content", status: 200, body: body("isv.BLACK_KEY_CONTROL_LIMIT", "黑名单管控"), want: permanent, wantCode: "isv.BLACK_KEY_CONTROL_LIMIT"},
		{name: "template", status: 200, body: body("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法"), want: permanent, wantCode: "isv.SMS_TEMPLATE_ILLEGAL"},
		{name: "signature name", status: 200, body: body("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法"), want: permanent, wantCode: "isv.SMS_SIGNATURE_ILLEGAL"},
		{name: "missing parameters", status: 200, body: body("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"), want: permanent, wantCode: "isv.TEMPLATE_MISSING_PARAMETERS"},
		{name: "balance", status: 200, body: body("isv.AMOUNT_NOT_ENOUGH", "账户余额不足"), want: permanent, wantCode: "isv.AMOUNT_NOT_ENOUGH"},
		{name: "RAM permission", status: 200, body: body("isp.RAM_PERMISSION_DENY", "RAM权限DENY"), want: permanent, wantCode: "isp.RAM_PERMISSION_DENY"},
		{name: "unknown business code", status: 200, body: body("isv.SOMETHING_NEW", "?"), want: permanent, wantCode: "isv.SOMETHING_NEW"},
		{name: "unknown access key", status: 404, body: body("InvalidAccessKeyId.NotFound", "Specified access key is not found."), want: permanent, wantCode: "InvalidAccessKeyId.NotFound"},
		{name: "minute flow control", status: 200, body: body("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1"), want: transient, wantCode: "isv.BUSINESS_LIMIT_CONTROL", wantDelay: time.Minute},
		{name: "hour flow control", status: 200, body: body("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5"), want: transient, wantCode: "isv.BUSINESS_LIMIT_CONTROL", wantDelay: time.Hour},
		{name: "day flow control", status: 200, body: body("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10"), want: transient, wantCode: "isv.BUSINESS_LIMIT_CONTROL", wantDelay: time.Hour},
		{name: "daily quota", status: 200, body: body("isv.DAY_LIMIT_CONTROL", "触发日发送限额"), want: transient, wantCode: "isv.DAY_LIMIT_CONTROL", wantDelay: time.Hour},
		{name: "throttling", status: 400, body: body("Throttling.User", "Request was denied due to user flow control."), want: transient, wantCode: "Throttling.User", wantDelay: time.Second},
		{name: "throttling with Retry-After", status: 400, body: body("Throttling", "Request was denied due to flow control."), retryAfter: "3", want: transient, wantCode: "Throttling", wantDelay: 3 * time.Second},
		{name: "system error", status: 200, body: body("isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR"), want: transient, wantCode: "isp.SYSTEM_ERROR"},
		{name: "500", status: 500, body: body("InternalError", "The request processing has failed due to some unknown error."), want: transient, wantCode: "InternalError"},
		{name: "503 with Retry-After", status: 503, body: body("ServiceUnavailable", "The request has failed due to a temporary failure of the server."), retryAfter: "5", want: transient, wantCode: "ServiceUnavailable", wantDelay: 5 * time.Second},
		{name: "502 from a proxy", status: 502, body: "<html>Bad Gateway " + testTo + "</html>", want: transient},
		{name: "400 from a proxy", status: 400, body: "<html>Bad Request</html>", want: permanent},
		{name: "200 unreadable", status: 200, body: "{not json", want: permanent},
		{name: "OK without BizId", status: 200, body: `{"Code":"OK","Message":"OK","RequestId":"R-1"}`, want: permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSender(t, func(w http.ResponseWriter, q url.Values) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
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
			if d := channels.RetryDelay(err); d != tt.wantDelay {
				t.Errorf("%v: retry delay %s, want %s", err, d, tt.wantDelay)
			}
			var apiErr *APIError
			if tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.Code != tt.wantCode || apiErr.RequestID == "") {
				t.Errorf("%v: no APIError with code %s in the chain", err, tt.wantCode)
			}
			assertNoSecrets(t, err)
		})
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{testTo, "13800138000", testSecret} {
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
		s, err := New(Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign,
			Templates: testTemplates, Endpoint: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(context.Background(), testMessage())
		if err == nil || channels.IsPermanent(err) {
			t.Fatalf("Send = %v, want a transient error", err)
		}
		t.Log(err)
		assertNoSecrets(t, err)
	})
	t.Run("timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so the server notices the client hanging up
			<-r.Context().Done()
		}))
		defer srv.Close()
		s, err := New(Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign,
			Templates: testTemplates, Endpoint: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = s.Send(ctx, testMessage())
		if err == nil || channels.IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %v, want a transient deadline error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %s: the context did not reach the request", d)
		}
		t.Log(err)
		assertNoSecrets(t, err)
	})
}

func TestSendRefusesUnsendableMessages(t *testing.T) {
	var calls atomic.Int32
	s, _ := newSender(t, func(w http.ResponseWriter, q url.Values) {
		calls.Add(1)
		io.WriteString(w, `{"Code":"OK","BizId":"1^0","RequestId":"R"}`)
	})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ctx       context.Context
		edit      func(m *channels.Message)
		permanent bool
		says      string
	}{
		{name: "no recipient", edit: func(m *channels.Message) { m.To = "" }, permanent: true, says: "no recipient"},
		{name: "not E.164", edit: func(m *channels.Message) { m.To = "13800138000" }, permanent: true, says: "not an E.164"},
		{name: "template without a code", edit: func(m *channels.Message) { m.Template = "final_notice" }, permanent: true, says: `template "final_notice" has no Aliyun template code`},
		{name: "email message", edit: func(m *channels.Message) { m.Channel = channels.Email }, permanent: true, says: "email"},
		{name: "canceled context", ctx: canceled, says: "canceled"},
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
			if err == nil || channels.IsPermanent(err) != tt.permanent || errors.Is(err, channels.ErrInvalidRecipient) ||
				!strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Send = %v, want an error with permanent %v saying %q", err, tt.permanent, tt.says)
			}
			if strings.Contains(err.Error(), "13800138000") {
				t.Errorf("error shows the number: %v", err)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests reached Aliyun", n)
	}
}

func TestSenderIsNotADeduplicator(t *testing.T) {
	s, _ := newSender(t, nil)
	if channels.Deduplicates(s) {
		t.Error("SendSms has no idempotency key: Sender must not claim to deduplicate")
	}
}

func TestPhoneNumber(t *testing.T) {
	tests := []struct {
		to, want string
		bad      bool
	}{
		{to: "+8613800138000", want: "13800138000"},
		{to: " +8613800138000 ", want: "13800138000"},
		{to: "+85261234567", want: "85261234567"},
		{to: "+886912345678", want: "886912345678"},
		{to: "+14155550100", want: "14155550100"},
		{to: "13800138000", bad: true},
		{to: "+86 138 0013 8000", bad: true},
		{to: "+0123456789", bad: true},
		{to: "", bad: true},
	}
	for _, tt := range tests {
		got, err := phoneNumber(tt.to)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("phoneNumber(%q) = %q, %v", tt.to, got, err)
		}
	}
}

func TestTemplateParams(t *testing.T) {
	for _, tt := range []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"none", nil, "{}"},
		{"sorted, strings", map[string]string{"name": "张三", "amount_due": "1068.50", "days_overdue": "7"},
			`{"amount_due":"1068.50","days_overdue":"7","name":"张三"}`},
	} {
		m := testMessage()
		m.Params = tt.params
		got, err := templateParams(m)
		if err != nil || got != tt.want {
			t.Errorf("%s: templateParams = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}

func TestFlowControlDelay(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want time.Duration
	}{
		{"触发分钟级流控Permits:1", time.Minute},
		{"触发小时级流控Permits:5", time.Hour},
		{"触发天级流控Permits:10", time.Hour},
		{"Triggered minute-level flow control", time.Minute},
		{"触发业务流控", time.Minute},
	} {
		if got := flowControlDelay(tt.msg); got != tt.want {
			t.Errorf("flowControlDelay(%q) = %s, want %s", tt.msg, got, tt.want)
		}
	}
}

func TestScrub(t *testing.T) {
	for _, tt := range []struct{ in, to, want string }{
		{"非法手机号 13800138000", testTo, "非法手机号 138****8000"},
		{"number +8613800138000", testTo, "number +86138****8000"},
		{"Specified signature is not matched with our calculation. server string to sign is:POST&%2F&PhoneNumbers%3D13800138000", testTo,
			"Specified signature is not matched with our calculation. server [string to sign removed]"},
		{"触发分钟级流控Permits:1", testTo, "触发分钟级流控Permits:1"},
	} {
		if got := scrub(tt.in, tt.to); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorAnswersThatProveNothingWasTaken(t *testing.T) {
	for _, c := range []struct {
		e    APIError
		want bool
	}{
		{APIError{Status: 503, Code: "ServiceUnavailable"}, true},
		{APIError{Status: 500, Code: "isp.SYSTEM_ERROR"}, true},
		{APIError{Status: 429, Code: "Other"}, true},
		{APIError{Status: 504, Code: "isp.GATEWAY"}, false},
	} {
		err := classifyAPI(&c.e, http.Header{})
		if got := channels.IsNotAccepted(err); got != c.want {
			t.Errorf("%d %s: not accepted %v, want %v", c.e.Status, c.e.Code, got, c.want)
		}
	}
}
