package preview

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"dunning/activities"
	"dunning/policy"
	"dunning/templates"
)

// SimOptions say how to simulate a book.
type SimOptions struct {
	// Policies are compared; the first is the baseline differences are
	// counted from.
	Policies []policy.Policy
	// PayModel is how borrowers repay (ParsePayModel(DefaultPayModel) when
	// empty).
	PayModel PayModel
	// Seed makes the draw of behaviours repeatable.
	Seed uint64
	// SMSPrice is the price of one SMS segment, for the cost line.
	SMSPrice decimal.Decimal
	// Workers previews run at once; 0 is GOMAXPROCS.
	Workers   int
	Templates *templates.Renderer
	Brand     activities.Brand
	// Progress, when set, is called after each preview with how many of
	// the total are done (from the workers, one call at a time).
	Progress func(done, total int)
}

// SimReport is the outcome of a simulation: what each policy did to the
// same book with the same borrowers.
type SimReport struct {
	Loans     int    `json:"loans"`
	Borrowers int    `json:"borrowers"`
	Seed      uint64 `json:"seed"`
	PayModel  string `json:"pay_model"`
	// Behaviours counts the borrowers drawn for each behaviour.
	Behaviours map[string]int `json:"behaviours"`
	SMSPrice   string         `json:"sms_price"`
	Policies   []PolicyReport `json:"policies"`
}

// PolicyReport is what one policy did to the book.
type PolicyReport struct {
	Policy string `json:"policy"`
	// Notices are those sent, by channel, and by template/channel.
	Notices    map[policy.Channel]int `json:"notices"`
	ByTemplate map[string]int         `json:"by_template"`
	// Skipped counts channels a point planned and did not use, by reason.
	Skipped     map[string]int `json:"skipped"`
	SMSSegments int            `json:"sms_segments"`
	SMSCost     string         `json:"sms_cost"`
	// Contacts are the ladder notices per borrower (confirmations do not
	// count, as they do not against the caps) per channel and over all
	// channels: the most in one local day and in any 7 local days, the
	// 95th percentile of the latter over borrowers, and the policy's caps.
	Contacts []Contacts `json:"contacts"`
	// Money by currency: penalty interest and late fees charged (posted)
	// and collected (paid), and everything repaid.
	PenaltyPosted map[string]string `json:"penalty_posted"`
	PenaltyPaid   map[string]string `json:"penalty_paid"`
	LateFeePosted map[string]string `json:"late_fee_posted"`
	LateFeePaid   map[string]string `json:"late_fee_paid"`
	Repaid        map[string]string `json:"repaid"`
	PaidOff       int               `json:"paid_off"`
	ChargedOff    int               `json:"charged_off"`
	// ChargedOffByMonth counts charge-offs by local month ("2027-04").
	ChargedOffByMonth map[string]int `json:"charged_off_by_month"`
	// ChargedOffBalance is what charged-off loans still owed, by currency.
	ChargedOffBalance map[string]string `json:"charged_off_balance"`
	// Errors are loans the preview could not run, with the first few.
	Errors      int      `json:"errors"`
	FirstErrors []string `json:"first_errors,omitempty"`
}

// Contacts is the contact pressure on borrowers over one channel, or "all".
type Contacts struct {
	Channel string `json:"channel"`
	MaxDay  int    `json:"max_day"`
	Max7    int    `json:"max_7_days"`
	P95of7  int    `json:"p95_7_days"`
	CapDay  int    `json:"cap_day,omitempty"`
	Cap7    int    `json:"cap_7_days,omitempty"`
}

type moneyTotals struct {
	penaltyPosted, penaltyPaid, lateFeePosted, lateFeePaid, repaid, chargedOff map[string]decimal.Decimal
}

// loanResult is what a simulation keeps of one preview.
type loanResult struct {
	err      error
	customer string
	loc      *time.Location
	currency string
	totals   Totals
	stats    stats
	end      End
	owed     decimal.Decimal // outstanding at the end
}

