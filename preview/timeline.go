package preview

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"

	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// Timeline is what a preview shows: every reminder point and confirmation
// the workflow sent, in time order, the repayments and their allocation, and
// how the loan ended. It is the JSON of `starter preview -format json` and of
// POST /v1/preview. Amounts are fixed-point strings with the currency's minor
// units, as everywhere in dunning; times are in the customer's time zone.
type Timeline struct {
	LoanID   string `json:"loan_id"`
	Policy   string `json:"policy"`
	Currency string `json:"currency"`
	TimeZone string `json:"time_zone"`
	Locale   string `json:"locale"`
	// Start is when the simulation started: a moment before the first point.
	Start time.Time `json:"start"`
	// Points are the ladder points and the repayment confirmations, in time
	// order.
	Points []Point `json:"points"`
	// Repayments are the payments of the preview, in time order, with what
	// the workflow answered.
	Repayments []Repayment `json:"repayments"`
	// NotSent lists the ladder's rungs that never became a point while the
	// installment they belong to was unpaid and the loan open, and why.
	NotSent []NotSent `json:"not_sent,omitempty"`
	End     End       `json:"end"`
	Totals  Totals    `json:"totals"`
	// Runs is how many runs of the workflow the preview took (one more than
	// its continue-as-new count).
	Runs int `json:"runs"`

	loan   policy.Loan
	pol    policy.Policy
	loc    *time.Location
	places int32
	// history is the repayments the workflow accepted, for balances.
	history policy.History
	stats   stats
}

// Point is one reminder point of the ladder, or one repayment confirmation
// (Kind "confirmation"), as the workflow acted on it.
type Point struct {
	At time.Time `json:"at"`
	// Kind is "ladder" or "confirmation".
	Kind string `json:"kind"`
	// Seq and DueDate are the installment that drives a ladder point (for a
	// confirmation, the oldest one the repayment paid); Offset is the days
	// from that due date.
	Seq      int    `json:"seq"`
	DueDate  string `json:"due_date"`
	Offset   int    `json:"offset"`
	Template string `json:"template"`
	// Channels are those the notice went out on.
	Channels []policy.Channel `json:"channels"`
	// Skipped are channels the point planned and did not use, with the
	// reason: opted_out, no_address, cap_day, cap_7_days (the plan), or
	// window and the caps again (the send-time check).
	Skipped []Skip `json:"skipped"`
	// Failed are notices that could not be sent (a template that does not
	// render), with the reason.
	Failed []Skip `json:"failed,omitempty"`
	// Action is what the point did besides notices: open_case, charge_off.
	Action string `json:"action"`
	// TxnID is the repayment a confirmation answers.
	TxnID   string    `json:"txn_id,omitempty"`
	Balance Balance   `json:"balance"`
	Message []Message `json:"messages"`
}

// Skip is a channel not used, and why.
type Skip struct {
	Channel policy.Channel `json:"channel"`
	Reason  string         `json:"reason"`
}

// Message is a notice as rendered by the real templates: for SMS the text
// and its segments (GSM-7: 160, or 153 a part; UCS-2: 70, or 67 a part), for
// email the subject and the plain text, for push the title and the body.
type Message struct {
	Channel  policy.Channel `json:"channel"`
	Subject  string         `json:"subject,omitempty"`
	Title    string         `json:"title,omitempty"`
	Text     string         `json:"text"`
	Segments int            `json:"segments,omitempty"`
	Encoding string         `json:"encoding,omitempty"`
}

// Balance is the loan at an instant, from policy.SnapshotAt (the function
// the workflow's own balance and status query use) over the repayments the
// workflow had accepted: Overdue is the overdue total; Principal … LateFee
// and Total are what is outstanding.
type Balance struct {
	State       string `json:"state"`
	DaysPastDue int    `json:"days_past_due"`
	Stage       string `json:"stage"`
	Overdue     string `json:"overdue"`
	Principal   string `json:"principal"`
	Interest    string `json:"interest"`
	Fee         string `json:"fee"`
	Penalty     string `json:"penalty"`
	LateFee     string `json:"late_fee"`
	Total       string `json:"total"`
}

