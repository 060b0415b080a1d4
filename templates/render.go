package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"unicode/utf8"
)

// The channels a template can be written for, as used in the file layout and
// in Render's ch argument.
const (
	// SMS is a text message: one short body.
	SMS = "sms"
	// Email is an email: subject, plain text and HTML.
	Email = "email"
	// Push is an app push notification: title and body.
	Push = "push"
)

// The template names of the reminder ladder and the repayment confirmations,
// as used in the file layout and in Render's name argument.
const (
	// Upcoming is sent before the due date: a friendly reminder.
	Upcoming = "upcoming"
	// DueToday is sent on the due date: pay today to avoid being overdue.
	DueToday = "due_today"
	// OverdueGentle is sent at D+1 and D+3: it may have slipped their mind.
	OverdueGentle = "overdue_gentle"
	// OverdueFirm is sent at D+7: penalty interest accrues, credit record at stake.
	OverdueFirm = "overdue_firm"
	// OverdueUrgent is sent at D+15: the account goes to the collections team.
	OverdueUrgent = "overdue_urgent"
	// FinalNotice is sent at D+30 and D+60: charge-off lies ahead.
	FinalNotice = "final_notice"
	// ChargedOff is sent at D+90: charged off, the debt is still payable.
	ChargedOff = "charged_off"
	// PaymentReceived confirms a partial repayment and says what remains.
	PaymentReceived = "payment_received"
	// PaidOff confirms the loan is settled and thanks the borrower.
	PaidOff = "paid_off"
)

// Names returns the template names every locale ships, in ladder order, so
// callers and tests can iterate over them without repeating the list.
func Names() []string {
	return []string{Upcoming, DueToday, OverdueGentle, OverdueFirm, OverdueUrgent,
		FinalNotice, ChargedOff, PaymentReceived, PaidOff}
}

// Channels returns the channels a template can be written for.
func Channels() []string { return []string{SMS, Email, Push} }

// ErrNoTemplate is returned (wrapped) by Render for a locale, channel or name
// that has no template, so callers can tell "cannot say this" from a bug in
// the data with errors.Is.
var ErrNoTemplate = errors.New("no such template")

// ErrMissingData is returned (wrapped) by Render when a field the template
// references is not set in Data; the error names the fields. Retrying cannot
// help: the caller must fill them in.
var ErrMissingData = errors.New("missing template data")

// ErrInvalidData is returned (wrapped) by Render when a field of Data holds
// bytes that are not valid UTF-8 (a brand configured in another encoding);
// the error names the fields, never their values. A notice with them would
// reach the borrower garbled, and the notices table would refuse its text.
var ErrInvalidData = errors.New("template data is not valid UTF-8")

// Message is a rendered notice. Which fields are filled depends on the
// channel: SMS sets Body; push sets Title and Body; email sets Subject, Text
// (text/plain) and HTML (text/html).
type Message struct {
	// Subject is the email subject, one line.
	Subject string
	// Text is the email's text/plain part.
	Text string
	// HTML is the email's text/html part, a whole document, escaped.
	HTML string
	// Title is the push notification title, one line.
	Title string
	// Body is the SMS text or the push notification body, one line.
	Body string
}

// Renderer renders the embedded templates. It is built once by New, is
// read-only afterwards and safe for concurrent use.
type Renderer struct {
	set     map[key]*entry
	locales []string // sorted
}

//go:embed */*/*.tmpl
var embedded embed.FS

// New parses every embedded template, checks it (blocks present, no stray
// text, only Data fields referenced, renders with complete data) and that
// every locale has the same templates. It fails listing each bad file, so a
// broken template stops the worker at start rather than at 3 a.m. on a D+7
// notice.
func New() (*Renderer, error) {
	return newFromFS(embedded)
}

// key identifies one template file.
type key struct{ locale, channel, name string }

func (k key) String() string { return k.locale + "/" + k.channel + "/" + k.name }

// entry is one parsed template file.
type entry struct {
	key    key
	text   *texttemplate.Template // every block
	html   *htmltemplate.Template // email only: the same file, for "html"
	fields []string               // Data fields referenced, sorted
}

// partsOf returns the blocks a channel's template must define.
func partsOf(channel string) []string {
	switch channel {
	case SMS:
		return []string{"body"}
	case Email:
		return []string{"subject", "text", "html"}
	case Push:
		return []string{"title", "body"}
	}
	return nil
}

// namePattern is what a locale or template name may hold: what the policy
// package allows in a template name, and nothing that could walk a path.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// newFromFS is New over any file system, so tests can feed it broken files.
func newFromFS(fsys fs.FS) (*Renderer, error) {
	r := &Renderer{set: make(map[key]*entry)}
	var errs []error
	err := fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		k, err := parsePath(p)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		e, err := compile(k, string(src))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			return nil
		}
		r.set[k] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	if len(r.set) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no template files found"))
	}
	errs = append(errs, r.checkComplete()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("templates: %w", errors.Join(errs...))
	}
	for k := range r.set {
		if !slices.Contains(r.locales, k.locale) {
			r.locales = append(r.locales, k.locale)
		}
	}
	slices.Sort(r.locales)
	return r, nil
}

