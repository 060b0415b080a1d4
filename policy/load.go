package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// DefaultPolicyName is the policy a loan uses when it names none.
const DefaultPolicyName = "default"

// Default is DESIGN.md's default policy written in code. It is the reference
// that policies/default.yaml must parse to (a test checks they agree) and a
// ready-made policy for tests that do not care which policy they run under.
func Default() Policy {
	return Policy{
		Name:     DefaultPolicyName,
		TimeZone: "Asia/Shanghai",
		Penalty: PenaltyRules{
			DailyRate:     decimal.RequireFromString("0.0005"),
			Base:          BasePrincipal,
			GraceDays:     3,
			LateFee:       decimal.RequireFromString("20.00"),
			CapRatio:      decimal.RequireFromString("0.24"),
			FreezePenalty: true,
		},
		Allocation: []Component{CompPenalty, CompLateFee, CompInterest, CompFee, CompPrincipal},
		Reminders: ReminderRules{
			SendAt:        ClockTime{10, 0},
			SpreadMinutes: 60,
			ContactWindow: Window{Start: ClockTime{8, 0}, End: ClockTime{21, 0}},
			LargeAmount:   decimal.RequireFromString("10000.00"),
			Ladder: []Rung{
				{Offset: -3, Channels: []Channel{Push}, Template: "upcoming"},
				{Offset: -1, Channels: []Channel{SMS}, Template: "upcoming"},
				{Offset: 0, Channels: []Channel{SMS, Push}, Template: "due_today"},
				{Offset: 1, Channels: []Channel{SMS}, Template: "overdue_gentle"},
				{Offset: 3, Channels: []Channel{SMS, Push}, Template: "overdue_gentle"},
				{Offset: 7, Channels: []Channel{SMS, Email, Push}, Template: "overdue_firm"},
				{Offset: 15, Channels: []Channel{SMS, Email, Push}, Template: "overdue_urgent", Action: ActionOpenCase},
				{Offset: 30, Channels: []Channel{SMS, Email, Push}, Template: "final_notice"},
				{Offset: 60, Channels: []Channel{SMS, Email}, Template: "final_notice"},
				{Offset: 90, Channels: []Channel{Email}, Template: "charged_off", Action: ActionChargeOff},
			},
		},
		Caps:     Caps{MaxPerChannelPerDay: 1, MaxPerChannelPer7Days: 7},
		Fallback: Fallback{SMS: []Channel{Push, Email}, Email: []Channel{}, Push: []Channel{Email}},
	}
}

// ParseClock reads a wall-clock time written "HH:MM" (two digits each,
// 00:00 to 23:59). It is strict so that "9:00" or "10:0" in a policy file is
// caught at load time rather than misread.
func ParseClock(s string) (ClockTime, error) {
	bad := fmt.Errorf("clock time %q: want HH:MM between 00:00 and 23:59", s)
	if len(s) != 5 || s[2] != ':' {
		return ClockTime{}, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return ClockTime{}, bad
		}
	}
	c := ClockTime{Hour: int(s[0]-'0')*10 + int(s[1]-'0'), Minute: int(s[3]-'0')*10 + int(s[4]-'0')}
	if !c.inDay() {
		return ClockTime{}, bad
	}
	return c, nil
}

// inDay reports whether c is a time of day between 00:00 and 23:59.
func (c ClockTime) inDay() bool {
	return c.Hour >= 0 && c.Hour < 24 && c.Minute >= 0 && c.Minute < 60
}

// String writes c as "HH:MM", the form policy files use.
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// MarshalText writes c as "HH:MM", so a policy marshals back to the YAML it
// came from (and to JSON the same way).
func (c ClockTime) MarshalText() ([]byte, error) {
	if !c.inDay() {
		return nil, fmt.Errorf("clock time %d:%d: out of range", c.Hour, c.Minute)
	}
	return []byte(c.String()), nil
}

