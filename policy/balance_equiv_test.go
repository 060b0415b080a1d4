package policy

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// The differential tests of the balance engine: SnapshotAt (the int64 fast
// replay, with its decimal.Decimal fallback) against oracleSnapshotAt, the
// engine as it was before (balance_oracle_test.go, a verbatim copy). A
// running loan's amounts must never change, so "the same" here is strict:
// every field deeply equal, nil slices nil and empty ones empty, times
// equal field by field (instant, wall clock and location), and every amount
// the same number written the same way: the same coefficient and exponent
// ("20.00" is not "20", though decimal.Equal says they are equal). That is
// everything a caller can see of a decimal.Decimal; only the words of its
// big.Int may be laid out differently in memory.

// eqDiff is where a and b differ under that strict equality, "" when they
// do not.
func eqDiff(at string, a, b reflect.Value) string {
	switch a.Type() {
	case decimalType:
		x, y := a.Interface().(decimal.Decimal), b.Interface().(decimal.Decimal)
		if x.Exponent() != y.Exponent() || x.Cmp(y) != 0 { // same exponent: Cmp compares the coefficients
			return fmt.Sprintf("%s: %s (exponent %d) ≠ %s (exponent %d)", at, x, x.Exponent(), y, y.Exponent())
		}
		return ""
	case timeType:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return fmt.Sprintf("%s: %v ≠ %v", at, a.Interface(), b.Interface())
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if d := eqDiff(at+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
	case reflect.Slice:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil %v ≠ nil %v", at, a.IsNil(), b.IsNil())
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d elements ≠ %d", at, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := eqDiff(fmt.Sprintf("%s[%d]", at, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
	case reflect.Pointer:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil %v ≠ nil %v", at, a.IsNil(), b.IsNil())
		}
		if !a.IsNil() {
			return eqDiff(at, a.Elem(), b.Elem())
		}
	default:
		if !a.Equal(b) {
			return fmt.Sprintf("%s: %v ≠ %v", at, a, b)
		}
	}
	return ""
}

// eqStats counts what the differential tests compared.
type eqStats struct {
	cases, instants, fast, fallback, errors int
	seen                                    map[string]int
}

// eqCheck compares SnapshotAt with the oracle at every instant of
// eqInstants, and counts the situations reached. SnapshotAt is the fast
// replay when it takes the loan, else the decimal one: each instant
// compares both with the oracle (SnapshotAt itself once per case), so both
// branches are held to it whichever one SnapshotAt takes.
func eqCheck(t *testing.T, c btCase, r btIntN, st *eqStats) {
	t.Helper()
	st.cases++
	for i, at := range eqInstants(c, r) {
		st.instants++
		want, wantErr := oracleSnapshotAt(c.loan, c.pol, c.h, at)
		if i == 0 || wantErr != nil {
			got, err := SnapshotAt(c.loan, c.pol, c.h, at)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("at %s: error %v, oracle %v\ncase %s", at, err, wantErr, c)
			}
			if wantErr != nil {
				st.errors++
				continue
			}
			if d := eqDiff("snapshot", reflect.ValueOf(got), reflect.ValueOf(want)); d != "" {
				t.Fatalf("at %s: SnapshotAt differs from the oracle: %s\ncase %s", at.Format(time.RFC3339Nano), d, c)
			}
		}
		if fast, ok := snapshotFast(c.loan, c.pol, c.h, at); ok {
			st.fast++
			if d := eqDiff("fast", reflect.ValueOf(fast), reflect.ValueOf(want)); d != "" {
				t.Fatalf("at %s: the fast replay differs from the oracle: %s\ncase %s", at.Format(time.RFC3339Nano), d, c)
			}
		} else {
			st.fallback++
		}
		exact, err := snapshotExact(c.loan, c.pol, c.h, at)
		if err != nil {
			t.Fatalf("at %s: snapshotExact: %v", at, err)
		}
		if d := eqDiff("exact", reflect.ValueOf(exact), reflect.ValueOf(want)); d != "" {
			t.Fatalf("at %s: the decimal replay differs from the oracle: %s\ncase %s", at.Format(time.RFC3339Nano), d, c)
		}
		if st.seen != nil {
			eqCount(st.seen, want)
		}
	}
}

