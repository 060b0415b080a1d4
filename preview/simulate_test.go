package preview

import (
	"bytes"
	"context"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// lenient is the default policy with a longer grace, a smaller late fee and
// no reminder the day before the due date.
func lenient() policy.Policy {
	p := policy.Default()
	p.Name = "lenient"
	p.Penalty.GraceDays = 5
	p.Penalty.LateFee = decimal.RequireFromString("10.00")
	var ladder []policy.Rung
	for _, r := range p.Reminders.Ladder {
		if r.Offset != -1 {
			ladder = append(ladder, r)
		}
	}
	p.Reminders.Ladder = ladder
	return p
}

func simOptions(t *testing.T, seed uint64, workers int) SimOptions {
	t.Helper()
	m, err := ParsePayModel("on-time=0.5,late-7=0.3,never=0.2")
	if err != nil {
		t.Fatal(err)
	}
	return SimOptions{Policies: []policy.Policy{policy.Default(), lenient()}, PayModel: m, Seed: seed,
		SMSPrice: decimal.RequireFromString("0.05"), Workers: workers, Templates: renderer(t)}
}

func reportJSON(t *testing.T, r *SimReport) string {
	t.Helper()
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The same book, policies, model and seed give the same report, whether on
// one worker or on every core, and two simulations running side by side
// give the same totals; another seed draws other borrowers.
func TestSimulateRepeatable(t *testing.T) {
	book := GenerateBook(16, 4, policy.MustDate("2027-01-01"), 3)
	one, err := Simulate(context.Background(), book, simOptions(t, 42, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := reportJSON(t, one)

	var wg sync.WaitGroup
	got := make([]string, 2)
	for i := range got {
		wg.Go(func() {
			r, err := Simulate(context.Background(), book, simOptions(t, 42, 0))
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = reportJSON(t, r)
		})
	}
	wg.Wait()
	for i, g := range got {
		if g != want {
			t.Errorf("parallel run %d differs from the run on one worker:\n%s\nwant\n%s", i, g, want)
		}
	}
	other, err := Simulate(context.Background(), book, simOptions(t, 43, 0))
	if err != nil {
		t.Fatal(err)
	}
	if reportJSON(t, other) == want {
		t.Error("seed 43 gave the same report as seed 42")
	}

	for _, p := range one.Policies {
		if p.Errors != 0 || p.PaidOff+p.ChargedOff != len(book) {
			t.Errorf("%s: paid off %d + charged off %d of %d, errors %v", p.Policy, p.PaidOff, p.ChargedOff, len(book), p.FirstErrors)
		}
		if p.ChargedOff != one.Behaviours["never"] {
			t.Errorf("%s: %d charged off, %d borrowers never pay", p.Policy, p.ChargedOff, one.Behaviours["never"])
		}
		for _, c := range p.Contacts {
			if c.Channel != "all" && (c.MaxDay > c.CapDay || c.Max7 > c.Cap7 || c.P95of7 > c.Max7) {
				t.Errorf("%s: contacts %+v over the caps", p.Policy, c)
			}
		}
	}
	def, lax := one.Policies[0], one.Policies[1]
	if lax.ByTemplate["upcoming/sms"] != 0 || def.ByTemplate["upcoming/sms"] == 0 {
		t.Errorf("upcoming/sms: default %d, lenient %d (no D-1 rung)", def.ByTemplate["upcoming/sms"], lax.ByTemplate["upcoming/sms"])
	}
	if a, b := decimal.RequireFromString(def.LateFeePosted["CNY"]), decimal.RequireFromString(lax.LateFeePosted["CNY"]); !b.LessThan(a) {
		t.Errorf("late fees posted: default %s, lenient %s", a, b)
	}
	var text bytes.Buffer
	if err := one.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"lenient − default", "upcoming/sms", "SMS cost at 0.05 a segment", "sms: p95 in 7 days", "charged off"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("report lacks %q:\n%s", s, text.String())
		}
	}
}

func TestParsePayModel(t *testing.T) {
	m, err := ParsePayModel(DefaultPayModel)
	if err != nil || len(m) != 3 || m[1].Days != 7 || !m[2].Never || m.String() != DefaultPayModel {
		t.Fatalf("%+v %v", m, err)
	}
	if m, err := ParsePayModel("early-2=0.25,on-time=0.75"); err != nil || m[0].Days != -2 {
		t.Errorf("%+v %v", m, err)
	}
	for _, bad := range []string{"on-time=0.7", "on-time=1,never=0", "sometimes=1", "late-x=1", "late-0=1",
		"on-time=0.5,on-time=0.5", "on-time", "on-time=NaN", ""} {
		if _, err := ParsePayModel(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// The draw follows the weights and depends on the seed and the loan only.
	counts := map[string]int{}
	for _, l := range GenerateBook(4000, 1, policy.MustDate("2027-01-01"), 1) {
		b := m.draw(9, l.LoanID)
		if m.draw(9, l.LoanID) != b {
			t.Fatal("two draws for one loan differ")
		}
		counts[b.Name]++
	}
	for _, b := range m {
		if got := float64(counts[b.Name]) / 4000; math.Abs(got-b.Weight) > 0.03 {
			t.Errorf("%s drawn %.3f of the time, weight %.2f", b.Name, got, b.Weight)
		}
	}
}

// A late payer pays what the policy charged by then: on D+7 the installment
// with its penalty (3.50 on 1000.00) and the late fee.
func TestBehaviourPayments(t *testing.T) {
	m, err := ParsePayModel("late-7=1")
	if err != nil {
		t.Fatal(err)
	}
	pays, err := m[0].payments(sampleLoan(), policy.Default())
	if err != nil || len(pays) != 1 || pays[0].Amount.StringFixed(2) != "1068.50" ||
		!pays[0].At.Equal(policy.MustDate("2026-12-08").At(shanghai, 12, 0)) {
		t.Errorf("%+v %v", pays, err)
	}
}

// A generated book is valid and the same for the same seed.
func TestGenerateBook(t *testing.T) {
	a := GenerateBook(50, 12, policy.MustDate("2027-01-01"), 5)
	b := GenerateBook(50, 12, policy.MustDate("2027-01-01"), 5)
	var x, y bytes.Buffer
	if err := WriteBook(&x, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteBook(&y, b); err != nil {
		t.Fatal(err)
	}
	if x.String() != y.String() || strings.Count(x.String(), "\n") != 50 {
		t.Fatal("two books of one seed differ")
	}
	for i, line := range strings.Split(strings.TrimSpace(x.String()), "\n") {
		l, err := policy.DecodeLoan(strings.NewReader(line))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err := policy.ValidateLoan(l, nil, nil); err != nil {
			t.Fatalf("loan %s: %v", l.LoanID, err)
		}
		if len(l.Installments) != 12 || !strings.Contains(line, `.00","interest"`) {
			t.Errorf("line %d: %s", i+1, line)
		}
	}
}