// UnmarshalText reads "HH:MM" (see ParseClock).
func (c *ClockTime) UnmarshalText(b []byte) error {
	p, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// UnmarshalYAML reads "HH:MM" from a YAML scalar, quoted or not, and reports
// a bad value with its line like yaml's own type errors.
func (c *ClockTime) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: clock time: want HH:MM", n.Line)}}
	}
	p, err := ParseClock(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*c = p
	return nil
}

// Parse reads the policy called name from YAML. Unknown keys are errors (a
// misspelt key would otherwise silently leave a default of zero), decimals may
// be written as numbers or strings, clock times as "HH:MM". A `name:` key, if
// present, must equal name; if absent the policy takes name. The policy is
// then validated. Every problem found names its key path, and all of them
// are returned together (errors.Join of FieldError), so whoever edits a
// policy sees every mistake in one go.
func Parse(name string, data []byte) (Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return Policy{}, FieldError{Problem: "empty policy file"}
		}
		return Policy{}, FieldError{Problem: err.Error()}
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) == 0 {
		return Policy{}, FieldError{Problem: "empty policy file"}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Policy{}, FieldError{Problem: "want exactly one YAML document"}
	}
	var shape []error
	checkYAML("", &root, reflect.TypeFor[Policy](), &shape)
	if len(shape) > 0 {
		// If every value decodes (the problems are unknown keys only), also
		// report what Validate thinks of the rest, so a typo and a bad value
		// show up together.
		var lenient Policy
		if root.Decode(&lenient) == nil {
			if lenient.Name == "" {
				lenient.Name = name
			}
			shape = append(shape, flatten(lenient.Validate())...)
		}
		return Policy{}, errors.Join(shape...)
	}

	var p Policy
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&p); err != nil {
		// checkYAML has already looked at every value, so this is a backstop.
		return Policy{}, FieldError{Problem: err.Error()}
	}
	var nameErr error
	switch {
	case p.Name == "":
		p.Name = name
	case name != "" && p.Name != name:
		nameErr = FieldError{Field: "name", Problem: fmt.Sprintf("%q does not match the file name %q", p.Name, name+".yaml")}
	}
	if err := errors.Join(append([]error{nameErr}, flatten(p.Validate())...)...); err != nil {
		return Policy{}, err
	}
	return p, nil
}

var (
	decimalType = reflect.TypeFor[decimal.Decimal]()
	clockType   = reflect.TypeFor[ClockTime]()
)

// checkYAML walks the YAML tree n alongside the Go type t it will be decoded
// into and reports, by key path, every unknown key, every value of the wrong
// shape and every scalar that does not decode. yaml.v3 itself reports these
// only by line number, and stops at the first bad decimal or clock time.
func checkYAML(at string, n *yaml.Node, t reflect.Type, errs *[]error) {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // the zero value; Validate decides whether that is allowed
	}
	problem := func(format string, args ...any) {
		*errs = append(*errs, FieldError{Field: at, Problem: fmt.Sprintf(format, args...) + fmt.Sprintf(" (line %d)", n.Line)})
	}
	switch {
	case t == decimalType:
		if n.Kind != yaml.ScalarNode {
			problem("want a decimal number")
		} else if _, err := decimal.NewFromString(n.Value); err != nil {
			problem("want a decimal number such as 0.0005, got %q", n.Value)
		}
	case t == clockType:
		if n.Kind != yaml.ScalarNode {
			problem("want a clock time HH:MM")
		} else if _, err := ParseClock(n.Value); err != nil {
			problem("want a clock time HH:MM between 00:00 and 23:59, got %q", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			problem("want a mapping of keys")
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				checkYAMLMerge(at, v, t, errs)
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				msg := "unknown key"
				if s := suggest(k.Value, mapKeys(fields)); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				*errs = append(*errs, FieldError{Field: joinKey(at, k.Value), Problem: fmt.Sprintf("%s (line %d)", msg, k.Line)})
				continue
			}
			checkYAML(joinKey(at, k.Value), v, f.Type, errs)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			problem("want a list")
			return
		}
		for i, e := range n.Content {
			checkYAML(fmt.Sprintf("%s[%d]", at, i), e, t.Elem(), errs)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			problem("want a single value, not a list or mapping")
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			switch t.Kind() {
			case reflect.Bool:
				problem("want true or false, got %q", n.Value)
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				problem("want a whole number, got %q", n.Value)
			default:
				problem("cannot read %q", n.Value)
			}
		}
	}
}