// eqCount tallies the situations a snapshot shows.
func eqCount(seen map[string]int, s Snapshot) {
	mark := func(k string, ok bool) {
		if ok {
			seen[k]++
		}
	}
	partial, overdue := false, 0
	for _, in := range s.Installments {
		mark("late fee", in.LateFeePosted.IsPositive())
		mark("penalty", in.PenaltyPosted.IsPositive())
		if in.Status == StatusOverdue {
			overdue++
		}
		partial = partial || in.Status != StatusPaid && in.Outstanding.Principal.IsPositive() &&
			len(s.Applied) > 0 && !in.Outstanding.Interest.IsPositive()
	}
	for _, a := range s.Applied {
		mark("credit on a repayment", a.Credit.IsPositive())
		mark("repayment over several installments", len(a.Parts) > 1)
	}
	mark("partly paid", partial)
	mark("overdue", overdue > 0)
	mark("several overdue", overdue > 1)
	mark("charged off", s.ChargedOff)
	mark("paused", s.Paused)
	mark("paid off", s.State == StatePaidOff)
	mark("rescheduled", s.ScheduleVersion > 0)
	mark("rescheduled twice", s.ScheduleVersion > 1)
	mark("credit", s.Credit.IsPositive())
	mark("escalated stage", s.Stage == "overdue_firm" && s.DaysPastDue < 7 || s.Stage == "overdue_urgent" && s.DaysPastDue < 15)
}

// eqInstants are the instants to compare a case at: c.asOf; every repayment's
// paid_at and a nanosecond either side; every pause's ends and reschedule;
// the local midnights and noons around each installment's due date, the end
// of its grace and its charge-off day; and random instants from a month
// before the first due date to 200 days after the last.
func eqInstants(c btCase, r btIntN) []time.Time {
	loc, err := c.loan.Location(c.pol)
	if err != nil {
		return []time.Time{c.asOf}
	}
	out := []time.Time{c.asOf}
	for _, rp := range c.h.Repayments {
		out = append(out, rp.PaidAt, rp.PaidAt.Add(-1), rp.PaidAt.Add(1))
	}
	for _, p := range c.h.Pauses {
		out = append(out, p.From)
		if !p.Until.IsZero() {
			out = append(out, p.Until, p.Until.Add(-1))
		}
	}
	charge := 90
	for _, rg := range c.pol.Reminders.Ladder {
		if rg.Action == ActionChargeOff {
			charge = rg.Offset
		}
	}
	ins := slices.Clone(c.loan.Installments)
	for _, rs := range c.h.Reschedules {
		out = append(out, rs.At)
		ins = append(ins, rs.Installments...)
	}
	for _, in := range ins {
		for _, k := range []int{0, 1, c.pol.Penalty.GraceDays, c.pol.Penalty.GraceDays + 1, c.pol.Penalty.GraceDays + 2, charge, charge + 1} {
			d := in.DueDate.AddDays(k)
			out = append(out, d.Midnight(loc), d.At(loc, 12, 0))
		}
	}
	if len(ins) > 0 {
		from := ins[0].DueDate.AddDays(-30).Midnight(loc)
		span := int(ins[len(ins)-1].DueDate.AddDays(230).Midnight(loc).Sub(from).Minutes())
		for range 12 {
			out = append(out, from.Add(time.Duration(r.IntN(max(span, 1)))*time.Minute))
		}
	}
	return out
}

// pow10Big is 10^k.
func pow10Big(k int32) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil) }

// eqRespell writes d as the same number with another exponent: more
// trailing zeros, fewer when it has them, or as it is.
func eqRespell(r btIntN, d decimal.Decimal) decimal.Decimal {
	switch r.IntN(5) {
	case 0: // 1000.00 → 1000.000000
		k := int32(1 + r.IntN(6))
		return decimal.NewFromBigInt(new(big.Int).Mul(d.Coefficient(), pow10Big(k)), d.Exponent()-k)
	case 1: // 1000.00 → 1000 or 1E3, as far as its trailing zeros go
		c, e := d.Coefficient(), d.Exponent()
		ten := pow10Big(1)
		for range r.IntN(6) {
			q, m := new(big.Int).QuoRem(c, ten, new(big.Int))
			if c.Sign() == 0 || m.Sign() != 0 {
				break
			}
			c, e = q, e+1
		}
		return decimal.NewFromBigInt(c, e)
	}
	return d
}

