package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
	"testing"

	"dunning/channels"
)

// sign computes Twilio's webhook signature the documented way
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security): the full
// URL, then each POST parameter's name and value sorted by name, HMAC-SHA1
// keyed with the auth token, base64.
func sign(token, fullURL string, params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		b.WriteString(k + params[k])
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestValidateRequest(t *testing.T) {
	const callback = "https://dunning.example.com/v1/webhooks/twilio"
	params := map[string]string{
		"MessageSid":    "SM0123456789abcdef0123456789abcdef",
		"MessageStatus": "delivered",
		"To":            testTo,
		"AccountSid":    testSID,
	}
	good := sign(testToken, callback, params)
	tampered := map[string]string{}
	for k, v := range params {
		tampered[k] = v
	}
	tampered["MessageStatus"] = "undelivered"
	tests := []struct {
		name, token, url, signature string
		params                      map[string]string
		want                        bool
	}{
		{name: "valid", token: testToken, url: callback, params: params, signature: good, want: true},
		{name: "valid with the default port in the URL", token: testToken, url: "https://dunning.example.com:443/v1/webhooks/twilio", params: params, signature: good, want: true},
		{name: "valid callback with the notice key", token: testToken, url: callback + "?key=L-1%2F0%2F1%2F7%2Fsms", params: params,
			signature: sign(testToken, callback+"?key=L-1%2F0%2F1%2F7%2Fsms", params), want: true},
		{name: "key swapped", token: testToken, url: callback + "?key=L-2%2F0%2F1%2F7%2Fsms", params: params,
			signature: sign(testToken, callback+"?key=L-1%2F0%2F1%2F7%2Fsms", params)},
		{name: "valid without parameters", token: testToken, url: callback + "?x=1", params: map[string]string{}, signature: sign(testToken, callback+"?x=1", nil), want: true},
		{name: "missing signature", token: testToken, url: callback, params: params, signature: ""},
		{name: "garbage signature", token: testToken, url: callback, params: params, signature: "bm90IGEgc2lnbmF0dXJl"},
		{name: "tampered parameter", token: testToken, url: callback, params: tampered, signature: good},
		{name: "another URL", token: testToken, url: "https://evil.example.com/v1/webhooks/twilio", params: params, signature: good},
		{name: "another token", token: strings.Repeat("0", 32), url: callback, params: params, signature: good},
		{name: "no token configured", token: "", url: callback, params: params, signature: sign("", callback, params)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateRequest(tt.token, tt.url, tt.params, tt.signature); got != tt.want {
				t.Errorf("ValidateRequest = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatusCallback(t *testing.T) {
	const sid = "SM0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		form    url.Values
		want    StatusCallback
		wantErr []string
	}{
		{name: "delivered",
			form: url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}, "To": {testTo}, "SmsSid": {sid}, "SmsStatus": {"delivered"}},
			want: StatusCallback{MessageSID: sid, MessageStatus: "delivered", To: testTo}},
		{name: "undelivered with a code",
			form: url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30005"}, "To": {testTo}},
			want: StatusCallback{MessageSID: sid, MessageStatus: "undelivered", ErrorCode: "30005", To: testTo}},
		{name: "legacy names", form: url.Values{"SmsSid": {sid}, "SmsStatus": {"Sent"}},
			want: StatusCallback{MessageSID: sid, MessageStatus: "sent"}},
		{name: "empty", form: url.Values{}, wantErr: []string{"MessageSid is missing", "MessageStatus is missing"}},
		{name: "bad values", form: url.Values{"MessageSid": {"SM123"}, "MessageStatus": {"failed"}, "ErrorCode": {testTo}, "To": {testTo}},
			wantErr: []string{"MessageSid is not a Twilio SID", "ErrorCode is not a number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatusCallback(tt.form)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseStatusCallback = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), strings.TrimPrefix(testTo, "+")) {
					t.Errorf("error shows the phone number: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseStatusCallback = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestStatusCallbackFinal(t *testing.T) {
	tests := []struct {
		status, code string
		want         string
		permanent    bool
		ok           bool
	}{
		{"accepted", "", "", false, false},
		{"queued", "", "", false, false},
		{"sending", "", "", false, false},
		{"sent", "", "", false, false},
		{"scheduled", "", "", false, false},
		{"something_new", "", "", false, false},
		{"delivered", "", channels.StatusDelivered, false, true},
		{"read", "", channels.StatusDelivered, false, true},
		{"undelivered", "30003", channels.StatusUndelivered, false, true}, // handset off: try again later
		{"undelivered", "30004", channels.StatusUndelivered, true, true},
		{"undelivered", "30005", channels.StatusUndelivered, true, true},
		{"undelivered", "30006", channels.StatusUndelivered, true, true},
		{"undelivered", "30007", channels.StatusUndelivered, false, true}, // carrier filter: our content
		{"undelivered", "30008", channels.StatusUndelivered, false, true},
		{"failed", "21610", channels.StatusUndelivered, true, true},
		{"failed", "30034", channels.StatusUndelivered, false, true}, // unregistered sender: ours to fix
		{"failed", "", channels.StatusUndelivered, false, true},
	}
	for _, tt := range tests {
		s := StatusCallback{MessageSID: "SM0123456789abcdef0123456789abcdef", MessageStatus: tt.status, ErrorCode: tt.code}
		got, permanent, ok := s.Final()
		if got != tt.want || permanent != tt.permanent || ok != tt.ok {
			t.Errorf("%s %s: Final() = %q, %v, %v; want %q, %v, %v", tt.status, tt.code, got, permanent, ok, tt.want, tt.permanent, tt.ok)
		}
	}
}

func TestParseInbound(t *testing.T) {
	const sid = "SM0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		form    url.Values
		want    Inbound
		optOut  bool
		wantErr []string
	}{
		{name: "reply", form: url.Values{"From": {testTo}, "Body": {"I paid yesterday"}, "MessageSid": {sid}, "To": {testFrom}},
			want: Inbound{From: testTo, Body: "I paid yesterday", MessageSID: sid}},
		{name: "stop", form: url.Values{"From": {testTo}, "Body": {" stop\n"}, "SmsMessageSid": {sid}},
			want: Inbound{From: testTo, Body: " stop\n", MessageSID: sid}, optOut: true},
		{name: "picture only", form: url.Values{"From": {testTo}, "MessageSid": {sid}, "NumMedia": {"1"}},
			want: Inbound{From: testTo, MessageSID: sid}},
		{name: "stop inside a sentence is not a keyword", form: url.Values{"From": {testTo}, "Body": {"please stop calling"}, "MessageSid": {sid}},
			want: Inbound{From: testTo, Body: "please stop calling", MessageSID: sid}},
		{name: "empty", form: url.Values{"Body": {"hi"}}, wantErr: []string{"From is missing", "MessageSid is missing"}},
		{name: "bad sid", form: url.Values{"From": {testTo}, "Body": {"hi"}, "MessageSid": {"x"}}, wantErr: []string{"MessageSid is not a Twilio SID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInbound(tt.form)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseInbound = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), strings.TrimPrefix(testTo, "+")) || strings.Contains(err.Error(), "hi") {
					t.Errorf("error shows the number or the text: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseInbound = %+v, %v; want %+v", got, err, tt.want)
			}
			if got.OptOut() != tt.optOut {
				t.Errorf("OptOut() = %v, want %v", got.OptOut(), tt.optOut)
			}
		})
	}
}
