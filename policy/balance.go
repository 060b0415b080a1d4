package policy

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Component indexes into an installment's remaining balance.
const (
	iPrincipal = iota
	iInterest
	iFee
	iPenalty
	iLateFee
	nComponents
)

var componentIndex = map[Component]int{
	CompPrincipal: iPrincipal,
	CompInterest:  iInterest,
	CompFee:       iFee,
	CompPenalty:   iPenalty,
	CompLateFee:   iLateFee,
}

// ledgerInst is one installment while the balance is replayed.
type ledgerInst struct {
	Installment
	rem [nComponents]decimal.Decimal
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

func (in *ledgerInst) unpaid() bool {
	for _, r := range in.rem {
		if r.IsPositive() {
			return true
		}
	}
	return false
}

// replay is the state of the balance engine while it walks through time.
type replay struct {
	loan       Loan
	pol        Policy
	loc        *time.Location
	places     int32
	order      []int
	insts      []*ledgerInst
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

// SnapshotAt computes the balance of loan l under policy p at asOf, replaying
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
//
// The replay runs in int64 minor units (balance_fast.go) and falls back to
// decimal.Decimal, snapshotExact, for a loan whose amounts do not fit; both
// give exactly the same snapshot, every amount with the same exponent.
func SnapshotAt(l Loan, p Policy, h History, asOf time.Time) (Snapshot, error) {
	if s, ok := snapshotFast(l, p, h, asOf); ok {
		return s, nil
	}
	return snapshotExact(l, p, h, asOf)
}

// snapshotExact is SnapshotAt replayed with decimal.Decimal: the balance
// engine as first written, for what the fast replay cannot hold (and to say
// what is wrong with invalid inputs).
func snapshotExact(l Loan, p Policy, h History, asOf time.Time) (Snapshot, error) {
	r, err := newReplay(l, p, h)
	if err != nil {
		return Snapshot{}, err
	}
	reps := dedupeRepayments(h.Repayments)
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

func newReplay(l Loan, p Policy, h History) (*replay, error) {
	places, ok := MinorUnits(l.Currency)
	if !ok {
		return nil, fmt.Errorf("currency %q: unknown", l.Currency)
	}
	loc, err := l.Location(p)
	if err != nil {
		return nil, err
	}
	r := &replay{loan: l, pol: p, loc: loc, places: places, pauses: h.Pauses,
		lateFee: RoundMoney(p.Penalty.LateFee, places)}
	for _, c := range p.Allocation {
		i, ok := componentIndex[c]
		if !ok {
			return nil, fmt.Errorf("allocation: unknown component %q", c)
		}
		r.order = append(r.order, i)
	}
	r.prepay = []int{iInterest, iFee, iPrincipal}
	for _, rung := range p.Reminders.Ladder {
		if rung.Action == ActionChargeOff {
			r.chargeOff = rung.Offset
		}
	}
	r.insts = r.makeInsts(l.Installments)
	r.sortInsts()
	return r, nil
}

func (r *replay) makeInsts(ins []Installment) []*ledgerInst {
	out := make([]*ledgerInst, 0, len(ins))
	backing := make([]ledgerInst, len(ins)) // one allocation, not one per installment
	for i, in := range ins {
		li := &backing[i]
		li.Installment = in
		li.rem[iPrincipal] = in.Principal
		li.rem[iInterest] = in.Interest
		li.rem[iFee] = in.Fee
		out = append(out, li)
	}
	return out
}

// advance moves first past installments that are paid and returns it.
// Paid stays paid: only a reschedule changes the list (and resets first).
func (r *replay) advance() int {
	for r.first < len(r.insts) && !r.insts[r.first].unpaid() {
		r.first++
	}
	return r.first
}

// sortInsts keeps installments in due-date order, which every walk relies on.
func (r *replay) sortInsts() {
	slices.SortStableFunc(r.insts, func(a, b *ledgerInst) int {
		switch {
		case a.DueDate.Before(b.DueDate):
			return -1
		case b.DueDate.Before(a.DueDate):
			return 1
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
}

func dedupeRepayments(in []Repayment) []Repayment {
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
func (r *replay) nextMidnight(from Date) (Date, bool) {
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

func (r *replay) pausedAt(t time.Time) bool {
	for _, p := range r.pauses {
		if !t.Before(p.From) && (p.Until.IsZero() || t.Before(p.Until)) {
			return true
		}
	}
	return false
}

// postMidnight posts penalty interest and late fees at 00:00 local on day,
// then charges the loan off if its DPD reached the charge-off rung.
func (r *replay) postMidnight(day Date) {
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
		base := in.rem[iPrincipal]
		if pen.Base == BasePrincipalAndInterest {
			base = base.Add(in.rem[iInterest])
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
		in.rem[iPenalty] = in.rem[iPenalty].Add(amt)
		in.postedPenalty = in.postedPenalty.Add(amt)
		if !in.lateFeeDone {
			in.lateFeeDone = true
			fee := r.capped(in, r.lateFee)
			in.rem[iLateFee] = in.rem[iLateFee].Add(fee)
			in.postedLateFee = in.postedLateFee.Add(fee)
		}
	}
	if r.chargeOff > 0 && oldest >= r.chargeOff {
		r.chargedOff = true
	}
}

// capped cuts amt to what the cap still allows and counts it as charged.
func (r *replay) capped(in *ledgerInst, amt decimal.Decimal) decimal.Decimal {
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
func (r *replay) applyRepayment(rp Repayment) {
	left := rp.Amount
	a := Allocation{TxnID: rp.TxnID, Amount: rp.Amount, PaidAt: rp.PaidAt}
	left, a.Parts = r.spend(left, LocalDate(rp.PaidAt, r.loc))
	a.Credit = left
	r.credit = r.credit.Add(left)
	r.applied = append(r.applied, a)
}

// spend pays installments oldest first: those due by today in the policy's
// allocation order, later ones (prepayment) interest, fee, then principal.
func (r *replay) spend(left decimal.Decimal, today Date) (decimal.Decimal, []AllocationPart) {
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
		var paid [nComponents]decimal.Decimal
		for _, c := range order {
			x := decimal.Min(in.rem[c], left)
			if !x.IsPositive() {
				continue
			}
			in.rem[c] = in.rem[c].Sub(x)
			left = left.Sub(x)
			paid[c] = x
		}
		parts = append(parts, AllocationPart{Seq: in.Seq, Paid: breakdownOf(paid)})
	}
	return left, parts
}

// reschedule replaces every installment not fully paid with the new ones;
// credit on hand is spent on them at once.
func (r *replay) reschedule(rs Reschedule) {
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

func breakdownOf(v [nComponents]decimal.Decimal) Breakdown {
	b := Breakdown{Principal: v[iPrincipal], Interest: v[iInterest], Fee: v[iFee],
		Penalty: v[iPenalty], LateFee: v[iLateFee]}
	b.Total = add(add(add(add(b.Principal, b.Interest), b.Fee), b.Penalty), b.LateFee)
	return b
}

// add is a + b without the allocation decimal.Add makes when one is zero:
// most components of most installments are, and the workflow computes a
// snapshot on every wake-up.
func add(a, b decimal.Decimal) decimal.Decimal {
	switch {
	case b.IsZero():
		return a
	case a.IsZero():
		return b
	}
	return a.Add(b)
}

// Add is the component-wise sum of b and o.
func (b Breakdown) Add(o Breakdown) Breakdown {
	if o.Total.IsZero() && o.Penalty.IsZero() {
		return b
	}
	return Breakdown{
		Principal: add(b.Principal, o.Principal), Interest: add(b.Interest, o.Interest),
		Fee: add(b.Fee, o.Fee), Penalty: add(b.Penalty, o.Penalty),
		LateFee: add(b.LateFee, o.LateFee), Total: add(b.Total, o.Total),
	}
}

func (r *replay) snapshot(asOf time.Time) Snapshot {
	local := asOf.In(r.loc)
	today := DateOf(local)
	s := Snapshot{
		LoanID: r.loan.LoanID, AsOf: local, Currency: r.loan.Currency,
		Overdue: breakdownOf([nComponents]decimal.Decimal{}), Outstanding: breakdownOf([nComponents]decimal.Decimal{}),
		Credit: r.credit, ChargedOff: r.chargedOff, ScheduleVersion: r.version,
		Applied: r.applied, Paused: r.pausedAt(asOf),
	}
	s.Installments = make([]InstallmentState, 0, len(r.insts))
	for _, in := range r.insts {
		st := InstallmentState{Seq: in.Seq, DueDate: in.DueDate, Outstanding: breakdownOf(in.rem),
			PenaltyPosted: in.postedPenalty, LateFeePosted: in.postedLateFee}
		switch {
		case !in.unpaid():
			st.Status = StatusPaid
		case today.After(in.DueDate):
			st.Status = StatusOverdue
			st.DaysPastDue = today.DaysSince(in.DueDate)
			s.Overdue = s.Overdue.Add(st.Outstanding)
			s.DaysPastDue = max(s.DaysPastDue, st.DaysPastDue)
		case today == in.DueDate:
			st.Status = StatusDue
		default:
			st.Status = StatusUpcoming
		}
		s.Outstanding = s.Outstanding.Add(st.Outstanding)
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
	s.Stage = Stage(r.pol, s)
	return s
}