// eqGenCase is btGenCase (everyday loans, up to 12 installments and 10
// repayments, pauses, a reschedule) made harder: amounts and policy values
// written with other exponents; repayments that pay part of an
// installment, several at once or more than everything owed (credit);
// repeated txn_ids with other amounts (the first counts); repayments at a
// local midnight or at a reschedule's instant; up to three reschedules; and
// policies with another grace, cap, rate, late fee, allocation order,
// large amount, charge-off rung (or none) and the ladder in any order. The history is shuffled: arrival order must not
// matter.
func eqGenCase(r btIntN) btCase {
	c := btGenCase(r, 12, 10, r.IntN(3) == 0)
	loc, err := c.loan.Location(c.pol)
	if err != nil {
		panic(err)
	}
	c.pol.Allocation = slices.Clone(c.pol.Allocation)
	c.pol.Reminders.Ladder = slices.Clone(c.pol.Reminders.Ladder)
	pen := &c.pol.Penalty
	switch r.IntN(8) {
	case 0:
		pen.DailyRate = decimal.New(int64(r.IntN(101)), -4)
	case 1:
		pen.DailyRate = decimal.New(int64(r.IntN(1_000_000)), -8) // odd rates: many decimals
	case 2:
		pen.CapRatio = decimal.New(int64(r.IntN(101)), -2)
	case 3:
		pen.GraceDays = r.IntN(31)
	case 4:
		pen.LateFee = decimal.New(int64(r.IntN(100000)), -3)
	case 5:
		for i := len(c.pol.Allocation) - 1; i > 0; i-- {
			j := r.IntN(i + 1)
			c.pol.Allocation[i], c.pol.Allocation[j] = c.pol.Allocation[j], c.pol.Allocation[i]
		}
	case 6: // charge-off earlier, or no charge-off rung at all
		last := &c.pol.Reminders.Ladder[len(c.pol.Reminders.Ladder)-1]
		if r.IntN(2) == 0 {
			last.Action = ActionNone
		} else {
			last.Offset = 31 + r.IntN(60)
		}
	}
	if r.IntN(4) == 0 { // a policy file may list the rungs in any order
		lad := c.pol.Reminders.Ladder
		for i := len(lad) - 1; i > 0; i-- {
			j := r.IntN(i + 1)
			lad[i], lad[j] = lad[j], lad[i]
		}
	}
	if r.IntN(8) == 0 { // large amounts escalate from the first overdue rung
		c.pol.Reminders.LargeAmount = decimal.New(int64(r.IntN(200000)), -c.places)
	}
	pen.DailyRate, pen.CapRatio, pen.LateFee = eqRespell(r, pen.DailyRate), eqRespell(r, pen.CapRatio), eqRespell(r, pen.LateFee)
	for i := range c.loan.Installments {
		in := &c.loan.Installments[i]
		in.Principal, in.Interest, in.Fee = eqRespell(r, in.Principal), eqRespell(r, in.Interest), eqRespell(r, in.Fee)
	}

	// Repayments sized from what the installments owe: a part, one or more
	// installments' worth, or more than everything.
	total := decimal.Zero
	for _, in := range c.loan.Installments {
		total = total.Add(in.Principal).Add(in.Interest).Add(in.Fee)
	}
	for i := range c.h.Repayments {
		rp := &c.h.Repayments[i]
		in := c.loan.Installments[r.IntN(len(c.loan.Installments))]
		switch r.IntN(6) {
		case 0:
			rp.Amount = in.Principal.Add(in.Interest).Add(in.Fee).Add(decimal.New(int64(r.IntN(5000)), -c.places))
		case 1:
			rp.Amount = in.Principal.Add(in.Interest).Add(in.Fee).Mul(decimal.NewFromInt(int64(2 + r.IntN(3))))
		case 2:
			rp.Amount = total.Add(decimal.New(int64(1+r.IntN(100000)), -c.places)) // over-payment: credit
		case 3:
			rp.Amount = decimal.New(int64(1+r.IntN(1000)), -c.places) // a little
		}
		if !rp.Amount.IsPositive() {
			rp.Amount = decimal.New(1, -c.places)
		}
		rp.Amount = eqRespell(r, rp.Amount)
		if r.IntN(5) == 0 {
			rp.PaidAt = LocalDate(rp.PaidAt, loc).Midnight(loc)
		}
		if r.IntN(4) == 0 {
			rp.PaidAt = rp.PaidAt.In(time.FixedZone("", (r.IntN(57)-28)*30*60)) // any offset
		}
	}
	if n := len(c.h.Repayments); n > 0 && r.IntN(4) == 0 { // a repeated txn_id, another amount
		rp := c.h.Repayments[r.IntN(n)]
		rp.Amount = rp.Amount.Add(decimal.New(int64(1+r.IntN(100)), -c.places))
		c.h.Repayments = append(c.h.Repayments, rp)
	}
	// More reschedules, sometimes at the instant of a repayment.
	for range r.IntN(3) {
		if len(c.h.Reschedules) == 0 || r.IntN(2) == 0 {
			break
		}
		prev := c.h.Reschedules[len(c.h.Reschedules)-1]
		at := prev.At.Add(time.Duration(1+r.IntN(60*24*60)) * time.Minute)
		if n := len(c.h.Repayments); n > 0 && r.IntN(3) == 0 {
			at = c.h.Repayments[r.IntN(n)].PaidAt
		}
		due := LocalDate(at, loc).AddDays(1 + r.IntN(40))
		rs := Reschedule{At: at}
		for i := range 1 + r.IntN(3) {
			p := decimal.New(int64(r.IntN(300000)), -c.places)
			rs.Installments = append(rs.Installments, Installment{Seq: 200 + 10*len(c.h.Reschedules) + i,
				DueDate: due.AddDays(30 * i), Principal: eqRespell(r, p), Interest: decimal.New(int64(r.IntN(3000)), -c.places), Fee: decimal.Zero})
		}
		c.h.Reschedules = append(c.h.Reschedules, rs)
	}
	shuffle := func(n int, swap func(i, j int)) {
		for i := n - 1; i > 0; i-- {
			swap(i, r.IntN(i+1))
		}
	}
	shuffle(len(c.h.Repayments), func(i, j int) { c.h.Repayments[i], c.h.Repayments[j] = c.h.Repayments[j], c.h.Repayments[i] })
	shuffle(len(c.h.Pauses), func(i, j int) { c.h.Pauses[i], c.h.Pauses[j] = c.h.Pauses[j], c.h.Pauses[i] })
	shuffle(len(c.h.Reschedules), func(i, j int) { c.h.Reschedules[i], c.h.Reschedules[j] = c.h.Reschedules[j], c.h.Reschedules[i] })
	return c
}

