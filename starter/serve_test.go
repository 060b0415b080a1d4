package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"dunning/codec"
)

// TestCodecHandlerToken: the codec server asks for CODEC_TOKEN, or for
// API_TOKEN when CODEC_TOKEN is unset, and is open only when neither is set.
func TestCodecHandlerToken(t *testing.T) {
	keys, err := codec.ParseKeys("k1:" + strings.Repeat("A", 43) + "=")
	if err != nil {
		t.Fatal(err)
	}
	cdc, err := codec.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	if codecHandler(nil, func(string) string { return "" }) != nil {
		t.Error("a codec handler without keys")
	}
	tests := []struct {
		name string
		env  map[string]string
		auth string
		want int
	}{
		{"open without tokens", nil, "", 200},
		{"API token required", map[string]string{"API_TOKEN": "api"}, "", 401},
		{"API token accepted", map[string]string{"API_TOKEN": "api"}, "Bearer api", 200},
		{"codec token wins", map[string]string{"API_TOKEN": "api", "CODEC_TOKEN": "cdc"}, "Bearer api", 401},
		{"codec token accepted", map[string]string{"API_TOKEN": "api", "CODEC_TOKEN": "cdc"}, "Bearer cdc", 200},
		{"codec token alone", map[string]string{"CODEC_TOKEN": "cdc"}, "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := codecHandler(cdc, func(k string) string { return tt.env[k] })
			req := httptest.NewRequest("POST", codec.DecodePath, strings.NewReader(`{"payloads":[{"metadata":{"encoding":"YmluYXJ5L3BsYWlu"},"data":"eA=="}]}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusOK && !strings.Contains(rec.Body.String(), "payloads") {
				t.Errorf("body %s", rec.Body)
			}
		})
	}
}

// TestServeRefusesPlainPayloads: the API does not start without encryption
// keys unless plain payloads are chosen, and says how to fix it.
func TestServeRefusesPlainPayloads(t *testing.T) {
	var stderr strings.Builder
	c := &cli{stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := c.run(t.Context(), []string{"serve", "-addr", "127.0.0.1:0"}); code == exitOK {
		t.Fatal("serve started without DUNNING_ENCRYPTION_KEYS")
	}
	if !strings.Contains(stderr.String(), "DUNNING_ENCRYPTION_KEYS is not set") {
		t.Errorf("stderr %q", stderr.String())
	}
}
