package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/policy"
	"dunning/store"
)

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
	// hv is the hardening version of this run (see hardeningVersion): 0 for
	// runs recorded before it, which keep the original behaviour on replay.
	hv workflow.Version
	// runID and keySeq make the keys of ledger rows with no natural key.
	runID  string
	keySeq int
	// audit says what is stuck in the audit trail, "" when nothing is.
	audit string
	// dv is the delivery version of this run (see deliveryVersion).
	dv workflow.Version
	// av is the actor version of this run (see actorVersion, actions.go).
	av workflow.Version
}

// deliveryVersion gates what real delivery changed: notices on their
// channel's task queue, and the fallback to another channel when a
// provider reports an address invalid.
const deliveryVersion = "delivery-1"

// hardeningVersion gates everything the hardening release changed in what a
// running loan does: no message lost at continue-as-new or finish, timers
// from the moment they start, bounded audit activities whose failures are
// kept and retried, ledger keys derived from the events, one final row per
// notice, operator actions validated inside the workflow. A run that started
// before it replays with the original code paths; the next run (after
// continue-as-new) takes the new ones.
const hardeningVersion = "hardening-1"

// LoanWorkflow is the story of one loan: work out where it stands, act on the
// reminder point that is due, sleep until the next one or until a message
// arrives, repeat; complete when the loan is paid off or closed.
func LoanWorkflow(ctx workflow.Context, in Input) (policy.Snapshot, error) {
	l, err := newLoan(ctx, in)
	if err != nil {
		return policy.Snapshot{}, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidInput", err)
	}
	l.initVersions(ctx)
	if l.st.Runs == 1 {
		l.st.KeywordOptOuts = in.KeywordOptOuts
		// A new loan takes the newest money and schedule rules and keeps them
		// for life (policy.Rules); a history recorded before rules were
		// versioned has no marker and keeps the original ones.
		if v := workflow.GetVersion(ctx, "rules", workflow.DefaultVersion, workflow.Version(policy.LatestRules)); v > 0 {
			l.st.Rules = policy.Rules(v)
		}
	}
	if !l.st.Rules.OrOriginal().Known() {
		return policy.Snapshot{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("loan %s runs under rules version %d, which this worker does not know: deploy a newer worker", in.Loan.LoanID, l.st.Rules),
			"UnknownRules", nil)
	}
	if l.hv >= 1 {
		// Count what was settled when the run began: a repayment that arrives
		// while the first point is being sent still ends the run.
		l.paidAtStart = paidCount(l.snapshot(workflow.Now(ctx)))
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
		if l.hv < 1 {
			l.noticePauseExpiry(ctx, now)
		}
		l.sendConfirmations(ctx)
		if len(l.st.Fallbacks) > 0 {
			l.sendFallbacks(ctx, l.snapshot(workflow.Now(ctx)))
		}
		if l.hv >= 1 {
			// Confirmations may have taken minutes: act on the time now.
			now = workflow.Now(ctx)
			l.noticePauseExpiry(ctx, now)
		}
		snap := l.snapshot(now)
		l.recordCharges(ctx, snap)
		if !l.reachable() && (l.points() || workflow.GetVersion(ctx, "case-when-unreachable", workflow.DefaultVersion, 1) >= 1) {
			// Every channel opted out or gone: people take over at once.
			l.openCase(ctx, snap, "no reachable channel left", l.terms.LoanID+"/unreachable")
		}
		if !l.points() || !l.pointDue(now, snap) {
			// At pointsVersion the rows decided so far go with a point that
			// is due now, in its SendPoint, instead of a write of their own.
			l.flush(ctx)
		}
		if l.hv >= 1 {
			now = workflow.Now(ctx)
			snap = l.snapshot(now)
		}

		if l.st.Closed {
			return l.finish(ctx)
		}
		if snap.State == policy.StatePaidOff {
			l.record(ctx, store.KindPaidOff, nil, nil)
			return l.finish(ctx)
		}

		point, ok := policy.Point{}, false
		if !snap.Paused {
			point, ok = policy.NextPointUnder(l.st.Rules.OrOriginal(), l.terms, l.pol, l.loc, snap, l.st.Sent, now)
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
		if l.hv >= 1 && l.auditPending() {
			// Retry what the audit trail has not taken well before the next
			// point, so rows land soon after the database or a migration is fixed.
			retry := now.Add(auditRetry)
			if wakeAt == nil || retry.Before(*wakeAt) {
				wakeAt, summary = &retry, "retry the audit trail"
			}
		}
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
	l.runID = workflow.GetInfo(ctx).WorkflowExecution.RunID
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
	return l.registerActions(ctx)
}

func (l *loan) validateRepay(ctx workflow.Context, r policy.Repayment) error {
	for _, old := range l.st.History.Repayments {
		if old.TxnID == r.TxnID {
			if err := sameRepayment(old, r); err != nil {
				return conflict(err)
			}
			return nil // a repeat: answered with the balance, changes nothing
		}
	}
	if l.done || l.st.Closed {
		return finished()
	}
	now := workflow.Now(ctx)
	if r.PaidAt.IsZero() {
		r.PaidAt = now // the handler applies it at the update's time
	}
	if err := policy.ValidateRepayment(l.terms, r, now.Add(policy.ClockSkew)); err != nil {
		return rejected(err)
	}
	if n := len(l.st.History.Repayments); n >= MaxRepayments {
		return rejected(policy.ValidationError{{Field: "txn_id", Problem: fmt.Sprintf(
			"the loan has taken %d repayments, the most one loan takes (MaxRepayments): settle it with the lender's back office", n)}})
	}
	return nil
}

// sameRepayment says how r, a repeat of old's txn_id, differs from it: the
// lending system reporting one transaction with two amounts has a bug to find,
// and answering "already applied" would hide it. A repeat without paid_at
// means "when it was paid", whatever that was.
func sameRepayment(old, r policy.Repayment) error {
	var v policy.ValidationError
	if !r.Amount.Equal(old.Amount) {
		v = append(v, policy.FieldError{Field: "amount", Problem: fmt.Sprintf(
			"txn_id %s was already applied with amount %s, not %s", old.TxnID, old.Amount, r.Amount)})
	}
	if !r.PaidAt.IsZero() && !r.PaidAt.Equal(old.PaidAt) {
		v = append(v, policy.FieldError{Field: "paid_at", Problem: fmt.Sprintf(
			"txn_id %s was already applied as paid at %s, not %s", old.TxnID,
			old.PaidAt.Format(time.RFC3339), r.PaidAt.Format(time.RFC3339))})
	}
	if r.Currency != "" && old.Currency != "" && r.Currency != old.Currency {
		v = append(v, policy.FieldError{Field: "currency", Problem: fmt.Sprintf(
			"txn_id %s was already applied in %s, not %s", old.TxnID, old.Currency, r.Currency)})
	}
	return v.Err()
}

// repay applies a repayment and answers with the balance after allocation.
// A txn_id already applied changes nothing: the answer is the current
// balance, in which that repayment's allocation is unchanged. A repayment
// without paid_at was paid now.
func (l *loan) repay(ctx workflow.Context, r policy.Repayment) (policy.Snapshot, error) {
	now := workflow.Now(ctx)
	for _, old := range l.st.History.Repayments {
		if old.TxnID == r.TxnID {
			s := l.snapshot(now)
			s.NextReminderAt = l.nextAt
			return l.repayAnswer(s, r.TxnID), nil
		}
	}
	if r.PaidAt.IsZero() {
		r.PaidAt = now
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
	l.recordKeyed(store.KindRepaymentApplied, r.TxnID, &amt, detail, r.PaidAt)
	tmpl := policy.TemplatePaymentReceived
	if s.State == policy.StatePaidOff {
		tmpl = policy.TemplatePaidOff
		l.done = true
	}
	l.st.Pending = append(l.st.Pending, Confirmation{TxnID: r.TxnID, Template: tmpl, Amount: r.Amount, PaidAt: r.PaidAt})
	l.wake.SendAsync(true)
	s.NextReminderAt = l.nextAt
	return l.repayAnswer(s, r.TxnID), nil
}

// repayAnswer is the snapshot a repay update answers with. Its applied list
// holds only this repayment's allocation: every update's answer is kept in
// the loan's history, and the full list (up to MaxRepayments) in each would
// grow it by hundreds of kilobytes per repayment. The status query lists them
// all.
func (l *loan) repayAnswer(s policy.Snapshot, txnID string) policy.Snapshot {
	if l.hv < 1 {
		return s
	}
	var mine []policy.Allocation
	for _, a := range s.Applied {
		if a.TxnID == txnID {
			mine = append(mine, a)
		}
	}
	s.Applied = mine
	return s
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
	s.OptOuts = append([]policy.Channel{}, l.terms.Customer.OptOuts...)
	if l.st.Closed {
		s.State = policy.StateClosed
	}
	return s
}

// finish publishes the final state and completes the workflow. No message
// may be lost on the way out: after the last blocking call (an activity, or
// waiting for update handlers) it drains the signals once more and goes
// round again if it found any, so it returns only from a workflow task in
// which nothing new arrived. Audit rows the database refused keep the loan
// open, retried every auditRetry, until they are written: completing would
// lose them.
func (l *loan) finish(ctx workflow.Context) (policy.Snapshot, error) {
	l.done = true
	if l.hv < 1 {
		return l.finishOriginal(ctx)
	}
	for {
		l.sendConfirmations(ctx)
		l.flush(ctx)
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		if l.signals.drain(ctx, l) || len(l.st.Pending) > 0 {
			continue
		}
		if !l.auditPending() {
			break
		}
		retry := workflow.Now(ctx).Add(auditRetry)
		l.nextAt = nil
		l.publish(ctx, l.snapshot(workflow.Now(ctx)), policy.Point{}, false)
		l.sleep(ctx, workflow.Now(ctx), &retry, "retry the audit trail before completing")
	}
	l.nextAt = nil
	snap := l.snapshot(workflow.Now(ctx))
	l.publish(ctx, snap, policy.Point{}, false)
	return snap, nil
}

// finishOriginal is finish as first released, for the replay of runs that
// started before hardeningVersion.
func (l *loan) finishOriginal(ctx workflow.Context) (policy.Snapshot, error) {
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

// paidCount is the number of installments paid in full.
func paidCount(snap policy.Snapshot) int {
	paid := 0
	for _, in := range snap.Installments {
		if in.Status == policy.StatusPaid {
			paid++
		}
	}
	return paid
}

// shouldContinueAsNew is true when the server suggests it or an installment
// was settled in this run, so a 30-year loan's history stays small.
func (l *loan) shouldContinueAsNew(ctx workflow.Context, snap policy.Snapshot) bool {
	paid := paidCount(snap)
	if l.paidAtStart < 0 {
		l.paidAtStart = paid
	}
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested() || paid > l.paidAtStart
}

// continueAsNew starts the next run with the state. Like finish, it returns
// only from a workflow task in which, after the last blocking call, no signal
// was waiting (sdk-go #533) and every update handler had finished; what is
// still to do (confirmations, audit rows, cases) travels in the state.
func (l *loan) continueAsNew(ctx workflow.Context) error {
	if l.hv < 1 {
		for l.signals.drain(ctx, l) {
		}
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
		l.flush(ctx)
	} else {
		for {
			l.flush(ctx)
			_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
			if !l.signals.drain(ctx, l) {
				break
			}
		}
	}
	next := Input{Loan: l.terms, Policy: l.pol, State: l.st}
	return workflow.NewContinueAsNewError(ctx, LoanWorkflow, next)
}

// sleep waits until wakeAt (forever when nil) or until a signal or an update
// arrives; the loop then recomputes everything. The timer runs from the
// moment it starts: whatever blocked since the loop read the clock
// (confirmations, audit writes) does not make the next notice late.
func (l *loan) sleep(ctx workflow.Context, now time.Time, wakeAt *time.Time, summary string) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	sel := workflow.NewSelector(ctx)
	if wakeAt != nil {
		if l.hv >= 1 {
			now = workflow.Now(ctx)
			if !wakeAt.After(now) {
				return // due already: act on it at once
			}
		}
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
