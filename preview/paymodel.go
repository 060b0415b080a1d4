package preview

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// DefaultPayModel is the repayment model of `starter simulate` when none is
// given: most borrowers pay on the due date, some a week late, a few never.
const DefaultPayModel = "on-time=0.7,late-7=0.2,never=0.1"

// PayModel says how the borrowers of a simulated book repay. Each borrower
// behaves one way for the whole loan, drawn once with the weights, so the
// same borrower behaves the same under every policy compared.
type PayModel []Behaviour

// Behaviour is one way of repaying, with its weight in the model:
//
//   - on-time: every installment in full on its due date, at noon local;
//   - late-N: every installment N days after its due date, at noon local,
//     with what it owes by then (penalty and late fee included);
//   - early-N: every installment N days before its due date;
//   - never: nothing.
type Behaviour struct {
	Name   string
	Days   int // days after the due date: negative early, 0 on time
	Never  bool
	Weight float64
}

// ParsePayModel reads a model written "on-time=0.7,late-7=0.2,never=0.1".
// The weights must be positive and sum to 1.
func ParsePayModel(s string) (PayModel, error) {
	var m PayModel
	sum := 0.0
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("pay model %q: %q is not behaviour=weight", s, part)
		}
		weight, err := strconv.ParseFloat(w, 64)
		if err != nil || weight <= 0 || math.IsInf(weight, 0) || math.IsNaN(weight) {
			return nil, fmt.Errorf("pay model %q: weight of %s must be a number above 0, got %q", s, name, w)
		}
		b := Behaviour{Name: name, Weight: weight}
		switch {
		case name == "on-time":
		case name == "never":
			b.Never = true
		case strings.HasPrefix(name, "late-") || strings.HasPrefix(name, "early-"):
			kind, n, _ := strings.Cut(name, "-")
			days, err := strconv.Atoi(n)
			if err != nil || days < 1 || days > 3650 {
				return nil, fmt.Errorf("pay model %q: %s needs a number of days from 1 to 3650", s, name)
			}
			if kind == "early" {
				days = -days
			}
			b.Days = days
		default:
			return nil, fmt.Errorf("pay model %q: unknown behaviour %q (on-time, late-N, early-N, never)", s, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("pay model %q: %s given twice", s, name)
		}
		seen[name] = true
		sum += weight
		m = append(m, b)
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, fmt.Errorf("pay model %q: the weights sum to %g, not 1", s, sum)
	}
	return m, nil
}

// String writes the model as ParsePayModel reads it.
func (m PayModel) String() string {
	parts := make([]string, len(m))
	for i, b := range m {
		parts[i] = b.Name + "=" + strconv.FormatFloat(b.Weight, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// draw picks the behaviour of the borrower of loan id with seed: the same
// for the same seed and loan, whatever the order loans are simulated in.
func (m PayModel) draw(seed uint64, loanID string) Behaviour {
	h := fnv.New64a()
	h.Write([]byte(loanID)) // never fails
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	x := r.Float64()
	for _, b := range m {
		if x < b.Weight {
			return b
		}
		x -= b.Weight
	}
	return m[len(m)-1]
}

// payments are what a borrower behaving as b pays on loan l under pol: each
// installment, in order, at noon local on its due date moved by b.Days,
// with everything it and the installments before it owe by then. Amounts
// come from policy.SnapshotAt, so a late payer pays the penalty and the
// late fee the policy charged.
func (b Behaviour) payments(l policy.Loan, pol policy.Policy) ([]Payment, error) {
	if b.Never {
		return nil, nil
	}
	loc, err := l.Location(pol)
	if err != nil {
		return nil, err
	}
	var h policy.History
	var out []Payment
	for i, in := range l.Installments {
		at := in.DueDate.AddDays(b.Days).At(loc, 12, 0)
		s, err := policy.SnapshotAt(l, pol, h, at)
		if err != nil {
			return nil, fmt.Errorf("payments of loan %s: %w", l.LoanID, err)
		}
		owed := decimal.Zero
		for _, st := range s.Installments {
			if st.Seq <= in.Seq && st.Status != policy.StatusPaid {
				owed = owed.Add(st.Outstanding.Total)
			}
		}
		if !owed.IsPositive() {
			continue
		}
		p := Payment{At: at, Amount: owed, TxnID: fmt.Sprintf("SIM-%d", i+1)}
		out = append(out, p)
		h.Repayments = append(h.Repayments, policy.Repayment{TxnID: p.TxnID, Amount: p.Amount, PaidAt: p.At})
	}
	return out, nil
}
