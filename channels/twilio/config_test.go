package twilio

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const (
	testSID     = "AC0123456789abcdef0123456789abcdef"
	testToken   = "f00dfacef00dfacef00dfacef00dface"
	testService = "MG0123456789abcdef0123456789abcdef"
	testFrom    = "+15005550006"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	valid := map[string]string{
		"TWILIO_ACCOUNT_SID": testSID,
		"TWILIO_AUTH_TOKEN":  testToken,
		"TWILIO_FROM":        testFrom,
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range valid {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string // every variable the error must name
	}{
		{name: "defaults", env: valid,
			want: Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: DefaultAPIURL}},
		{name: "messaging service, mock, callbacks",
			env: with("TWILIO_FROM", testService, "TWILIO_API_URL", "http://127.0.0.1:4010/", "PUBLIC_BASE_URL", "https://dunning.example.com/"),
			want: Config{AccountSID: testSID, AuthToken: testToken, From: testService,
				APIURL: "http://127.0.0.1:4010", PublicBaseURL: "https://dunning.example.com"}},
		{name: "surrounding blanks trimmed", env: with("TWILIO_FROM", " +15005550006 \n"),
			want: Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: DefaultAPIURL}},
		{name: "nothing set", env: map[string]string{},
			wantErr: []string{"TWILIO_ACCOUNT_SID is not set", "TWILIO_AUTH_TOKEN is not set", "TWILIO_FROM is not set"}},
		{name: "every value bad",
			env: map[string]string{"TWILIO_ACCOUNT_SID": "SK123", "TWILIO_AUTH_TOKEN": "se cret/+", "TWILIO_FROM": "5005550006",
				"TWILIO_API_URL": "api.twilio.com", "PUBLIC_BASE_URL": "ftp://x"},
			wantErr: []string{"TWILIO_ACCOUNT_SID is not an Account SID", "TWILIO_AUTH_TOKEN must be letters and digits",
				"TWILIO_FROM is neither", "TWILIO_API_URL is not an absolute", "PUBLIC_BASE_URL is not an absolute"}},
		{name: "plain http to a remote API", env: with("TWILIO_API_URL", "http://api.twilio.com"),
			wantErr: []string{"TWILIO_API_URL must use https"}},
		{name: "API URL with a path", env: with("TWILIO_API_URL", "https://api.twilio.com/2010-04-01"),
			wantErr: []string{"TWILIO_API_URL must have no path"}},
		{name: "API URL with credentials", env: with("TWILIO_API_URL", "https://u:p@api.twilio.com"),
			wantErr: []string{"TWILIO_API_URL must not carry credentials"}},
		{name: "public URL with a query", env: with("PUBLIC_BASE_URL", "https://x.example.com/?k=v"),
			wantErr: []string{"PUBLIC_BASE_URL must not have a query"}},
		{name: "public URL over http", env: with("PUBLIC_BASE_URL", "http://x.example.com"),
			wantErr: []string{"PUBLIC_BASE_URL must use https"}},
		{name: "short messaging service SID", env: with("TWILIO_FROM", "MG123"),
			wantErr: []string{"TWILIO_FROM is neither"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigFromEnv(envOf(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ConfigFromEnv: %v", err)
				}
				if got != tt.want {
					t.Fatalf("got %+v\nwant %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ConfigFromEnv = %+v, want an error", got)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tok := tt.env["TWILIO_AUTH_TOKEN"]; tok != "" && strings.Contains(err.Error(), tok) {
				t.Errorf("error shows the auth token: %v", err)
			}
		})
	}
}

func TestConfigNeverShowsToken(t *testing.T) {
	c := Config{AccountSID: testSID, AuthToken: testToken, From: testFrom, APIURL: DefaultAPIURL}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "twilio", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %s", c, c, c), log.String()} {
		if strings.Contains(s, testToken) {
			t.Errorf("token printed: %s", s)
		}
		if !strings.Contains(s, testSID) {
			t.Errorf("account SID missing: %s", s)
		}
	}
}

func TestStatusCallbackURL(t *testing.T) {
	for _, tt := range []struct{ base, want string }{
		{"", ""},
		{"https://dunning.example.com", "https://dunning.example.com/v1/webhooks/twilio"},
		{"https://example.com/dunning/", "https://example.com/dunning/v1/webhooks/twilio"},
	} {
		if got := (Config{PublicBaseURL: tt.base}).StatusCallbackURL(); got != tt.want {
			t.Errorf("StatusCallbackURL(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{AccountSID: testSID, AuthToken: testToken, From: testFrom}); err != nil {
		t.Fatalf("New with default API URL: %v", err)
	}
	_, err := New(Config{AuthToken: testToken})
	if err == nil || !strings.Contains(err.Error(), "AccountSID is not set") || !strings.Contains(err.Error(), "From is not set") {
		t.Fatalf("New(incomplete) = %v, want AccountSID and From named", err)
	}
}
