package preview

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"dunning/policy"
)

// localFormat is how the table and the page write a time: local date and
// time and the zone's abbreviation.
const localFormat = "2006-01-02 15:04 MST"

// WriteTable writes the timeline as a table for a terminal: one row per
// point and per repayment in time order, each point followed by its
// messages (the SMS text with its segments, the email subject, the push
// title and body), then the rungs that were not sent, how the loan ended and
// the totals.
func (t *Timeline) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Preview of loan %s under policy %s · %s · %s · %s\n", t.LoanID, t.Policy, t.Currency, t.TimeZone, t.Locale)
	fmt.Fprintf(&b, "from %s to %s at %s (%d workflow run%s; nothing was sent)\n\n",
		t.Start.Format(localFormat), t.End.State, t.End.At.Format(localFormat), t.Runs, plural(t.Runs))

	header := []string{"WHEN (LOCAL)", "OFFSET", "TEMPLATE", "CHANNELS", "SKIPPED", "ACTION", "DPD", "OVERDUE", "PENALTY", "LATE FEE", "TOTAL"}
	right := map[int]bool{6: true, 7: true, 8: true, 9: true, 10: true}
	type row struct {
		cells []string
		extra []string // lines under the row
	}
	var rows []row
	type item struct {
		at  time.Time
		row row
	}
	var items []item
	for _, p := range t.Points {
		skipped := "-"
		if len(p.Skipped)+len(p.Failed) > 0 {
			var s []string
			for _, k := range p.Skipped {
				s = append(s, string(k.Channel)+":"+k.Reason)
			}
			for _, k := range p.Failed {
				s = append(s, string(k.Channel)+":failed")
			}
			skipped = strings.Join(s, ",")
		}
		chans := "-"
		if len(p.Channels) > 0 {
			chans = joinChannels(p.Channels)
		}
		b := p.Balance
		r := row{cells: []string{p.At.Format(localFormat), offset(p.Offset), p.Template, chans, skipped,
			dash(p.Action), fmt.Sprint(b.DaysPastDue), b.Overdue, b.Penalty, b.LateFee, b.Total}}
		for _, m := range p.Message {
			r.extra = append(r.extra, "    "+messageLine(m))
		}
		for _, f := range p.Failed {
			r.extra = append(r.extra, fmt.Sprintf("    %s not sent: %s", f.Channel, f.Reason))
		}
		items = append(items, item{p.At, r})
	}
	for _, r := range t.Repayments {
		cells := []string{r.At.Format(localFormat), "", "repayment", r.Amount + " " + t.Currency, "-", "-", "", "", "", "", ""}
		var extra []string
		if r.Applied {
			if len(r.Allocation) > 0 {
				if d, err := policy.ParseDate(t.dueDate(r.Allocation[0].Seq)); err == nil {
					cells[1] = offset(policy.LocalDate(r.At, t.loc).DaysSince(d))
				}
			}
			b := r.Balance
			cells[6], cells[7], cells[8], cells[9], cells[10] = fmt.Sprint(b.DaysPastDue), b.Overdue, b.Penalty, b.LateFee, b.Total
			for _, a := range r.Allocation {
				extra = append(extra, fmt.Sprintf("    paid to installment %d: penalty %s, late fee %s, interest %s, fee %s, principal %s",
					a.Seq, a.Penalty, a.LateFee, a.Interest, a.Fee, a.Principal))
			}
			if r.Credit != "" && strings.Trim(r.Credit, "0.") != "" {
				extra = append(extra, "    kept as credit: "+r.Credit)
			}
		} else {
			extra = append(extra, "    not applied: "+r.Error)
		}
		items = append(items, item{r.At, row{cells: cells, extra: extra}})
	}
	// A repayment sorts before the confirmation it causes (same instant).
	slices.SortStableFunc(items, func(a, b item) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(repaymentFirst(a.row.cells), repaymentFirst(b.row.cells))
	})
	for _, it := range items {
		rows = append(rows, it.row)
	}

	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = width(h)
	}
	for _, r := range rows {
		for i, c := range r.cells {
			widths[i] = max(widths[i], width(c))
		}
	}
	line := func(cells []string) {
		var parts []string
		for i, c := range cells {
			pad := strings.Repeat(" ", max(widths[i]-width(c), 0))
			if right[i] {
				parts = append(parts, pad+c)
			} else {
				parts = append(parts, c+pad)
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "  "), " ") + "\n")
	}
	line(header)
	for _, r := range rows {
		line(r.cells)
		for _, x := range r.extra {
			b.WriteString(x + "\n")
		}
	}

	if len(t.NotSent) > 0 {
		b.WriteString("\nRungs not sent:\n")
		for _, n := range t.NotSent {
			fmt.Fprintf(&b, "  %s  installment %d %s %s: %s\n", n.Date, n.Seq, offset(n.Offset), n.Template, notSentWhy(n.Reason))
		}
	}
	fmt.Fprintf(&b, "\nEnd: %s at %s\n", t.End.State, t.End.At.Format(localFormat))
	tot := t.Totals
	var per []string
	for _, ch := range policy.AllChannels {
		per = append(per, fmt.Sprintf("%s %d", ch, tot.Notices[ch]))
	}
	fmt.Fprintf(&b, "Notices sent: %s; SMS segments %d\n", strings.Join(per, ", "), tot.SMSSegments)
	fmt.Fprintf(&b, "Penalty posted %s, paid %s; late fees posted %s, paid %s; repaid %s %s\n",
		tot.PenaltyPosted, tot.PenaltyPaid, tot.LateFeePosted, tot.LateFeePaid, t.Currency, tot.Paid)
	_, err := io.WriteString(w, b.String())
	return err
}

