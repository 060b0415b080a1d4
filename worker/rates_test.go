package main

import (
	"strings"
	"testing"

	"dunning/policy"
)

func TestChannelRates(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		want    map[policy.Channel]float64
		wantErr string
	}{
		{"defaults", map[string]string{}, map[policy.Channel]float64{policy.SMS: 10, policy.Email: 10, policy.Push: 50}, ""},
		{"set", map[string]string{"SMS_RATE": "2.5", "PUSH_RATE": " 100 "}, map[policy.Channel]float64{policy.SMS: 2.5, policy.Email: 10, policy.Push: 100}, ""},
		{"zero", map[string]string{"EMAIL_RATE": "0"}, nil, "EMAIL_RATE"},
		{"not a number", map[string]string{"SMS_RATE": "fast", "PUSH_RATE": "-1"}, nil, "SMS_RATE"},
		{"infinite", map[string]string{"SMS_RATE": "Inf"}, nil, "SMS_RATE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := channelRates(func(k string) string { return c.env[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for ch, r := range c.want {
				if got[ch] != r {
					t.Errorf("%s: %v, want %v", ch, got[ch], r)
				}
			}
		})
	}
}

// The points queue runs at the slowest channel's rate: a point sends at most
// one message per channel, so none goes faster than its own rate.
func TestPointRate(t *testing.T) {
	for _, tc := range []struct {
		rates map[policy.Channel]float64
		want  float64
	}{
		{map[policy.Channel]float64{policy.SMS: 10, policy.Email: 10, policy.Push: 50}, 10},
		{map[policy.Channel]float64{policy.SMS: 2.5, policy.Email: 100, policy.Push: 50}, 2.5},
		{map[policy.Channel]float64{policy.SMS: 300, policy.Email: 40, policy.Push: 500}, 40},
	} {
		if got := pointRate(tc.rates); got != tc.want {
			t.Errorf("pointRate(%v) = %v, want %v", tc.rates, got, tc.want)
		}
	}
}