// Repayment is one payment of the preview and the workflow's answer.
type Repayment struct {
	At     time.Time `json:"at"`
	TxnID  string    `json:"txn_id"`
	Amount string    `json:"amount"`
	// Applied is false for a payment the workflow refused (Error says why)
	// or never saw because the loan had ended (Error says so).
	Applied    bool         `json:"applied"`
	Error      string       `json:"error,omitempty"`
	Allocation []Allocation `json:"allocation,omitempty"`
	Credit     string       `json:"credit,omitempty"`
	// Balance is the balance after the repayment, as the workflow answered.
	Balance *Balance `json:"balance,omitempty"`
}

// Allocation is what a repayment paid of one installment.
type Allocation struct {
	Seq       int    `json:"seq"`
	Principal string `json:"principal"`
	Interest  string `json:"interest"`
	Fee       string `json:"fee"`
	Penalty   string `json:"penalty"`
	LateFee   string `json:"late_fee"`
	Total     string `json:"total"`
}

// NotSent is a rung of the ladder that never became a point: "coalesced"
// (an older installment was overdue, and its notices covered this one),
// "catch_up" (the rung's day passed while another point was due, and only
// the latest rung is sent), or "superseded" (a later rung of the same
// installment went out first).
type NotSent struct {
	Date     string `json:"date"`
	Seq      int    `json:"seq"`
	Offset   int    `json:"offset"`
	Template string `json:"template"`
	Reason   string `json:"reason"`
}

// End is how the preview ended: paid_off, charged_off or closed, and when.
type End struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

// Totals sum the preview: notices sent by channel and template, SMS
// segments, and what penalty and late fees were charged (posted) and paid.
type Totals struct {
	Notices       map[policy.Channel]int `json:"notices"`
	ByTemplate    map[string]int         `json:"by_template"`
	SMSSegments   int                    `json:"sms_segments"`
	Skipped       map[string]int         `json:"skipped,omitempty"`
	PenaltyPosted string                 `json:"penalty_posted"`
	LateFeePosted string                 `json:"late_fee_posted"`
	PenaltyPaid   string                 `json:"penalty_paid"`
	LateFeePaid   string                 `json:"late_fee_paid"`
	Paid          string                 `json:"paid"`
}

// stats are the totals as numbers, for simulations.
type stats struct {
	penaltyPosted, lateFeePosted, penaltyPaid, lateFeePaid, paid decimal.Decimal
	// ladder are the ladder notices that went out, by channel, with their
	// times: what the caps count.
	ladder map[policy.Channel][]time.Time
}

// timeline builds the Timeline from what the recorder holds.
func (e *engine) timeline() (*Timeline, error) {
	places, ok := policy.MinorUnits(e.loan.Currency)
	if !ok {
		places = 2
	}
	t := &Timeline{
		LoanID: e.loan.LoanID, Policy: e.pol.Name, Currency: e.loan.Currency, TimeZone: e.loc.String(),
		Locale: e.loan.Customer.Locale, Start: e.start.In(e.loc), Runs: e.runs,
		loan: e.loan, pol: e.pol, loc: e.loc, places: places,
		Points: []Point{}, Repayments: []Repayment{},
	}
	for _, a := range e.result.Applied {
		t.history.Repayments = append(t.history.Repayments, policy.Repayment{TxnID: a.TxnID, Amount: a.Amount, PaidAt: a.PaidAt})
	}
	if err := t.points(e.rec, !e.opts.lean); err != nil {
		return nil, err
	}
	t.repayments(e.payments, e.result)
	t.end(e)
	if !e.opts.lean {
		t.NotSent = t.notSent()
	}
	t.totals(e.result)
	return t, nil
}

