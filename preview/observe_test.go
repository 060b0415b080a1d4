package preview

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/testsuite"

	"dunning/policy"
)

// RunObserved with no observer is Run: the same timeline, to the byte, for a
// loan paid late (a repayment, continue-as-new) and for one charged off (the
// preview's close). This is what keeps runObserved in step with run.
func TestRunObservedIsRun(t *testing.T) {
	late := sampleLoan()
	late.Installments = append(late.Installments, policy.Installment{Seq: 2, DueDate: policy.MustDate("2027-01-01"),
		Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("45.00"), Fee: decimal.Zero})
	pays := []Payment{{At: time.Date(2026, 12, 6, 10, 0, 0, 0, shanghai), Amount: decimal.RequireFromString("1068.00")}}
	for _, c := range []struct {
		name string
		loan policy.Loan
		pays []Payment
	}{
		{"paid late, continue-as-new", late, pays},
		{"charged off", sampleLoan(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Policy: policy.Default(), Templates: renderer(t), Payments: c.pays}
			want, err := Run(context.Background(), c.loan, o)
			if err != nil {
				t.Fatal(err)
			}
			runs := 0
			got, err := RunObserved(context.Background(), c.loan, o, func(run int, _ *testsuite.TestWorkflowEnvironment) Hooks {
				runs = run
				return Hooks{}
			})
			if err != nil {
				t.Fatal(err)
			}
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(got)
			if string(w) != string(g) {
				t.Errorf("RunObserved differs from Run:\nRun:         %s\nRunObserved: %s", w, g)
			}
			if runs != want.Runs {
				t.Errorf("observer saw %d runs, the preview had %d", runs, want.Runs)
			}
		})
	}
}