// parsePath splits "<locale>/<channel>/<name>.tmpl".
func parsePath(p string) (key, error) {
	parts := strings.Split(p, "/")
	if len(parts) != 3 || path.Ext(p) != ".tmpl" {
		return key{}, fmt.Errorf("%s: not <locale>/<channel>/<name>.tmpl", p)
	}
	k := key{locale: parts[0], channel: parts[1], name: strings.TrimSuffix(parts[2], ".tmpl")}
	if partsOf(k.channel) == nil {
		return key{}, fmt.Errorf("%s: unknown channel %q (want sms, email or push)", p, k.channel)
	}
	if !namePattern.MatchString(k.locale) || !namePattern.MatchString(k.name) {
		return key{}, fmt.Errorf("%s: locale and name may hold only letters, digits, _ and -", p)
	}
	return k, nil
}

// checkComplete reports each channel/name pair that some locale has and
// another lacks.
func (r *Renderer) checkComplete() []error {
	locales := map[string]bool{}
	pairs := map[[2]string]bool{}
	for k := range r.set {
		locales[k.locale] = true
		pairs[[2]string{k.channel, k.name}] = true
	}
	var missing []string
	for l := range locales {
		for p := range pairs {
			if _, ok := r.set[key{l, p[0], p[1]}]; !ok {
				missing = append(missing, key{l, p[0], p[1]}.String()+".tmpl")
			}
		}
	}
	slices.Sort(missing)
	errs := make([]error, 0, len(missing))
	for _, m := range missing {
		errs = append(errs, fmt.Errorf("%s: missing (other locales have it)", m))
	}
	return errs
}

// funcs returns the template functions for a locale.
func funcs(locale string) map[string]any {
	return map[string]any{
		"money":   func(currency, amount string) string { return FormatMoney(locale, currency, amount) },
		"nonzero": nonzero,
		"plural":  plural,
	}
}

// compile parses and checks one template file.
func compile(k key, src string) (*entry, error) {
	e := &entry{key: k}
	var err error
	e.text, err = texttemplate.New(k.String()).Option("missingkey=error").Funcs(funcs(k.locale)).Parse(src)
	if err != nil {
		return nil, err
	}
	if root := e.text.Tree; root != nil && !parse.IsEmptyTree(root.Root) {
		return nil, errors.New(`text outside {{define}} blocks`)
	}
	for _, part := range partsOf(k.channel) {
		if t := e.text.Lookup(part); t == nil || t.Tree == nil || parse.IsEmptyTree(t.Tree.Root) {
			return nil, fmt.Errorf("missing or empty {{define %q}} (a %s template needs %s)",
				part, k.channel, strings.Join(partsOf(k.channel), ", "))
		}
	}
	if k.channel == Email {
		e.html, err = htmltemplate.New(k.String()).Option("missingkey=error").Funcs(funcs(k.locale)).Parse(src)
		if err != nil {
			return nil, err
		}
	}

	seen := map[string]bool{}
	for _, t := range e.text.Templates() {
		if t.Tree != nil {
			collectFields(t.Tree.Root, true, func(f string) { seen[f] = true })
		}
	}
	var unknown []string
	for f := range seen {
		if isDataField(f) {
			e.fields = append(e.fields, f)
		} else {
			unknown = append(unknown, "."+f)
		}
	}
	slices.Sort(e.fields)
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("unknown field %s (not in templates.Data)", strings.Join(unknown, ", "))
	}

	// A trial run with every field set catches what parsing cannot: wrong
	// function arguments, HTML that ends in a bad context, a block that
	// renders empty.
	if _, err := e.execute(sampleData().values()); err != nil {
		return nil, fmt.Errorf("trial render: %w", err)
	}
	return e, nil
}

// collectFields calls add with the name of every Data field n references:
// .Field where dot is the Data (dotIsData) and $.Field anywhere. Inside
// range and with, dot is something else, so only $.Field counts there.
func collectFields(n parse.Node, dotIsData bool, add func(string)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectFields(c, dotIsData, add)
		}
	case *parse.ActionNode:
		collectFields(n.Pipe, dotIsData, add)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			collectFields(c, dotIsData, add)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectFields(a, dotIsData, add)
		}
	case *parse.FieldNode:
		if dotIsData {
			add(n.Ident[0])
		}
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			add(n.Ident[1])
		}
	case *parse.ChainNode:
		collectFields(n.Node, dotIsData, add)
	case *parse.TemplateNode:
		collectFields(n.Pipe, dotIsData, add)
	case *parse.IfNode:
		collectFields(n.Pipe, dotIsData, add)
		collectFields(n.List, dotIsData, add)
		collectFields(n.ElseList, dotIsData, add)
	case *parse.RangeNode:
		collectFields(n.Pipe, dotIsData, add)
		collectFields(n.List, false, add)
		collectFields(n.ElseList, dotIsData, add)
	case *parse.WithNode:
		collectFields(n.Pipe, dotIsData, add)
		collectFields(n.List, false, add)
		collectFields(n.ElseList, dotIsData, add)
	}
}

