package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"dunning/policies"
)

// itJSON is policies/default.yaml written as JSON, as a client sends an
// inline policy.
func itJSON(t *testing.T) string {
	t.Helper()
	b, err := policies.FS.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

func itFields(err error) []string {
	var v ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, fe := range v {
		out = append(out, fe.Field)
	}
	return out
}

// TestParseInline: an inline policy reads as the same file would (YAML or
// JSON), is named by its name key or "inline", and whatever it gets wrong
// is named by key path; what an untrusted sender could abuse is refused.
func TestParseInline(t *testing.T) {
	def, err := policies.FS.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js := itJSON(t)
	noName := strings.Replace(string(def), "name: default\n", "", 1)
	rungs := func(n int) string {
		var b strings.Builder
		b.WriteString(strings.SplitN(noName, "  ladder:", 2)[0] + "  ladder:\n")
		for i := range n {
			fmt.Fprintf(&b, "    - {offset: %d, channels: [sms], template: overdue_firm}\n", i+1)
		}
		return b.String() + "caps: {max_per_channel_per_day: 1, max_per_channel_per_7_days: 7}\n" +
			"fallback: {sms: [push, email], email: [], push: [email]}\n"
	}
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 8; i++ {
		laughs += fmt.Sprintf("a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				laughs += ", "
			}
			if i == 1 {
				laughs += "*a"
			} else {
				laughs += fmt.Sprintf("*a%d", i-1)
			}
		}
		laughs += "]\n"
	}
	for _, tc := range []struct {
		name, text string
		want       string   // the policy's name when it parses
		fields     []string // else fields named (some of them)
		problem    string   // and a substring of the error
	}{
		{name: "the default policy file", text: string(def), want: "default"},
		{name: "the default policy as JSON", text: js, want: "default"},
		{name: "no name", text: noName, want: InlinePolicyName},
		{name: "another name", text: strings.Replace(string(def), "name: default", "name: lab-7", 1), want: "lab-7"},
		{name: "a name that is no id", text: strings.Replace(string(def), "name: default", "name: ../x", 1), fields: []string{"name"}},
		{name: "a bad value", text: strings.Replace(js, `"daily_rate":"0.0005"`, `"daily_rate":"0.5"`, 1),
			fields: []string{"penalty.daily_rate"}, problem: "between 0 and 0.01"},
		{name: "an unknown key", text: strings.Replace(js, `"grace_days"`, `"grace"`, 1), fields: []string{"penalty.grace"}},
		{name: "a number where a list goes", text: strings.Replace(js, `"allocation":[`, `"allocation":1e30,"x":[`, 1), fields: []string{"allocation"}},
		{name: "an anchor", text: strings.Replace(string(def), "  sms: [push, email]", "  sms: &f [push, email]", 1),
			fields: []string{"fallback.sms"}, problem: "anchors and aliases"},
		{name: "a billion laughs", text: laughs, fields: []string{"a"}, problem: "anchors and aliases"},
		{name: "too long", text: string(def) + "#" + strings.Repeat("x", MaxPolicyBytes), fields: []string{""}, problem: "at most 65536"},
		{name: "too many rungs", text: rungs(MaxLadderRungs + 1), fields: []string{"reminders.ladder"}, problem: "at most 64"},
		{name: "as many rungs as allowed", text: rungs(MaxLadderRungs), want: InlinePolicyName},
		{name: "an offset ten years out", text: strings.Replace(string(def), "offset: 90,", "offset: 3651,", 1),
			fields: []string{"reminders.ladder[9].offset"}, problem: "between -365 and 3650"},
		{name: "nested 30,000 deep", text: strings.Repeat("[", 30000), fields: []string{""}},
		{name: "not YAML", text: "\t:", fields: []string{""}},
		{name: "empty", text: "", fields: []string{""}, problem: "empty"},
		{name: "many problems", text: "reminders: {ladder: [" + strings.Repeat("{offset: 1, x: 1}, ", 60) + "]}",
			problem: "more problems"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseInline([]byte(tc.text))
			if tc.want != "" {
				if err != nil {
					t.Fatalf("ParseInline: %v", err)
				}
				if p.Name != tc.want {
					t.Errorf("name %q, want %q", p.Name, tc.want)
				}
				if tc.want == "default" && !reflect.DeepEqual(p, Default()) {
					t.Errorf("the default policy reads as\n%+v\nwant Default()", p)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseInline accepted it: %+v", p)
			}
			got := itFields(err)
			if got == nil {
				t.Fatalf("%T is not a ValidationError: %v", err, err)
			}
			for _, f := range tc.fields {
				if !slices.Contains(got, f) {
					t.Errorf("fields %q do not name %q: %v", got, f, err)
				}
			}
			if !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("error %q does not say %q", err, tc.problem)
			}
			if len(got) > maxDecodeProblems+1 {
				t.Errorf("%d problems reported", len(got))
			}
		})
	}
}
