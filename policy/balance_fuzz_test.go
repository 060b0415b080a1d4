package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// Properties of SnapshotAt that hold for every loan, checked on random loans
// (TestBalanceProperties, deterministic) and under the fuzzer (FuzzSnapshot):
//   - money is conserved: every repayment is split into parts and credit, and
//     for each installment what was owed minus what was paid is what is owed;
//   - nothing is ever negative, and no amount has more decimals than the
//     currency allows;
//   - the totals add up (outstanding = Σ installments, overdue = Σ overdue
//     installments, each total = Σ its components);
//   - penalty + late fee never exceed the cap;
//   - the balance does not depend on the order repayments and pauses arrived
//     in, nor on a repeated txn_id.

// btIntN draws an int in [0, n).
type btIntN interface{ IntN(n int) int }

// btBytes draws from fuzzer bytes; once they run out every draw is 0.
type btBytes struct{ b []byte }

func (s *btBytes) IntN(n int) int {
	if n <= 1 {
		return 0
	}
	var v uint64
	for k := n - 1; k > 0; k >>= 8 {
		v <<= 8
		if len(s.b) > 0 {
			v |= uint64(s.b[0])
			s.b = s.b[1:]
		}
	}
	return int(v % uint64(n))
}

// btCase is one random loan with its history.
type btCase struct {
	loan   Loan
	pol    Policy
	h      History
	asOf   time.Time
	places int32
}

func (c btCase) String() string {
	b, _ := json.Marshal(struct {
		Loan    Loan
		Penalty PenaltyRules
		History History
		AsOf    time.Time
	}{c.loan, c.pol.Penalty, c.h, c.asOf})
	return string(b)
}

// btGenCase builds a valid loan of 1..maxInst monthly installments, up to
// maxReps repayments, up to two pauses and, if withReschedule, sometimes a
// reschedule.
func btGenCase(r btIntN, maxInst, maxReps int, withReschedule bool) btCase {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	currency := pick("CNY", "CNY", "USD", "JPY", "KWD")
	places, _ := MinorUnits(currency)
	tz := pick("Asia/Shanghai", "America/New_York", "Asia/Kolkata", "UTC", "Europe/London")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		panic(err)
	}
	money := func(maxMinor int) decimal.Decimal { return decimal.New(int64(r.IntN(maxMinor)), -places) }

	p := Default()
	switch r.IntN(6) {
	case 1:
		p.Penalty.FreezePenalty = false
	case 2:
		p.Penalty.Base = BasePrincipalAndInterest
	case 3:
		p.Penalty.GraceDays = 0
	case 4:
		p.Penalty.LateFee = decimal.Zero
	}

	c := btCase{pol: p, places: places}
	c.loan = btLoan(currency, tz)
	start := time.Date(2026, time.Month(1+r.IntN(12)), 1+r.IntN(31), 0, 0, 0, 0, time.UTC)
	n := 1 + r.IntN(maxInst)
	newInst := func(seq int, due time.Time) Installment {
		principal := money(500000)
		if r.IntN(4) == 0 {
			principal = money(20000) // small: reaches the cap
		}
		in := Installment{Seq: seq, DueDate: DateOf(due), Principal: principal,
			Interest: money(int(principal.Shift(places).IntPart())/10 + 1), Fee: decimal.Zero}
		if r.IntN(4) == 0 {
			in.Fee = money(1000)
		}
		return in
	}
	for i := range n {
		c.loan.Installments = append(c.loan.Installments, newInst(i+1, start.AddDate(0, i, 0)))
	}
	first := c.loan.Installments[0].DueDate.Midnight(loc)
	last := c.loan.Installments[n-1].DueDate.Midnight(loc)
	span := int(last.Sub(first).Minutes()) + 150*24*60
	instant := func() time.Time {
		t := first.Add(-20 * 24 * time.Hour).Add(time.Duration(r.IntN(span)) * time.Minute)
		if r.IntN(5) == 0 { // exactly at a local midnight
			t = LocalDate(t, loc).Midnight(loc)
		}
		return t
	}

	for i := range r.IntN(maxReps + 1) {
		amount := decimal.New(int64(1+r.IntN(300000)), -places)
		c.h.Repayments = append(c.h.Repayments, Repayment{TxnID: fmt.Sprintf("T%03d", i), Amount: amount, PaidAt: instant()})
	}
	for range r.IntN(3) {
		from := instant()
		ps := Pause{From: from, Reason: "test"}
		if r.IntN(5) != 0 {
			ps.Until = from.Add(time.Duration(1+r.IntN(20*24*60)) * time.Minute)
		}
		c.h.Pauses = append(c.h.Pauses, ps)
	}
	if withReschedule && r.IntN(4) == 0 {
		at := instant()
		due := LocalDate(at, loc).AddDays(1 + r.IntN(40))
		rs := Reschedule{At: at}
		for i := range 1 + r.IntN(3) {
			d := due.AddDays(30 * i)
			rs.Installments = append(rs.Installments, newInst(100+i, time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)))
		}
		c.h.Reschedules = append(c.h.Reschedules, rs)
	}
	c.asOf = instant()
	if r.IntN(6) == 0 {
		c.asOf = last.Add(200 * 24 * time.Hour)
	}
	return c
}

