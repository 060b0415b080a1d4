package templates

import (
	"errors"
	"html"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

var locales = []string{"en", "zh-CN"}

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// typical is a realistic notice for name: one installment of 1000.00 +
// 45.00 due 2026-12-01, with the days overdue of the stage that sends it.
func typical(locale, name string) Data {
	d := Data{
		Brand: "安心借", Hotline: "400-820-1234", RepayURL: "https://m.anxinjie.cn/repay",
		CustomerName: "张伟", LoanRef: MaskLoanID("L-2026-0001"), Currency: "CNY", DueDate: "2026-12-01",
		AmountDue: "1068.50", Principal: "1000.00", Interest: "45.00", Fee: "0.00",
		Penalty: "3.50", LateFee: "20.00", Outstanding: "2108.50", Paid: "500.00", InstallmentCount: 1,
	}
	if locale == "en" {
		d.Brand, d.CustomerName = "AnXin", "Zhang Wei"
	}
	d.DaysOverdue = map[string]int{OverdueGentle: 3, OverdueFirm: 7, OverdueUrgent: 15,
		FinalNotice: 60, ChargedOff: 90}[name]
	if d.DaysOverdue == 0 {
		d.DaysOverdue = 1 // upcoming and friends do not use it
	}
	if name == Upcoming || name == DueToday {
		d.AmountDue, d.Penalty, d.LateFee = "1045.00", "0.00", "0.00"
	}
	return d
}

// heavy is a long notice: a long name, three coalesced installments, large
// amounts and two-digit days overdue. SMS must still fit its budget.
func heavy(locale, name string) Data {
	d := typical(locale, name)
	d.CustomerName = "欧阳娜娜"
	if locale == "en" {
		d.CustomerName = "Ouyang Nana"
	}
	d.InstallmentCount = 3
	d.DaysOverdue = max(d.DaysOverdue, 45)
	d.AmountDue, d.Principal, d.Interest = "12368.50", "11000.00", "1175.00"
	d.Penalty, d.LateFee = "153.50", "40.00"
	d.Outstanding, d.Paid = "36108.50", "5000.00"
	return d
}

// all is the whole rendered message, for content checks.
func all(m Message) string {
	return strings.Join([]string{m.Subject, m.Title, m.Body, m.Text, m.HTML}, "\n")
}

func TestFilesOnDisk(t *testing.T) {
	want := map[string]bool{}
	for _, l := range locales {
		for _, ch := range Channels() {
			for _, n := range Names() {
				want[l+"/"+ch+"/"+n+".tmpl"] = true
			}
		}
	}
	if len(want) != 54 {
		t.Fatalf("expected set has %d files, want 54", len(want))
	}
	got := map[string]bool{}
	err := fs.WalkDir(os.DirFS("."), ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		if strings.HasPrefix(p, "testdata/") {
			return nil // the fuzz corpus, not templates
		}
		got[p] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range want {
		if !got[p] {
			t.Errorf("missing template file %s", p)
		}
	}
	for p := range got {
		if !want[p] {
			t.Errorf("unexpected file %s (not locale × channel × name)", p)
		}
	}
	r := newRenderer(t)
	if len(r.set) != len(want) {
		t.Errorf("New loaded %d templates, want %d", len(r.set), len(want))
	}
	for k := range r.set {
		if !want[k.String()+".tmpl"] {
			t.Errorf("embedded unexpected %s", k)
		}
	}
}

func TestLocales(t *testing.T) {
	r := newRenderer(t)
	if got := r.Locales(); !slices.Equal(got, locales) {
		t.Errorf("Locales = %v, want %v", got, locales)
	}
	r.Locales()[0] = "xx"
	if r.Locales()[0] != "en" {
		t.Error("Locales exposes internal state")
	}
	for _, tt := range []struct {
		locale string
		want   bool
	}{{"zh-CN", true}, {"en", true}, {"zh-cn", false}, {"fr", false}, {"", false}} {
		if got := r.Has(tt.locale); got != tt.want {
			t.Errorf("Has(%q) = %v, want %v", tt.locale, got, tt.want)
		}
	}
}

// TestRenderAll renders every shipped template with typical and heavy data
// and checks what each channel must carry.
func TestRenderAll(t *testing.T) {
	r := newRenderer(t)
	for _, l := range locales {
		for _, ch := range Channels() {
			for _, n := range Names() {
				for _, data := range []struct {
					kind string
					d    Data
				}{{"typical", typical(l, n)}, {"heavy", heavy(l, n)}} {
					t.Run(l+"/"+ch+"/"+n+"/"+data.kind, func(t *testing.T) {
						m, err := r.Render(l, ch, n, data.d)
						if err != nil {
							t.Fatal(err)
						}
						checkMessage(t, r, l, ch, n, data.d, m)
					})
				}
			}
		}
	}
}

func checkMessage(t *testing.T, r *Renderer, l, ch, n string, d Data, m Message) {
	t.Helper()
	switch ch {
	case SMS:
		if m.Body == "" || m.Subject+m.Text+m.HTML+m.Title != "" {
			t.Errorf("SMS wants only Body: %+v", m)
		}
		limit := 2
		if n == FinalNotice {
			limit = 3
		}
		seg, enc := Segments(m.Body)
		if seg > limit {
			t.Errorf("SMS is %d %s segments, budget %d: %s", seg, enc, limit, m.Body)
		}
		if l == "zh-CN" && !strings.HasPrefix(m.Body, "【"+d.Brand+"】") {
			t.Errorf("zh-CN SMS must start with 【%s】: %s", d.Brand, m.Body)
		}
		if l == "en" && enc != EncodingGSM7 {
			t.Errorf("en SMS with a Latin name should be GSM-7, is %s: %s", enc, m.Body)
		}
		if strings.ContainsAny(m.Body, "\r\n") {
			t.Errorf("SMS body spans lines: %q", m.Body)
		}
	case Email:
		if m.Subject == "" || m.Text == "" || m.HTML == "" || m.Title+m.Body != "" {
			t.Errorf("email wants Subject, Text and HTML only: %+v", m)
		}
		if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") || !strings.HasSuffix(m.HTML, "</html>") {
			t.Errorf("HTML is not a whole document: %.80s…", m.HTML)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("subject spans lines: %q", m.Subject)
		}
		if !strings.Contains(m.Text, d.Hotline) || !strings.Contains(m.HTML, d.Hotline) {
			t.Error("email lacks the hotline")
		}
		optOut := map[string]string{"zh-CN": "退订", "en": "To stop receiving"}[l]
		if !strings.Contains(m.Text, optOut) || !strings.Contains(m.HTML, optOut) {
			t.Errorf("email lacks the opt-out hint %q", optOut)
		}
	case Push:
		if m.Title == "" || m.Body == "" || m.Subject+m.Text+m.HTML != "" {
			t.Errorf("push wants Title and Body only: %+v", m)
		}
	}

	// Every field the template uses shows up in what it renders: in the
	// plain part and, escaped, in the HTML part.
	fields, err := r.Fields(l, ch, n)
	if err != nil {
		t.Fatal(err)
	}
	vals := d.values()
	plain := all(Message{Subject: m.Subject, Title: m.Title, Body: m.Body, Text: m.Text})
	for _, f := range fields {
		if f == "Currency" {
			continue // shown as 元 or the code, checked below
		}
		var v string
		switch x := vals[f].(type) {
		case string:
			v = x
		case int:
			v = strconv.Itoa(x)
		}
		if f == "InstallmentCount" && d.InstallmentCount == 1 {
			continue // "1 installment" is not worth saying
		}
		if (f == "Penalty" || f == "LateFee") && !nonzero(v) {
			continue // a zero penalty is left out of SMS and push
		}
		if !strings.Contains(plain, v) {
			t.Errorf("%s %q does not appear in %s", f, v, plain)
		}
		if m.HTML != "" && !strings.Contains(m.HTML, html.EscapeString(v)) {
			t.Errorf("%s %q does not appear in the HTML", f, v)
		}
	}
	if slices.Contains(fields, "AmountDue") && l == "zh-CN" && !strings.Contains(plain, d.AmountDue+"元") {
		t.Errorf("zh-CN amount not shown as %s元", d.AmountDue)
	}

	// Never threaten or shame. (The HTML part repeats the text, and its CSS
	// says font-family.)
	lower := strings.ToLower(plain)
	for _, w := range []string{"警察", "公安", "报警", "拘留", "坐牢", "刑事", "家人", "亲友", "通讯录", "工作单位",
		"曝光", "黑名单", "上门", "police", "arrest", "jail", "prison", "criminal", "family", "friends",
		"relatives", "employer", "neighbo", "expose", "public", "blacklist", "shame"} {
		if strings.Contains(lower, w) {
			t.Errorf("message contains %q", w)
		}
	}
}

// TestContent checks that each template carries what the borrower needs at
// its stage, through the fields it references.
func TestContent(t *testing.T) {
	r := newRenderer(t)
	overdue := []string{OverdueGentle, OverdueFirm, OverdueUrgent, FinalNotice}
	ladder := append([]string{Upcoming, DueToday, ChargedOff}, overdue...)
	for _, l := range locales {
		for _, ch := range Channels() {
			for _, n := range Names() {
				fields, err := r.Fields(l, ch, n)
				if err != nil {
					t.Fatal(err)
				}
				need := []string{"Brand", "LoanRef", "Currency"}
				if slices.Contains(ladder, n) && ch != Push {
					need = append(need, "CustomerName", "RepayURL", "Hotline")
				}
				switch {
				case n == Upcoming || n == DueToday:
					need = append(need, "AmountDue")
					if ch != Push || n == Upcoming {
						need = append(need, "DueDate")
					}
				case slices.Contains(overdue, n):
					need = append(need, "AmountDue", "DaysOverdue", "Penalty", "LateFee")
					if ch != Push {
						need = append(need, "InstallmentCount")
					}
				case n == ChargedOff:
					need = append(need, "Outstanding")
				case n == PaymentReceived:
					need = append(need, "Paid", "Outstanding", "AmountDue")
				case n == PaidOff:
					need = append(need, "Paid")
				}
				if ch == Email && (slices.Contains(overdue, n) || n == ChargedOff) {
					need = append(need, "Principal", "Interest", "Fee", "Penalty", "LateFee", "AmountDue", "Outstanding", "DueDate")
				}
				for _, f := range need {
					if !slices.Contains(fields, f) {
						t.Errorf("%s/%s/%s does not show %s (uses %v)", l, ch, n, f, fields)
					}
				}
				// The caller fills Data the same way whatever the language.
				if other, _ := r.Fields(locales[0], ch, n); !slices.Equal(fields, other) {
					t.Errorf("%s/%s/%s uses %v but %s uses %v", l, ch, n, fields, locales[0], other)
				}
			}
		}
	}
}

// TestTone checks the words that mark each stage, so the ladder escalates.
func TestTone(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		locale, name string
		want         []string
	}{
		{"zh-CN", Upcoming, []string{"将于", "到期"}},
		{"zh-CN", DueToday, []string{"今日", "到期"}},
		{"zh-CN", OverdueGentle, []string{"一时疏忽"}},
		{"zh-CN", OverdueFirm, []string{"罚息", "征信"}},
		{"zh-CN", OverdueUrgent, []string{"贷后", "立即还款"}},
		{"zh-CN", FinalNotice, []string{"最后通知", "核销", "仍需偿还", "协商"}},
		{"zh-CN", ChargedOff, []string{"核销", "停止计收", "仍需偿还"}},
		{"zh-CN", PaymentReceived, []string{"已收到", "剩余待还"}},
		{"zh-CN", PaidOff, []string{"全部结清", "感谢"}},
		{"en", Upcoming, []string{"friendly reminder", "is due on"}},
		{"en", DueToday, []string{"due today"}},
		{"en", OverdueGentle, []string{"slipped your mind"}},
		{"en", OverdueFirm, []string{"Penalty interest accrues", "credit record"}},
		{"en", OverdueUrgent, []string{"collections team", "credit record"}},
		{"en", FinalNotice, []string{"final notice", "charged off", "remains payable"}},
		{"en", ChargedOff, []string{"charged off", "still payable"}},
		{"en", PaymentReceived, []string{"received", "Still to pay"}},
		{"en", PaidOff, []string{"fully paid off", "Thank you"}},
	}
	for _, tt := range tests {
		m, err := r.Render(tt.locale, SMS, tt.name, typical(tt.locale, tt.name))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(m.Body, w) {
				t.Errorf("%s sms %s lacks %q: %s", tt.locale, tt.name, w, m.Body)
			}
		}
	}
}

