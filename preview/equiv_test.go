package preview

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// equivBook is a book whose previews take every path a preview has: loans
// of 12 installments repaid as eight behaviours draw (on time, early, a
// week late, 40 days late with two installments overdue, never), and loans
// with payments of their own: a part of one installment, more than
// everything owed (credit), the same txn_id twice, and one made after the
// loan was charged off (a recovery).
func equivBook(t *testing.T, n int) ([]policy.Loan, [][]Payment) {
	t.Helper()
	m, err := ParsePayModel("on-time=0.3,early-5=0.1,late-7=0.2,late-40=0.2,never=0.2")
	if err != nil {
		t.Fatal(err)
	}
	book := GenerateBook(n, 12, policy.MustDate("2027-01-01"), 17)
	pays := make([][]Payment, n)
	for i, l := range book {
		loc, err := l.Location(policy.Default())
		if err != nil {
			t.Fatal(err)
		}
		due := l.Installments[0].DueDate
		owed := l.Installments[0].Principal.Add(l.Installments[0].Interest)
		switch i % 6 {
		case 0, 1, 2:
			if pays[i], err = m.draw(17, l.LoanID).payments(l, policy.Default()); err != nil {
				t.Fatal(err)
			}
		case 3: // a part of the first installment on D+5, the rest of the loan never
			pays[i] = []Payment{{At: due.AddDays(5).At(loc, 10, 0), Amount: owed.Div(decimal.NewFromInt(3)).Round(2)}}
		case 4: // everything and more, early; the same txn_id again later
			pays[i] = []Payment{{At: due.AddDays(-2).At(loc, 9, 0), Amount: owed.Mul(decimal.NewFromInt(13)), TxnID: "BIG"},
				{At: due.AddDays(3).At(loc, 9, 0), Amount: owed, TxnID: "BIG"}}
		case 5: // a recovery long after the charge-off
			pays[i] = []Payment{{At: due.AddDays(150).At(loc, 15, 0), Amount: owed}}
		}
	}
	return book, pays
}

// TestRawContinueAsNewIsReencoded: a run after continue-as-new starts with
// the previous run's payload as it is (engine.nextInput); before, the
// engine decoded it into a workflows.Input and encoded it again. Both give
// exactly the same preview, every point, message, balance and rung not
// sent, for every loan of equivBook.
func TestRawContinueAsNewIsReencoded(t *testing.T) {
	t.Parallel()
	n := 36
	if testing.Short() {
		n = 12
	}
	book, pays := equivBook(t, n)
	tr := renderer(t)
	runs := 0
	for i, l := range book {
		var got [2]string
		for k, reencode := range []bool{false, true} {
			tl, err := Run(context.Background(), l, Options{Policy: policy.Default(), Templates: tr, Payments: pays[i], reencode: reencode})
			if err != nil {
				t.Fatalf("loan %s (reencode %v): %v", l.LoanID, reencode, err)
			}
			b, err := tl.JSON()
			if err != nil {
				t.Fatal(err)
			}
			got[k] = string(b)
			if k == 0 {
				runs += tl.Runs - 1
			}
		}
		if got[0] != got[1] {
			t.Fatalf("loan %s: the preview with the raw payload differs from the re-encoded one:\n%s\n%s", l.LoanID, got[0], got[1])
		}
	}
	if runs < n {
		t.Errorf("only %d continue-as-new in %d previews: the test says little", runs, n)
	}
}
