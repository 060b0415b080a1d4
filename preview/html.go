package preview

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// WriteHTML writes the timeline as one self-contained page for a compliance
// reviewer: the balance over time as an inline SVG chart with every point
// and repayment marked on it, and beside it the messages as the borrower
// would receive them, numbered as the marks are. It needs no script, no
// font, no image and no stylesheet from anywhere: it opens from a file or an
// e-mail attachment as it is.
func (t *Timeline) WriteHTML(w io.Writer) error {
	return pageTemplate.Execute(w, t.page())
}

// page is what the page template shows.
type page struct {
	T      *Timeline
	Title  string
	Chart  chart
	Points []pagePoint
	Start  string
	End    string
}

type pagePoint struct {
	N       int
	Local   string
	Offset  string
	Class   string
	P       Point
	Repaid  []Repayment
	Skipped string
}

// chart is the SVG's geometry, computed here so the template only places it.
type chart struct {
	W, H            int
	Left, Top, Plot int // plot origin and height
	PlotW           int
	TotalPath       string
	OverduePath     string
	OverdueArea     string
	YTicks, XTicks  []tick
	Marks           []mark
	Payments        []mark
	EndX            float64
	EndLabel        string
	Series          string
}

type tick struct {
	X, Y  float64
	Label string
}

type mark struct {
	X, Y  float64
	N     int
	Class string
	Title string
}

func (t *Timeline) page() page {
	p := page{T: t, Title: fmt.Sprintf("Preview of loan %s under policy %s", t.LoanID, t.Policy),
		Start: t.Start.Format(localFormat), End: t.End.At.Format(localFormat)}
	p.Chart = t.chart()
	for i, pt := range t.Points {
		pp := pagePoint{N: i + 1, Local: pt.At.Format(localFormat), Offset: offset(pt.Offset), Class: severity(pt), P: pt}
		var sk []string
		for _, s := range pt.Skipped {
			sk = append(sk, string(s.Channel)+": "+s.Reason)
		}
		for _, s := range pt.Failed {
			sk = append(sk, string(s.Channel)+": failed, "+s.Reason)
		}
		pp.Skipped = strings.Join(sk, "; ")
		for _, r := range t.Repayments {
			if pt.Kind == "confirmation" && r.TxnID == pt.TxnID {
				pp.Repaid = append(pp.Repaid, r)
			}
		}
		p.Points = append(p.Points, pp)
	}
	return p
}

// severity is the CSS class of a point: how hard its template presses.
func severity(p Point) string {
	switch p.Template {
	case "upcoming", "due_today":
		return "pre"
	case "overdue_gentle":
		return "gentle"
	case "overdue_firm", "overdue_urgent":
		return "firm"
	case "final_notice", "charged_off":
		return "final"
	case policy.TemplatePaymentReceived, policy.TemplatePaidOff:
		return "paid"
	}
	return "pre"
}