// points groups the recorded notices into points: ladder notices by their
// key's schedule version, installment and offset, confirmations by
// repayment and template.
func (t *Timeline) points(rec *recorder, balances bool) error {
	rec.mu.Lock()
	notices := slices.Clone(rec.notices)
	cases := slices.Clone(rec.cases)
	chargedOff := rec.chargedOff
	rec.mu.Unlock()

	byKey := map[string]int{}
	prefix := t.LoanID + "/"
	for _, n := range notices {
		parts := strings.Split(strings.TrimPrefix(n.IdempotencyKey, prefix), "/")
		var group string
		p := Point{At: n.CreatedAt.In(t.loc), Template: n.Template, Channels: []policy.Channel{}, Skipped: []Skip{}, Message: []Message{}}
		switch len(parts) {
		case 4: // <version>/<seq>/<offset>/<channel>
			seq, err1 := strconv.Atoi(parts[1])
			off, err2 := strconv.Atoi(parts[2])
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("preview: notice key %s: %w", n.IdempotencyKey, err)
			}
			group = strings.Join(parts[:3], "/")
			p.Kind, p.Seq, p.Offset = "ladder", seq, off
			if i := slices.IndexFunc(cases, func(c store.Case) bool { return c.DedupeKey == prefix+group+"/case" }); i >= 0 {
				p.Action = string(policy.ActionOpenCase)
			}
		case 3: // <txn_id>/<template>/<channel>
			group = parts[0] + "/" + parts[1]
			p.Kind, p.TxnID = "confirmation", parts[0]
		default:
			return fmt.Errorf("preview: notice key %s has no known form", n.IdempotencyKey)
		}
		i, ok := byKey[group]
		if !ok {
			i = len(t.Points)
			byKey[group] = i
			t.Points = append(t.Points, p)
		}
		pt := &t.Points[i]
		if n.CreatedAt.Before(pt.At) {
			pt.At = n.CreatedAt.In(t.loc)
		}
		ch := policy.Channel(n.Channel)
		switch n.Status {
		case store.NoticeSent, store.NoticeUnknown:
			pt.Channels = append(pt.Channels, ch)
			pt.Message = append(pt.Message, message(ch, n))
		case store.NoticeFailed:
			pt.Failed = append(pt.Failed, Skip{ch, n.Reason})
		default:
			pt.Skipped = append(pt.Skipped, Skip{ch, n.Reason})
		}
	}
	slices.SortStableFunc(t.Points, func(a, b Point) int { return a.At.Compare(b.At) })
	order := func(a, b policy.Channel) int {
		return slices.Index(policy.AllChannels, a) - slices.Index(policy.AllChannels, b)
	}
	for i := range t.Points {
		p := &t.Points[i]
		slices.SortFunc(p.Channels, order)
		slices.SortFunc(p.Message, func(a, b Message) int { return order(a.Channel, b.Channel) })
		slices.SortFunc(p.Skipped, func(a, b Skip) int { return order(a.Channel, b.Channel) })
		if p.Kind == "ladder" {
			p.DueDate = t.dueDate(p.Seq)
		}
		if balances {
			snap := t.snapshot(p.At)
			p.Balance = t.balance(snap)
			if p.Kind == "confirmation" {
				t.confirmationDriver(p, snap)
			}
		}
		if chargedOff != nil && p.Kind == "ladder" && p.At.Equal(*chargedOff) {
			p.Action = string(policy.ActionChargeOff)
		}
	}
	return nil
}

// confirmationDriver sets the installment a confirmation's offset counts
// from: the oldest its repayment paid.
func (t *Timeline) confirmationDriver(p *Point, after policy.Snapshot) {
	for _, a := range after.Applied {
		if a.TxnID == p.TxnID && len(a.Parts) > 0 {
			p.Seq = a.Parts[0].Seq
		}
	}
	if p.Seq == 0 && len(t.loan.Installments) > 0 {
		p.Seq = t.loan.Installments[0].Seq
	}
	p.DueDate = t.dueDate(p.Seq)
	if d, err := policy.ParseDate(p.DueDate); err == nil {
		p.Offset = policy.LocalDate(p.At, t.loc).DaysSince(d)
	}
}

