package policy

// This file is the balance engine as it was before SnapshotAt got its
// int64 fast path (commit ca9a1ef, policy/balance.go, with Stage and its
// helpers from policy/schedule.go), copied verbatim but for the names
// (prefixed o, oracle…): the oracle the differential tests in
// balance_equiv_test.go hold today's SnapshotAt to. Money rules are
// versioned and a running loan's amounts must never change, so the new
// engine must give exactly these snapshots. Never edit this file to make a
// test pass.

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Component indexes into an installment's remaining balance.
const (
	oPrincipal = iota
	oInterest
	oFee
	oPenalty
	oLateFee
	oComponents
)

var oComponentIndex = map[Component]int{
	CompPrincipal: oPrincipal,
	CompInterest:  oInterest,
	CompFee:       oFee,
	CompPenalty:   oPenalty,
	CompLateFee:   oLateFee,
}

// oLedgerInst is one installment while the balance is replayed.
type oLedgerInst struct {
	Installment
	rem [oComponents]decimal.Decimal
	// provisional is penalty accrued inside grace: owed only if the
	// installment is still unpaid when grace ends.
	provisional decimal.Decimal
	// charged is every penalty and late fee assessed so far, provisional
	// included, for the cap.
	charged       decimal.Decimal
	capAmount     decimal.Decimal
	capSet        bool
	graceResolved bool
	lateFeeDone   bool
	// posted is the penalty and late fee actually owed so far (paid or
	// not), for the ledger: provisional grace penalty joins it when grace ends.
	postedPenalty, postedLateFee decimal.Decimal
}

func (in *oLedgerInst) unpaid() bool {
	for _, r := range in.rem {
		if r.IsPositive() {
			return true
		}
	}
	return false
}

// oReplay is the state of the balance engine while it walks through time.
type oReplay struct {
	loan       Loan
	pol        Policy
	loc        *time.Location
	places     int32
	order      []int
	insts      []*oLedgerInst
	credit     decimal.Decimal
	chargedOff bool
	chargeOff  int // offset of the charge-off rung; 0 when the ladder has none
	version    int
	applied    []Allocation
	pauses     []Pause
	lateFee    decimal.Decimal
	// first is the index of the oldest installment that may be unpaid:
	// everything before it is paid, so the walks start there.
	first int
	// prepay is the order for installments not yet due: interest, fee,
	// principal (DESIGN.md), whatever the overdue order is.
	prepay []int
}

// oracleSnapshotAt computes the balance of loan l under policy p at asOf, replaying
// h from the first due date: penalties posted at each local midnight, grace,
// late fee, cap, repayments in paid_at order and reschedules. It is a pure
// function of its arguments: the same inputs give the same snapshot, whatever
// order the repayments arrived in. Events after asOf are ignored.
//
// Decisions where DESIGN.md is silent:
//   - An event at exactly 00:00 local happens after that midnight's posting:
//     an installment paid at 00:00 on D+1 was unpaid at 00:00 and is overdue.
//   - At the midnight grace ends, the retroactive penalties post first, then
//     that day's penalty, then the late fee; each is cut to what the cap leaves.
//   - A frozen pause skips that midnight's posting entirely; an installment
//     whose grace ended during the pause is resolved at the first unfrozen
//     midnight (so a pause can delay, not waive, the late fee).
//   - The loan is charged off at the first local midnight at which its DPD
//     reaches the charge-off rung's offset (+90), paused or not; that day's
//     penalty still posts, nothing accrues after. Repayments after charge-off
//     are still applied (recoveries).
//   - Of repayments sharing a txn_id, the first in h.Repayments counts.
func oracleSnapshotAt(l Loan, p Policy, h History, asOf time.Time) (Snapshot, error) {
	r, err := oNewReplay(l, p, h)
	if err != nil {
		return Snapshot{}, err
	}
	reps := oDedupeRepayments(h.Repayments)
	slices.SortStableFunc(reps, func(a, b Repayment) int {
		if c := a.PaidAt.Compare(b.PaidAt); c != 0 {
			return c
		}
		return cmp.Compare(a.TxnID, b.TxnID)
	})
	rescheds := slices.Clone(h.Reschedules)
	slices.SortStableFunc(rescheds, func(a, b Reschedule) int { return a.At.Compare(b.At) })

	var day Date // the next local midnight not yet processed
	ri, si := 0, 0
	for {
		// Next event (repayment or reschedule, reschedule first on a tie).
		var evAt time.Time
		evKind := 0
		if si < len(rescheds) && !rescheds[si].At.After(asOf) {
			evAt, evKind = rescheds[si].At, 2
		}
		if ri < len(reps) && !reps[ri].PaidAt.After(asOf) && (evKind == 0 || reps[ri].PaidAt.Before(evAt)) {
			evAt, evKind = reps[ri].PaidAt, 1
		}
		// Next midnight with something overdue.
		mid, ok := r.nextMidnight(day)
		if ok && !mid.Midnight(r.loc).After(asOf) && (evKind == 0 || !mid.Midnight(r.loc).After(evAt)) {
			r.postMidnight(mid)
			day = mid.AddDays(1)
			continue
		}
		switch evKind {
		case 1:
			r.applyRepayment(reps[ri])
			ri++
		case 2:
			r.reschedule(rescheds[si])
			si++
		default:
			return r.snapshot(asOf), nil
		}
	}
}

