package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
	"dunning/preview"
	"dunning/templates"
	"dunning/workflows"
)

// Lifecycle is a loan's life to measure: the loan and the repayments it
// gets, run by preview.RunObserved from a minute before its first reminder
// point to its payoff, or to its charge-off (after which the preview closes
// it).
type Lifecycle struct {
	Name     string
	Loan     policy.Loan
	Payments []preview.Payment
}

// FirstDue is the first due date of the measured loans: fixed, so the
// figures do not change with the day they are measured on.
var FirstDue = policy.MustDate("2027-01-15")

// Loan is loan id: n monthly installments of 1000.00 principal and 45.00
// interest due on the 15th from FirstDue, in CNY, for a zh-CN customer in
// Asia/Shanghai reachable on SMS, email and push (every rung of the ladder
// sends on every channel it names).
func Loan(id string, n int) policy.Loan {
	l := policy.Loan{LoanID: id, Currency: "CNY", Policy: "default",
		Customer: policy.Customer{ID: "C-" + id, Name: "张伟", Phone: "+8613800138000", Email: "zhang.wei@example.cn",
			PushToken: "fcm-token-1", Locale: "zh-CN", TimeZone: "Asia/Shanghai"}}
	for i := range n {
		due := policy.DateOf(time.Date(FirstDue.Year, FirstDue.Month+time.Month(i), FirstDue.Day, 12, 0, 0, 0, time.UTC))
		l.Installments = append(l.Installments, policy.Installment{Seq: i + 1, DueDate: due,
			Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("45.00"), Fee: decimal.Zero})
	}
	return l
}

// PaidOnTime is loan l with every installment paid in full (principal,
// interest and fee) on its due date at hh:mm local time. At the default
// 12:00 the due-day point (10:00 plus the loan's spread of under an hour)
// has gone out: an installment gets its −3, −1 and 0 points and one
// repayment, as DESIGN.md's ladder has it.
func PaidOnTime(name string, l policy.Loan, p policy.Policy, hh, mm int) (Lifecycle, error) {
	loc, err := l.Location(p)
	if err != nil {
		return Lifecycle{}, err
	}
	lc := Lifecycle{Name: name, Loan: l}
	for _, in := range l.Installments {
		lc.Payments = append(lc.Payments, preview.Payment{At: in.DueDate.At(loc, hh, mm),
			Amount: in.Principal.Add(in.Interest).Add(in.Fee), TxnID: fmt.Sprintf("PAY-%d", in.Seq)})
	}
	return lc, nil
}

// Result is what a lifecycle's histories hold, run by run.
type Result struct {
	Name         string
	Installments int
	// Runs are the events of each run of the workflow (continue-as-new
	// starts the next), the first run first.
	Runs []Counts
	// Tasks say, run by run, what each workflow task was for.
	Tasks [][]string
	// Merged are, run by run, the activity results batched into a task
	// another result opened (Counter.Merged).
	Merged []int
	// ChargeOff are the events of every run up to the moment the loan was
	// charged off and waits for recoveries: all of them but what the
	// preview's close (a signal) added. Nil when the loan was not charged
	// off.
	ChargeOff Counts
	End       preview.End
}

// Total are the events of all runs.
func (r *Result) Total() Counts {
	t := Counts{}
	for _, c := range r.Runs {
		t.Add(c)
	}
	return t
}

// Largest is the run with the most events (1 is the first) and its events.
func (r *Result) Largest() (int, Counts) {
	best := 0
	for i, c := range r.Runs {
		if c.Total() > r.Runs[best].Total() {
			best = i
		}
	}
	return best + 1, r.Runs[best]
}

// Split is how many events more the runs would have if the server split
// every batch of activity results (3 per result merged): the most the
// histories can exceed Total by, all else as counted.
func (r *Result) Split() int {
	n := 0
	for _, m := range r.Merged {
		n += 3 * m
	}
	return n
}

// SplitRun is Split for run n alone (1 is the first).
func (r *Result) SplitRun(n int) int {
	if n < 1 || n > len(r.Merged) {
		return 0
	}
	return 3 * r.Merged[n-1]
}

// PerInstallment is the events of all runs per installment of the loan.
func (r *Result) PerInstallment() float64 {
	return float64(r.Total().Total()) / float64(r.Installments)
}

// Measure runs lc under policy p with the real LoanWorkflow, activities
// (over the preview's in-memory store) and templates tr, and counts the
// history events of each run.
func Measure(ctx context.Context, lc Lifecycle, p policy.Policy, tr *templates.Renderer) (*Result, error) {
	var o Observer
	tl, err := preview.RunObserved(ctx, lc.Loan, preview.Options{Policy: p, Templates: tr, Payments: lc.Payments}, o.Observe)
	if err != nil {
		return nil, fmt.Errorf("lifecycle %s: %w", lc.Name, err)
	}
	r := &Result{Name: lc.Name, Installments: len(lc.Loan.Installments), End: tl.End}
	for i, c := range o.Runs() {
		if err := c.Err(); err != nil {
			return nil, fmt.Errorf("lifecycle %s, run %d: %w", lc.Name, i+1, err)
		}
		if !c.Ended() {
			return nil, fmt.Errorf("lifecycle %s, run %d did not end", lc.Name, i+1)
		}
		r.Runs = append(r.Runs, c.Counts())
		r.Tasks = append(r.Tasks, c.Tasks())
		r.Merged = append(r.Merged, c.Merged())
		if before, ok := c.BeforeSignal(workflows.SignalClose); ok && r.ChargeOff == nil && tl.End.State == policy.StateChargedOff {
			r.ChargeOff = Counts{}
			for _, prev := range r.Runs[:i] {
				r.ChargeOff.Add(prev)
			}
			r.ChargeOff.Add(before)
		}
	}
	if len(r.Runs) != tl.Runs {
		return nil, fmt.Errorf("lifecycle %s: counted %d runs, the preview had %d", lc.Name, len(r.Runs), tl.Runs)
	}
	return r, nil
}

// Standard are the three lifecycles of issue 9 under policy p: 12
// installments paid on time (each on its due date at hh:mm local), 12
// installments never paid (to charge-off), and long installments paid on
// time (360: a 30-year mortgage).
func Standard(p policy.Policy, long, hh, mm int) ([]Lifecycle, error) {
	onTime, err := PaidOnTime("12 paid on time", Loan("LC-12-ONTIME", 12), p, hh, mm)
	if err != nil {
		return nil, err
	}
	chargeOff := Lifecycle{Name: "12 never paid", Loan: Loan("LC-12-CHARGEOFF", 12)}
	longOnTime, err := PaidOnTime(fmt.Sprintf("%d paid on time", long), Loan(fmt.Sprintf("LC-%d-ONTIME", long), long), p, hh, mm)
	if err != nil {
		return nil, err
	}
	for _, lc := range []Lifecycle{onTime, chargeOff, longOnTime} {
		if err := policy.ValidateLoan(lc.Loan, nil, nil); err != nil {
			return nil, fmt.Errorf("lifecycle %s: %w", lc.Name, err)
		}
	}
	return []Lifecycle{onTime, chargeOff, longOnTime}, nil
}