// sampleData has every field set, for the trial render in compile.
func sampleData() Data {
	return Data{
		Brand: "Brand", Hotline: "400-000-0000", RepayURL: "https://example.com/repay",
		CustomerName: "Name", LoanRef: "****0001", Currency: "CNY", DueDate: "2026-12-01",
		DaysOverdue: 7, AmountDue: "1068.50", Principal: "1000.00", Interest: "45.00", Fee: "0.50",
		Penalty: "3.50", LateFee: "20.00", Outstanding: "2108.50", Paid: "100.00", InstallmentCount: 2,
	}
}

// Render renders template name of channel ch ("sms", "email" or "push") in
// locale with d. It fails with ErrNoTemplate when there is no such template,
// with ErrMissingData, naming the fields, when d lacks a field the template
// uses, and with ErrInvalidData, naming the fields, when a field of d is not
// valid UTF-8; each wrapped with the template's locale/channel/name.
func (r *Renderer) Render(locale string, ch string, name string, d Data) (Message, error) {
	k := key{locale, ch, name}
	e, ok := r.set[k]
	if !ok {
		switch {
		case !r.Has(locale):
			return Message{}, fmt.Errorf("render %s: locale %q: %w", k, locale, ErrNoTemplate)
		case partsOf(ch) == nil:
			return Message{}, fmt.Errorf("render %s: channel %q (want sms, email or push): %w", k, ch, ErrNoTemplate)
		default:
			return Message{}, fmt.Errorf("render %s: template name %q: %w", k, name, ErrNoTemplate)
		}
	}
	vals := d.values()
	var missing []string
	for _, f := range e.fields {
		if _, ok := vals[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return Message{}, fmt.Errorf("render %s: %w: %s", k, ErrMissingData, strings.Join(missing, ", "))
	}
	var invalid []string
	for f, v := range vals {
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			invalid = append(invalid, f)
		}
	}
	if len(invalid) > 0 {
		slices.Sort(invalid)
		return Message{}, fmt.Errorf("render %s: %w: %s", k, ErrInvalidData, strings.Join(invalid, ", "))
	}
	m, err := e.execute(vals)
	if err != nil {
		return Message{}, fmt.Errorf("render %s: %w", k, err)
	}
	return m, nil
}

// execute runs every block the channel needs and assembles the Message.
func (e *entry) execute(vals map[string]any) (Message, error) {
	var m Message
	for _, part := range partsOf(e.key.channel) {
		var b strings.Builder
		var err error
		if part == "html" {
			err = e.html.ExecuteTemplate(&b, part, vals)
		} else {
			err = e.text.ExecuteTemplate(&b, part, vals)
		}
		if err != nil {
			return Message{}, err
		}
		s := strings.TrimSpace(b.String())
		if s == "" {
			return Message{}, fmt.Errorf("block %q rendered empty", part)
		}
		switch part {
		case "subject":
			m.Subject = oneLine(s)
		case "text":
			m.Text = s
		case "html":
			m.HTML = s
		case "title":
			m.Title = oneLine(s)
		case "body":
			m.Body = oneLine(s)
		}
	}
	return m, nil
}

// oneLine folds every run of white space, line breaks included, into one
// space: subjects and titles must not break a header, and an SMS or push body
// is one paragraph.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Fields returns the Data fields the template references, sorted. Each must
// be set (a non-blank string, a positive number) for Render to succeed, so a
// caller can check a loan's data before a notice is due.
func (r *Renderer) Fields(locale string, ch string, name string) ([]string, error) {
	e, ok := r.set[key{locale, ch, name}]
	if !ok {
		return nil, fmt.Errorf("fields %s/%s/%s: %w", locale, ch, name, ErrNoTemplate)
	}
	return slices.Clone(e.fields), nil
}

// Has reports whether locale has templates (matched exactly, e.g. "zh-CN"),
// for loan validation: a loan whose customer's locale has none is refused.
func (r *Renderer) Has(locale string) bool {
	_, ok := slices.BinarySearch(r.locales, locale)
	return ok
}

// Locales returns the locales with templates, sorted, for error messages and
// listings.
func (r *Renderer) Locales() []string {
	return slices.Clone(r.locales)
}