func (t *Timeline) dueDate(seq int) string {
	for _, in := range t.loan.Installments {
		if in.Seq == seq {
			return in.DueDate.String()
		}
	}
	return ""
}

// message is notice n as its channel shows it.
func message(ch policy.Channel, n store.Notice) Message {
	m := Message{Channel: ch, Text: n.Body}
	switch ch {
	case policy.SMS:
		m.Segments, m.Encoding = templates.Segments(n.Body)
	case policy.Email:
		m.Subject = n.Subject
	case policy.Push:
		m.Title = n.Subject
	}
	return m
}

// snapshot is the balance at, over the repayments paid by then.
func (t *Timeline) snapshot(at time.Time) policy.Snapshot {
	s, err := policy.SnapshotAt(t.loan, t.pol, t.history, at)
	if err != nil {
		// The workflow computed the same snapshots without an error.
		panic(fmt.Sprintf("preview: snapshot of loan %s at %s: %v", t.LoanID, at, err))
	}
	return s
}

func (t *Timeline) amount(d decimal.Decimal) string { return d.StringFixed(t.places) }

func (t *Timeline) balance(s policy.Snapshot) Balance {
	f := t.amount
	o := s.Outstanding
	return Balance{State: s.State, DaysPastDue: s.DaysPastDue, Stage: s.Stage, Overdue: f(s.Overdue.Total),
		Principal: f(o.Principal), Interest: f(o.Interest), Fee: f(o.Fee), Penalty: f(o.Penalty),
		LateFee: f(o.LateFee), Total: f(o.Total)}
}

// repayments lists the payments with the workflow's answers.
func (t *Timeline) repayments(payments []*payment, final policy.Snapshot) {
	sorted := slices.Clone(payments)
	slices.SortStableFunc(sorted, func(a, b *payment) int { return a.At.Compare(b.At) })
	for _, p := range sorted {
		r := Repayment{At: p.At.In(t.loc), TxnID: p.TxnID, Amount: t.amount(p.Amount)}
		switch {
		case p.answer != nil:
			r.Applied = true
			b := t.balance(*p.answer)
			r.Balance = &b
			for _, a := range p.answer.Applied {
				if a.TxnID != p.TxnID {
					continue
				}
				r.Credit = t.amount(a.Credit)
				for _, part := range a.Parts {
					x := part.Paid
					r.Allocation = append(r.Allocation, Allocation{Seq: part.Seq, Principal: t.amount(x.Principal),
						Interest: t.amount(x.Interest), Fee: t.amount(x.Fee), Penalty: t.amount(x.Penalty),
						LateFee: t.amount(x.LateFee), Total: t.amount(x.Total)})
					t.stats.penaltyPaid = t.stats.penaltyPaid.Add(x.Penalty)
					t.stats.lateFeePaid = t.stats.lateFeePaid.Add(x.LateFee)
				}
			}
			t.stats.paid = t.stats.paid.Add(p.Amount)
		case p.err != nil:
			r.Error = refusal(p.err)
		default:
			r.Error = "not made: the loan had ended (" + final.State + ")"
		}
		t.Repayments = append(t.Repayments, r)
	}
}

// refusal words the workflow's refusal of a repayment: its type and message.
func refusal(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() != "" {
		return ae.Type() + ": " + ae.Error()
	}
	return err.Error()
}

// end says how the loan ended: paid off or closed when the workflow
// completed so, charged off when the preview closed it after a charge-off.
func (t *Timeline) end(e *engine) {
	e.rec.mu.Lock()
	ledger := slices.Clone(e.rec.ledger)
	e.rec.mu.Unlock()
	at := func(kind string) time.Time {
		for _, l := range ledger {
			if l.Kind == kind {
				return l.OccurredAt.In(t.loc)
			}
		}
		return e.result.AsOf.In(t.loc)
	}
	switch {
	case e.result.State == policy.StatePaidOff:
		t.End = End{State: policy.StatePaidOff, At: at(store.KindPaidOff)}
	case e.closed && e.rec.chargedOffAt() != nil:
		t.End = End{State: policy.StateChargedOff, At: e.rec.chargedOffAt().In(t.loc)}
	default:
		t.End = End{State: e.result.State, At: at(store.KindClosed)}
	}
}

