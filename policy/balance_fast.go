package policy

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// The fast replay: snapshotExact's algorithm, step for step, with amounts in
// fix (int64 coefficients) instead of decimal.Decimal (big.Int), so a replay
// allocates almost nothing but the snapshot it returns. fix computes exactly
// what decimal.Decimal computes, exponents included, and panics with
// fixOverflow where an int64 would not hold the result; snapshotFast then
// reports false and SnapshotAt replays with decimal.Decimal. Every change to
// the rules goes into both (and a new rules version, see Rules); the
// differential tests (balance_equiv_test.go) hold both to the replay as it
// was, kept in balance_oracle_test.go.

// fastInst is one installment while the balance is replayed in fix. It
// holds no pointer (see fix).
type fastInst struct {
	seq int
	// dueDay is the due date as a day number (Date.days; fromDays gives the
	// date back): the replay compares and subtracts days as integers.
	dueDay int
	// principal is the installment's principal, the base of the cap.
	principal fix
	rem       [nComponents]fix
	// provisional is penalty accrued inside grace; charged is every penalty
	// and late fee assessed so far (provisional included), for the cap.
	provisional, charged, capAmount    fix
	capSet, graceResolved, lateFeeDone bool
	// postedPenalty and postedLateFee are what was actually owed so far.
	postedPenalty, postedLateFee fix
}

func (in *fastInst) unpaid() bool {
	for _, r := range in.rem {
		if r.isPositive() {
			return true
		}
	}
	return false
}

// fastReplay is the state of the fast replay.
type fastReplay struct {
	srcs       fixSources
	loc        *time.Location
	places     int32
	order      []int
	prepay     [3]int
	orderBuf   [nComponents]int
	insts      []fastInst
	credit     fix
	chargedOff bool
	chargeOff  int
	version    int
	applied    []Allocation
	nReps      int // repayments in the history, for applied's capacity
	pauses     []Pause
	first      int

	base          string
	graceDays     int
	freeze        bool
	rate, capRate fix
	lateFee       fix
}

// snapshotFast is snapshotExact in fix; false when anything does not fit in
// fix (or the inputs are invalid: snapshotExact says how).
func snapshotFast(l Loan, p Policy, h History, asOf time.Time) (s Snapshot, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if _, overflow := v.(fixOverflow); !overflow {
				panic(v)
			}
			s, ok = Snapshot{}, false
		}
	}()
	r, ok := newFastReplay(l, p, h)
	if !ok {
		return Snapshot{}, false
	}
	reps := dedupeRepaymentsFast(h.Repayments)
	slices.SortStableFunc(reps, func(a, b Repayment) int {
		if c := a.PaidAt.Compare(b.PaidAt); c != 0 {
			return c
		}
		return cmp.Compare(a.TxnID, b.TxnID)
	})
	rescheds := slices.Clone(h.Reschedules)
	slices.SortStableFunc(rescheds, func(a, b Reschedule) int { return a.At.Compare(b.At) })
	r.nReps = len(reps)

	day := noDay // the next local midnight not yet processed, as a day number
	ri, si := 0, 0
	for {
		var evAt time.Time
		evKind := 0
		if si < len(rescheds) && !rescheds[si].At.After(asOf) {
			evAt, evKind = rescheds[si].At, 2
		}
		if ri < len(reps) && !reps[ri].PaidAt.After(asOf) && (evKind == 0 || reps[ri].PaidAt.Before(evAt)) {
			evAt, evKind = reps[ri].PaidAt, 1
		}
		mid, more := r.nextMidnight(day)
		if more {
			d := fromDays(mid)
			at := d.Midnight(r.loc)
			if !at.After(asOf) && (evKind == 0 || !at.After(evAt)) {
				r.postMidnight(mid, at)
				day = mid + 1
				continue
			}
		}
		switch evKind {
		case 1:
			r.applyRepayment(&reps[ri])
			ri++
		case 2:
			r.reschedule(&rescheds[si])
			si++
		default:
			return r.snapshot(l, p, asOf), true
		}
	}
}

func newFastReplay(l Loan, p Policy, h History) (*fastReplay, bool) {
	places, ok := MinorUnits(l.Currency)
	if !ok {
		return nil, false
	}
	loc, err := l.Location(p)
	if err != nil {
		return nil, false
	}
	r := &fastReplay{loc: loc, places: places, pauses: h.Pauses,
		base: p.Penalty.Base, graceDays: p.Penalty.GraceDays, freeze: p.Penalty.FreezePenalty}
	r.srcs.d = make([]decimal.Decimal, 0, 2+3*len(l.Installments)+len(h.Repayments))
	if r.rate, ok = fixRead(p.Penalty.DailyRate); !ok {
		return nil, false
	}
	if r.capRate, ok = fixRead(p.Penalty.CapRatio); !ok {
		return nil, false
	}
	lf, ok := r.srcs.read(p.Penalty.LateFee)
	if !ok {
		return nil, false
	}
	r.lateFee = lf.round(places)
	r.order = r.orderBuf[:0]
	for _, c := range p.Allocation {
		i, ok := componentIndex[c]
		if !ok {
			return nil, false
		}
		if len(r.order) == len(r.orderBuf) {
			return nil, false // more than five: the decimal replay takes it as it is
		}
		r.order = append(r.order, i)
	}
	r.prepay = [3]int{iInterest, iFee, iPrincipal}
	for _, rung := range p.Reminders.Ladder {
		if rung.Action == ActionChargeOff {
			r.chargeOff = rung.Offset
		}
	}
	r.insts = make([]fastInst, 0, len(l.Installments))
	if !r.addInsts(l.Installments) {
		return nil, false
	}
	r.sortInsts()
	return r, true
}

