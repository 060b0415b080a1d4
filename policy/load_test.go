package policy

import (
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"dunning/policies"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// ltFields lists the Field of every FieldError inside err.
func ltFields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var fe FieldError
		if fe2, ok := e.(FieldError); ok {
			out = append(out, fe2.Field)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		default:
			if errors.As(e, &fe) {
				out = append(out, fe.Field)
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// ltDefaultYAML is policies/default.yaml as shipped.
func ltDefaultYAML(t *testing.T) []byte {
	t.Helper()
	b, err := policies.FS.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaultYAMLIsDefault(t *testing.T) {
	reg, err := LoadDir(policies.FS)
	if err != nil {
		t.Fatalf("LoadDir(policies.FS): %v", err)
	}
	if got := reg.Names(); !slices.Contains(got, "default") {
		t.Fatalf("Names() = %v; want default among them", got)
	}
	got, ok := reg.Get("default")
	if !ok {
		t.Fatal(`Get("default") not found`)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("policies/default.yaml parses to\n%+v\nwant Default()\n%+v", got, want)
	}
}

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestParseNumbersAndStrings(t *testing.T) {
	// Decimals as YAML numbers and as strings, clock times quoted or not,
	// anchors and merge keys: all read the same as default.yaml.
	src := `
time_zone: Asia/Shanghai
penalty:
  <<: &pen {daily_rate: 0.0005, base: principal}
  grace_days: 3
  late_fee: 20.00
  cap_ratio: 0.24
  freeze_penalty: yes
allocation: [penalty, late_fee, interest, fee, principal]
reminders:
  send_at: 10:00
  spread_minutes: 60
  contact_window: {start: 08:00, end: "21:00"}
  large_amount: 10000.00
  ladder:
    - {offset: -3, channels: [push], template: upcoming}
    - {offset: -1, channels: [sms], template: upcoming}
    - {offset: 0, channels: [sms, push], template: due_today}
    - {offset: 1, channels: [sms], template: overdue_gentle}
    - {offset: 3, channels: [sms, push], template: overdue_gentle}
    - {offset: 7, channels: &all [sms, email, push], template: overdue_firm}
    - {offset: 15, channels: *all, template: overdue_urgent, action: open_case}
    - {offset: 30, channels: *all, template: final_notice}
    - {offset: 60, channels: [sms, email], template: final_notice}
    - {offset: 90, channels: [email], template: charged_off, action: charge_off}
caps: {max_per_channel_per_day: 1, max_per_channel_per_7_days: 7}
fallback: {sms: [push, email], email: [], push: [email]}
`
	got, err := Parse("default", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("Parse = %+v\nwant %+v", got, Default())
	}
}

func TestParseMergeKeys(t *testing.T) {
	// Merge keys given as an alias and as a list of aliases, as a file that
	// shares settings between sections might write them.
	def := string(ltDefaultYAML(t))
	src := "x-shared: &cw {start: \"08:00\"}\nx-end: &end {end: \"21:00\"}\n" + def
	src = strings.Replace(src, "  contact_window:\n    start: \"08:00\"\n    end: \"21:00\"\n", "  contact_window:\n    <<: [*cw, *end]\n", 1)
	_, err := Parse("default", []byte(src))
	// The x- keys are unknown to the policy, so they are reported; the merged
	// window is not.
	if got := ltFields(err); !slices.Equal(got, []string{"x-shared", "x-end"}) {
		t.Fatalf("fields = %q; want the two x- keys only (error: %v)", got, err)
	}

	src = strings.Replace(def, "caps:\n  max_per_channel_per_day: 1\n", "caps:\n  <<: *c\n", 1)
	src = strings.Replace(src, "penalty:\n", "penalty:\n  x: &c {max_per_channel_per_day: 1}\n", 1)
	_, err = Parse("default", []byte(src))
	if got := ltFields(err); !slices.Equal(got, []string{"penalty.x"}) {
		t.Fatalf("fields = %q; want penalty.x only (error: %v)", got, err)
	}
}

func TestParseRoundTrip(t *testing.T) {
	b, err := yaml.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("default", b)
	if err != nil {
		t.Fatalf("Parse(yaml.Marshal(Default())): %v\n%s", err, b)
	}
	again, _ := yaml.Marshal(got)
	if string(again) != string(b) {
		t.Errorf("round trip changed the policy:\n%s\nvs\n%s", b, again)
	}
}

func TestParseErrors(t *testing.T) {
	def := string(ltDefaultYAML(t))
	for _, tc := range []struct {
		name       string
		file       string
		src        string
		wantFields []string
		wantText   string
	}{
		{"unknown key", "default", strings.Replace(def, "daily_rate:", "dialy_rate:", 1),
			[]string{"penalty.dialy_rate"}, "penalty.dialy_rate: unknown key (did you mean daily_rate?)"},
		{"unknown top-level key", "default", def + "\nretries: 3\n",
			[]string{"retries"}, "retries: unknown key"},
		{"empty key", "default", def + "\n\"\": 3\n",
			[]string{`""`}, `"": unknown key`},
		{"unknown rung key", "default", strings.Replace(def, "template: due_today}", "template: due_today, actoin: x}", 1),
			[]string{"reminders.ladder[2].actoin"}, "did you mean action?"},
		{"bad decimal", "default", strings.Replace(def, `late_fee: "20.00"`, `late_fee: "twenty"`, 1),
			[]string{"penalty.late_fee"}, `penalty.late_fee: want a decimal number such as 0.0005, got "twenty"`},
		{"decimal given a list", "default", strings.Replace(def, `late_fee: "20.00"`, `late_fee: [20]`, 1),
			[]string{"penalty.late_fee"}, "want a decimal number"},
		{"bad clock", "default", strings.Replace(def, `send_at: "10:00"`, `send_at: "25:00"`, 1),
			[]string{"reminders.send_at"}, `want a clock time HH:MM between 00:00 and 23:59, got "25:00"`},
		{"clock given a mapping", "default", strings.Replace(def, `send_at: "10:00"`, `send_at: {h: 10}`, 1),
			[]string{"reminders.send_at"}, "want a clock time HH:MM"},
		{"bad int", "default", strings.Replace(def, "grace_days: 3", "grace_days: three", 1),
			[]string{"penalty.grace_days"}, `want a whole number, got "three"`},
		{"bad bool", "default", strings.Replace(def, "freeze_penalty: true", "freeze_penalty: maybe", 1),
			[]string{"penalty.freeze_penalty"}, `want true or false, got "maybe"`},
		{"list where a mapping belongs", "default", strings.Replace(def, "penalty:\n", "penalty: [1]\nold_penalty:\n", 1),
			[]string{"penalty", "old_penalty"}, "penalty: want a mapping of keys"},
		{"scalar where a list belongs", "default", strings.Replace(def, "allocation: [penalty, late_fee, interest, fee, principal]", "allocation: penalty", 1),
			[]string{"allocation"}, "allocation: want a list"},
		{"list where a scalar belongs", "default", strings.Replace(def, "base: principal", "base: [principal]", 1),
			[]string{"penalty.base"}, "want a single value"},
		{"several shape errors at once", "default",
			strings.NewReplacer("grace_days: 3", "grace_days: x", "daily_rate:", "daily:", `end: "21:00"`, `end: "9pm"`).Replace(def),
			[]string{"penalty.daily", "penalty.grace_days", "reminders.contact_window.end"}, ""},
		{"name mismatch", "other", def,
			[]string{"name"}, `name: "default" does not match the file name "other.yaml"`},
		{"typo and a bad value together", "default", strings.NewReplacer("daily_rate:", "dialy_rate:", "grace_days: 3", "grace_days: 45").Replace(def),
			[]string{"penalty.dialy_rate", "penalty.grace_days"}, "penalty.grace_days: must be between 0 and 30, got 45"},
		{"typo of a required key", "weekly", strings.NewReplacer("name: default\n", "", "base:", "bsae:").Replace(def),
			[]string{"penalty.bsae", "penalty.base"}, `penalty.base: must be principal or principal_and_interest, got ""`},
		{"name mismatch and a bad value", "other", strings.Replace(def, "grace_days: 3", "grace_days: 31", 1),
			[]string{"name", "penalty.grace_days"}, "penalty.grace_days: must be between 0 and 30"},
		{"empty file", "default", "", []string{""}, "empty policy file"},
		{"comments only", "default", "# nothing\n", []string{""}, "empty policy file"},
		{"two documents", "default", def + "\n---\nname: default\n", []string{""}, "want exactly one YAML document"},
		{"syntax error", "default", "penalty: [\n", []string{""}, "yaml:"},
		{"root is a list", "default", "- 1\n", []string{""}, "want a mapping of keys"},
		{"valid shape, invalid values", "default", strings.Replace(def, "grace_days: 3", "grace_days: 31", 1),
			[]string{"penalty.grace_days"}, "penalty.grace_days: must be between 0 and 30, got 31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.file, []byte(tc.src))
			if err == nil {
				t.Fatal("Parse succeeded; want an error")
			}
			if got := ltFields(err); !slices.Equal(got, tc.wantFields) {
				t.Errorf("fields = %q; want %q (error: %v)", got, tc.wantFields, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q; want it to contain %q", err, tc.wantText)
			}
		})
	}
}

func TestParseNameFromFile(t *testing.T) {
	src := strings.Replace(string(ltDefaultYAML(t)), "name: default\n", "", 1)
	p, err := Parse("weekly", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "weekly" {
		t.Errorf("Name = %q; want weekly (from the file name)", p.Name)
	}
	// With no file name the name: key must be present.
	if _, err := Parse("", []byte(src)); !slices.Contains(ltFields(err), "name") {
		t.Errorf(`Parse("", no name key) = %v; want a name error`, err)
	}
}

func TestValidateRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(p *Policy)
		field  string
		text   string
	}{
		{"name empty", func(p *Policy) { p.Name = "" }, "name", "must not be empty"},
		{"name charset", func(p *Policy) { p.Name = "a/b" }, "name", "use only"},
		{"time zone empty", func(p *Policy) { p.TimeZone = "" }, "time_zone", "must name an IANA time zone"},
		{"time zone Local", func(p *Policy) { p.TimeZone = "Local" }, "time_zone", "depends on the host"},
		{"time zone unknown", func(p *Policy) { p.TimeZone = "Mars/Olympus" }, "time_zone", `unknown time zone "Mars/Olympus"`},
		{"daily rate negative", func(p *Policy) { p.Penalty.DailyRate = decimal.RequireFromString("-0.0001") }, "penalty.daily_rate", "must be between 0 and 0.01"},
		{"daily rate too high", func(p *Policy) { p.Penalty.DailyRate = decimal.RequireFromString("0.0101") }, "penalty.daily_rate", "must be between 0 and 0.01, got 0.0101"},
		{"base", func(p *Policy) { p.Penalty.Base = "interest" }, "penalty.base", `must be principal or principal_and_interest, got "interest"`},
		{"grace negative", func(p *Policy) { p.Penalty.GraceDays = -1 }, "penalty.grace_days", "must be between 0 and 30"},
		{"grace too long", func(p *Policy) { p.Penalty.GraceDays = 31 }, "penalty.grace_days", "must be between 0 and 30"},
		{"late fee negative", func(p *Policy) { p.Penalty.LateFee = decimal.RequireFromString("-1") }, "penalty.late_fee", "must not be negative"},
		{"cap ratio negative", func(p *Policy) { p.Penalty.CapRatio = decimal.RequireFromString("-0.1") }, "penalty.cap_ratio", "must be between 0 and 1"},
		{"cap ratio above 1", func(p *Policy) { p.Penalty.CapRatio = decimal.RequireFromString("1.01") }, "penalty.cap_ratio", "must be between 0 and 1"},
		{"allocation unknown", func(p *Policy) { p.Allocation[3] = "fees" }, "allocation[3]", `unknown component "fees"`},
		{"allocation duplicate", func(p *Policy) { p.Allocation[4] = CompInterest }, "allocation[4]", "interest is listed twice"},
		{"allocation short", func(p *Policy) { p.Allocation = p.Allocation[:4] }, "allocation", "missing principal"},
		{"send_at invalid", func(p *Policy) { p.Reminders.SendAt = ClockTime{24, 0} }, "reminders.send_at", "between 00:00 and 23:59"},
		{"window start invalid", func(p *Policy) { p.Reminders.ContactWindow.Start = ClockTime{8, 60} }, "reminders.contact_window.start", "between 00:00 and 23:59"},
		{"window end invalid", func(p *Policy) { p.Reminders.ContactWindow.End = ClockTime{-1, 0} }, "reminders.contact_window.end", "between 00:00 and 23:59"},
		{"window reversed", func(p *Policy) { p.Reminders.ContactWindow = Window{ClockTime{21, 0}, ClockTime{8, 0}} }, "reminders.contact_window", "start (21:00) must be before end (08:00)"},
		{"window empty", func(p *Policy) { p.Reminders.ContactWindow = Window{ClockTime{9, 0}, ClockTime{9, 0}} }, "reminders.contact_window", "must be before end"},
		{"send_at before window", func(p *Policy) { p.Reminders.SendAt = ClockTime{7, 59} }, "reminders.send_at", "07:59 is outside the contact window 08:00–21:00"},
		{"send_at at window end", func(p *Policy) { p.Reminders.SendAt = ClockTime{21, 0} }, "reminders.send_at", "outside the contact window"},
		{"spread negative", func(p *Policy) { p.Reminders.SpreadMinutes = -1 }, "reminders.spread_minutes", "must be between 0 and 720"},
		{"spread too long", func(p *Policy) { p.Reminders.SpreadMinutes = 721 }, "reminders.spread_minutes", "must be between 0 and 720"},
		{"large amount zero", func(p *Policy) { p.Reminders.LargeAmount = decimal.Zero }, "reminders.large_amount", "must be greater than 0"},
		{"ladder empty", func(p *Policy) { p.Reminders.Ladder = nil }, "reminders.ladder", "at least one rung"},
		{"offsets not increasing", func(p *Policy) { p.Reminders.Ladder[3].Offset = 0 }, "reminders.ladder[3].offset", "must be greater than the previous rung's (0)"},
		{"channels empty", func(p *Policy) { p.Reminders.Ladder[1].Channels = nil }, "reminders.ladder[1].channels", "at least one channel"},
		{"channel unknown", func(p *Policy) { p.Reminders.Ladder[2].Channels[1] = "fax" }, "reminders.ladder[2].channels[1]", `unknown channel "fax"`},
		{"channel duplicate", func(p *Policy) { p.Reminders.Ladder[2].Channels[1] = SMS }, "reminders.ladder[2].channels[1]", "sms is listed twice"},
		{"template empty", func(p *Policy) { p.Reminders.Ladder[0].Template = "" }, "reminders.ladder[0].template", "must not be empty"},
		{"template path", func(p *Policy) { p.Reminders.Ladder[0].Template = "../x" }, "reminders.ladder[0].template", "use only letters"},
		{"template confirmation", func(p *Policy) { p.Reminders.Ladder[0].Template = TemplatePaidOff }, "reminders.ladder[0].template", "repayment confirmation's template"},
		{"action unknown", func(p *Policy) { p.Reminders.Ladder[6].Action = "sue" }, "reminders.ladder[6].action", `unknown action "sue"`},
		{"charge_off not last", func(p *Policy) { p.Reminders.Ladder[8].Action = ActionChargeOff }, "reminders.ladder[8].action", "charge_off must be on the last rung"},
		{"cap per day", func(p *Policy) { p.Caps.MaxPerChannelPerDay = 0 }, "caps.max_per_channel_per_day", "must be at least 1"},
		{"cap per 7 days", func(p *Policy) { p.Caps.MaxPerChannelPer7Days = 0 }, "caps.max_per_channel_per_7_days", "must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Default()
			tc.mutate(&p)
			err := p.Validate()
			got := ltFields(err)
			if len(got) == 0 || got[0] != tc.field {
				t.Fatalf("fields = %q; want %q first (error: %v)", got, tc.field, err)
			}
			if want := tc.field + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q; want %q…%q", err, want, tc.text)
			}
			// Only allocation problems also report the missing components.
			if len(got) > 1 && !(len(got) == 2 && got[1] == "allocation") {
				t.Errorf("fields = %q; want only %q", got, tc.field)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := Default()
	p.Penalty.DailyRate = decimal.RequireFromString("0.5")
	p.Penalty.GraceDays = 99
	p.Reminders.Ladder[3].Offset = -5
	p.Reminders.Ladder[9].Channels = nil
	p.Caps.MaxPerChannelPerDay = 0
	err := p.Validate()
	want := []string{"penalty.daily_rate", "penalty.grace_days", "reminders.ladder[3].offset",
		"reminders.ladder[9].channels", "caps.max_per_channel_per_day"}
	if got := ltFields(err); !slices.Equal(got, want) {
		t.Fatalf("fields = %q; want %q", got, want)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != len(want) {
		t.Errorf("error has %d lines; want one per problem:\n%v", n, err)
	}
}

func TestLoadDir(t *testing.T) {
	def := ltDefaultYAML(t)
	weekly := strings.Replace(string(def), "name: default", "name: weekly", 1)
	weekly = strings.Replace(weekly, "grace_days: 3", "grace_days: 7", 1)
	fsys := fstest.MapFS{
		"default.yaml":     {Data: def},
		"weekly.yaml":      {Data: []byte(weekly)},
		"README.md":        {Data: []byte("not a policy")},
		"old/legacy.yaml":  {Data: []byte("not: read")},
		"default.yaml.bak": {Data: []byte("not: read")},
	}
	reg, err := LoadDir(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Names(); !slices.Equal(got, []string{"default", "weekly"}) {
		t.Errorf("Names() = %q; want [default weekly]", got)
	}
	w, ok := reg.Get("weekly")
	if !ok || w.Penalty.GraceDays != 7 || w.Name != "weekly" {
		t.Errorf(`Get("weekly") = %+v, %v`, w, ok)
	}
	if _, ok := reg.Get("monthly"); ok {
		t.Error(`Get("monthly") found a policy that does not exist`)
	}

	// Get hands out copies.
	w.Reminders.Ladder[0].Channels[0] = "fax"
	w.Allocation[0] = "x"
	if again, _ := reg.Get("weekly"); again.Reminders.Ladder[0].Channels[0] != Push || again.Allocation[0] != CompPenalty {
		t.Error("changing a policy from Get changed the registry")
	}
}

func TestLoadDirErrors(t *testing.T) {
	def := ltDefaultYAML(t)
	bad := strings.NewReplacer("name: default", "name: weekly", "grace_days: 3", "grace_days: 40", "cap_ratio:", "cap:").Replace(string(def))
	badValues := strings.NewReplacer("name: default", "name: strict", "grace_days: 3", "grace_days: 40", "spread_minutes: 60", "spread_minutes: 999").Replace(string(def))
	_, err := LoadDir(fstest.MapFS{
		"default.yaml": {Data: def},
		"weekly.yaml":  {Data: []byte(bad)},
		"strict.yaml":  {Data: []byte(badValues)},
		"other.yaml":   {Data: def}, // name: default in other.yaml
	})
	if err == nil {
		t.Fatal("LoadDir succeeded; want errors")
	}
	for _, want := range []string{
		"weekly.yaml: penalty.cap: unknown key",
		"strict.yaml: penalty.grace_days: must be between 0 and 30",
		"strict.yaml: reminders.spread_minutes: must be between 0 and 720",
		`other.yaml: name: "default" does not match the file name "other.yaml"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
	var fe FieldError
	if !errors.As(err, &fe) {
		t.Error("errors.As(err, &FieldError{}) = false; want the FieldErrors reachable")
	}

	if _, err := LoadDir(fstest.MapFS{"README.md": {Data: []byte("x")}}); err == nil || !strings.Contains(err.Error(), "no *.yaml policy files") {
		t.Errorf("LoadDir(no yaml) = %v; want a no-policy-files error", err)
	}
	if _, err := LoadDir(fstest.MapFS{"x.yaml": {Mode: fs.ModeDir}}); err == nil {
		t.Errorf("LoadDir(unreadable) = nil; want an error")
	}
}

func TestNewRegistry(t *testing.T) {
	weekly := Default()
	weekly.Name = "weekly"
	reg, err := NewRegistry(Default(), weekly)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.Names(); !slices.Equal(got, []string{"default", "weekly"}) {
		t.Errorf("Names() = %q", got)
	}

	broken := Default()
	broken.Name = "broken"
	broken.Caps.MaxPerChannelPerDay = 0
	_, err = NewRegistry(Default(), Default(), broken)
	if err == nil {
		t.Fatal("NewRegistry succeeded; want errors")
	}
	for _, want := range []string{`policy "default": defined twice`, `policy "broken": caps.max_per_channel_per_day: must be at least 1`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}

	var nilReg *Registry
	if _, ok := nilReg.Get("default"); ok || nilReg.Names() != nil {
		t.Error("a nil Registry should know nothing")
	}
}

func TestParseClock(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ClockTime
		ok   bool
	}{
		{"00:00", ClockTime{0, 0}, true},
		{"10:00", ClockTime{10, 0}, true},
		{"23:59", ClockTime{23, 59}, true},
		{"24:00", ClockTime{}, false},
		{"12:60", ClockTime{}, false},
		{"9:00", ClockTime{}, false},
		{"09:0", ClockTime{}, false},
		{"+9:00", ClockTime{}, false},
		{"09:-1", ClockTime{}, false},
		{"09.00", ClockTime{}, false},
		{"", ClockTime{}, false},
	} {
		got, err := ParseClock(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestClockTimeText(t *testing.T) {
	b, err := ClockTime{8, 5}.MarshalText()
	if err != nil || string(b) != "08:05" {
		t.Errorf("MarshalText = %q, %v; want 08:05", b, err)
	}
	if _, err := (ClockTime{25, 0}).MarshalText(); err == nil {
		t.Error("MarshalText(25:00) succeeded; want an error")
	}
	var c ClockTime
	if err := c.UnmarshalText([]byte("21:30")); err != nil || c != (ClockTime{21, 30}) {
		t.Errorf("UnmarshalText(21:30) = %v, %v", c, err)
	}
	if err := c.UnmarshalText([]byte("noon")); err == nil {
		t.Error("UnmarshalText(noon) succeeded; want an error")
	}
	// Decoding straight into a ClockTime reports yaml type errors with the line.
	if err := yaml.Unmarshal([]byte("a: b\n"), &c); err == nil || !strings.Contains(err.Error(), "line 1: clock time: want HH:MM") {
		t.Errorf("yaml mapping into ClockTime: %v", err)
	}
	if err := yaml.Unmarshal([]byte(`"7am"`), &c); err == nil || !strings.Contains(err.Error(), `line 1: clock time "7am"`) {
		t.Errorf("yaml 7am into ClockTime: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"daily_rate", "base", "grace_days"}
	for _, tc := range []struct{ got, want string }{
		{"dialy_rate", "daily_rate"},
		{"Daily_Rate", "daily_rate"},
		{"grace", ""},
		{"bse", "base"},
		{"xyz", ""},
	} {
		if s := suggest(tc.got, known); s != tc.want {
			t.Errorf("suggest(%q) = %q; want %q", tc.got, s, tc.want)
		}
	}
}

func TestFallbackValidation(t *testing.T) {
	for _, c := range []struct {
		name  string
		f     Fallback
		field string
	}{
		{"none is fine", Fallback{}, ""},
		{"unknown channel", Fallback{SMS: []Channel{"fax"}}, "fallback.sms[0]"},
		{"to itself", Fallback{Push: []Channel{Push}}, "fallback.push[0]"},
		{"twice", Fallback{Email: []Channel{Push, SMS, Push}}, "fallback.email[2]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := Default()
			p.Fallback = c.f
			err := p.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.field+":") {
				t.Errorf("Validate = %v, want a problem with %s", err, c.field)
			}
		})
	}
	if got := Default().Fallback.For("fax"); got != nil {
		t.Errorf("For(fax) = %v", got)
	}
}