// btCheckProperties checks every property on one case.
func btCheckProperties(t *testing.T, c btCase, shuffle func(n int, swap func(i, j int))) {
	t.Helper()
	s, err := SnapshotAt(c.loan, c.pol, c.h, c.asOf)
	if err != nil {
		t.Fatalf("SnapshotAt: %v\n%s", err, c)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\ncase %s", append(args, c)...)
	}
	exact := func(what string, d decimal.Decimal) {
		t.Helper()
		if d.IsNegative() {
			fail("%s = %s is negative", what, d)
		}
		if !HasAtMostPlaces(d, c.places) {
			fail("%s = %s has more than %d decimals", what, d, c.places)
		}
	}
	comps := func(what string, b Breakdown) {
		t.Helper()
		for _, x := range []struct {
			n string
			d decimal.Decimal
		}{{"principal", b.Principal}, {"interest", b.Interest}, {"fee", b.Fee}, {"penalty", b.Penalty}, {"late_fee", b.LateFee}, {"total", b.Total}} {
			exact(what+"."+x.n, x.d)
		}
		if sum := b.Principal.Add(b.Interest).Add(b.Fee).Add(b.Penalty).Add(b.LateFee); !sum.Equal(b.Total) {
			fail("%s total %s ≠ Σ components %s", what, b.Total, sum)
		}
	}

	// Totals add up, nothing negative.
	exact("credit", s.Credit)
	comps("outstanding", s.Outstanding)
	comps("overdue", s.Overdue)
	var out, od Breakdown
	maxDPD := 0
	for _, in := range s.Installments {
		what := fmt.Sprintf("installment %d", in.Seq)
		comps(what, in.Outstanding)
		exact(what+" penalty posted", in.PenaltyPosted)
		exact(what+" late fee posted", in.LateFeePosted)
		out = out.Add(in.Outstanding)
		if in.Status == StatusOverdue {
			od = od.Add(in.Outstanding)
			maxDPD = max(maxDPD, in.DaysPastDue)
		}
		if (in.Status == StatusPaid) != in.Outstanding.Total.IsZero() {
			fail("%s status %s with %s owed", what, in.Status, in.Outstanding.Total)
		}
		if in.Outstanding.Penalty.GreaterThan(in.PenaltyPosted) || in.Outstanding.LateFee.GreaterThan(in.LateFeePosted) {
			fail("%s owes more penalty or late fee than was posted", what)
		}
	}
	if !btSameBreakdown(out, s.Outstanding) {
		fail("outstanding %s ≠ Σ installments %s", btShow(s.Outstanding), btShow(out))
	}
	if !btSameBreakdown(od, s.Overdue) {
		fail("overdue %s ≠ Σ overdue installments %s", btShow(s.Overdue), btShow(od))
	}
	if s.DaysPastDue != maxDPD {
		fail("DPD %d; oldest overdue installment is %d days past due", s.DaysPastDue, maxDPD)
	}
	if (s.State == StatePaidOff) != s.Outstanding.Total.IsZero() {
		fail("state %s with %s outstanding", s.State, s.Outstanding.Total)
	}
	if s.Credit.IsPositive() && !s.Outstanding.Total.IsZero() {
		fail("credit %s kept while %s is owed", s.Credit, s.Outstanding.Total)
	}

	// Money is conserved: each repayment = its parts + its credit; without a
	// reschedule (which drops what the replaced installments owed and spends
	// credit outside any repayment), the credit is what the repayments left,
	// and per installment: scheduled + posted − paid = owed.
	received, spent := decimal.Zero, decimal.Zero
	paid := map[int]Breakdown{}
	credit := decimal.Zero
	for _, a := range s.Applied {
		received = received.Add(a.Amount)
		exact("allocation credit", a.Credit)
		parts := a.Credit
		for _, pt := range a.Parts {
			comps(fmt.Sprintf("%s paid to %d", a.TxnID, pt.Seq), pt.Paid)
			parts = parts.Add(pt.Paid.Total)
			paid[pt.Seq] = paid[pt.Seq].Add(pt.Paid)
		}
		if !parts.Equal(a.Amount) {
			fail("%s: %s received, %s allocated", a.TxnID, a.Amount, parts)
		}
		spent = spent.Add(parts)
		credit = credit.Add(a.Credit)
	}
	var want decimal.Decimal
	for _, rp := range c.h.Repayments {
		if !rp.PaidAt.After(c.asOf) {
			want = want.Add(rp.Amount)
		}
	}
	if !received.Equal(want) || !spent.Equal(want) {
		fail("repayments up to as_of %s; applied %s, allocated %s", want, received, spent)
	}
	if len(c.h.Reschedules) == 0 {
		if !credit.Equal(s.Credit) {
			fail("credit %s; repayments left %s", s.Credit, credit)
		}
		for _, in := range s.Installments {
			var sched Installment
			for _, x := range c.loan.Installments {
				if x.Seq == in.Seq {
					sched = x
				}
			}
			pd, o := paid[in.Seq], in.Outstanding
			for _, x := range []struct {
				n                     string
				owed, paid, remaining decimal.Decimal
			}{
				{"principal", sched.Principal, pd.Principal, o.Principal},
				{"interest", sched.Interest, pd.Interest, o.Interest},
				{"fee", sched.Fee, pd.Fee, o.Fee},
				{"penalty", in.PenaltyPosted, pd.Penalty, o.Penalty},
				{"late fee", in.LateFeePosted, pd.LateFee, o.LateFee},
			} {
				if !x.owed.Sub(x.paid).Equal(x.remaining) {
					fail("installment %d %s: %s owed − %s paid ≠ %s outstanding", in.Seq, x.n, x.owed, x.paid, x.remaining)
				}
			}

			// The cap, as SnapshotAt rounds it (half-up; see
			// TestBalanceCapNeverExceedsRatio for why it should round down).
			capAmt := RoundMoney(sched.Principal.Mul(c.pol.Penalty.CapRatio), c.places)
			if ch := in.PenaltyPosted.Add(in.LateFeePosted); ch.GreaterThan(capAmt) {
				fail("installment %d charged %s over the cap %s", in.Seq, ch, capAmt)
			}
			if in.LateFeePosted.GreaterThan(RoundMoney(c.pol.Penalty.LateFee, c.places)) {
				fail("installment %d late fee %s charged more than once", in.Seq, in.LateFeePosted)
			}
		}
	}

	// Arrival order does not matter, nor does a repeated txn_id.
	base, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	h := History{Repayments: append([]Repayment(nil), c.h.Repayments...), Pauses: append([]Pause(nil), c.h.Pauses...),
		Reschedules: c.h.Reschedules}
	shuffle(len(h.Repayments), func(i, j int) { h.Repayments[i], h.Repayments[j] = h.Repayments[j], h.Repayments[i] })
	shuffle(len(h.Pauses), func(i, j int) { h.Pauses[i], h.Pauses[j] = h.Pauses[j], h.Pauses[i] })
	if len(h.Repayments) > 0 {
		h.Repayments = append(h.Repayments, h.Repayments[0])
	}
	s2, err := SnapshotAt(c.loan, c.pol, h, c.asOf)
	if err != nil {
		t.Fatal(err)
	}
	if other, _ := json.Marshal(s2); string(other) != string(base) {
		fail("shuffled history gives another balance:\n%s\n%s", base, other)
	}
}