// addInsts appends ins to the replay; false when an amount does not fit or
// a due date is not a day of the calendar as written (2027-02-30): Date
// compares such a date field by field, a day number would not, so the
// decimal replay takes it.
func (r *fastReplay) addInsts(ins []Installment) bool {
	for i := range ins {
		in := &ins[i]
		r.insts = append(r.insts, fastInst{seq: in.Seq, dueDay: in.DueDate.days()})
		fi := &r.insts[len(r.insts)-1]
		if fromDays(fi.dueDay) != in.DueDate {
			return false
		}
		var ok bool
		if fi.rem[iPrincipal], ok = r.srcs.read(in.Principal); !ok {
			return false
		}
		if fi.rem[iInterest], ok = r.srcs.read(in.Interest); !ok {
			return false
		}
		if fi.rem[iFee], ok = r.srcs.read(in.Fee); !ok {
			return false
		}
		fi.principal = fi.rem[iPrincipal]
	}
	return true
}

func (r *fastReplay) advance() int {
	for r.first < len(r.insts) && !r.insts[r.first].unpaid() {
		r.first++
	}
	return r.first
}

func (r *fastReplay) sortInsts() {
	slices.SortStableFunc(r.insts, func(a, b fastInst) int {
		if c := cmp.Compare(a.dueDay, b.dueDay); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// dedupeRepaymentsFast is dedupeRepayments, comparing txn_ids pairwise
// instead of through a map for the few repayments most loans have.
func dedupeRepaymentsFast(in []Repayment) []Repayment {
	if len(in) > 32 {
		return dedupeRepayments(in)
	}
	out := make([]Repayment, 0, len(in))
next:
	for i, rp := range in {
		for _, q := range in[:i] {
			if q.TxnID == rp.TxnID {
				continue next
			}
		}
		out = append(out, rp)
	}
	return out
}

// noDay is the day number no midnight has (Date{}, the zero date, in
// replay): nextMidnight starts from the due date then.
const noDay = math.MinInt

func (r *fastReplay) nextMidnight(from int) (int, bool) {
	if r.chargedOff {
		return 0, false
	}
	for i := r.advance(); i < len(r.insts); i++ {
		in := &r.insts[i]
		if !in.unpaid() {
			continue
		}
		return max(in.dueDay+1, from), true
	}
	return 0, false
}

func (r *fastReplay) pausedAt(t time.Time) bool {
	for _, p := range r.pauses {
		if !t.Before(p.From) && (p.Until.IsZero() || t.Before(p.Until)) {
			return true
		}
	}
	return false
}

// postMidnight posts the midnight of day (a day number), at the instant at.
func (r *fastReplay) postMidnight(day int, at time.Time) {
	frozen := r.freeze && r.pausedAt(at)
	oldest := -1
	for i := r.advance(); i < len(r.insts); i++ {
		in := &r.insts[i]
		if in.dueDay >= day {
			break
		}
		if !in.unpaid() {
			continue
		}
		k := day - in.dueDay
		if oldest < 0 {
			oldest = k
		}
		if frozen {
			continue
		}
		base := in.rem[iPrincipal]
		if r.base == BasePrincipalAndInterest {
			base = base.add(in.rem[iInterest])
		}
		amt := r.capped(in, base.mul(r.rate).round(r.places))
		if k <= r.graceDays {
			in.provisional = in.provisional.add(amt)
			continue
		}
		if !in.graceResolved {
			amt = amt.add(in.provisional)
			in.provisional = fix{}
			in.graceResolved = true
		}
		in.rem[iPenalty] = in.rem[iPenalty].add(amt)
		in.postedPenalty = in.postedPenalty.add(amt)
		if !in.lateFeeDone {
			in.lateFeeDone = true
			fee := r.capped(in, r.lateFee)
			in.rem[iLateFee] = in.rem[iLateFee].add(fee)
			in.postedLateFee = in.postedLateFee.add(fee)
		}
	}
	if r.chargeOff > 0 && oldest >= r.chargeOff {
		r.chargedOff = true
	}
}

func (r *fastReplay) capped(in *fastInst, amt fix) fix {
	if !in.capSet {
		in.capAmount = in.principal.mul(r.capRate).roundFloor(r.places)
		in.capSet = true
	}
	room := in.capAmount.sub(in.charged)
	if room.isNegative() {
		room = fix{}
	}
	if amt.cmp(room) > 0 {
		amt = room
	}
	in.charged = in.charged.add(amt)
	return amt
}

func (r *fastReplay) applyRepayment(rp *Repayment) {
	left := r.srcs.mustRead(rp.Amount)
	a := Allocation{TxnID: rp.TxnID, Amount: rp.Amount, PaidAt: rp.PaidAt}
	left, a.Parts = r.spend(left, LocalDate(rp.PaidAt, r.loc).days())
	a.Credit = r.srcs.dec(left)
	r.credit = r.credit.add(left)
	if r.applied == nil {
		r.applied = make([]Allocation, 0, r.nReps)
	}
	r.applied = append(r.applied, a)
}

// spend is replay.spend; today is a day number.
func (r *fastReplay) spend(left fix, today int) (fix, []AllocationPart) {
	var parts []AllocationPart
	for i := r.advance(); i < len(r.insts); i++ {
		in := &r.insts[i]
		if !left.isPositive() {
			break
		}
		if !in.unpaid() {
			continue
		}
		order := r.order
		if in.dueDay > today {
			order = r.prepay[:]
		}
		var paid [nComponents]fix
		for _, c := range order {
			x := fixMinOf(in.rem[c], left)
			if !x.isPositive() {
				continue
			}
			in.rem[c] = in.rem[c].sub(x)
			left = left.sub(x)
			paid[c] = x
		}
		if parts == nil {
			parts = make([]AllocationPart, 0, min(len(r.insts)-i, 2))
		}
		parts = append(parts, AllocationPart{Seq: in.seq, Paid: r.breakdown(fixBreakdownOf(paid))})
	}
	return left, parts
}

func (r *fastReplay) reschedule(rs *Reschedule) {
	kept := make([]fastInst, 0, len(r.insts)+len(rs.Installments))
	for _, in := range r.insts {
		if !in.unpaid() {
			kept = append(kept, in)
		}
	}
	r.insts = kept
	if !r.addInsts(rs.Installments) {
		panic(fixOverflow{})
	}
	r.sortInsts()
	r.first = 0
	r.version++
	if r.credit.isPositive() {
		r.credit, _ = r.spend(r.credit, LocalDate(rs.At, r.loc).days())
	}
}

// fixBreakdown is a Breakdown in fix: principal, interest, fee, penalty,
// late fee, total.
type fixBreakdown [nComponents + 1]fix

const iTotal = nComponents

// fixBreakdownOf is breakdownOf.
func fixBreakdownOf(v [nComponents]fix) fixBreakdown {
	var b fixBreakdown
	copy(b[:nComponents], v[:])
	b[iTotal] = fixAdd(fixAdd(fixAdd(fixAdd(v[iPrincipal], v[iInterest]), v[iFee]), v[iPenalty]), v[iLateFee])
	return b
}

// addTo is Breakdown.Add.
func (b fixBreakdown) addTo(o fixBreakdown) fixBreakdown {
	if o[iTotal].isZero() && o[iPenalty].isZero() {
		return b
	}
	for i := range b {
		b[i] = fixAdd(b[i], o[i])
	}
	return b
}

// breakdown is b as a Breakdown.
func (r *fastReplay) breakdown(b fixBreakdown) Breakdown {
	d := r.srcs.dec
	return Breakdown{Principal: d(b[iPrincipal]), Interest: d(b[iInterest]), Fee: d(b[iFee]),
		Penalty: d(b[iPenalty]), LateFee: d(b[iLateFee]), Total: d(b[iTotal])}
}

func (r *fastReplay) snapshot(l Loan, p Policy, asOf time.Time) Snapshot {
	local := asOf.In(r.loc)
	today := DateOf(local).days()
	s := Snapshot{
		LoanID: l.LoanID, AsOf: local, Currency: l.Currency,
		Credit: r.srcs.dec(r.credit), ChargedOff: r.chargedOff, ScheduleVersion: r.version,
		Applied: r.applied, Paused: r.pausedAt(asOf),
	}
	var overdue, outstanding fixBreakdown
	s.Installments = make([]InstallmentState, 0, len(r.insts))
	for i := range r.insts {
		in := &r.insts[i]
		o := fixBreakdownOf(in.rem)
		st := InstallmentState{Seq: in.seq, DueDate: fromDays(in.dueDay), Outstanding: r.breakdown(o),
			PenaltyPosted: r.srcs.dec(in.postedPenalty), LateFeePosted: r.srcs.dec(in.postedLateFee)}
		switch {
		case !in.unpaid():
			st.Status = StatusPaid
		case today > in.dueDay:
			st.Status = StatusOverdue
			st.DaysPastDue = today - in.dueDay
			overdue = overdue.addTo(o)
			s.DaysPastDue = max(s.DaysPastDue, st.DaysPastDue)
		case today == in.dueDay:
			st.Status = StatusDue
		default:
			st.Status = StatusUpcoming
		}
		outstanding = outstanding.addTo(o)
		s.Installments = append(s.Installments, st)
	}
	s.Overdue, s.Outstanding = r.breakdown(overdue), r.breakdown(outstanding)
	s.Bucket = Bucket(s.DaysPastDue)
	switch {
	case outstanding[iTotal].isZero():
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
	s.Stage = Stage(p, s)
	return s
}
