package templates

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRender renders every template (which picks locale, channel and name)
// with fuzzed Data: names, amounts, dates, counts. Run it for 30 s with
//
//	go test -run '^$' -fuzz '^FuzzRender$' -fuzztime 30s ./templates/
//
// or with make fuzz. It checks that Render
//   - never panics;
//   - leaves no hole: it fails with ErrMissingData, naming exactly the fields
//     the template references that are unset (blank string, number not
//     positive), when there are any, and otherwise succeeds: complete data
//     always renders;
//   - fills every block of the channel, with no "<no value>" in any;
//   - keeps subject, title and SMS and push bodies on one line;
//   - refuses (ErrInvalidData) a field that is not valid UTF-8, and writes
//     valid UTF-8;
//   - never puts a value holding "<" into the HTML part unescaped.
func FuzzRender(f *testing.F) {
	for i, name := range Names() {
		for _, locale := range locales {
			d := typical(locale, name)
			if i%2 == 1 {
				d = heavy(locale, name)
			}
			f.Add(uint16(i*6), d.Brand, d.Hotline, d.RepayURL, d.CustomerName, d.LoanRef, d.Currency, d.DueDate, d.DaysOverdue,
				d.AmountDue, d.Principal, d.Interest, d.Fee, d.Penalty, d.LateFee, d.Outstanding, d.Paid, d.InstallmentCount)
		}
	}
	f.Add(uint16(1), "<b>Bank & Co</b>", "400\u2028820", "javascript:alert(1)", "  Zhang\r\nBcc: x@y  ", "****0001", "JPY", "2026-12-01", 1,
		"0", "-0.0", "1e3", "0.00", "0", "0", "", "", -1)
	f.Add(uint16(7), "", " ", "\t", "\u00a0", "", "", "", 0, "", "", "", "", "", "", "", "", 0)
	f.Add(uint16(53), "B", "H", "U", "N", "R", "C", "D", 1<<62, "1", "1", "1", "1", "1", "1", "1", "1", 1<<62)

	r, err := New()
	if err != nil {
		f.Fatal(err)
	}
	type pick struct{ locale, channel, name string }
	var picks []pick
	for _, locale := range r.Locales() {
		for _, ch := range Channels() {
			for _, name := range Names() {
				picks = append(picks, pick{locale, ch, name})
			}
		}
	}

	f.Fuzz(func(t *testing.T, which uint16, brand, hotline, repayURL, customerName, loanRef, currency, dueDate string, daysOverdue int,
		amountDue, principal, interest, fee, penalty, lateFee, outstanding, paid string, installmentCount int) {
		p := picks[int(which)%len(picks)]
		d := Data{Brand: brand, Hotline: hotline, RepayURL: repayURL, CustomerName: customerName, LoanRef: loanRef,
			Currency: currency, DueDate: dueDate, DaysOverdue: daysOverdue, AmountDue: amountDue, Principal: principal,
			Interest: interest, Fee: fee, Penalty: penalty, LateFee: lateFee, Outstanding: outstanding, Paid: paid,
			InstallmentCount: installmentCount}
		fields, err := r.Fields(p.locale, p.channel, p.name)
		if err != nil {
			t.Fatalf("Fields(%v): %v", p, err)
		}
		var unset []string
		v := reflect.ValueOf(d)
		for _, f := range fields {
			switch x := v.FieldByName(f); x.Kind() {
			case reflect.String:
				if strings.TrimSpace(x.String()) == "" {
					unset = append(unset, f)
				}
			case reflect.Int:
				if x.Int() <= 0 {
					unset = append(unset, f)
				}
			}
		}

		m, err := r.Render(p.locale, p.channel, p.name, d)
		if len(unset) > 0 {
			if !errors.Is(err, ErrMissingData) {
				t.Fatalf("%v with %q unset: error %v, want ErrMissingData", p, unset, err)
			}
			if !strings.HasSuffix(err.Error(), ": "+strings.Join(unset, ", ")) {
				t.Fatalf("%v: error %q does not name exactly the unset fields %q", p, err, unset)
			}
			return
		}
		invalid := false
		for i := range v.NumField() {
			if s, ok := v.Field(i).Interface().(string); ok && strings.TrimSpace(s) != "" && !utf8.ValidString(s) {
				invalid = true
			}
		}
		if invalid {
			if !errors.Is(err, ErrInvalidData) {
				t.Fatalf("%v with a field that is not UTF-8: error %v, want ErrInvalidData", p, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%v with every field it uses (%q) set: %v", p, fields, err)
		}

		parts := map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML, "title": m.Title, "body": m.Body}
		for name, s := range parts {
			need := slices.Contains(partsOf(p.channel), name)
			switch {
			case need && strings.TrimSpace(s) == "":
				t.Fatalf("%v: block %s rendered empty", p, name)
			case !need && s != "":
				t.Fatalf("%v: block %s is not part of a %s message but holds %q", p, name, p.channel, s)
			case strings.Contains(s, "<no value>"):
				t.Fatalf("%v: block %s has a hole: %q", p, name, s)
			case !utf8.ValidString(s):
				t.Fatalf("%v: block %s is not valid UTF-8: %q", p, name, s)
			case (name == "subject" || name == "title" || name == "body") && strings.ContainsAny(s, "\r\n"):
				t.Fatalf("%v: block %s breaks a line: %q", p, name, s)
			}
		}
		if m.HTML == "" {
			return
		}
		// A value holding "<" appears in the HTML only where the template
		// itself has that text: rendered with the field set to something
		// else, the HTML still holds it.
		for i := range v.NumField() {
			s, ok := v.Field(i).Interface().(string)
			if !ok || !strings.Contains(s, "<") || !strings.Contains(m.HTML, s) {
				continue
			}
			other := d
			reflect.ValueOf(&other).Elem().Field(i).SetString("x")
			m2, err := r.Render(p.locale, p.channel, p.name, other)
			if err != nil {
				t.Fatalf("%v with %s changed: %v", p, v.Type().Field(i).Name, err)
			}
			if !strings.Contains(m2.HTML, s) {
				t.Fatalf("%v: %s %q is in the HTML unescaped", p, v.Type().Field(i).Name, s)
			}
		}
	})
}