// chart samples the balance at every local midnight between the start and
// the end (at most about 800 samples), at every repayment and at every
// point, and draws the outstanding total as a step line over the overdue
// total as an area.
func (t *Timeline) chart() chart {
	c := chart{W: 820, H: 380, Left: 72, Top: 24, Plot: 290, PlotW: 720}
	// The chart runs to the end, or to the last point or repayment after it
	// (a recovery after a charge-off, and its confirmation).
	start, end := t.Start, t.End.At
	for _, p := range t.Points {
		if p.At.After(end) {
			end = p.At
		}
	}
	for _, r := range t.Repayments {
		if r.Applied && r.At.After(end) {
			end = r.At
		}
	}
	last := end
	if !end.After(start) {
		end = start.Add(24 * time.Hour)
	}
	// A little room after the end, so the last mark is not on the border.
	span := end.Sub(start)
	end = end.Add(span / 30)
	span = end.Sub(start)

	type sample struct {
		at             time.Time
		total, overdue decimal.Decimal
	}
	var samples []sample
	add := func(at time.Time) {
		if at.Before(start) || at.After(last) {
			return
		}
		s := t.snapshot(at)
		samples = append(samples, sample{at, s.Outstanding.Total, s.Overdue.Total})
	}
	add(start)
	first, lastDay := policy.LocalDate(start, t.loc).AddDays(1), policy.LocalDate(last, t.loc)
	days := lastDay.DaysSince(first) + 1
	step := max(1, days/800)
	for d := 0; d < days; d += step {
		add(first.AddDays(d).Midnight(t.loc))
	}
	for _, r := range t.Repayments {
		if r.Applied {
			add(r.At.Add(-time.Nanosecond))
			add(r.At)
		}
	}
	for _, p := range t.Points {
		add(p.At)
	}
	add(t.End.At)
	add(last)
	sortSamples := func(a, b sample) int { return a.at.Compare(b.at) }
	slices.SortFunc(samples, sortSamples)

	top := decimal.Zero
	for _, s := range samples {
		top = decimal.Max(top, s.total)
	}
	if top.IsZero() {
		top = decimal.NewFromInt(1)
	}
	maxY, yStep := niceScale(top.InexactFloat64())
	x := func(at time.Time) float64 {
		return float64(c.Left) + float64(c.PlotW)*float64(at.Sub(start))/float64(span)
	}
	y := func(v decimal.Decimal) float64 {
		return float64(c.Top) + float64(c.Plot)*(1-v.InexactFloat64()/maxY)
	}
	var tp, op strings.Builder
	for i, s := range samples {
		if i == 0 {
			fmt.Fprintf(&tp, "M%.1f %.1f", x(s.at), y(s.total))
			fmt.Fprintf(&op, "M%.1f %.1f", x(s.at), y(s.overdue))
			continue
		}
		fmt.Fprintf(&tp, " H%.1f V%.1f", x(s.at), y(s.total))
		fmt.Fprintf(&op, " H%.1f V%.1f", x(s.at), y(s.overdue))
	}
	c.TotalPath, c.OverduePath = tp.String(), op.String()
	base := float64(c.Top + c.Plot)
	c.OverdueArea = fmt.Sprintf("%s V%.1f H%.1f Z", c.OverduePath, base, x(start))
	for v := 0.0; v <= maxY+yStep/2; v += yStep {
		c.YTicks = append(c.YTicks, tick{X: float64(c.Left), Y: float64(c.Top) + float64(c.Plot)*(1-v/maxY), Label: trimZeros(v)})
	}
	c.XTicks = xTicks(start, end, t.loc, x)
	// Marks sit on the line at their time; a mark that would cover one
	// already placed moves up until it covers none, so every number stays
	// readable.
	for i, p := range t.Points {
		b, _ := decimal.NewFromString(p.Balance.Total)
		m := mark{X: x(p.At), Y: y(b), N: i + 1, Class: severity(p),
			Title: fmt.Sprintf("%d. %s %s %s", i+1, p.At.Format(localFormat), offset(p.Offset), p.Template)}
		for slices.ContainsFunc(c.Marks, func(o mark) bool { return math.Abs(m.X-o.X) < 17 && math.Abs(m.Y-o.Y) < 17 }) {
			m.Y -= 19
		}
		c.Marks = append(c.Marks, m)
	}
	for _, r := range t.Repayments {
		if r.Applied {
			c.Payments = append(c.Payments, mark{X: x(r.At), Y: base, Class: "pay",
				Title: fmt.Sprintf("repayment %s %s at %s", r.Amount, t.Currency, r.At.Format(localFormat))})
		}
	}
	c.EndX = x(t.End.At)
	c.EndLabel = t.End.State
	c.Series = t.Currency
	return c
}

// niceScale is an axis top at or above v and a step of 1, 2 or 5 × 10^k
// giving four or five ticks.
func niceScale(v float64) (top, step float64) {
	raw := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		step = m * mag
		if step >= raw {
			break
		}
	}
	top = math.Ceil(v*1.05/step) * step
	return top, step
}