func TestRenderVariants(t *testing.T) {
	r := newRenderer(t)
	render := func(l, ch, n string, d Data) Message {
		t.Helper()
		m, err := r.Render(l, ch, n, d)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	// Within grace nothing is owed for lateness: no "penalty 0.00".
	d := typical("zh-CN", OverdueGentle)
	d.Penalty, d.LateFee, d.AmountDue = "0.00", "0.00", "1045.00"
	if m := render("zh-CN", SMS, OverdueGentle, d); strings.Contains(m.Body, "罚息") {
		t.Errorf("zero penalty shown: %s", m.Body)
	}
	d = typical("en", OverdueGentle)
	d.Penalty, d.LateFee = "0.00", "0.00"
	if m := render("en", Push, OverdueGentle, d); strings.Contains(m.Body, "penalty") {
		t.Errorf("zero penalty shown: %s", m.Body)
	}

	// A coalesced notice says how many installments it covers.
	d = typical("zh-CN", OverdueFirm)
	d.InstallmentCount = 3
	if m := render("zh-CN", SMS, OverdueFirm, d); !strings.Contains(m.Body, "（共3期）") {
		t.Errorf("coalesced count missing: %s", m.Body)
	}
	d = typical("en", OverdueFirm)
	d.InstallmentCount = 3
	if m := render("en", Email, OverdueFirm, d); !strings.Contains(m.Text, "3 installments") {
		t.Errorf("coalesced count missing: %s", m.Text)
	}

	// One day is singular.
	d = typical("en", OverdueGentle)
	d.DaysOverdue = 1
	if m := render("en", SMS, OverdueGentle, d); !strings.Contains(m.Body, "1 day overdue") {
		t.Errorf("want 1 day overdue: %s", m.Body)
	}

	// A repayment that clears everything overdue says nothing is overdue.
	for _, l := range locales {
		d = typical(l, PaymentReceived)
		d.AmountDue = "0.00"
		m := render(l, SMS, PaymentReceived, d)
		if strings.Contains(m.Body, "逾期") || strings.Contains(m.Body, "overdue") {
			t.Errorf("%s: nothing overdue but says so: %s", l, m.Body)
		}
		m = render(l, Email, PaymentReceived, d)
		if want := map[string]string{"zh-CN": "没有逾期款项", "en": "Nothing is overdue"}[l]; !strings.Contains(m.Text, want) {
			t.Errorf("%s: want %q in %s", l, want, m.Text)
		}
	}
}

func TestHTMLEscaping(t *testing.T) {
	r := newRenderer(t)
	for _, l := range locales {
		for _, n := range Names() {
			d := typical(l, n)
			d.CustomerName = "<b>Bob & Co</b>"
			d.RepayURL = "javascript:alert(1)"
			m, err := r.Render(l, Email, n, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.HTML, "&lt;b&gt;Bob &amp; Co&lt;/b&gt;") || strings.Contains(m.HTML, "<b>Bob") {
				t.Errorf("%s/%s: name not escaped in HTML", l, n)
			}
			if !strings.Contains(m.Text, "<b>Bob & Co</b>") {
				t.Errorf("%s/%s: plain text should carry the name as is", l, n)
			}
			if strings.Contains(m.HTML, `href="javascript`) {
				t.Errorf("%s/%s: javascript URL in href", l, n)
			}
		}
	}
}

func TestOneLine(t *testing.T) {
	r := newRenderer(t)
	d := typical("en", OverdueFirm)
	d.Brand = "AnXin\r\nBcc: victim@example.com"
	d.CustomerName = "Zhang\n\nWei"
	for _, ch := range Channels() {
		m, err := r.Render("en", ch, OverdueFirm, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{m.Subject, m.Title, m.Body} {
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("%s: line break survived: %q", ch, s)
			}
		}
	}
}

func TestMissingData(t *testing.T) {
	r := newRenderer(t)
	for _, l := range locales {
		for _, ch := range Channels() {
			for _, n := range Names() {
				_, err := r.Render(l, ch, n, Data{})
				if !errors.Is(err, ErrMissingData) || !strings.Contains(err.Error(), "Brand") {
					t.Errorf("%s/%s/%s with no data: err = %v, want ErrMissingData naming Brand", l, ch, n, err)
				}
			}
		}
	}
	tests := []struct {
		name   string
		change func(*Data)
		want   string
	}{
		{"no penalty", func(d *Data) { d.Penalty = "" }, "Penalty"},
		{"blank name", func(d *Data) { d.CustomerName = " \t" }, "CustomerName"},
		{"zero days overdue", func(d *Data) { d.DaysOverdue = 0 }, "DaysOverdue"},
		{"no installment count", func(d *Data) { d.InstallmentCount = 0 }, "InstallmentCount"},
		{"two missing", func(d *Data) { d.RepayURL, d.Hotline = "", "" }, "Hotline, RepayURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := typical("zh-CN", OverdueFirm)
			tt.change(&d)
			_, err := r.Render("zh-CN", SMS, OverdueFirm, d)
			if !errors.Is(err, ErrMissingData) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "zh-CN/sms/overdue_firm") {
				t.Errorf("err = %v, want ErrMissingData naming %s and the template", err, tt.want)
			}
		})
	}
	// A field the template does not use may be empty.
	d := typical("zh-CN", PaidOff)
	d.Penalty, d.DueDate, d.DaysOverdue = "", "", 0
	if _, err := r.Render("zh-CN", SMS, PaidOff, d); err != nil {
		t.Errorf("paid_off needs no penalty or due date: %v", err)
	}
}