// TestSnapshotEquivTable: named loans, from the worked examples to the
// corners, give exactly the oracle's snapshots at every instant of
// eqInstants.
func TestSnapshotEquivTable(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	inst := func(seq int, due, p, i, f string) Installment {
		return Installment{Seq: seq, DueDate: MustDate(due), Principal: btD(p), Interest: btD(i), Fee: btD(f)}
	}
	pay := func(id, amount, at string) Repayment {
		return Repayment{TxnID: id, Amount: btD(amount), PaidAt: btAt(t, loc, at)}
	}
	sample := btSampleLoan()
	pi := Default()
	pi.Penalty.Base = BasePrincipalAndInterest
	noFreeze := Default()
	noFreeze.Penalty.FreezePenalty = false
	odd := Default()
	odd.Penalty.DailyRate, odd.Penalty.CapRatio, odd.Penalty.LateFee = btD("0.000333"), btD("0.1"), btD("7.5")
	odd.Allocation = []Component{CompPrincipal, CompInterest, CompFee, CompLateFee, CompPenalty}
	tiny := Default()
	tiny.Penalty.CapRatio = btD("0.01")
	zeroRate := Default()
	zeroRate.Penalty.DailyRate, zeroRate.Penalty.LateFee = btD("0"), btD("0")
	// Valid (trailing zeros do not count as decimals) and beyond an int64.
	huge := btLoan("CNY", "Asia/Shanghai", inst(1, "2026-12-01", "999999999999999.990000", "999999999999999.99", "0"),
		inst(2, "2027-01-01", "999999999999999.99", "999999999999999.99", "999999999999999.99"))
	jpy := btLoan("JPY", "Asia/Tokyo", inst(1, "2026-12-01", "100000", "1500", "0"), inst(2, "2027-01-01", "100000", "1500", "0"))
	kwd := btLoan("KWD", "Asia/Kuwait", inst(1, "2026-12-01", "1000.125", "10.005", "0.001"))
	spelled := btLoan("CNY", "Asia/Shanghai", inst(1, "2026-12-01", "1000", "45.0", "0.000"), inst(2, "2027-01-01", "1E3", "40.00000", "0"))
	zero := btLoan("CNY", "Asia/Shanghai", inst(1, "2026-12-01", "0.00", "0.00", "0.00"), inst(2, "2027-01-01", "100.00", "0.00", "0.00"))
	for _, tc := range []struct {
		name string
		loan Loan
		pol  Policy
		h    History
	}{
		{"design sample, nothing paid", sample, Default(), History{}},
		{"worked example: 600.00 on D+5", btLoan("CNY", "Asia/Shanghai", inst(1, "2026-12-01", "1000.00", "45.00", "0.00")), Default(),
			History{Repayments: []Repayment{pay("T1", "600.00", "2026-12-06 10:00")}}},
		{"paid in grace", sample, Default(), History{Repayments: []Repayment{pay("T1", "1045.00", "2026-12-04 23:59:59")}}},
		{"paid at the midnight grace ends", sample, Default(), History{Repayments: []Repayment{pay("T1", "1045.00", "2026-12-05 00:00")}}},
		{"back-dated, arrived in reverse", sample, Default(), History{Repayments: []Repayment{
			pay("T3", "500.00", "2027-01-20 09:00"), pay("T2", "300.00", "2026-12-20 09:00"), pay("T1", "100.00", "2026-12-03 09:00")}}},
		{"over-payment keeps credit", sample, Default(), History{Repayments: []Repayment{pay("T1", "5000.00", "2026-11-20 09:00")}}},
		{"repeated txn_id, other amount", sample, Default(), History{Repayments: []Repayment{
			pay("T1", "100.00", "2026-12-10 09:00"), pay("T1", "900.00", "2026-12-02 09:00")}}},
		{"same instant, txn_id order", sample, Default(), History{Repayments: []Repayment{
			pay("B", "10.00", "2026-12-10 09:00"), pay("A", "10.00", "2026-12-10 09:00")}}},
		{"paused, frozen", sample, Default(), History{Pauses: []Pause{{From: btAt(t, loc, "2026-12-03 10:00"), Until: btAt(t, loc, "2026-12-20 00:00")}}}},
		{"paused, open-ended", sample, Default(), History{Pauses: []Pause{{From: btAt(t, loc, "2026-12-10 00:00")}}}},
		{"paused, not frozen", sample, noFreeze, History{Pauses: []Pause{{From: btAt(t, loc, "2026-12-03 10:00")}}}},
		{"principal and interest base", sample, pi, History{Repayments: []Repayment{pay("T1", "200.00", "2026-12-08 09:00")}}},
		{"odd policy values", sample, odd, History{Repayments: []Repayment{pay("T1", "333.33", "2026-12-09 09:00")}}},
		{"cap reached", sample, tiny, History{}},
		{"no rate, no late fee", sample, zeroRate, History{}},
		{"reschedule with credit", sample, Default(), History{
			Repayments:  []Repayment{pay("T1", "3000.00", "2026-12-15 09:00")},
			Reschedules: []Reschedule{{At: btAt(t, loc, "2026-12-10 09:00"), Installments: []Installment{inst(3, "2027-02-01", "2000.00", "10.00", "5.00")}}}}},
		{"two reschedules, one at a repayment's instant", sample, Default(), History{
			Repayments: []Repayment{pay("T1", "100.00", "2027-01-05 09:00")},
			Reschedules: []Reschedule{
				{At: btAt(t, loc, "2027-01-05 09:00"), Installments: []Installment{inst(5, "2027-03-01", "500.00", "1.00", "0.00")}},
				{At: btAt(t, loc, "2026-12-10 09:00"), Installments: []Installment{inst(3, "2027-02-01", "2000.00", "10.00", "5.00")}}}}},
		{"amounts beyond int64: the decimal replay", huge, Default(), History{Repayments: []Repayment{pay("T1", "999999999999999.99", "2026-12-10 09:00")}}},
		{"JPY", jpy, Default(), History{Repayments: []Repayment{pay("T1", "50000", "2026-12-07 12:00")}}},
		{"KWD, three decimals", kwd, Default(), History{Repayments: []Repayment{pay("T1", "500.0625", "2026-12-07 12:00")}}},
		{"amounts spelled with other exponents", spelled, Default(), History{Repayments: []Repayment{
			pay("T1", "1E2", "2026-12-07 12:00"), pay("T2", "1000.0000000", "2026-12-20 12:00")}}},
		{"an installment of nothing", zero, Default(), History{}},
		{"unknown currency: the error", btLoan("XXX", "Asia/Shanghai", inst(1, "2026-12-01", "1.00", "0", "0")), Default(), History{}},
		{"unknown zone: the error", btLoan("CNY", "Mars/Olympus", inst(1, "2026-12-01", "1.00", "0", "0")), Default(), History{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &eqStats{}
			places, _ := MinorUnits(tc.loan.Currency)
			eqCheck(t, btCase{loan: tc.loan, pol: tc.pol, h: tc.h, asOf: btAt(t, loc, "2027-01-15 10:00"), places: places},
				rand.New(rand.NewPCG(1, uint64(len(tc.name)))), st)
			if tc.name == "amounts beyond int64: the decimal replay" && st.fallback == 0 {
				t.Errorf("the fast replay took amounts it cannot hold: %+v", st)
			}
		})
	}
}

