package preview

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// JSON is the report as indented JSON.
func (r *SimReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// WriteText writes the report as a table: one column per policy and, for
// each policy after the first, its difference from the first.
func (r *SimReport) WriteText(w io.Writer) error {
	var b strings.Builder
	var beh []string
	for _, name := range sortedKeys(r.Behaviours) {
		beh = append(beh, fmt.Sprintf("%s %d", name, r.Behaviours[name]))
	}
	fmt.Fprintf(&b, "Simulated %d loans of %d borrowers under %d polic%s; pay model %s (seed %d): %s\n\n",
		r.Loans, r.Borrowers, len(r.Policies), map[bool]string{true: "y", false: "ies"}[len(r.Policies) == 1],
		r.PayModel, r.Seed, strings.Join(beh, ", "))

	type row struct {
		label string
		vals  []decimal.Decimal
		fixed int32 // decimals shown; -1 for a count
	}
	var rows []row
	count := func(label string, f func(p PolicyReport) int) {
		rw := row{label: label, fixed: -1}
		for _, p := range r.Policies {
			rw.vals = append(rw.vals, decimal.NewFromInt(int64(f(p))))
		}
		rows = append(rows, rw)
	}
	money := func(label string, f func(p PolicyReport) map[string]string, cur string) {
		places, ok := policy.MinorUnits(cur)
		if !ok {
			places = 2
		}
		rw := row{label: label + " " + cur, fixed: places}
		for _, p := range r.Policies {
			d, _ := decimal.NewFromString(f(p)[cur])
			rw.vals = append(rw.vals, d)
		}
		rows = append(rows, rw)
	}
	heading := func(label string) { rows = append(rows, row{label: label}) }

	heading("Notices sent")
	for _, ch := range policy.AllChannels {
		count("  "+string(ch), func(p PolicyReport) int { return p.Notices[ch] })
	}
	keys := map[string]bool{}
	skips := map[string]bool{}
	months := map[string]bool{}
	currencies := map[string]bool{}
	for _, p := range r.Policies {
		for k := range p.ByTemplate {
			keys[k] = true
		}
		for k := range p.Skipped {
			skips[k] = true
		}
		for k := range p.ChargedOffByMonth {
			months[k] = true
		}
		for k := range p.Repaid {
			currencies[k] = true
		}
		for k := range p.PenaltyPosted {
			currencies[k] = true
		}
	}
	heading("By template/channel")
	for _, k := range sortedKeys(keys) {
		count("  "+k, func(p PolicyReport) int { return p.ByTemplate[k] })
	}
	if len(skips) > 0 {
		heading("Channels skipped")
		for _, k := range sortedKeys(skips) {
			count("  "+k, func(p PolicyReport) int { return p.Skipped[k] })
		}
	}
	count("SMS segments", func(p PolicyReport) int { return p.SMSSegments })
	rw := row{label: "SMS cost at " + r.SMSPrice + " a segment", fixed: 2}
	for _, p := range r.Policies {
		d, _ := decimal.NewFromString(p.SMSCost)
		rw.vals = append(rw.vals, d)
	}
	rows = append(rows, rw)

	heading("Ladder notices per borrower")
	for i, c := range r.Policies[0].Contacts {
		count("  "+c.Channel+": max in a day", func(p PolicyReport) int { return p.Contacts[i].MaxDay })
		if c.Channel != "all" {
			count("  "+c.Channel+": cap a day", func(p PolicyReport) int { return p.Contacts[i].CapDay })
		}
		count("  "+c.Channel+": max in 7 days", func(p PolicyReport) int { return p.Contacts[i].Max7 })
		count("  "+c.Channel+": p95 in 7 days", func(p PolicyReport) int { return p.Contacts[i].P95of7 })
		if c.Channel != "all" {
			count("  "+c.Channel+": cap in 7 days", func(p PolicyReport) int { return p.Contacts[i].Cap7 })
		}
	}
	heading("Money")
	for _, cur := range sortedKeys(currencies) {
		money("  penalty posted", func(p PolicyReport) map[string]string { return p.PenaltyPosted }, cur)
		money("  penalty paid", func(p PolicyReport) map[string]string { return p.PenaltyPaid }, cur)
		money("  late fees posted", func(p PolicyReport) map[string]string { return p.LateFeePosted }, cur)
		money("  late fees paid", func(p PolicyReport) map[string]string { return p.LateFeePaid }, cur)
		money("  repaid", func(p PolicyReport) map[string]string { return p.Repaid }, cur)
		money("  owed by charged-off loans", func(p PolicyReport) map[string]string { return p.ChargedOffBalance }, cur)
	}
	heading("Loans")
	count("  paid off", func(p PolicyReport) int { return p.PaidOff })
	count("  charged off", func(p PolicyReport) int { return p.ChargedOff })
	for _, mth := range sortedKeys(months) {
		count("    in "+mth, func(p PolicyReport) int { return p.ChargedOffByMonth[mth] })
	}
	count("  not simulated (errors)", func(p PolicyReport) int { return p.Errors })

	// Columns: label, one per policy, one difference per policy after the first.
	header := []string{""}
	for _, p := range r.Policies {
		header = append(header, p.Policy)
	}
	for _, p := range r.Policies[1:] {
		header = append(header, p.Policy+" − "+r.Policies[0].Policy)
	}
	table := [][]string{header}
	for _, rw := range rows {
		cells := []string{rw.label}
		if rw.vals != nil {
			show := func(d decimal.Decimal, sign bool) string {
				s := d.String()
				if rw.fixed >= 0 {
					s = d.StringFixed(rw.fixed)
				}
				if sign && d.IsPositive() {
					s = "+" + s
				}
				return s
			}
			for _, v := range rw.vals {
				cells = append(cells, show(v, false))
			}
			for _, v := range rw.vals[1:] {
				cells = append(cells, show(v.Sub(rw.vals[0]), true))
			}
		}
		table = append(table, cells)
	}
	widths := make([]int, len(header))
	for _, cells := range table {
		for i, c := range cells {
			widths[i] = max(widths[i], width(c))
		}
	}
	for _, cells := range table {
		var parts []string
		for i, c := range cells {
			pad := strings.Repeat(" ", max(widths[i]-width(c), 0))
			if i == 0 {
				parts = append(parts, c+pad)
			} else {
				parts = append(parts, pad+c)
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(parts, "   "), " ") + "\n")
	}
	for _, p := range r.Policies {
		for _, e := range p.FirstErrors {
			fmt.Fprintf(&b, "error under %s: %s\n", p.Policy, e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
