package workflows

import (
	"fmt"
	"slices"
	"testing"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dunning/policy"
)

// points-1 changes how a loan's work reaches the server (one SendPoint local
// activity per point, local audit writes, no markers after the first run),
// never what the loan does: the same loan under points-1 and under the code
// before it sends the same notices with the same outcomes, writes the same
// ledger rows (keys, kinds, amounts), opens the same cases and ends the same.
func TestPointsVersionChangesNothingALoanDoes(t *testing.T) {
	type scenario struct {
		name   string
		in     Input
		start  string
		events func(h *harness) []*event
	}
	twelve := testLoan("L-EQ-TWELVE", 12, "2027-01-15")
	scenarios := []scenario{
		{name: "twelve paid on time", in: twelve, start: "2027-01-01", events: func(h *harness) []*event {
			var ev []*event
			for _, ins := range twelve.Loan.Installments {
				paid := ins.DueDate.At(shanghai, 12, 0)
				ev = append(ev, h.repay(paid, "T-"+ins.DueDate.String(), "1045.00", paid))
			}
			return ev
		}},
		{name: "the whole ladder to charge-off", in: testLoan("L-EQ-CHARGE", 1, "2027-01-15"), start: "2027-01-01",
			events: func(*harness) []*event {
				return []*event{signal(at("2027-04-30", 12, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "sold"})}
			}},
		{name: "partial, back-dated and full repayments", in: testLoan("L-EQ-PART", 2, "2027-01-15"), start: "2027-01-01",
			events: func(h *harness) []*event {
				return []*event{
					h.repay(at("2027-01-20", 15, 0), "T-1", "600.00", at("2027-01-20", 15, 0)),
					h.repay(at("2027-01-26", 9, 0), "T-2", "300.00", at("2027-01-22", 9, 0)),
					h.repay(at("2027-01-26", 9, 0), "T-2", "300.00", at("2027-01-22", 9, 0)),
					h.repay(at("2027-02-20", 15, 0), "T-3", "1300.00", at("2027-02-20", 15, 0)),
				}
			}},
		{name: "pause, opt-outs and a case", in: testLoan("L-EQ-OPT", 1, "2027-01-15"), start: "2027-01-01",
			events: func(*harness) []*event {
				return []*event{
					signal(at("2027-01-16", 9, 0), SignalPause, PauseSignal{Actor: testActor, Reason: "hardship"}),
					signal(at("2027-01-19", 9, 0), SignalResume, ResumeSignal{Actor: testActor, Reason: "over"}),
					signal(at("2027-01-25", 9, 0), SignalUpdateContact, ContactUpdate{Actor: testActor, Reason: "asked",
						OptOuts: []policy.Channel{policy.SMS, policy.Email, policy.Push}}),
					signal(at("2027-02-05", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
				}
			}},
	}
	type outcome struct {
		notices, ledger, cases []string
		state                  string
		err                    error
	}
	run := func(t *testing.T, sc scenario, points bool) outcome {
		h := newHarness(t)
		if !points {
			h.configure = func(env *testsuite.TestWorkflowEnvironment) {
				env.OnGetVersion(pointsVersion, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
		}
		snap, err := h.run(sc.in, at(sc.start, 9, 0), sc.events(h))
		var o outcome
		o.state, o.err = string(snap.State), err
		for _, n := range h.store.notices {
			o.notices = append(o.notices, fmt.Sprintf("%s %s %s", n.IdempotencyKey, n.Status, n.Reason))
		}
		for _, e := range h.store.ledger {
			amt := ""
			if e.Amount != nil {
				amt = e.Amount.StringFixed(2)
			}
			o.ledger = append(o.ledger, fmt.Sprintf("%s %s %s", e.DedupeKey, e.Kind, amt))
		}
		for _, c := range h.store.cases {
			o.cases = append(o.cases, fmt.Sprintf("%s %d %s", c.DedupeKey, c.DaysPastDue, c.OverdueTotal))
		}
		for _, s := range [][]string{o.notices, o.ledger, o.cases} {
			slices.Sort(s)
		}
		if points {
			for _, in := range h.inputs[1:] {
				if in.State == nil || in.State.Points != 1 {
					t.Errorf("a later run's input does not carry points-1: %+v", in.State)
				}
			}
		}
		return o
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			before, after := run(t, sc, false), run(t, sc, true)
			if before.err != nil || after.err != nil {
				t.Fatalf("errors: before %v, points-1 %v", before.err, after.err)
			}
			if len(after.notices) == 0 || len(after.ledger) == 0 {
				t.Fatalf("nothing happened: %+v", after)
			}
			if before.state != after.state {
				t.Errorf("ends %s before, %s at points-1", before.state, after.state)
			}
			for _, c := range []struct {
				what          string
				before, after []string
			}{{"notices", before.notices, after.notices}, {"ledger", before.ledger, after.ledger}, {"cases", before.cases, after.cases}} {
				if !slices.Equal(c.before, c.after) {
					t.Errorf("%s differ\nbefore   %q\npoints-1 %q", c.what, c.before, c.after)
				}
			}
		})
	}
}