// checkYAMLMerge checks the value of a YAML merge key (<<: *anchor), which is
// one mapping or a list of mappings whose keys belong to the enclosing map.
func checkYAMLMerge(at string, v *yaml.Node, t reflect.Type, errs *[]error) {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, e := range v.Content {
			checkYAML(at, e, t, errs)
		}
		return
	}
	checkYAML(at, v, t, errs)
}

// yamlFields maps the YAML keys of struct type t to its fields, as yaml.v3
// names them: the tag's name, or the lower-cased field name.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField)
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

func mapKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// joinKey appends key to the dotted path at. An empty key is written `""`,
// so that an unknown empty key ({"": 1}) is still named: a problem with an
// empty field is one with the input as a whole.
func joinKey(at, key string) string {
	if key == "" {
		key = `""`
	}
	if at == "" {
		return key
	}
	return at + "." + key
}

// suggest returns the known key closest to got if it is a likely typo
// (differs by case only, or by at most two edits), else "".
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if strings.EqualFold(k, got) {
			return k
		}
		if d := editDistance(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Validate checks p against the rules a policy must obey and returns every
// problem at once (errors.Join of FieldError), each naming the YAML key path,
// such as "penalty.daily_rate: must be between 0 and 0.01". It returns nil for
// a valid policy. Parse calls it; code that builds a Policy by hand should too.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}

	if msg := idProblem(p.Name, MaxPolicyNameLen); msg != "" {
		bad("name", "%s", msg)
	}
	if _, err := loadZone(p.TimeZone); err != nil {
		bad("time_zone", "%v", err)
	}

	pen := p.Penalty
	if pen.DailyRate.IsNegative() || pen.DailyRate.GreaterThan(decimal.RequireFromString("0.01")) {
		bad("penalty.daily_rate", "must be between 0 and 0.01, got %s", pen.DailyRate)
	}
	if pen.Base != BasePrincipal && pen.Base != BasePrincipalAndInterest {
		bad("penalty.base", "must be %s or %s, got %q", BasePrincipal, BasePrincipalAndInterest, pen.Base)
	}
	if pen.GraceDays < 0 || pen.GraceDays > 30 {
		bad("penalty.grace_days", "must be between 0 and 30, got %d", pen.GraceDays)
	}
	if pen.LateFee.IsNegative() {
		bad("penalty.late_fee", "must not be negative, got %s", pen.LateFee)
	}
	if pen.CapRatio.IsNegative() || pen.CapRatio.GreaterThan(decimal.NewFromInt(1)) {
		bad("penalty.cap_ratio", "must be between 0 and 1, got %s", pen.CapRatio)
	}

	errs = append(errs, validateAllocation(p.Allocation)...)

	rem := p.Reminders
	okClock := true
	for _, c := range []struct {
		field string
		t     ClockTime
	}{
		{"reminders.send_at", rem.SendAt},
		{"reminders.contact_window.start", rem.ContactWindow.Start},
		{"reminders.contact_window.end", rem.ContactWindow.End},
	} {
		if !c.t.inDay() {
			bad(c.field, "must be a clock time between 00:00 and 23:59")
			okClock = false
		}
	}
	if okClock {
		w := rem.ContactWindow
		if w.Start.Minutes() >= w.End.Minutes() {
			bad("reminders.contact_window", "start (%s) must be before end (%s)", w.Start, w.End)
		} else if s := rem.SendAt.Minutes(); s < w.Start.Minutes() || s >= w.End.Minutes() {
			bad("reminders.send_at", "%s is outside the contact window %s–%s", rem.SendAt, w.Start, w.End)
		}
	}
	if rem.SpreadMinutes < 0 || rem.SpreadMinutes > 720 {
		bad("reminders.spread_minutes", "must be between 0 and 720, got %d", rem.SpreadMinutes)
	}
	if !rem.LargeAmount.IsPositive() {
		bad("reminders.large_amount", "must be greater than 0, got %s", rem.LargeAmount)
	}
	errs = append(errs, validateLadder(rem.Ladder)...)

	if p.Caps.MaxPerChannelPerDay < 1 {
		bad("caps.max_per_channel_per_day", "must be at least 1, got %d", p.Caps.MaxPerChannelPerDay)
	}
	if p.Caps.MaxPerChannelPer7Days < 1 {
		bad("caps.max_per_channel_per_7_days", "must be at least 1, got %d", p.Caps.MaxPerChannelPer7Days)
	}
	for _, ch := range AllChannels {
		list := p.Fallback.For(ch)
		for i, to := range list {
			at := fmt.Sprintf("fallback.%s[%d]", ch, i)
			switch {
			case !knownChannel(to):
				bad(at, "unknown channel %q (want sms, email or push)", to)
			case to == ch:
				bad(at, "a channel cannot fall back to itself")
			case slices.Contains(list[:i], to):
				bad(at, "%s is listed twice", to)
			}
		}
	}
	return errors.Join(errs...)
}