func btSameBreakdown(a, b Breakdown) bool {
	return a.Principal.Equal(b.Principal) && a.Interest.Equal(b.Interest) && a.Fee.Equal(b.Fee) &&
		a.Penalty.Equal(b.Penalty) && a.LateFee.Equal(b.LateFee) && a.Total.Equal(b.Total)
}

// TestBalanceProperties checks the properties on 400 random loans of 1–12
// installments with random repayments, pauses and, for a quarter of them, a
// reschedule. The seed is fixed, so a failure reproduces.
func TestBalanceProperties(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(2026, 12))
	seen := map[string]int{}
	for i := range 400 {
		c := btGenCase(rnd, 12, 10, i%4 == 0)
		t.Run(fmt.Sprint(i), func(t *testing.T) { btCheckProperties(t, c, rnd.Shuffle) })
		btCount(seen, c)
	}
	t.Logf("situations reached: %v", seen)
	// The random loans must reach every situation, or the properties above
	// say little.
	for _, k := range []string{"late fee", "penalty", "at cap", "charged off", "credit", "paused",
		"paid off", "rescheduled", "overdue", "several overdue", "JPY", "KWD", "no freeze", "P&I base", "no grace"} {
		if seen[k] < 3 {
			t.Errorf("only %d random loans with %s: %v", seen[k], k, seen)
		}
	}
}

