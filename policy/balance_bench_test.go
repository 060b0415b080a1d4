package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// btBenchCase is a monthly loan of n installments due on the 15th from
// January 2026 and paid reps times: every fifth repayment ten days late (so
// penalty and a late fee post, and 30.00 extra goes to cover them), the
// others on the due date. as_of is 20 days after the due date of the first
// installment left unpaid, which is then overdue.
func btBenchCase(b *testing.B, n, reps int) (Loan, History, time.Time) {
	b.Helper()
	loc := btLoc(b, "Asia/Shanghai")
	l := btLoan("CNY", "Asia/Shanghai")
	for i := range n {
		l.Installments = append(l.Installments, Installment{
			Seq:       i + 1,
			DueDate:   DateOf(time.Date(2026, time.January+time.Month(i), 15, 0, 0, 0, 0, time.UTC)),
			Principal: decimal.New(int64(100000+200*i), -2), // 1000.00 rising by 2.00
			Interest:  decimal.New(int64(180000-500*i), -2), // 1800.00 falling by 5.00
			Fee:       decimal.Zero,
		})
	}
	var h History
	for i := range reps {
		in := l.Installments[i]
		paid, amount := in.DueDate.At(loc, 9, 0), in.Principal.Add(in.Interest)
		if i%5 == 4 {
			paid = in.DueDate.AddDays(10).At(loc, 9, 0)
			amount = amount.Add(decimal.New(3000, -2))
		}
		h.Repayments = append(h.Repayments, Repayment{TxnID: fmt.Sprintf("T%04d", i), Amount: amount, PaidAt: paid})
	}
	asOf := l.Installments[reps].DueDate.AddDays(20).At(loc, 10, 0)
	return l, h, asOf
}

func btBench(b *testing.B, n, reps int) {
	btBenchWith(b, n, reps, SnapshotAt)
}

func btBenchWith(b *testing.B, n, reps int, snapshotAt func(Loan, Policy, History, time.Time) (Snapshot, error)) {
	l, h, asOf := btBenchCase(b, n, reps)
	p := Default()
	s := btSnap(b, l, p, h, asOf)
	if s.State != StateOverdue || len(s.Applied) != reps || !btInstOf(b, s, 1).LateFeePosted.IsZero() ||
		btInstOf(b, s, 5).LateFeePosted.IsZero() {
		b.Fatalf("not the loan the benchmark means: state %s, %d applied", s.State, len(s.Applied))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := snapshotAt(l, p, h, asOf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot is a 30-year mortgage: 360 monthly installments, 100
// repayments (20 of them late), snapshot with the 101st overdue.
func BenchmarkSnapshot(b *testing.B) { btBench(b, 360, 100) }

// BenchmarkSnapshotShort is a one-year consumer loan: 12 installments, 10
// repayments (2 late), snapshot with the 11th overdue.
func BenchmarkSnapshotShort(b *testing.B) { btBench(b, 12, 10) }

// BenchmarkSnapshotOracle and BenchmarkSnapshotShortOracle are the two
// above with the balance engine as it was before its int64 replay
// (balance_oracle_test.go): what the fast replay gained.
func BenchmarkSnapshotOracle(b *testing.B)      { btBenchWith(b, 360, 100, oracleSnapshotAt) }
func BenchmarkSnapshotShortOracle(b *testing.B) { btBenchWith(b, 12, 10, oracleSnapshotAt) }