// notSent finds the rungs of each installment's ladder that never became a
// point while the installment was unpaid and the loan still open. Their day
// is the rung's nominal day (due date + offset); the balance is looked at on
// that day at send_at.
func (t *Timeline) notSent() []NotSent {
	var out []NotSent
	sent := map[[2]int]bool{}
	for _, p := range t.Points {
		if p.Kind == "ladder" {
			sent[[2]int{p.Seq, p.Offset}] = true
		}
	}
	at := t.pol.Reminders.SendAt
	for _, in := range t.loan.Installments {
		for _, r := range t.pol.Reminders.Ladder {
			if sent[[2]int{in.Seq, r.Offset}] {
				continue
			}
			day := in.DueDate.AddDays(r.Offset)
			when := day.At(t.loc, at.Hour, at.Minute)
			if when.Before(t.Start) || !when.Before(t.End.At) {
				continue
			}
			s := t.snapshot(when)
			if s.ChargedOff || s.State == policy.StateChargedOff {
				continue
			}
			i := slices.IndexFunc(s.Installments, func(x policy.InstallmentState) bool { return x.Seq == in.Seq })
			if i < 0 || s.Installments[i].Status == policy.StatusPaid {
				continue
			}
			reason := "catch_up"
			for _, x := range s.Installments {
				if x.Seq < in.Seq && x.Status == policy.StatusOverdue {
					reason = "coalesced"
				}
			}
			if reason == "catch_up" && t.laterRungSent(in.Seq, r.Offset, when) {
				reason = "superseded"
			}
			out = append(out, NotSent{Date: day.String(), Seq: in.Seq, Offset: r.Offset, Template: r.Template, Reason: reason})
		}
	}
	slices.SortStableFunc(out, func(a, b NotSent) int { return cmp.Compare(a.Date, b.Date) })
	return out
}

// laterRungSent reports whether a rung of seq after offset went out before when.
func (t *Timeline) laterRungSent(seq, offset int, when time.Time) bool {
	return slices.ContainsFunc(t.Points, func(p Point) bool {
		return p.Kind == "ladder" && p.Seq == seq && p.Offset > offset && p.At.Before(when)
	})
}

// totals sums the points and the final snapshot.
func (t *Timeline) totals(final policy.Snapshot) {
	tot := Totals{Notices: map[policy.Channel]int{}, ByTemplate: map[string]int{}}
	t.stats.ladder = map[policy.Channel][]time.Time{}
	for _, p := range t.Points {
		for _, m := range p.Message {
			tot.Notices[m.Channel]++
			tot.ByTemplate[p.Template+"/"+string(m.Channel)]++
			tot.SMSSegments += m.Segments
			if p.Kind == "ladder" {
				t.stats.ladder[m.Channel] = append(t.stats.ladder[m.Channel], p.At)
			}
		}
		for _, s := range p.Skipped {
			if tot.Skipped == nil {
				tot.Skipped = map[string]int{}
			}
			tot.Skipped[s.Reason]++
		}
	}
	for _, in := range final.Installments {
		t.stats.penaltyPosted = t.stats.penaltyPosted.Add(in.PenaltyPosted)
		t.stats.lateFeePosted = t.stats.lateFeePosted.Add(in.LateFeePosted)
	}
	tot.PenaltyPosted, tot.LateFeePosted = t.amount(t.stats.penaltyPosted), t.amount(t.stats.lateFeePosted)
	tot.PenaltyPaid, tot.LateFeePaid = t.amount(t.stats.penaltyPaid), t.amount(t.stats.lateFeePaid)
	tot.Paid = t.amount(t.stats.paid)
	t.Totals = tot
}

// JSON is the timeline as indented JSON.
func (t *Timeline) JSON() ([]byte, error) {
	return json.MarshalIndent(t, "", "  ")
}