// TestInvalidData: a field that is not valid UTF-8 is refused, named and
// not quoted, instead of reaching the borrower garbled (found by FuzzRender:
// a Latin-1 byte in a field went through to the SMS body).
func TestInvalidData(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		name   string
		change func(*Data)
		want   string
	}{
		{"Latin-1 name (fuzz)", func(d *Data) { d.CustomerName = "M\xfcller" }, "CustomerName"},
		{"cut multi-byte brand", func(d *Data) { d.Brand = "安心\xe5" }, "Brand"},
		{"two fields", func(d *Data) { d.Hotline, d.AmountDue = "\xc5", "1\xff" }, "AmountDue, Hotline"},
		{"a field the template does not use", func(d *Data) { d.Paid = "\xc5" }, "Paid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := typical("en", OverdueFirm)
			tt.change(&d)
			_, err := r.Render("en", SMS, OverdueFirm, d)
			if !errors.Is(err, ErrInvalidData) || !strings.HasSuffix(err.Error(), ": "+tt.want) ||
				!strings.Contains(err.Error(), "en/sms/overdue_firm") {
				t.Errorf("err = %v, want ErrInvalidData naming %s and the template", err, tt.want)
			}
		})
	}
}

func TestNoTemplate(t *testing.T) {
	r := newRenderer(t)
	tests := []struct{ locale, ch, name, want string }{
		{"fr", SMS, OverdueFirm, `locale "fr"`},
		{"zh-cn", SMS, OverdueFirm, `locale "zh-cn"`},
		{"zh-CN", "fax", OverdueFirm, `channel "fax"`},
		{"zh-CN", SMS, "overdue_extreme", `template name "overdue_extreme"`},
		{"en", Email, "", `template name ""`},
	}
	for _, tt := range tests {
		_, err := r.Render(tt.locale, tt.ch, tt.name, typical("en", OverdueFirm))
		if !errors.Is(err, ErrNoTemplate) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Render(%q, %q, %q) err = %v, want ErrNoTemplate mentioning %s", tt.locale, tt.ch, tt.name, err, tt.want)
		}
		if _, err := r.Fields(tt.locale, tt.ch, tt.name); !errors.Is(err, ErrNoTemplate) {
			t.Errorf("Fields(%q, %q, %q) err = %v, want ErrNoTemplate", tt.locale, tt.ch, tt.name, err)
		}
	}
}

