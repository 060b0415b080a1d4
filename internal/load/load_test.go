package load

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	d := ms(50, 10, 40, 20, 30, 60, 70, 80, 90, 100)
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 10 * time.Millisecond}, {50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 100 * time.Millisecond}, {100, 100 * time.Millisecond}} {
		if got := Percentile(d, tc.p); got != tc.want {
			t.Errorf("Percentile(p%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 50); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
	if d[0] != 50*time.Millisecond {
		t.Error("Percentile sorted its argument in place")
	}
}

func TestRateAndRatio(t *testing.T) {
	if got := Rate(100, 4*time.Second); got != 25 {
		t.Errorf("Rate = %v, want 25", got)
	}
	if Rate(1, 0) != 0 || Ratio(1, 0) != 0 {
		t.Error("a zero denominator should give 0")
	}
}

func TestSummaryLine(t *testing.T) {
	s := Summary{OnboardRatio: 0.934, BurstRatio: 0.455, RepayRatio: 0.3, EventsPerInstallment: 120.84,
		MaxRunEvents: 154, RSSMBPer10k: 1033.6, Status5xx: 64}
	want := "onboard_ratio=0.93 burst_ratio=0.46 repay_ratio=0.30 events_per_installment=120.8 max_run_events=154 rss_mb_per_10k=1034 5xx=64 duplicates=0 lost=0"
	if got := s.Line(); got != want {
		t.Errorf("Line() =\n%s\nwant\n%s", got, want)
	}
	na := Summary{OnboardRatio: -1, EventsPerInstallment: -1, MaxRunEvents: -1, Lost: -1}.Line()
	for _, part := range []string{"onboard_ratio=na", "events_per_installment=na", "max_run_events=na", "lost=na"} {
		if !strings.Contains(na, part) {
			t.Errorf("%q lacks %q", na, part)
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := ParseFlags(nil, io.Discard)
	if err != nil || c.N != 200 || c.Clients != 32 || c.Repayments != 10 || c.TemporalPort != 7270 {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
	c, err = ParseFlags([]string{"-n", "2000", "-c", "8", "-quiet", "3s"}, io.Discard)
	if err != nil || c.N != 2000 || c.Clients != 8 || c.Quiet != 3*time.Second {
		t.Fatalf("flags = %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"-n", "0"}, {"-c", "-1"}, {"-db", "dunning"}, {"-temporal-port", "70000"}, {"extra"}, {"-n", "x"}} {
		if _, err := ParseFlags(bad, io.Discard); err == nil {
			t.Errorf("ParseFlags(%q) accepted it", bad)
		}
	}
}

func TestParseFlagsTemporal(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantAddr string // Config.TemporalAddr
		wantUse  string // the server the stack talks to
		wantErr  string // "" = accepted
	}{
		{name: "default: the driver's dev server", wantUse: "127.0.0.1:7270"},
		{name: "dev server on another port", args: []string{"-temporal-port", "7271"}, wantUse: "127.0.0.1:7271"},
		{name: "a server of our own", args: []string{"-temporal", "127.0.0.1:7290"}, wantAddr: "127.0.0.1:7290", wantUse: "127.0.0.1:7290"},
		{name: "host name", args: []string{"-temporal", "temporal.internal:7233", "-n", "10"}, wantAddr: "temporal.internal:7233", wantUse: "temporal.internal:7233"},
		{name: "IPv6", args: []string{"-temporal", "[::1]:7290"}, wantAddr: "[::1]:7290", wantUse: "[::1]:7290"},
		{name: "no port", args: []string{"-temporal", "127.0.0.1"}, wantErr: "-temporal"},
		{name: "no host", args: []string{"-temporal", ":7290"}, wantErr: "host is missing"},
		{name: "port out of range", args: []string{"-temporal", "127.0.0.1:70000"}, wantErr: "not a port"},
		{name: "port not a number", args: []string{"-temporal", "127.0.0.1:x"}, wantErr: "not a port"},
		{name: "both a server and a dev server port", args: []string{"-temporal", "127.0.0.1:7290", "-temporal-port", "7271"}, wantErr: "starts none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseFlags(%q) error = %v, want one naming %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFlags(%q): %v", tc.args, err)
			}
			if c.TemporalAddr != tc.wantAddr || c.temporalAddress() != tc.wantUse {
				t.Errorf("ParseFlags(%q): TemporalAddr %q, server %q; want %q, %q", tc.args, c.TemporalAddr, c.temporalAddress(), tc.wantAddr, tc.wantUse)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS("Name:\tworker\nVmPeak:\t 1 kB\nVmRSS:\t  204800 kB\n")
	if err != nil || got != 200 {
		t.Fatalf("parseVmRSS = %v, %v; want 200", got, err)
	}
	if _, err := parseVmRSS("Name: x\n"); err == nil {
		t.Error("no VmRSS line accepted")
	}
}

func TestRepaymentMix(t *testing.T) {
	kinds := map[string]int{}
	for k := range 10 {
		kinds[repaymentKind(k)]++
	}
	if kinds["new"] != 7 || kinds["repeat"] != 1 || kinds["invalid"] != 1 || kinds["conflict"] != 1 {
		t.Errorf("mix of ten = %v", kinds)
	}
	_, body := repayment("L-1", 3)
	if body["txn_id"] != "T-L-1-2" || body["amount"] != "1.00" {
		t.Errorf("repeat = %v, want the txn before it with the same amount", body)
	}
}
