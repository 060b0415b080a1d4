package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"dunning/metrics"
)

func TestMetricsAddr(t *testing.T) {
	tests := []struct{ env, want string }{
		{"", "127.0.0.1:9090"},
		{"  ", "127.0.0.1:9090"},
		{":9464", ":9464"},
		{"off", "off"},
	}
	for _, tt := range tests {
		t.Setenv("METRICS_ADDR", tt.env)
		if got := metricsAddr(); got != tt.want {
			t.Errorf("METRICS_ADDR=%q: %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestServeMetrics(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name    string
		addr    string
		on      bool
		wantErr string
	}{
		{name: "off", addr: "off"},
		{name: "OFF", addr: "OFF"},
		{name: "a free port", addr: "127.0.0.1:0", on: true},
		{name: "a taken port", addr: taken.Addr().String(), wantErr: "METRICS_ADDR=" + taken.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			m, stop, err := serveMetrics(slog.New(slog.NewTextHandler(&logs, nil)), tt.addr, &readiness{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			var o client.Options
			m.ClientOptions(&o)
			if (o.MetricsHandler != nil) != tt.on {
				t.Errorf("MetricsHandler set: %v", o.MetricsHandler != nil)
			}
			if _, nop := m.Recorder().(metrics.Nop); nop == tt.on {
				t.Errorf("Recorder %T", m.Recorder())
			}
			if !tt.on {
				return
			}
			_, url, _ := strings.Cut(logs.String(), "url=")
			url = strings.TrimSpace(url)
			m.Recorder().OptOut("sms", "keyword")
			resp, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`dunning_opt_outs_total{channel="sms",source="keyword"} 1`, "go_goroutines "} {
				if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
					t.Errorf("GET %s: %d, lacks %s", url, resp.StatusCode, want)
				}
			}
			// The probes share the address: not ready until the worker connects.
			base := strings.TrimSuffix(url, "/metrics")
			for path, code := range map[string]int{"/readyz": 503, "/healthz": 200} {
				resp, err := http.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != code {
					t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, code)
				}
			}
			stop()
			if _, err := http.Get(url); err == nil {
				t.Error("still served after stop")
			}
		})
	}
}