func oNewReplay(l Loan, p Policy, h History) (*oReplay, error) {
	places, ok := MinorUnits(l.Currency)
	if !ok {
		return nil, fmt.Errorf("currency %q: unknown", l.Currency)
	}
	loc, err := l.Location(p)
	if err != nil {
		return nil, err
	}
	r := &oReplay{loan: l, pol: p, loc: loc, places: places, pauses: h.Pauses,
		lateFee: RoundMoney(p.Penalty.LateFee, places)}
	for _, c := range p.Allocation {
		i, ok := oComponentIndex[c]
		if !ok {
			return nil, fmt.Errorf("allocation: unknown component %q", c)
		}
		r.order = append(r.order, i)
	}
	r.prepay = []int{oInterest, oFee, oPrincipal}
	for _, rung := range p.Reminders.Ladder {
		if rung.Action == ActionChargeOff {
			r.chargeOff = rung.Offset
		}
	}
	r.insts = r.makeInsts(l.Installments)
	r.sortInsts()
	return r, nil
}

func (r *oReplay) makeInsts(ins []Installment) []*oLedgerInst {
	out := make([]*oLedgerInst, 0, len(ins))
	backing := make([]oLedgerInst, len(ins)) // one allocation, not one per installment
	for i, in := range ins {
		li := &backing[i]
		li.Installment = in
		li.rem[oPrincipal] = in.Principal
		li.rem[oInterest] = in.Interest
		li.rem[oFee] = in.Fee
		out = append(out, li)
	}
	return out
}

// advance moves first past installments that are paid and returns it.
// Paid stays paid: only a reschedule changes the list (and resets first).
func (r *oReplay) advance() int {
	for r.first < len(r.insts) && !r.insts[r.first].unpaid() {
		r.first++
	}
	return r.first
}