// Simulate previews every loan of the book under every policy, in parallel
// (one test environment per preview, opts.Workers at a time), with the
// borrowers repaying as opts.PayModel draws with opts.Seed, and sums what
// each policy did. The report depends only on the book, the policies, the
// model and the seed: not on the workers or the order previews finish in.
// The loans are not validated here (callers check them as the API does).
// Loans are simulated independently: the send-time check across one
// borrower's loans (caps per address) is not simulated, the contact counts
// are summed per borrower afterwards.
func Simulate(ctx context.Context, book []policy.Loan, o SimOptions) (*SimReport, error) {
	if len(o.Policies) == 0 {
		return nil, errors.New("simulate: no policy")
	}
	if o.Templates == nil {
		return nil, errors.New("simulate: no templates")
	}
	if len(o.PayModel) == 0 {
		m, err := ParsePayModel(DefaultPayModel)
		if err != nil {
			return nil, err
		}
		o.PayModel = m
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rep := &SimReport{Loans: len(book), Seed: o.Seed, PayModel: o.PayModel.String(),
		Behaviours: map[string]int{}, SMSPrice: o.SMSPrice.String()}
	behaviours := make([]Behaviour, len(book))
	customers := map[string]bool{}
	for i, l := range book {
		behaviours[i] = o.PayModel.draw(o.Seed, l.LoanID)
		rep.Behaviours[behaviours[i].Name]++
		customers[l.Customer.ID] = true
	}
	rep.Borrowers = len(customers)

	results := make([][]loanResult, len(o.Policies))
	for i := range results {
		results[i] = make([]loanResult, len(book))
	}
	total := len(book) * len(o.Policies)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				pi, li := j/len(book), j%len(book)
				results[pi][li] = simulateLoan(ctx, book[li], o.Policies[pi], behaviours[li], o)
				if o.Progress != nil {
					mu.Lock()
					done++
					o.Progress(done, total)
					mu.Unlock()
				}
			}
		})
	}
	for j := range total {
		if ctx.Err() != nil {
			break
		}
		jobs <- j
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	for pi, pol := range o.Policies {
		rep.Policies = append(rep.Policies, summarize(pol, results[pi], o.SMSPrice))
	}
	return rep, nil
}

// simulateLoan previews one loan under pol with the borrower behaving as b.
func simulateLoan(ctx context.Context, l policy.Loan, pol policy.Policy, b Behaviour, o SimOptions) loanResult {
	res := loanResult{customer: l.Customer.ID, currency: l.Currency}
	loc, err := l.Location(pol)
	if err != nil {
		res.err = fmt.Errorf("loan %s: %w", l.LoanID, err)
		return res
	}
	res.loc = loc
	pays, err := b.payments(l, pol)
	if err != nil {
		res.err = err
		return res
	}
	e, err := newEngine(l, Options{Policy: pol, Templates: o.Templates, Brand: o.Brand, Payments: pays, lean: true})
	if err != nil {
		res.err = err
		return res
	}
	if err := e.run(ctx, nil); err != nil {
		res.err = err
		return res
	}
	t, err := e.timeline()
	if err != nil {
		res.err = err
		return res
	}
	res.totals, res.stats, res.end = t.Totals, t.stats, t.End
	res.owed = e.result.Outstanding.Total
	return res
}

