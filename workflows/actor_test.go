package workflows

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"dunning/policy"
	"dunning/store"
)

// testActor is the operator of the tests' actions.
const testActor = "ops.test@lender.example"

// detailOf decodes a ledger row's detail.
func detailOf(t *testing.T, e store.LedgerEntry) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatalf("detail of %s: %v", e.Kind, err)
	}
	return d
}

// Issue 8: every operator action update says who took it and why. One
// without an actor or a reason, or with a bad actor, is refused (422)
// naming the field and leaves nothing; an accepted one writes both to its
// ledger row.
func TestOperatorUpdatesNeedActorAndReason(t *testing.T) {
	h := newHarness(t)
	in := testLoan("L-ACTOR", 2, "2027-01-15")
	ins := []policy.Installment{{Seq: 3, DueDate: policy.MustDate("2027-03-15"),
		Principal: decimal.RequireFromString("2000.00"), Interest: decimal.RequireFromString("90.00"), Fee: decimal.Zero}}
	const actor = "li.wei@lender.cn"
	cases := []struct {
		name   string
		update string
		arg    any
		field  string // "" accepted
		kind   string // the row an accepted one writes
		reason string
	}{
		{"pause without actor", UpdatePause, PauseSignal{Reason: "hardship"}, "actor", "", ""},
		{"pause without reason", UpdatePause, PauseSignal{Actor: actor}, "reason", "", ""},
		{"pause with a blank reason", UpdatePause, PauseSignal{Actor: actor, Reason: "  "}, "reason", "", ""},
		{"pause by a name with a space", UpdatePause, PauseSignal{Actor: "Li Wei", Reason: "hardship"}, "actor", "", ""},
		{"pause", UpdatePause, PauseSignal{Actor: actor, Reason: "hardship"}, "", store.KindPaused, "hardship"},
		{"resume without actor", UpdateResume, ResumeSignal{Reason: "done"}, "actor", "", ""},
		{"resume without reason", UpdateResume, ResumeSignal{Actor: actor}, "reason", "", ""},
		{"resume", UpdateResume, ResumeSignal{Actor: actor, Reason: "review done"}, "", store.KindResumed, "review done"},
		{"contact without actor", UpdateContact, ContactUpdate{Reason: "new email", Email: "new@example.cn"}, "actor", "", ""},
		{"contact without reason", UpdateContact, ContactUpdate{Actor: actor, Email: "new@example.cn"}, "reason", "", ""},
		{"contact", UpdateContact, ContactUpdate{Actor: actor, Reason: "customer called", Email: "new@example.cn"}, "",
			store.KindContactUpdated, "customer called"},
		{"reschedule without actor", UpdateReschedule, RescheduleSignal{Reason: "extension", Installments: ins}, "actor", "", ""},
		{"reschedule without reason", UpdateReschedule, RescheduleSignal{Actor: actor, Installments: ins}, "reason", "", ""},
		{"reschedule", UpdateReschedule, RescheduleSignal{Actor: actor, Reason: "extension", Installments: ins}, "",
			store.KindRescheduled, "extension"},
		{"close without actor", UpdateClose, CloseSignal{Reason: "sold"}, "actor", "", ""},
		{"close with a 129-byte actor", UpdateClose, CloseSignal{Actor: string(make([]byte, 129)), Reason: "sold"}, "actor", "", ""},
		{"close", UpdateClose, CloseSignal{Actor: actor, Reason: "sold to agency"}, "", store.KindClosed, "sold to agency"},
	}
	outs := make([]outcome, len(cases))
	var events []*event
	for i, c := range cases {
		events = append(events, h.update(at("2027-01-05", 9, i), c.update, c.name, c.arg, &outs[i]))
	}
	if _, err := h.run(in, at("2027-01-01", 9, 0), events); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		o := outs[i]
		if !o.done {
			t.Errorf("%s: no answer", c.name)
			continue
		}
		if c.field == "" {
			if o.err != nil {
				t.Errorf("%s: %v, want accepted", c.name, o.err)
			}
			rows := h.store.ledgerKinds(c.kind)
			if len(rows) != 1 {
				t.Errorf("%s: %d %s rows, want 1", c.name, len(rows), c.kind)
				continue
			}
			if d := detailOf(t, rows[0]); d["actor"] != actor || d["reason"] != c.reason {
				t.Errorf("%s: ledger detail %v, want actor %s and reason %q", c.name, d, actor, c.reason)
			}
			continue
		}
		var app *temporal.ApplicationError
		if !errors.As(o.err, &app) || app.Type() != ErrTypeRejected {
			t.Errorf("%s: %v, want %s", c.name, o.err, ErrTypeRejected)
			continue
		}
		if f := ErrorFields(app); len(f) != 1 || f[0].Field != c.field {
			t.Errorf("%s: fields %+v, want only %s", c.name, f, c.field)
		}
	}
	if n := len(h.store.ledgerKinds(store.KindSignalRejected)); n != 0 {
		t.Errorf("refused updates left %d signal_rejected rows", n)
	}
}