// validateAllocation checks that the allocation order names each of the five
// components exactly once.
func validateAllocation(order []Component) []error {
	var errs []error
	all := []Component{CompPenalty, CompLateFee, CompInterest, CompFee, CompPrincipal}
	seen := make(map[Component]bool)
	for i, c := range order {
		field := fmt.Sprintf("allocation[%d]", i)
		switch {
		case !slices.Contains(all, c):
			errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf("unknown component %q (want one of penalty, late_fee, interest, fee, principal)", c)})
		case seen[c]:
			errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf("%s is listed twice", c)})
		}
		seen[c] = true
	}
	var missing []string
	for _, c := range all {
		if !seen[c] {
			missing = append(missing, string(c))
		}
	}
	if len(missing) > 0 {
		errs = append(errs, FieldError{Field: "allocation", Problem: "must list each of penalty, late_fee, interest, fee, principal once; missing " + strings.Join(missing, ", ")})
	}
	return errs
}

// validateLadder checks the reminder ladder rung by rung.
func validateLadder(ladder []Rung) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	switch {
	case len(ladder) == 0:
		bad("reminders.ladder", "must have at least one rung")
	case len(ladder) > MaxLadderRungs:
		bad("reminders.ladder", "%d rungs: at most %d (MaxLadderRungs)", len(ladder), MaxLadderRungs)
		return errs
	}
	for i, r := range ladder {
		at := fmt.Sprintf("reminders.ladder[%d]", i)
		if r.Offset < MinRungOffset || r.Offset > MaxRungOffset {
			bad(at+".offset", "must be between %d and %d days from the due date, got %d", MinRungOffset, MaxRungOffset, r.Offset)
		} else if i > 0 && r.Offset <= ladder[i-1].Offset {
			bad(at+".offset", "must be greater than the previous rung's (%d)", ladder[i-1].Offset)
		}
		if len(r.Channels) == 0 {
			bad(at+".channels", "must name at least one channel")
		}
		for j, ch := range r.Channels {
			switch {
			case !knownChannel(ch):
				bad(fmt.Sprintf("%s.channels[%d]", at, j), "unknown channel %q (want sms, email or push)", ch)
			case slices.Contains(r.Channels[:j], ch):
				bad(fmt.Sprintf("%s.channels[%d]", at, j), "%s is listed twice", ch)
			}
		}
		if r.Template == "" {
			bad(at+".template", "must not be empty")
		} else if !isTemplateName(r.Template) {
			bad(at+".template", "%q: use only letters, digits, _ and -", r.Template)
		} else if IsConfirmation(r.Template) {
			bad(at+".template", "%q is a repayment confirmation's template, not a reminder's", r.Template)
		}
		switch r.Action {
		case ActionNone, ActionOpenCase:
		case ActionChargeOff:
			if i != len(ladder)-1 {
				bad(at+".action", "charge_off must be on the last rung, and on one rung only")
			}
		default:
			bad(at+".action", "unknown action %q (want open_case, charge_off or nothing)", r.Action)
		}
	}
	return errs
}