// sortInsts keeps installments in due-date order, which every walk relies on.
func (r *oReplay) sortInsts() {
	slices.SortStableFunc(r.insts, func(a, b *oLedgerInst) int {
		switch {
		case a.DueDate.Before(b.DueDate):
			return -1
		case b.DueDate.Before(a.DueDate):
			return 1
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
}

func oDedupeRepayments(in []Repayment) []Repayment {
	seen := make(map[string]bool, len(in))
	out := make([]Repayment, 0, len(in))
	for _, rp := range in {
		if seen[rp.TxnID] {
			continue
		}
		seen[rp.TxnID] = true
		out = append(out, rp)
	}
	return out
}

// nextMidnight is the first local day on or after from whose midnight finds
// an installment overdue; false when nothing unpaid can become overdue or the
// loan is charged off.
func (r *oReplay) nextMidnight(from Date) (Date, bool) {
	if r.chargedOff {
		return Date{}, false
	}
	// Installments are in due-date order: the first unpaid one is the oldest.
	for _, in := range r.insts[r.advance():] {
		if !in.unpaid() {
			continue
		}
		best := in.DueDate.AddDays(1)
		if !from.IsZero() && best.Before(from) {
			best = from
		}
		return best, true
	}
	return Date{}, false
}

func (r *oReplay) pausedAt(t time.Time) bool {
	for _, p := range r.pauses {
		if !t.Before(p.From) && (p.Until.IsZero() || t.Before(p.Until)) {
			return true
		}
	}
	return false
}

// postMidnight posts penalty interest and late fees at 00:00 local on day,
// then charges the loan off if its DPD reached the charge-off rung.
func (r *oReplay) postMidnight(day Date) {
	pen := r.pol.Penalty
	frozen := pen.FreezePenalty && r.pausedAt(day.Midnight(r.loc))
	oldest := -1
	for _, in := range r.insts[r.advance():] {
		if !in.DueDate.Before(day) {
			break // in due-date order: the rest are not yet overdue
		}
		if !in.unpaid() {
			continue
		}
		k := day.DaysSince(in.DueDate)
		if oldest < 0 {
			oldest = k
		}
		if frozen {
			continue
		}
		base := in.rem[oPrincipal]
		if pen.Base == BasePrincipalAndInterest {
			base = base.Add(in.rem[oInterest])
		}
		amt := r.capped(in, RoundMoney(base.Mul(pen.DailyRate), r.places))
		if k <= pen.GraceDays {
			in.provisional = in.provisional.Add(amt)
			continue
		}
		if !in.graceResolved {
			amt = amt.Add(in.provisional)
			in.provisional = decimal.Zero
			in.graceResolved = true
		}
		in.rem[oPenalty] = in.rem[oPenalty].Add(amt)
		in.postedPenalty = in.postedPenalty.Add(amt)
		if !in.lateFeeDone {
			in.lateFeeDone = true
			fee := r.capped(in, r.lateFee)
			in.rem[oLateFee] = in.rem[oLateFee].Add(fee)
			in.postedLateFee = in.postedLateFee.Add(fee)
		}
	}
	if r.chargeOff > 0 && oldest >= r.chargeOff {
		r.chargedOff = true
	}
}

// capped cuts amt to what the cap still allows and counts it as charged.
func (r *oReplay) capped(in *oLedgerInst, amt decimal.Decimal) decimal.Decimal {
	if !in.capSet {
		// Computed when first needed (most installments never go overdue)
		// and rounded down: the cap is a ceiling never to be exceeded.
		in.capAmount = in.Principal.Mul(r.pol.Penalty.CapRatio).RoundFloor(r.places)
		in.capSet = true
	}
	room := in.capAmount.Sub(in.charged)
	if room.IsNegative() {
		room = decimal.Zero
	}
	if amt.GreaterThan(room) {
		amt = room
	}
	in.charged = in.charged.Add(amt)
	return amt
}

// applyRepayment spends a repayment oldest installment first, each in the
// policy's allocation order. Installments not yet due have no penalty or
// late fee, so the same order prepays them interest, fee, then principal.
// What is left after everything is paid is credit.
func (r *oReplay) applyRepayment(rp Repayment) {
	left := rp.Amount
	a := Allocation{TxnID: rp.TxnID, Amount: rp.Amount, PaidAt: rp.PaidAt}
	left, a.Parts = r.spend(left, LocalDate(rp.PaidAt, r.loc))
	a.Credit = left
	r.credit = r.credit.Add(left)
	r.applied = append(r.applied, a)
}

// spend pays installments oldest first: those due by today in the policy's
// allocation order, later ones (prepayment) interest, fee, then principal.
func (r *oReplay) spend(left decimal.Decimal, today Date) (decimal.Decimal, []AllocationPart) {
	var parts []AllocationPart
	for _, in := range r.insts[r.advance():] {
		if !left.IsPositive() {
			break
		}
		if !in.unpaid() {
			continue
		}
		order := r.order
		if in.DueDate.After(today) {
			order = r.prepay
		}
		var paid [oComponents]decimal.Decimal
		for _, c := range order {
			x := decimal.Min(in.rem[c], left)
			if !x.IsPositive() {
				continue
			}
			in.rem[c] = in.rem[c].Sub(x)
			left = left.Sub(x)
			paid[c] = x
		}
		parts = append(parts, AllocationPart{Seq: in.Seq, Paid: oBreakdownOf(paid)})
	}
	return left, parts
}

// reschedule replaces every installment not fully paid with the new ones;
// credit on hand is spent on them at once.
func (r *oReplay) reschedule(rs Reschedule) {
	kept := r.insts[:0:0]
	for _, in := range r.insts {
		if !in.unpaid() {
			kept = append(kept, in)
		}
	}
	r.insts = append(kept, r.makeInsts(rs.Installments)...)
	r.sortInsts()
	r.first = 0
	r.version++
	if r.credit.IsPositive() {
		r.credit, _ = r.spend(r.credit, LocalDate(rs.At, r.loc))
	}
}

func oBreakdownOf(v [oComponents]decimal.Decimal) Breakdown {
	b := Breakdown{Principal: v[oPrincipal], Interest: v[oInterest], Fee: v[oFee],
		Penalty: v[oPenalty], LateFee: v[oLateFee]}
	b.Total = oAdd(oAdd(oAdd(oAdd(b.Principal, b.Interest), b.Fee), b.Penalty), b.LateFee)
	return b
}

// add is a + b without the allocation decimal.Add makes when one is zero:
// most components of most installments are, and the workflow computes a
// snapshot on every wake-up.
func oAdd(a, b decimal.Decimal) decimal.Decimal {
	switch {
	case b.IsZero():
		return a
	case a.IsZero():
		return b
	}
	return a.Add(b)
}

// Add is the component-wise sum of b and o.
func oBreakdownAdd(b, o Breakdown) Breakdown {
	if o.Total.IsZero() && o.Penalty.IsZero() {
		return b
	}
	return Breakdown{
		Principal: oAdd(b.Principal, o.Principal), Interest: oAdd(b.Interest, o.Interest),
		Fee: oAdd(b.Fee, o.Fee), Penalty: oAdd(b.Penalty, o.Penalty),
		LateFee: oAdd(b.LateFee, o.LateFee), Total: oAdd(b.Total, o.Total),
	}
}

func (r *oReplay) snapshot(asOf time.Time) Snapshot {
	local := asOf.In(r.loc)
	today := DateOf(local)
	s := Snapshot{
		LoanID: r.loan.LoanID, AsOf: local, Currency: r.loan.Currency,
		Overdue: oBreakdownOf([oComponents]decimal.Decimal{}), Outstanding: oBreakdownOf([oComponents]decimal.Decimal{}),
		Credit: r.credit, ChargedOff: r.chargedOff, ScheduleVersion: r.version,
		Applied: r.applied, Paused: r.pausedAt(asOf),
	}
	s.Installments = make([]InstallmentState, 0, len(r.insts))
	for _, in := range r.insts {
		st := InstallmentState{Seq: in.Seq, DueDate: in.DueDate, Outstanding: oBreakdownOf(in.rem),
			PenaltyPosted: in.postedPenalty, LateFeePosted: in.postedLateFee}
		switch {
		case !in.unpaid():
			st.Status = StatusPaid
		case today.After(in.DueDate):
			st.Status = StatusOverdue
			st.DaysPastDue = today.DaysSince(in.DueDate)
			s.Overdue = oBreakdownAdd(s.Overdue, st.Outstanding)
			s.DaysPastDue = max(s.DaysPastDue, st.DaysPastDue)
		case today == in.DueDate:
			st.Status = StatusDue
		default:
			st.Status = StatusUpcoming
		}
		s.Outstanding = oBreakdownAdd(s.Outstanding, st.Outstanding)
		s.Installments = append(s.Installments, st)
	}
	s.Bucket = Bucket(s.DaysPastDue)
	switch {
	case s.Outstanding.Total.IsZero():
		s.State = StatePaidOff
	case s.ChargedOff:
		s.State = StateChargedOff
	case s.Paused:
		s.State = StatePaused
	case s.DaysPastDue > 0:
		s.State = StateOverdue
	default:
		s.State = StateCurrent
	}
	s.Stage = oStage(r.pol, s)
	return s
}

// oStage is where the loan stands on the ladder, for the snapshot and the
// operator: "paid_off" when the snapshot's state is paid_off, "charged_off"
// once charged off, otherwise the template of the latest rung of the driving
// installment (chosen as in NextPoint) whose date, due date + offset, is on or
// before the local date of s.AsOf (s.AsOf carries the customer's location),
// escalated as NextPoint oEscalates it for large amounts; "current" when no
// rung is reached yet. It goes by calendar day, not by the time of day a
// notice is sent.
func oStage(p Policy, s Snapshot) string {
	if s.State == StatePaidOff {
		return StatePaidOff
	}
	if oIsChargedOff(s) {
		return StateChargedOff
	}
	stage := StateCurrent
	drv, overdue, ok := oDriver(s)
	if !ok {
		return stage
	}
	today := DateOf(s.AsOf)
	for _, r := range oApplicableRungs(p, overdue) {
		if drv.DueDate.AddDays(r.Offset).After(today) {
			break
		}
		stage = r.Template
		if oEscalates(p, s, r) {
			stage = oEscalatedTemplate(p, r.Template)
		}
	}
	return stage
}

// oEscalatedTemplate is the template a large-amount overdue point uses instead
// of template: the next stage's. The stages are the distinct templates of the
// overdue rungs (offset ≥ 1) in offset order, up to the charge-off rung
// (overdue_gentle → overdue_firm → overdue_urgent → final_notice by default).
// The last stage maps to itself, and any other template (pre-due ones,
// charged_off) is returned unchanged.
func oEscalatedTemplate(p Policy, template string) string {
	var stages []string
	for _, r := range oSortedLadder(p) {
		if r.Action == ActionChargeOff {
			break
		}
		if r.Offset >= 1 && !slices.Contains(stages, r.Template) {
			stages = append(stages, r.Template)
		}
	}
	i := slices.Index(stages, template)
	if i < 0 || i == len(stages)-1 {
		return template
	}
	return stages[i+1]
}

// oDriver is the installment that drives the ladder and whether it is overdue:
// the oldest overdue installment, else the oldest due or upcoming one.
// Installment order in the snapshot does not matter.
func oDriver(s Snapshot) (InstallmentState, bool, bool) {
	od, open := -1, -1
	older := func(i, j int) bool {
		a, b := s.Installments[i], s.Installments[j]
		if c := a.DueDate.DaysSince(b.DueDate); c != 0 {
			return c < 0
		}
		return a.Seq < b.Seq
	}
	for i, in := range s.Installments {
		switch in.Status {
		case StatusOverdue:
			if od < 0 || older(i, od) {
				od = i
			}
		case StatusDue, StatusUpcoming:
			if open < 0 || older(i, open) {
				open = i
			}
		}
	}
	switch {
	case od >= 0:
		return s.Installments[od], true, true
	case open >= 0:
		return s.Installments[open], false, true
	}
	return InstallmentState{}, false, false
}

// oSortedLadder is a copy of the policy's ladder in offset order, so a policy
// file may list rungs in any order.
func oSortedLadder(p Policy) []Rung {
	rungs := slices.Clone(p.Reminders.Ladder)
	slices.SortStableFunc(rungs, func(a, b Rung) int { return cmp.Compare(a.Offset, b.Offset) })
	return rungs
}

// oApplicableRungs are the rungs an overdue (offset ≥ 1 only) or not yet
// overdue (all) oDriver follows, in offset order.
func oApplicableRungs(p Policy, overdue bool) []Rung {
	rungs := oSortedLadder(p)
	if !overdue {
		return rungs
	}
	return slices.DeleteFunc(rungs, func(r Rung) bool { return r.Offset < 1 })
}

func oIsChargedOff(s Snapshot) bool { return s.ChargedOff || s.State == StateChargedOff }

// oEscalates reports whether the large-amount rule applies to rung r: an
// overdue rung (offset ≥ 1) while the overdue total has reached LargeAmount.
// A LargeAmount of zero or less disables the rule (an unset policy field must
// not escalate every loan).
func oEscalates(p Policy, s Snapshot, r Rung) bool {
	la := p.Reminders.LargeAmount
	return r.Offset >= 1 && la.IsPositive() && s.Overdue.Total.GreaterThanOrEqual(la)
}