// Issue 8: a signal (the Web UI's "Send a Signal") without an actor or a
// reason is refused and audited as signal_rejected naming the field, and
// naming who sent it when the actor is valid; one with both is applied and
// its row has both. Runs started before actor-1 keep the original rule: a
// pause without an actor is applied and its row is what it always was.
func TestSignalsWithoutActorAreRefused(t *testing.T) {
	type rejection struct {
		signal string
		fields []string
		actor  string
	}
	for _, tc := range []struct {
		name       string
		version    workflow.Version
		paused     int
		pauseRow   map[string]any // detail of the paused row
		rejections []rejection
	}{
		{name: "actor-1", version: 1, paused: 1,
			pauseRow: map[string]any{"actor": testActor, "reason": "hardship"},
			rejections: []rejection{
				{SignalPause, []string{"actor"}, ""},
				{SignalPause, []string{"reason"}, testActor},
				{SignalResume, []string{"actor", "reason"}, ""},
				{SignalUpdateContact, []string{"actor"}, ""},
				{SignalReschedule, []string{"reason"}, testActor},
				{SignalClose, []string{"actor", "reason"}, ""},
			}},
		// Every action but the close is applied: a blank reason was fine,
		// except for a close, and no actor was asked for.
		{name: "before actor-1", version: workflow.DefaultVersion, paused: 3,
			pauseRow:   map[string]any{"reason": "hardship"},
			rejections: []rejection{{SignalClose, []string{"reason"}, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.configure = func(env *testsuite.TestWorkflowEnvironment) {
				env.OnGetVersion(actorVersion, workflow.DefaultVersion, 1).Return(tc.version)
				if tc.version == workflow.DefaultVersion {
					// A run from before points-1, which asks the older gates.
					env.OnGetVersion(pointsVersion, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
				}
			}
			in := testLoan("L-SIGACTOR", 2, "2027-01-15")
			ins := []policy.Installment{{Seq: 3, DueDate: policy.MustDate("2027-03-15"),
				Principal: decimal.RequireFromString("2000.00"), Interest: decimal.Zero, Fee: decimal.Zero}}
			events := []*event{
				signal(at("2027-01-05", 9, 0), SignalPause, PauseSignal{Reason: "hardship"}),
				signal(at("2027-01-05", 9, 1), SignalPause, PauseSignal{Actor: testActor, Reason: "  "}),
				signal(at("2027-01-05", 9, 2), SignalResume, ResumeSignal{}),
				signal(at("2027-01-05", 9, 3), SignalUpdateContact, ContactUpdate{Reason: "customer called", Email: "new@example.cn"}),
				signal(at("2027-01-05", 9, 4), SignalReschedule, RescheduleSignal{Actor: testActor, Installments: ins}),
				signal(at("2027-01-05", 9, 5), SignalClose, CloseSignal{}),
				signal(at("2027-01-06", 9, 0), SignalPause, PauseSignal{Actor: testActor, Reason: "hardship"}),
				signal(at("2027-01-07", 9, 0), SignalClose, CloseSignal{Actor: testActor, Reason: "test over"}),
			}
			snap, err := h.run(in, at("2027-01-01", 9, 0), events)
			if err != nil {
				t.Fatal(err)
			}
			if snap.State != policy.StateClosed {
				t.Errorf("final state %s, want closed", snap.State)
			}
			var got []rejection
			for _, r := range h.store.ledgerKinds(store.KindSignalRejected) {
				d := detailOf(t, r)
				var fields []string
				for _, f := range d["fields"].([]any) {
					fields = append(fields, f.(string))
				}
				actor, _ := d["actor"].(string)
				got = append(got, rejection{d["signal"].(string), fields, actor})
			}
			if !slices.EqualFunc(got, tc.rejections, func(a, b rejection) bool {
				return a.signal == b.signal && slices.Equal(a.fields, b.fields) && a.actor == b.actor
			}) {
				t.Errorf("signal_rejected rows %+v, want %+v", got, tc.rejections)
			}
			paused := h.store.ledgerKinds(store.KindPaused)
			if len(paused) != tc.paused {
				t.Fatalf("%d paused rows, want %d", len(paused), tc.paused)
			}
			if d := detailOf(t, paused[0]); !mapsEqual(d, tc.pauseRow) {
				t.Errorf("first paused row %v, want %v", d, tc.pauseRow)
			}
			closed := h.store.ledgerKinds(store.KindClosed)
			if len(closed) != 1 || detailOf(t, closed[0])["actor"] != testActor {
				t.Errorf("closed rows %+v, want one by %s", closed, testActor)
			}
		})
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