// TestSnapshotEquivRandom compares SnapshotAt with the oracle on 150
// random loans of eqGenCase and 75 of fzWideCase (the whole range
// validation admits: amounts up to 10^15, every zone, any offset), each at
// some 50–150 instants. The seeds are fixed, so a failure reproduces.
// DUNNING_EQUIV_CASES=N compares N everyday loans and N/2 wide ones
// instead.
func TestSnapshotEquivRandom(t *testing.T) {
	t.Parallel()
	n := 150
	if testing.Short() {
		n = 20
	}
	if s := os.Getenv("DUNNING_EQUIV_CASES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 3 {
			t.Fatalf("DUNNING_EQUIV_CASES=%q: want a number of loans, 3 or more", s)
		}
	}
	wide := n / 2
	rnd := rand.New(rand.NewPCG(2026, 1130))
	st := &eqStats{seen: map[string]int{}}
	for range n {
		eqCheck(t, eqGenCase(rnd), rnd, st)
	}
	everyday := *st
	for range wide {
		if c, ok := fzWideCase(rnd); ok {
			eqCheck(t, c, rnd, st)
		}
	}
	t.Logf("%d cases, %d instants compared (%d by the fast replay, %d fell back to decimal, %d errors); situations: %v",
		st.cases, st.instants, st.fast, st.fallback, st.errors, st.seen)
	if everyday.fallback > everyday.instants/100 {
		t.Errorf("everyday loans fell back to the decimal replay %d times of %d", everyday.fallback, everyday.instants)
	}
	if st.fallback == everyday.fallback {
		t.Errorf("the wide loans never needed the decimal replay: it went untested")
	}
	for _, k := range []string{"late fee", "penalty", "partly paid", "overdue", "several overdue", "charged off", "paused",
		"paid off", "rescheduled", "rescheduled twice", "credit", "credit on a repayment", "repayment over several installments"} {
		if st.seen[k] < 20 {
			t.Errorf("only %d snapshots with %s: %v", st.seen[k], k, st.seen)
		}
	}
}

// FuzzSnapshotEquiv compares SnapshotAt with the oracle on loans built from
// fuzzer bytes, everyday (eqGenCase) or across the whole range (fzWideCase):
// go test -run '^$' -fuzz FuzzSnapshotEquiv ./policy/
func FuzzSnapshotEquiv(f *testing.F) {
	f.Add(false, []byte{})
	f.Add(true, []byte("a loan across a century, in Apia, with a pause"))
	seed := rand.New(rand.NewPCG(11, 30))
	for i := range 8 {
		b := make([]byte, 400)
		for j := range b {
			b[j] = byte(seed.IntN(256))
		}
		f.Add(i%2 == 0, b)
	}
	f.Fuzz(func(t *testing.T, wide bool, data []byte) {
		src := &btBytes{b: data}
		st := &eqStats{}
		if !wide {
			eqCheck(t, eqGenCase(src), src, st)
			return
		}
		if c, ok := fzWideCase(src); ok {
			eqCheck(t, c, src, st)
		}
	})
}