// summarize sums one policy's previews, in book order.
func summarize(pol policy.Policy, rs []loanResult, smsPrice decimal.Decimal) PolicyReport {
	r := PolicyReport{Policy: pol.Name, Notices: map[policy.Channel]int{}, ByTemplate: map[string]int{},
		Skipped: map[string]int{}, ChargedOffByMonth: map[string]int{}}
	m := moneyTotals{map[string]decimal.Decimal{}, map[string]decimal.Decimal{}, map[string]decimal.Decimal{},
		map[string]decimal.Decimal{}, map[string]decimal.Decimal{}, map[string]decimal.Decimal{}}
	add := func(to map[string]decimal.Decimal, cur string, d decimal.Decimal) { to[cur] = to[cur].Add(d) }
	// The ladder notices of each borrower, over all their loans.
	type day struct {
		ch  policy.Channel
		day policy.Date
	}
	perBorrower := map[string]map[day]int{}
	var order []string
	for _, x := range rs {
		if x.err != nil {
			r.Errors++
			if len(r.FirstErrors) < 5 {
				r.FirstErrors = append(r.FirstErrors, x.err.Error())
			}
			continue
		}
		for ch, n := range x.totals.Notices {
			r.Notices[ch] += n
		}
		for k, n := range x.totals.ByTemplate {
			r.ByTemplate[k] += n
		}
		for k, n := range x.totals.Skipped {
			r.Skipped[k] += n
		}
		r.SMSSegments += x.totals.SMSSegments
		add(m.penaltyPosted, x.currency, x.stats.penaltyPosted)
		add(m.penaltyPaid, x.currency, x.stats.penaltyPaid)
		add(m.lateFeePosted, x.currency, x.stats.lateFeePosted)
		add(m.lateFeePaid, x.currency, x.stats.lateFeePaid)
		add(m.repaid, x.currency, x.stats.paid)
		switch x.end.State {
		case policy.StatePaidOff:
			r.PaidOff++
		case policy.StateChargedOff:
			r.ChargedOff++
			r.ChargedOffByMonth[x.end.At.In(x.loc).Format("2006-01")]++
			add(m.chargedOff, x.currency, x.owed)
		}
		days, ok := perBorrower[x.customer]
		if !ok {
			days = map[day]int{}
			perBorrower[x.customer] = days
			order = append(order, x.customer)
		}
		for ch, ts := range x.stats.ladder {
			for _, t := range ts {
				days[day{ch, policy.LocalDate(t, x.loc)}]++
			}
		}
	}
	r.SMSCost = smsPrice.Mul(decimal.NewFromInt(int64(r.SMSSegments))).StringFixed(2)
	f := func(mm map[string]decimal.Decimal) map[string]string {
		out := map[string]string{}
		for cur, d := range mm {
			places, ok := policy.MinorUnits(cur)
			if !ok {
				places = 2
			}
			out[cur] = d.StringFixed(places)
		}
		return out
	}
	r.PenaltyPosted, r.PenaltyPaid, r.LateFeePosted, r.LateFeePaid = f(m.penaltyPosted), f(m.penaltyPaid), f(m.lateFeePosted), f(m.lateFeePaid)
	r.Repaid, r.ChargedOffBalance = f(m.repaid), f(m.chargedOff)

	// Contact pressure: per borrower the most notices in one local day and
	// in any window of 7 local days, per channel and over all channels.
	channels := append([]string{}, "all")
	for _, ch := range policy.AllChannels {
		channels = append(channels, string(ch))
	}
	for _, ch := range channels {
		c := Contacts{Channel: ch}
		if ch != "all" {
			c.CapDay, c.Cap7 = pol.Caps.MaxPerChannelPerDay, pol.Caps.MaxPerChannelPer7Days
		}
		var sevens []int
		for _, cust := range order {
			counts := map[policy.Date]int{}
			for d, n := range perBorrower[cust] {
				if ch == "all" || string(d.ch) == ch {
					counts[d.day] += n
				}
			}
			maxDay, max7 := windowMax(counts)
			c.MaxDay = max(c.MaxDay, maxDay)
			c.Max7 = max(c.Max7, max7)
			sevens = append(sevens, max7)
		}
		c.P95of7 = percentile(sevens, 0.95)
		r.Contacts = append(r.Contacts, c)
	}
	return r
}

// windowMax is the largest count of one day and the largest sum over any 7
// consecutive days.
func windowMax(counts map[policy.Date]int) (day, seven int) {
	days := slices.SortedFunc(maps.Keys(counts), func(a, b policy.Date) int { return a.DaysSince(b) })
	for i, d := range days {
		day = max(day, counts[d])
		sum := 0
		for j := i; j >= 0 && d.DaysSince(days[j]) < policy.CapWindowDays; j-- {
			sum += counts[days[j]]
		}
		seven = max(seven, sum)
	}
	return day, seven
}

// percentile is the nearest-rank percentile p of xs (0 for none).
func percentile(xs []int, p float64) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(float64(len(s))*p + 0.999999999)
	return s[min(max(rank, 1), len(s))-1]
}

// sortedKeys lists m's keys in order.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}

// SimulateGCPercent is the garbage collector's percent `starter simulate`
// and BenchmarkSimulate run with (debug.SetGCPercent): a preview allocates
// about 7 MB of short-lived payloads, balances and coroutine stacks per
// 12-installment loan over a live heap of a few MB (10 MB before the
// balance engine replayed in int64), and at the default 100 the CPU profile
// showed the collector at 15–20% of the work; at 400 it runs a quarter as
// often (2% of a simulation's CPU now), for a heap of a few hundred MB at
// most.
const SimulateGCPercent = 400