func trimZeros(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// xTicks are the first days of the months between start and end, or of
// weeks when the span is short.
func xTicks(start, end time.Time, loc *time.Location, x func(time.Time) float64) []tick {
	var out []tick
	s := start.In(loc)
	if end.Sub(start) < 45*24*time.Hour {
		d := time.Date(s.Year(), s.Month(), s.Day()+1, 0, 0, 0, 0, loc)
		for ; d.Before(end); d = d.AddDate(0, 0, 7) {
			out = append(out, tick{X: x(d), Label: d.Format("01-02")})
		}
		return out
	}
	months := int(end.Sub(start).Hours()/24/30) + 1
	every := max(1, months/10)
	d := time.Date(s.Year(), s.Month()+1, 1, 0, 0, 0, 0, loc)
	for i := 0; d.Before(end); i++ {
		if i%every == 0 {
			out = append(out, tick{X: x(d), Label: d.Format("2006-01")})
		}
		d = d.AddDate(0, 1, 0)
	}
	return out
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"chan": func(cs []policy.Channel) string { return joinChannels(cs) },
	"sub":  func(a, b float64) float64 { return a - b },
	"add":  func(a, b float64) float64 { return a + b },
	"f1":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --pre:#4a78c2; --gentle:#d8a21c; --firm:#e0641b; --final:#b3261e; --paid:#2e8b57; --ink:#1d2430; --muted:#5b6472; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", sans-serif; color: var(--ink); background: #f6f7f9; }
header { padding: 16px 24px; background: #fff; border-bottom: 1px solid #dde1e6; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: var(--muted); }
main { display: grid; grid-template-columns: minmax(560px, 860px) minmax(360px, 1fr); gap: 20px; padding: 20px 24px; align-items: start; }
@media (max-width: 1100px) { main { grid-template-columns: 1fr; } }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 14px 16px; }
.chartbox { position: sticky; top: 12px; }
svg { width: 100%; height: auto; display: block; }
.axis { stroke: #9aa3ae; stroke-width: 1; }
.grid { stroke: #e6e9ed; stroke-width: 1; }
.lbl { font-size: 11px; fill: var(--muted); }
.total { fill: none; stroke: var(--ink); stroke-width: 2; }
.overdue-area { fill: #f3c1b6; opacity: .7; }
.mark circle { stroke: #fff; stroke-width: 1.5; }
.mark text { font-size: 10px; fill: #fff; font-weight: 700; text-anchor: middle; dominant-baseline: central; }
.pre circle, li.pre .n { fill: var(--pre); background: var(--pre); }
.gentle circle, li.gentle .n { fill: var(--gentle); background: var(--gentle); }
.firm circle, li.firm .n { fill: var(--firm); background: var(--firm); }
.final circle, li.final .n { fill: var(--final); background: var(--final); }
.paid circle, li.paid .n { fill: var(--paid); background: var(--paid); }
.pay { fill: var(--paid); }
.endline { stroke: var(--ink); stroke-dasharray: 4 3; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; vertical-align: -1px; }
table.totals { border-collapse: collapse; margin-top: 10px; }
table.totals td { padding: 2px 10px 2px 0; }
ol { list-style: none; margin: 0; padding: 0; }
li.point { border-top: 1px solid #eceff2; padding: 10px 0; }
li.point:first-child { border-top: 0; }
.n { display: inline-block; min-width: 22px; height: 22px; border-radius: 11px; color: #fff; font-weight: 700; text-align: center; line-height: 22px; font-size: 12px; margin-right: 6px; }
.when { font-weight: 600; }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; background: #eef1f5; color: var(--ink); font-size: 12px; margin-left: 4px; }
.action { background: #fde6e3; color: var(--final); font-weight: 600; }
.bal { color: var(--muted); font-size: 12px; margin: 2px 0 6px; }
.msg { margin: 6px 0 0; padding: 8px 10px; border-radius: 6px; background: #f3f6fa; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg b { display: block; font-size: 12px; color: var(--muted); font-weight: 600; margin-bottom: 2px; }
.skip { color: var(--final); font-size: 12px; }
.repaid { font-size: 12px; margin: 4px 0; }
</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<div class="sub">Loan {{.T.LoanID}} · {{.T.Currency}} · {{.T.TimeZone}} · {{.T.Locale}} · from {{.Start}} to <b>{{.T.End.State}}</b> at {{.End}} · {{len .T.Points}} points · {{.T.Runs}} workflow run(s). Simulated with this build's workflow, policy and templates: nothing was sent.</div>
</header>
<main>
<section class="chartbox">
<svg id="balance" viewBox="0 0 {{.Chart.W}} {{.Chart.H}}" role="img" aria-label="Balance over time with the notices marked">
<title>Outstanding (line) and overdue (area) in {{.Chart.Series}}, with every notice and repayment</title>
{{range .Chart.YTicks}}<line class="grid" x1="{{f1 .X}}" x2="{{f1 (add .X 720)}}" y1="{{f1 .Y}}" y2="{{f1 .Y}}"/><text class="lbl" x="{{f1 (sub .X 6)}}" y="{{f1 .Y}}" text-anchor="end" dominant-baseline="central">{{.Label}}</text>
{{end}}{{range .Chart.XTicks}}<line class="grid" x1="{{f1 .X}}" x2="{{f1 .X}}" y1="24" y2="314"/><text class="lbl" x="{{f1 .X}}" y="330" text-anchor="middle">{{.Label}}</text>
{{end}}<path class="overdue-area" d="{{.Chart.OverdueArea}}"/>
<path class="total" d="{{.Chart.TotalPath}}"/>
<line class="axis" x1="72" x2="792" y1="314" y2="314"/><line class="axis" x1="72" x2="72" y1="24" y2="314"/>
<line class="endline" x1="{{f1 .Chart.EndX}}" x2="{{f1 .Chart.EndX}}" y1="24" y2="314"/><text class="lbl" x="{{f1 .Chart.EndX}}" y="18" text-anchor="middle">{{.Chart.EndLabel}}</text>
{{range .Chart.Payments}}<path class="pay" d="M{{f1 .X}} {{f1 (sub .Y 1)}} l-6 12 h12 Z"><title>{{.Title}}</title></path>
{{end}}{{range .Chart.Marks}}<g class="mark {{.Class}}"><title>{{.Title}}</title><circle cx="{{f1 .X}}" cy="{{f1 .Y}}" r="9"/><text x="{{f1 .X}}" y="{{f1 .Y}}">{{.N}}</text></g>
{{end}}<text class="lbl" x="72" y="362">outstanding ({{.Chart.Series}}) — line; overdue — shaded; ▲ repayment; numbers are the notices on the right</text>
</svg>
<div class="legend"><span><i style="background:var(--pre)"></i>before due</span><span><i style="background:var(--gentle)"></i>gentle</span><span><i style="background:var(--firm)"></i>firm / urgent</span><span><i style="background:var(--final)"></i>final / charged off</span><span><i style="background:var(--paid)"></i>confirmation</span></div>
<table class="totals">
<tr><td>Notices sent</td><td>{{range $ch, $n := .T.Totals.Notices}}{{$ch}} {{$n}} &nbsp;{{end}}</td></tr>
<tr><td>SMS segments</td><td>{{.T.Totals.SMSSegments}}</td></tr>
<tr><td>Penalty</td><td>posted {{.T.Totals.PenaltyPosted}}, paid {{.T.Totals.PenaltyPaid}}</td></tr>
<tr><td>Late fees</td><td>posted {{.T.Totals.LateFeePosted}}, paid {{.T.Totals.LateFeePaid}}</td></tr>
<tr><td>Repaid</td><td>{{.T.Currency}} {{.T.Totals.Paid}}</td></tr>
</table>
{{if .T.Repayments}}<table class="totals" id="repayments">
{{range .T.Repayments}}<tr><td>{{.At.Format "2006-01-02 15:04 MST"}}</td><td>repayment {{.Amount}} ({{.TxnID}}){{if .Applied}}, balance after {{.Balance.Total}}{{else}}: not applied, {{.Error}}{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .T.NotSent}}<p class="sub">Rungs not sent: {{range .T.NotSent}}{{.Date}} installment {{.Seq}} D{{if ge .Offset 0}}+{{end}}{{.Offset}} {{.Template}} ({{.Reason}}); {{end}}</p>{{end}}
</section>
<section>
<ol id="messages">
{{range .Points}}<li class="point {{.Class}}" id="p{{.N}}">
<div><span class="n">{{.N}}</span><span class="when">{{.Local}}</span> <span class="tag">{{.Offset}}</span> <span class="tag">{{.P.Template}}</span>{{if .P.Channels}} <span class="tag">{{chan .P.Channels}}</span>{{end}}{{if .P.Action}} <span class="tag action">{{.P.Action}}</span>{{end}}</div>
<div class="bal">DPD {{.P.Balance.DaysPastDue}} · overdue {{.P.Balance.Overdue}} · penalty {{.P.Balance.Penalty}} · late fee {{.P.Balance.LateFee}} · total {{.P.Balance.Total}}</div>
{{range .Repaid}}<div class="repaid">Repayment {{.Amount}} ({{.TxnID}}){{range .Allocation}} → installment {{.Seq}}: penalty {{.Penalty}}, late fee {{.LateFee}}, interest {{.Interest}}, fee {{.Fee}}, principal {{.Principal}}{{end}}</div>
{{end}}{{range .P.Message}}<div class="msg {{.Channel}}">{{if eq (print .Channel) "sms"}}<b>SMS · {{.Segments}} segment(s), {{.Encoding}}</b>{{.Text}}{{else if eq (print .Channel) "email"}}<b>Email · subject</b>{{.Subject}}{{else}}<b>Push · {{.Title}}</b>{{.Text}}{{end}}</div>
{{end}}{{if .Skipped}}<div class="skip">Not sent: {{.Skipped}}</div>{{end}}
</li>
{{end}}</ol>
</section>
</main>
</body>
</html>
`
