package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/policy"
	"dunning/store"
)

// clockSkew is how far in the future a repayment's paid_at may be: the
// lending system's clock and the workflow's task time are never exactly equal.
const clockSkew = 2 * time.Minute

// acts is only a name holder for activity method references.
var acts *activities.Activities

// loan is one run of the loan workflow: the terms, the rules and the state.
type loan struct {
	terms       policy.Loan
	pol         policy.Policy
	loc         *time.Location
	st          *State
	wake        workflow.Channel
	signals     signalChannels
	done        bool
	paidAtStart int
	nextAt      *time.Time
	pub         published
}

// LoanWorkflow is the story of one loan: work out where it stands, act on the
// reminder point that is due, sleep until the next one or until a message
// arrives, repeat; complete when the loan is paid off or closed.
func LoanWorkflow(ctx workflow.Context, in Input) (policy.Snapshot, error) {
	l, err := newLoan(ctx, in)
	if err != nil {
		return policy.Snapshot{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	if err := l.register(ctx); err != nil {
		return policy.Snapshot{}, err
	}
	if l.st.Runs == 1 {
		l.record(ctx, store.KindLoanStarted, nil, map[string]any{
			"installments": len(l.terms.Installments), "policy": l.pol.Name, "currency": l.terms.Currency,
		})
	}
	for {
		now := workflow.Now(ctx)
		l.noticePauseExpiry(ctx, now)
		l.sendConfirmations(ctx)
		snap := l.snapshot(now)
		l.recordCharges(ctx, snap)
		if !l.reachable() && workflow.GetVersion(ctx, "case-when-unreachable", workflow.DefaultVersion, 1) >= 1 {
			// Every channel opted out or gone: people take over at once.
			l.openCase(ctx, snap, "no reachable channel left", l.terms.LoanID+"/unreachable")
		}
		l.flush(ctx)

		if l.st.Closed {
			return l.finish(ctx)
		}
		if snap.State == policy.StatePaidOff {
			l.record(ctx, store.KindPaidOff, nil, nil)
			return l.finish(ctx)
		}

		point, ok := policy.Point{}, false
		if !snap.Paused {
			point, ok = policy.NextPoint(l.terms, l.pol, l.loc, snap, l.st.Sent, now)
		}
		if ok && !point.At.After(now) {
			l.sendPoint(ctx, point, snap)
			continue
		}

		var wakeAt *time.Time
		summary := ""
		if ok {
			wakeAt = &point.At
			summary = pointSummary(point)
		}
		if snap.Paused {
			if until := l.pauseUntil(now); until != nil {
				wakeAt, summary = until, "pause ends at "+until.In(l.loc).Format("2006-01-02 15:04 MST")
			}
		}
		l.nextAt = wakeAt
		snap.NextReminderAt = wakeAt
		l.publish(ctx, snap, point, ok)

		if l.shouldContinueAsNew(ctx, snap) {
			return policy.Snapshot{}, l.continueAsNew(ctx)
		}
		l.sleep(ctx, now, wakeAt, summary)
	}
}

func newLoan(ctx workflow.Context, in Input) (*loan, error) {
	loc, err := in.Loan.Location(in.Policy)
	if err != nil {
		return nil, fmt.Errorf("loan %s: %w", in.Loan.LoanID, err)
	}
	st := in.State
	if st == nil {
		st = &State{}
	}
	st.Runs++
	l := &loan{
		terms: in.Loan, pol: in.Policy, loc: loc, st: st,
		wake: workflow.NewBufferedChannel(ctx, 1),
	}
	l.signals = newSignalChannels(ctx)
	l.paidAtStart = -1
	return l, nil
}

// register installs the status query and the repay update.
func (l *loan) register(ctx workflow.Context) error {
	// The status query answers as of the caller's instant when it passes one
	// (the API and CLI pass their clock): workflow.Now is the time of the
	// last workflow task, which is days old while a loan sleeps. A query
	// writes nothing to history, so this cannot break replay.
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func(asOf *time.Time) (policy.Snapshot, error) {
		now := workflow.Now(ctx)
		if asOf != nil && asOf.After(now) {
			now = *asOf
		}
		s := l.snapshot(now)
		s.NextReminderAt = l.nextAt
		return s, nil
	}); err != nil {
		return fmt.Errorf("register query %s: %w", QueryStatus, err)
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRepay, l.repay, workflow.UpdateHandlerOptions{
		Validator: l.validateRepay,
	})
	if err != nil {
		return fmt.Errorf("register update %s: %w", UpdateRepay, err)
	}
	return nil
}

// ErrLoanFinished rejects repayments once the workflow is completing.
var ErrLoanFinished = errors.New("loan is no longer open: it was paid off or closed")

func (l *loan) validateRepay(ctx workflow.Context, r policy.Repayment) error {
	for _, old := range l.st.History.Repayments {
		if old.TxnID == r.TxnID {
			return nil // a repeat: answered with the balance, changes nothing
		}
	}
	if l.done || l.st.Closed {
		return ErrLoanFinished
	}
	return policy.ValidateRepayment(l.terms, r, workflow.Now(ctx).Add(clockSkew))
}

// repay applies a repayment and answers with the balance after allocation.
// A txn_id already applied changes nothing: the answer is the current
// balance, in which that repayment's allocation is unchanged.
func (l *loan) repay(ctx workflow.Context, r policy.Repayment) (policy.Snapshot, error) {
	now := workflow.Now(ctx)
	for _, old := range l.st.History.Repayments {
		if old.TxnID == r.TxnID {
			s := l.snapshot(now)
			s.NextReminderAt = l.nextAt
			return s, nil
		}
	}
	r.Currency = l.terms.Currency
	l.st.History.Repayments = append(l.st.History.Repayments, r)
	s := l.snapshot(now)
	amt := r.Amount
	detail := map[string]any{"txn_id": r.TxnID, "paid_at": r.PaidAt}
	for _, a := range s.Applied {
		if a.TxnID == r.TxnID {
			detail["allocation"] = a.Parts
			detail["credit"] = a.Credit
		}
	}
	l.recordAt(store.KindRepaymentApplied, &amt, detail, r.PaidAt)
	tmpl := policy.TemplatePaymentReceived
	if s.State == policy.StatePaidOff {
		tmpl = policy.TemplatePaidOff
		l.done = true
	}
	l.st.Pending = append(l.st.Pending, Confirmation{TxnID: r.TxnID, Template: tmpl, Amount: r.Amount, PaidAt: r.PaidAt})
	l.wake.SendAsync(true)
	s.NextReminderAt = l.nextAt
	return s, nil
}

// asOf is the instant balances are computed at: now, or the latest paid_at
// if a repayment arrived with a clock slightly ahead of ours.
func (l *loan) asOf(now time.Time) time.Time {
	for _, r := range l.st.History.Repayments {
		if r.PaidAt.After(now) {
			now = r.PaidAt
		}
	}
	return now
}

func (l *loan) snapshot(now time.Time) policy.Snapshot {
	s, err := policy.SnapshotAt(l.terms, l.pol, l.st.History, l.asOf(now))
	if err != nil {
		// The terms were validated before the workflow started; an error here
		// is a bug, and panicking fails the workflow task so it can be fixed
		// and replayed rather than acting on a wrong balance.
		panic(fmt.Sprintf("snapshot of loan %s: %v", l.terms.LoanID, err))
	}
	s.NoticesSent = l.st.NoticesSent
	if l.st.Closed {
		s.State = policy.StateClosed
	}
	return s
}

// finish waits for running update handlers, publishes the final state and
// completes the workflow.
func (l *loan) finish(ctx workflow.Context) (policy.Snapshot, error) {
	l.done = true
	// Signals that arrived with the one that ended the loan (a close and a
	// contact update in the same task) are applied and audited, not lost.
	// Added after the first histories were recorded: gated, as every change
	// to the workflow's logic is.
	if workflow.GetVersion(ctx, "drain-signals-before-finish", workflow.DefaultVersion, 1) >= 1 {
		for l.signals.drain(ctx, l) {
		}
	}
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	l.sendConfirmations(ctx)
	l.flush(ctx)
	l.nextAt = nil
	snap := l.snapshot(workflow.Now(ctx))
	l.publish(ctx, snap, policy.Point{}, false)
	return snap, nil
}

func (l *loan) pauseUntil(now time.Time) *time.Time {
	for _, p := range slices.Backward(l.st.History.Pauses) {
		if !now.Before(p.From) && (p.Until.IsZero() || now.Before(p.Until)) {
			if p.Until.IsZero() {
				return nil
			}
			u := p.Until
			return &u
		}
	}
	return nil
}

// noticePauseExpiry writes the resumed row when a pause with an end time ran out.
func (l *loan) noticePauseExpiry(ctx workflow.Context, now time.Time) {
	paused := false
	for _, p := range l.st.History.Pauses {
		if !now.Before(p.From) && (p.Until.IsZero() || now.Before(p.Until)) {
			paused = true
		}
	}
	if l.st.WasPaused && !paused {
		l.record(ctx, store.KindResumed, nil, map[string]any{"reason": "pause ended"})
	}
	l.st.WasPaused = paused
}

// shouldContinueAsNew is true when the server suggests it or an installment
// was settled in this run, so a 30-year loan's history stays small.
func (l *loan) shouldContinueAsNew(ctx workflow.Context, snap policy.Snapshot) bool {
	paid := 0
	for _, in := range snap.Installments {
		if in.Status == policy.StatusPaid {
			paid++
		}
	}
	if l.paidAtStart < 0 {
		l.paidAtStart = paid
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || paid > l.paidAtStart
}

// continueAsNew drains every signal and waits for update handlers, so no
// message is lost across the boundary (sdk-go #533), then starts the next run
// with the state.
func (l *loan) continueAsNew(ctx workflow.Context) error {
	for l.signals.drain(ctx, l) {
	}
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	l.flush(ctx)
	next := Input{Loan: l.terms, Policy: l.pol, State: l.st}
	return workflow.NewContinueAsNewError(ctx, LoanWorkflow, next)
}

// sleep waits until wakeAt (forever when nil) or until a signal or an update
// arrives; the loop then recomputes everything.
func (l *loan) sleep(ctx workflow.Context, now time.Time, wakeAt *time.Time, summary string) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	if wakeAt != nil {
		d := max(wakeAt.Sub(now), time.Millisecond)
		sel.AddFuture(workflow.NewTimerWithOptions(tctx, d, workflow.TimerOptions{Summary: summary}), func(workflow.Future) {})
	}
	sel.AddReceive(l.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
	l.signals.addTo(ctx, sel, l)
	sel.Select(ctx)
}

func pointSummary(p policy.Point) string {
	return fmt.Sprintf("D%+d %s at %s", p.Offset, p.Template, p.At.Format("2006-01-02 15:04 MST"))
}