func repaymentFirst(cells []string) int {
	if cells[2] == "repayment" {
		return 0
	}
	return 1
}

// messageLine is one message of a point, on one line.
func messageLine(m Message) string {
	switch m.Channel {
	case policy.SMS:
		return fmt.Sprintf("sms   [%d %s, %d chars] %s", m.Segments, segmentWord(m.Segments, m.Encoding), utf8.RuneCountInString(m.Text), oneLine(m.Text))
	case policy.Email:
		return "email subject: " + oneLine(m.Subject)
	case policy.Push:
		return "push  " + oneLine(m.Title) + " | " + oneLine(m.Text)
	}
	return string(m.Channel) + " " + oneLine(m.Text)
}

func segmentWord(n int, enc string) string {
	return fmt.Sprintf("segment%s %s", plural(n), enc)
}

func notSentWhy(reason string) string {
	switch reason {
	case "coalesced":
		return "coalesced (an older installment was overdue; its notices cover this one)"
	case "catch_up":
		return "catch-up (only the latest missed rung is sent)"
	case "superseded":
		return "superseded (a later rung of this installment went out first)"
	}
	return reason
}

func joinChannels(cs []policy.Channel) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, "+")
}

// offset writes a day offset as D-3, D+0, D+7.
func offset(n int) string { return fmt.Sprintf("D%+d", n) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// oneLine folds white space, newlines included, to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// width is the columns s takes in a terminal: East Asian wide characters
// take two.
func width(s string) int {
	n := 0
	for _, r := range s {
		if wide(r) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func wide(r rune) bool {
	return r >= 0x1100 && (r <= 0x115f || r == 0x2329 || r == 0x232a ||
		(r >= 0x2e80 && r <= 0xa4cf && r != 0x303f) || (r >= 0xac00 && r <= 0xd7a3) ||
		(r >= 0xf900 && r <= 0xfaff) || (r >= 0xfe30 && r <= 0xfe4f) || (r >= 0xff00 && r <= 0xff60) ||
		(r >= 0xffe0 && r <= 0xffe6))
}
