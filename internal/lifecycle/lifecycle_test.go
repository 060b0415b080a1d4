package lifecycle

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"dunning/policies"
	"dunning/policy"
	"dunning/templates"
)

// The two 12-installment lifecycles measured with the real workflow: every
// run is a whole history (one start, one end, every workflow task and
// activity complete), the repayments are updates, the charge-off is
// counted before the preview's close. The figures themselves are for
// `make lifecycle` to report, not for a test to pin: they change with the
// workflow.
func TestStandardLifecycles(t *testing.T) {
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := reg.Get("default")
	tr, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	lcs, err := Standard(p, 24, 12, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lc               Lifecycle
		runs             int
		end              string
		updates          int // per run
		signals          int // in all
		chargedOff       bool
		lastRunCompletes bool
	}{
		{lcs[0], 12, policy.StatePaidOff, 1, 0, false, true},
		{lcs[1], 1, policy.StateChargedOff, 0, 1, true, true},
	} {
		t.Run(c.lc.Name, func(t *testing.T) {
			r, err := Measure(context.Background(), c.lc, p, tr)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Runs) != c.runs || r.End.State != c.end {
				t.Fatalf("%d runs ending %s, want %d ending %s", len(r.Runs), r.End.State, c.runs, c.end)
			}
			signals := 0
			for i, rc := range r.Runs {
				last := i == len(r.Runs)-1
				ends := rc[completed] + rc[can] + rc[failed]
				if rc[started] != 1 || ends != 1 || (last && rc[completed] != 1) || (!last && rc[can] != 1) {
					t.Errorf("run %d: starts %d, ends %d: %s", i+1, rc[started], ends, rc)
				}
				if rc[wftSched] != len(r.Tasks[i]) || rc[wftStart] != rc[wftSched] || rc[wftDone] != rc[wftSched] {
					t.Errorf("run %d: workflow task events %d/%d/%d for %d tasks", i+1, rc[wftSched], rc[wftStart], rc[wftDone], len(r.Tasks[i]))
				}
				if rc[actSched] != rc[actStart] || rc[actStart] != rc[actDone] {
					t.Errorf("run %d: activities scheduled %d, started %d, completed %d", i+1, rc[actSched], rc[actStart], rc[actDone])
				}
				if rc[accepted] != c.updates || rc[updated] != c.updates {
					t.Errorf("run %d: updates accepted %d, completed %d, want %d", i+1, rc[accepted], rc[updated], c.updates)
				}
				if rc[timerOn] != rc[timerFire]+rc[timerOff] {
					t.Errorf("run %d: %d timers started, %d fired, %d canceled", i+1, rc[timerOn], rc[timerFire], rc[timerOff])
				}
				signals += rc[signaled]
			}
			if signals != c.signals {
				t.Errorf("%d signals, want %d", signals, c.signals)
			}
			if c.chargedOff != (r.ChargeOff != nil) {
				t.Fatalf("charge-off counts %v, want them: %v", r.ChargeOff, c.chargedOff)
			}
			if r.ChargeOff != nil {
				if total := r.Total().Total(); r.ChargeOff.Total() >= total || r.ChargeOff[signaled] != 0 {
					t.Errorf("to charge-off %s, of %d in all", r.ChargeOff, total)
				}
			}
		})
	}
}

// The summary line is what scripts and PERFORMANCE.md read.
func TestSummaryLine(t *testing.T) {
	onTime := &Result{Installments: 12, Runs: []Counts{{marker: 100}, {marker: 10}}}
	chargeOff := &Result{Installments: 12, Runs: []Counts{{marker: 240}}, ChargeOff: Counts{marker: 228}}
	long := &Result{Installments: 360, Runs: []Counts{{marker: 97}}}
	got := Summarize(onTime, chargeOff, long).String()
	if want := "events_per_installment=9.2 charge_off_events=228 max_run_events=240"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, []*Result{onTime, chargeOff, long}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "MarkerRecorded") {
		t.Errorf("table without the breakdown:\n%s", b.String())
	}
}

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want Config
		err  string
	}{
		{nil, Config{Policy: "default", Long: 360, PayAt: "12:00"}, ""},
		{[]string{"-long", "24", "-pay-at", "09:30", "-tasks"}, Config{Policy: "default", Long: 24, PayAt: "09:30", Tasks: true}, ""},
		{[]string{"-long", "0"}, Config{}, "-long 0"},
		{[]string{"-long", "601"}, Config{}, "-long 601"},
		{[]string{"-pay-at", "noon"}, Config{}, `-pay-at "noon"`},
	} {
		got, err := ParseFlags(c.args, io.Discard)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.args, got, err, c.want)
		}
	}
}
