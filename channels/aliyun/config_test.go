package aliyun

import (
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"testing"
)

const (
	testKeyID  = "LTAI5tTestKeyId0123456789"
	testSecret = "TestSecret0123456789abcdefABCDEF"
	testSign   = "安心借"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	valid := map[string]string{
		"ALIYUN_ACCESS_KEY_ID":     testKeyID,
		"ALIYUN_ACCESS_KEY_SECRET": testSecret,
		"ALIYUN_SMS_SIGN_NAME":     testSign,
		"ALIYUN_SMS_TEMPLATES":     "overdue_firm=SMS_123, upcoming = SMS_456",
	}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(valid)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "defaults", env: valid, want: Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign,
			Templates: map[string]string{"overdue_firm": "SMS_123", "upcoming": "SMS_456"}, Endpoint: DefaultEndpoint}},
		{name: "mock endpoint", env: with("ALIYUN_SMS_ENDPOINT", "http://127.0.0.1:9090"), want: Config{AccessKeyID: testKeyID,
			AccessKeySecret: testSecret, SignName: testSign, Templates: map[string]string{"overdue_firm": "SMS_123", "upcoming": "SMS_456"},
			Endpoint: "http://127.0.0.1:9090"}},
		{name: "nothing set", env: map[string]string{}, wantErr: []string{"ALIYUN_ACCESS_KEY_ID is not set",
			"ALIYUN_ACCESS_KEY_SECRET is not set", "ALIYUN_SMS_SIGN_NAME is not set", "ALIYUN_SMS_TEMPLATES is not set"}},
		{name: "every template entry bad",
			env: with("ALIYUN_SMS_TEMPLATES", "overdue_firm=SMS_1,,upcoming,overdue_frim=SMS_2,overdue_firm=SMS_3,due_today=123,=SMS_4"),
			wantErr: []string{`entry 2 "": empty`, `entry 3 "upcoming": not name=code`, `entry 4 "overdue_frim=SMS_2": unknown template "overdue_frim"`,
				`entry 5 "overdue_firm=SMS_3": template "overdue_firm" given twice`, `entry 6 "due_today=123": code "123" is not a template code`,
				`entry 7 "=SMS_4": no template name`}},
		{name: "trailing comma", env: with("ALIYUN_SMS_TEMPLATES", "upcoming=SMS_1,"), wantErr: []string{`entry 2 "": empty`}},
		{name: "plain http to Aliyun", env: with("ALIYUN_SMS_ENDPOINT", "http://dysmsapi.aliyuncs.com"),
			wantErr: []string{"ALIYUN_SMS_ENDPOINT must use https"}},
		{name: "endpoint with a path", env: with("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/v1"),
			wantErr: []string{"ALIYUN_SMS_ENDPOINT must be a host"}},
		{name: "bad key id", env: with("ALIYUN_ACCESS_KEY_ID", "LTAI 5t/x"), wantErr: []string{"ALIYUN_ACCESS_KEY_ID must be letters and digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(envOf(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ConfigFromEnv: %v", err)
				}
				if got.String() != tt.want.String() || got.AccessKeySecret != tt.want.AccessKeySecret {
					t.Fatalf("got %v\nwant %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ConfigFromEnv = %v, want an error", got)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, scheme, domain string
		bad                bool
	}{
		{in: "", scheme: "HTTPS", domain: "dysmsapi.aliyuncs.com"},
		{in: "dysmsapi.ap-southeast-1.aliyuncs.com", scheme: "HTTPS", domain: "dysmsapi.ap-southeast-1.aliyuncs.com"},
		{in: "https://dysmsapi.aliyuncs.com/", scheme: "HTTPS", domain: "dysmsapi.aliyuncs.com"},
		{in: "http://127.0.0.1:8080", scheme: "HTTP", domain: "127.0.0.1:8080"},
		{in: "http://localhost:8080", scheme: "HTTP", domain: "localhost:8080"},
		{in: "http://[::1]:8080", scheme: "HTTP", domain: "[::1]:8080"},
		{in: "http://10.0.0.5:8080", bad: true},
		{in: "ftp://dysmsapi.aliyuncs.com", bad: true},
		{in: "https://dysmsapi.aliyuncs.com/?a=b", bad: true},
		{in: "https://user:pw@dysmsapi.aliyuncs.com", bad: true},
	}
	for _, tt := range tests {
		scheme, domain, err := parseEndpoint(tt.in)
		if (err != nil) != tt.bad || scheme != tt.scheme || domain != tt.domain {
			t.Errorf("parseEndpoint(%q) = %q, %q, %v", tt.in, scheme, domain, err)
		}
	}
}

func TestConfigNeverShowsSecret(t *testing.T) {
	c := Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign,
		Templates: map[string]string{"upcoming": "SMS_1"}, Endpoint: DefaultEndpoint}
	var log strings.Builder
	slog.New(slog.NewJSONHandler(&log, nil)).Info("config", "aliyun", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %s", c, c, c), log.String()} {
		if strings.Contains(s, testSecret) {
			t.Errorf("secret printed: %s", s)
		}
		if !strings.Contains(s, testKeyID) || !strings.Contains(s, "SMS_1") {
			t.Errorf("key id or templates missing: %s", s)
		}
	}
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{AccessKeySecret: testSecret, Templates: map[string]string{"upcoming": "123"}})
	for _, w := range []string{"AccessKeyID is not set", "SignName is not set", `"upcoming": code "123"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New = %v, want it to say %q", err, w)
		}
	}
	if _, err := New(Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign}); err == nil ||
		!strings.Contains(err.Error(), "Templates is empty") {
		t.Errorf("New without templates = %v", err)
	}
}

func TestNewRefusesSDKDebugOutput(t *testing.T) {
	c := Config{AccessKeyID: testKeyID, AccessKeySecret: testSecret, SignName: testSign, Templates: map[string]string{"upcoming": "SMS_1"}}
	for _, v := range []string{"sdk", "tea,sdk"} {
		t.Setenv("DEBUG", v)
		if _, err := New(c); err == nil {
			t.Errorf("DEBUG=%s: New succeeded", v)
		}
	}
	t.Setenv("DEBUG", "sdkx,other")
	if _, err := New(c); err != nil {
		t.Errorf("DEBUG=sdkx: %v", err)
	}
}
