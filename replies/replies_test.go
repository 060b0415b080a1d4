package replies

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		body    string
		want    Action
		keyword string
	}{
		{"STOP", OptOut, "STOP"},
		{"stop", OptOut, "STOP"},
		{"  Stop. ", OptOut, "STOP"},
		{"STOPALL", OptOut, "STOPALL"},
		{"unsubscribe", OptOut, "UNSUBSCRIBE"},
		{"Cancel!", OptOut, "CANCEL"},
		{"end", OptOut, "END"},
		{"QUIT", OptOut, "QUIT"},
		{"opt out", OptOut, "OPT OUT"},
		{"OPT   OUT", OptOut, "OPT OUT"},
		{"optout", OptOut, "OPTOUT"},
		{"revoke", OptOut, "REVOKE"},
		{"t", OptOut, "T"},
		{"TD", OptOut, "TD"},
		{"退订", OptOut, "退订"},
		{" 退订！", OptOut, "退订"},
		{"【退订】", OptOut, "退订"},
		{"START", OptIn, "START"},
		{"unstop", OptIn, "UNSTOP"},
		{"please stop calling my mother", None, ""},
		{"opt-out", OptOut, "OPT OUT"},
		{"STOP STOP", None, ""},
		{"", None, ""},
		{"我已经还款了", None, ""},
		{"stopp", None, ""},
	} {
		a, k := Parse(c.body)
		if a != c.want || k != c.keyword {
			t.Errorf("Parse(%q) = %v %q, want %v %q", c.body, a, k, c.want, c.keyword)
		}
	}
}

func TestConfirmation(t *testing.T) {
	for _, c := range []struct {
		a        Action
		keyword  string
		contains string
	}{
		{OptOut, "退订", "您已退订"},
		{OptOut, "T", "回复START"},
		{OptOut, "STOP", "Reply START"},
		{OptIn, "START", "Reply STOP"},
		{None, "", ""},
	} {
		got := Confirmation(c.a, c.keyword, "安心借")
		if c.contains == "" {
			if got != "" {
				t.Errorf("Confirmation(%v) = %q, want none", c.a, got)
			}
			continue
		}
		if !strings.Contains(got, c.contains) || !strings.Contains(got, "安心借") {
			t.Errorf("Confirmation(%v, %q) = %q, want %q and the brand", c.a, c.keyword, got, c.contains)
		}
	}
	for a, s := range map[Action]string{None: "none", OptOut: "opt_out", OptIn: "opt_in"} {
		if a.String() != s {
			t.Errorf("%d.String() = %q", a, a.String())
		}
	}
}