// btCount tallies which situations case c reaches.
func btCount(seen map[string]int, c btCase) {
	s, err := SnapshotAt(c.loan, c.pol, c.h, c.asOf)
	if err != nil {
		return
	}
	mark := func(k string, ok bool) {
		if ok {
			seen[k]++
		}
	}
	late, pen, atCap, overdue := false, false, false, 0
	for _, in := range s.Installments {
		late = late || in.LateFeePosted.IsPositive()
		pen = pen || in.PenaltyPosted.IsPositive()
		for _, x := range c.loan.Installments {
			if x.Seq == in.Seq && x.Principal.IsPositive() &&
				in.PenaltyPosted.Add(in.LateFeePosted).Equal(RoundMoney(x.Principal.Mul(c.pol.Penalty.CapRatio), c.places)) {
				atCap = true
			}
		}
		if in.Status == StatusOverdue {
			overdue++
		}
	}
	mark("late fee", late)
	mark("penalty", pen)
	mark("at cap", atCap)
	mark("charged off", s.ChargedOff)
	mark("credit", s.Credit.IsPositive())
	mark("paused", s.Paused)
	mark("paid off", s.State == StatePaidOff)
	mark("rescheduled", s.ScheduleVersion > 0)
	mark("overdue", overdue > 0)
	mark("several overdue", overdue > 1)
	mark(c.loan.Currency, true)
	mark("no freeze", !c.pol.Penalty.FreezePenalty)
	mark("P&I base", c.pol.Penalty.Base == BasePrincipalAndInterest)
	mark("no grace", c.pol.Penalty.GraceDays == 0)
}

// FuzzSnapshot checks the same properties on loans built from fuzzer bytes:
// go test -run '^$' -fuzz FuzzSnapshot ./policy/
func FuzzSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("one loan, many repayments, a pause and a reschedule: dunning"))
	seed := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(seed.IntN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src := &btBytes{b: data}
		c := btGenCase(src, 12, 10, true)
		// The shuffle is drawn from the same bytes, so it is reproducible.
		shuffle := func(n int, swap func(i, j int)) {
			for i := n - 1; i > 0; i-- {
				swap(i, src.IntN(i+1))
			}
		}
		btCheckProperties(t, c, shuffle)
	})
}