func TestFields(t *testing.T) {
	r := newRenderer(t)
	got, err := r.Fields("zh-CN", SMS, PaidOff)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Brand", "Currency", "CustomerName", "LoanRef", "Paid"}
	if !slices.Equal(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
	got[0] = "changed"
	if again, _ := r.Fields("zh-CN", SMS, PaidOff); again[0] != "Brand" {
		t.Error("Fields exposes internal state")
	}
}

func TestConcurrentRender(t *testing.T) {
	r := newRenderer(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := locales[i%2]
			for _, n := range Names() {
				if _, err := r.Render(l, Email, n, typical(l, n)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// newTest builds a renderer from files given as path → source.
func newTest(files map[string]string) (*Renderer, error) {
	fsys := fstest.MapFS{}
	for p, src := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(src)}
	}
	return newFromFS(fsys)
}

const (
	okSMS   = `{{define "body"}}Hi {{.CustomerName}}{{end}}`
	okPush  = `{{define "title"}}T {{.Brand}}{{end}}{{define "body"}}B{{end}}`
	okEmail = `{{/* comment */}}
{{define "subject"}}S{{end}}
{{define "text"}}Dear {{.CustomerName}}{{end}}
{{define "html"}}<p>Dear {{.CustomerName}}</p>{{end}}`
)

func TestNewFromFS(t *testing.T) {
	r, err := newTest(map[string]string{"en/sms/a.tmpl": okSMS, "en/push/a.tmpl": okPush, "en/email/a.tmpl": okEmail,
		"fr/sms/a.tmpl": okSMS, "fr/push/a.tmpl": okPush, "fr/email/a.tmpl": okEmail})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Locales(); !slices.Equal(got, []string{"en", "fr"}) {
		t.Errorf("Locales = %v", got)
	}
	m, err := r.Render("fr", Email, "a", Data{CustomerName: "<i>"})
	if err != nil || m.Subject != "S" || m.Text != "Dear <i>" || m.HTML != "<p>Dear &lt;i&gt;</p>" {
		t.Errorf("Render = %+v, %v", m, err)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // all must appear in the error
	}{
		{"no files", map[string]string{}, []string{"no template files"}},
		{"wrong depth", map[string]string{"en/a.tmpl": okSMS}, []string{"en/a.tmpl", "<locale>/<channel>/<name>.tmpl"}},
		{"wrong extension", map[string]string{"en/sms/a.txt": okSMS}, []string{"en/sms/a.txt"}},
		{"unknown channel", map[string]string{"en/fax/a.tmpl": okSMS}, []string{"en/fax/a.tmpl", `unknown channel "fax"`}},
		{"bad name", map[string]string{"en/sms/a b.tmpl": okSMS}, []string{"en/sms/a b.tmpl", "letters, digits"}},
		{"parse error", map[string]string{"en/sms/a.tmpl": `{{define "body"}}{{.CustomerName}{{end}}`}, []string{"en/sms/a.tmpl"}},
		{"stray text", map[string]string{"en/sms/a.tmpl": `Hello {{define "body"}}x{{end}}`}, []string{"en/sms/a.tmpl", "outside {{define}}"}},
		{"missing block", map[string]string{"en/push/a.tmpl": `{{define "body"}}x{{end}}`}, []string{"en/push/a.tmpl", `{{define "title"}}`}},
		{"empty block", map[string]string{"en/sms/a.tmpl": `{{define "body"}}  {{end}}`}, []string{"en/sms/a.tmpl", `{{define "body"}}`}},
		{"email without html", map[string]string{"en/email/a.tmpl": `{{define "subject"}}s{{end}}{{define "text"}}t{{end}}`}, []string{`{{define "html"}}`}},
		{"unknown field", map[string]string{"en/sms/a.tmpl": `{{define "body"}}{{.Amount}} {{.Ref}}{{end}}`}, []string{"en/sms/a.tmpl", "unknown field .Amount, .Ref"}},
		{"bad function call", map[string]string{"en/sms/a.tmpl": `{{define "body"}}{{money .Currency}}{{end}}`}, []string{"en/sms/a.tmpl", "trial render"}},
		{"renders empty", map[string]string{"en/sms/a.tmpl": `{{define "body"}}{{if gt .DaysOverdue 999}}x{{end}}{{end}}`}, []string{"en/sms/a.tmpl", "rendered empty"}},
		{"html parse error", map[string]string{"en/email/a.tmpl": `{{define "subject"}}s{{end}}{{define "text"}}t{{end}}{{define "html"}}{{.Brand}{{end}}`}, []string{"en/email/a.tmpl"}},
		{"html bad context", map[string]string{"en/email/a.tmpl": `{{define "subject"}}s{{end}}{{define "text"}}t{{end}}{{define "html"}}<a href="{{.RepayURL}}{{end}}`}, []string{"en/email/a.tmpl", "trial render"}},
		{"locale incomplete", map[string]string{"en/sms/a.tmpl": okSMS, "en/sms/b.tmpl": okSMS, "fr/sms/a.tmpl": okSMS, "fr/push/a.tmpl": okPush},
			[]string{"en/push/a.tmpl: missing", "fr/sms/b.tmpl: missing"}},
		{"every bad file listed", map[string]string{"en/sms/a.tmpl": `{{.X}`, "en/sms/b.tmpl": `{{define "body"}}{{.Nope}}{{end}}`}, []string{"en/sms/a.tmpl", "en/sms/b.tmpl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := newTest(tt.files)
			if err == nil {
				t.Fatalf("newFromFS succeeded with %v", r.Locales())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestFieldsAnalysis(t *testing.T) {
	src := `{{define "body"}}{{with .CustomerName}}{{.}} {{$.Brand}}{{else}}{{.Hotline}}{{end}}` +
		`{{range $i := .InstallmentCount}}{{.}}{{$.Currency}}{{end}}{{template "ref" .}}{{(.DueDate)}}{{end}}` +
		`{{define "ref"}}{{.LoanRef}}{{end}}`
	r, err := newTest(map[string]string{"en/sms/a.tmpl": src})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := r.Fields("en", SMS, "a")
	want := []string{"Brand", "Currency", "CustomerName", "DueDate", "Hotline", "InstallmentCount", "LoanRef"}
	if !slices.Equal(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

// A block can render empty only through data the trial render does not
// use; Render reports it rather than sending an empty message.
func TestRenderEmptyBlock(t *testing.T) {
	r, err := newTest(map[string]string{"en/sms/a.tmpl": `{{define "body"}}{{if nonzero .Penalty}}{{.Penalty}}{{end}}{{end}}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render("en", SMS, "a", Data{Penalty: "0.00"}); err == nil || !strings.Contains(err.Error(), "rendered empty") {
		t.Errorf("err = %v, want rendered empty", err)
	}
}

func TestDataParams(t *testing.T) {
	d := Data{CustomerName: "张伟", AmountDue: "1068.50", DaysOverdue: 7, LoanRef: "****0001", Penalty: " "}
	got := d.Params()
	want := map[string]string{"customer_name": "张伟", "amount_due": "1068.50", "days_overdue": "7", "loan_ref": "****0001"}
	if len(got) != len(want) {
		t.Fatalf("Params = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Params[%s] = %q, want %q", k, got[k], v)
		}
	}
}