// isTemplateName reports whether s is safe as a template file name.
func isTemplateName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return s != ""
}

// knownChannel reports whether ch is one of AllChannels.
func knownChannel(ch Channel) bool { return slices.Contains(AllChannels, ch) }

// loadZone loads an IANA time zone. Unlike time.LoadLocation it refuses ""
// (which would mean UTC) and "Local" (which would mean the host's zone), so
// a customer's days never depend on where the worker happens to run.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, errors.New("must name an IANA time zone such as Asia/Shanghai")
	case "Local":
		return nil, errors.New(`"Local" depends on the host; name an IANA time zone such as Asia/Shanghai`)
	}
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	zoneCache.Store(name, loc)
	return loc, nil
}

// zoneCache memoises time.LoadLocation, which reads the zone database on
// every call: the workflow computes a snapshot on every wake-up and query.
// A *time.Location is immutable, so sharing one is safe.
var zoneCache sync.Map

// Registry holds the named policies a deployment ships, so loans can be
// validated and scheduled against them by name. It is read-only once built
// and safe for concurrent use.
type Registry struct {
	byName map[string]Policy
}

// NewRegistry builds a registry from policies built in code, validating each
// and rejecting two with the same name. Tests use it with Default().
func NewRegistry(ps ...Policy) (*Registry, error) {
	r := &Registry{byName: make(map[string]Policy, len(ps))}
	var errs []error
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			errs = append(errs, prefixed("policy "+strconv.Quote(p.Name), err)...)
			continue
		}
		if _, dup := r.byName[p.Name]; dup {
			errs = append(errs, fmt.Errorf("policy %q: defined twice", p.Name))
			continue
		}
		r.byName[p.Name] = clonePolicy(p)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadDir reads every *.yaml file in the root of fsys as a policy named after
// the file (default.yaml is "default"). Every problem in every file is
// returned at once, each prefixed with its file name; a directory without
// policy files is an error too, since no loan could then be started.
func LoadDir(fsys fs.FS) (*Registry, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("no *.yaml policy files found")
	}
	r := &Registry{byName: make(map[string]Policy, len(files))}
	var errs []error
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := Parse(strings.TrimSuffix(path.Base(f), ".yaml"), data)
		if err != nil {
			errs = append(errs, prefixed(f, err)...)
			continue
		}
		r.byName[p.Name] = p
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// prefixed splits a joined error into its parts and prefixes each with
// prefix, keeping the parts reachable with errors.As.
func prefixed(prefix string, err error) []error {
	parts := flatten(err)
	out := make([]error, len(parts))
	for i, e := range parts {
		out[i] = fmt.Errorf("%s: %w", prefix, e)
	}
	return out
}

// flatten lists the leaves of a tree of joined errors (nil for nil).
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if err == nil {
			return nil
		}
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}

// Get returns the policy called name. The result is a copy: changing its
// ladder does not change the registry.
func (r *Registry) Get(name string) (Policy, bool) {
	if r == nil {
		return Policy{}, false
	}
	p, ok := r.byName[name]
	if !ok {
		return Policy{}, false
	}
	return clonePolicy(p), true
}

// Names lists the registered policy names, sorted, for error messages and
// the CLI.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	return mapKeys(r.byName)
}

// clonePolicy copies p's slices so that callers cannot change a registered policy.
func clonePolicy(p Policy) Policy {
	p.Allocation = slices.Clone(p.Allocation)
	ladder := slices.Clone(p.Reminders.Ladder)
	for i := range ladder {
		ladder[i].Channels = slices.Clone(ladder[i].Channels)
	}
	p.Reminders.Ladder = ladder
	p.Fallback = Fallback{SMS: slices.Clone(p.Fallback.SMS), Email: slices.Clone(p.Fallback.Email), Push: slices.Clone(p.Fallback.Push)}
	return p
}
