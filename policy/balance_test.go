package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/shopspring/decimal"
)

// The tests in this file read like DESIGN.md "Policy semantics": each one
// states a rule, builds the smallest loan that shows it and asserts the exact
// amounts. Unless a test says otherwise the policy is Default() (daily rate
// 0.0005 on principal, grace 3 days, late fee 20.00, cap 0.24 × principal)
// and the customer lives in Asia/Shanghai. Amounts in a want string are
// "principal interest fee penalty late_fee total".

// btLoc loads an IANA zone or stops the test.
func btLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// btAt is the instant of the local wall time s ("2026-12-08 10:00" or with
// seconds) in loc.
func btAt(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if at, err := time.ParseInLocation(layout, s, loc); err == nil {
			return at
		}
	}
	t.Fatalf("bad local time %q", s)
	return time.Time{}
}

// btD is a decimal literal.
func btD(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// btInst is an installment with no fee.
func btInst(seq int, due, principal, interest string) Installment {
	return Installment{Seq: seq, DueDate: MustDate(due), Principal: btD(principal), Interest: btD(interest), Fee: decimal.Zero}
}

// btLoan is a loan in currency to a customer living in tz.
func btLoan(currency, tz string, ins ...Installment) Loan {
	return Loan{
		LoanID: "L-2026-0001", Currency: currency, Policy: DefaultPolicyName,
		Customer: Customer{
			ID: "C-778", Name: "Zhang Wei", Phone: "+8613800138000", Email: "zhang.wei@example.cn",
			Locale: "zh-CN", TimeZone: tz,
		},
		Installments: ins,
	}
}

// btSampleLoan is DESIGN.md's sample loan.
func btSampleLoan() Loan {
	return btLoan("CNY", "Asia/Shanghai",
		btInst(1, "2026-12-01", "1000.00", "45.00"),
		btInst(2, "2027-01-01", "1000.00", "40.00"))
}

// btOneLoan is a loan of one 1000.00 + 45.00 installment due 2026-12-01 in
// Shanghai: the first installment of the sample loan on its own.
func btOneLoan() Loan {
	return btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", "1000.00", "45.00"))
}

// btRep is a repayment.
func btRep(txn, amount string, at time.Time) Repayment {
	return Repayment{TxnID: txn, Amount: btD(amount), PaidAt: at}
}

// btSnap is SnapshotAt that stops the test on an error.
func btSnap(t testing.TB, l Loan, p Policy, h History, asOf time.Time) Snapshot {
	t.Helper()
	s, err := SnapshotAt(l, p, h, asOf)
	if err != nil {
		t.Fatalf("SnapshotAt: %v", err)
	}
	return s
}

// btJSON is the marshalled snapshot.
func btJSON(t testing.TB, s Snapshot) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// btCheck compares a breakdown with want, "principal interest fee penalty
// late_fee total", amount by amount with decimal.Equal.
func btCheck(t testing.TB, what string, got Breakdown, want string) {
	t.Helper()
	w := strings.Fields(want)
	if len(w) != 6 {
		t.Fatalf("bad want %q", want)
	}
	g := []decimal.Decimal{got.Principal, got.Interest, got.Fee, got.Penalty, got.LateFee, got.Total}
	for i := range g {
		if !g[i].Equal(btD(w[i])) {
			t.Errorf("%s = %s; want %s (principal interest fee penalty late_fee total)", what, btShow(got), want)
			return
		}
	}
}

func btShow(b Breakdown) string {
	return fmt.Sprintf("%s %s %s %s %s %s", b.Principal, b.Interest, b.Fee, b.Penalty, b.LateFee, b.Total)
}

// btAmount compares one amount.
func btAmount(t testing.TB, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(btD(want)) {
		t.Errorf("%s = %s; want %s", what, got, want)
	}
}

// btInstOf is the installment seq of s.
func btInstOf(t testing.TB, s Snapshot, seq int) InstallmentState {
	t.Helper()
	for _, in := range s.Installments {
		if in.Seq == seq {
			return in
		}
	}
	t.Fatalf("no installment %d in %v", seq, s.Installments)
	return InstallmentState{}
}

// btStatuses lists the installment statuses in snapshot order.
func btStatuses(s Snapshot) string {
	var out []string
	for _, in := range s.Installments {
		out = append(out, fmt.Sprintf("%d:%s", in.Seq, in.Status))
	}
	return strings.Join(out, " ")
}

// btWhere checks the loan-level position: state, DPD, bucket and stage.
func btWhere(t testing.TB, s Snapshot, state string, dpd int, bucket, stage string) {
	t.Helper()
	if s.State != state || s.DaysPastDue != dpd || s.Bucket != bucket || s.Stage != stage {
		t.Errorf("state/dpd/bucket/stage = %s/%d/%s/%s; want %s/%d/%s/%s",
			s.State, s.DaysPastDue, s.Bucket, s.Stage, state, dpd, bucket, stage)
	}
}

// designSnapshot is DESIGN.md's sample snapshot without the two fields the
// workflow fills in (next_reminder_at, notices_sent).
const designSnapshot = `{"loan_id":"L-2026-0001","state":"overdue","days_past_due":7,"bucket":"1-7","stage":"overdue_firm",
 "as_of":"2026-12-08T10:00:00+08:00","currency":"CNY",
 "overdue":{"principal":"1000.00","interest":"45.00","fee":"0.00","penalty":"3.50","late_fee":"20.00","total":"1068.50"},
 "outstanding":{"principal":"2000.00","interest":"85.00","fee":"0.00","penalty":"3.50","late_fee":"20.00","total":"2108.50"},
 "credit":"0.00",
 "installments":[
   {"seq":1,"due_date":"2026-12-01","status":"overdue","days_past_due":7,
    "outstanding":{"principal":"1000.00","interest":"45.00","fee":"0.00","penalty":"3.50","late_fee":"20.00","total":"1068.50"}},
   {"seq":2,"due_date":"2027-01-01","status":"upcoming","days_past_due":0,
    "outstanding":{"principal":"1000.00","interest":"40.00","fee":"0.00","penalty":"0.00","late_fee":"0.00","total":"1040.00"}}],
 "paused":false}`

// btContains reports the first place where got lacks a value of want
// (objects: every key of want; arrays: same length, element by element).
func btContains(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %v, want an object", path, got)
		}
		for k, v := range w {
			if d := btContains(path+"."+k, v, g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: got %v, want %d elements", path, got, len(w))
		}
		for i := range w {
			if d := btContains(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	default:
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("%s = %#v; want %#v", path, got, want)
		}
	}
	return ""
}

// TestBalanceDesignSample: DESIGN.md's sample loan at 2026-12-08 10:00 Shanghai,
// D+7 of the first installment, is exactly DESIGN.md's snapshot: 7 days of
// 0.50 penalty (three in grace, posted retroactively at D+4) and the 20.00
// late fee.
func TestBalanceDesignSample(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	s := btSnap(t, btSampleLoan(), Default(), History{}, btAt(t, loc, "2026-12-08 10:00"))

	btWhere(t, s, StateOverdue, 7, "1-7", "overdue_firm")
	btCheck(t, "overdue", s.Overdue, "1000.00 45.00 0.00 3.50 20.00 1068.50")
	btCheck(t, "outstanding", s.Outstanding, "2000.00 85.00 0.00 3.50 20.00 2108.50")
	btAmount(t, "credit", s.Credit, "0.00")
	if got := btStatuses(s); got != "1:overdue 2:upcoming" {
		t.Errorf("statuses %s", got)
	}
	in1, in2 := btInstOf(t, s, 1), btInstOf(t, s, 2)
	btCheck(t, "installment 1", in1.Outstanding, "1000.00 45.00 0.00 3.50 20.00 1068.50")
	btCheck(t, "installment 2", in2.Outstanding, "1000.00 40.00 0.00 0.00 0.00 1040.00")
	if in1.DaysPastDue != 7 || in2.DaysPastDue != 0 {
		t.Errorf("installment DPD %d, %d; want 7, 0", in1.DaysPastDue, in2.DaysPastDue)
	}
	btAmount(t, "penalty posted", in1.PenaltyPosted, "3.50")
	btAmount(t, "late fee posted", in1.LateFeePosted, "20.00")
	if s.Paused || s.ChargedOff || s.ScheduleVersion != 0 || len(s.Applied) != 0 {
		t.Errorf("paused %v charged off %v version %d applied %v", s.Paused, s.ChargedOff, s.ScheduleVersion, s.Applied)
	}

	// The wire form: every amount a fixed-point string, as DESIGN.md shows it.
	var want, got any
	if err := json.Unmarshal([]byte(designSnapshot), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(btJSON(t, s)), &got); err != nil {
		t.Fatal(err)
	}
	if d := btContains("snapshot", want, got); d != "" {
		t.Errorf("JSON differs from DESIGN.md: %s\n%s", d, btJSON(t, s))
	}
	for _, frag := range []string{`"total":"1068.50"`, `"credit":"0.00"`, `"late_fee":"20.00"`, `"penalty_posted":"3.50"`} {
		if !strings.Contains(btJSON(t, s), frag) {
			t.Errorf("JSON lacks %s", frag)
		}
	}
}

// TestBalanceGrace: an installment paid in full by the end of D+3 owes no penalty
// and no late fee; unpaid at 00:00 on D+4, the penalty of days 1..4 becomes
// owed at once with the 20.00 late fee.
func TestBalanceGrace(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()

	t.Run("paid 23:59 on D+3", func(t *testing.T) {
		t.Parallel()
		h := History{Repayments: []Repayment{btRep("T1", "1045.00", btAt(t, loc, "2026-12-04 23:59"))}}
		s := btSnap(t, l, p, h, btAt(t, loc, "2026-12-08 10:00"))
		in := btInstOf(t, s, 1)
		if in.Status != StatusPaid {
			t.Errorf("status %s; want paid", in.Status)
		}
		btCheck(t, "installment 1", in.Outstanding, "0 0 0 0 0 0")
		btAmount(t, "penalty posted", in.PenaltyPosted, "0")
		btAmount(t, "late fee posted", in.LateFeePosted, "0")
		btCheck(t, "paid", s.Applied[0].Parts[0].Paid, "1000.00 45.00 0.00 0.00 0.00 1045.00")
		btWhere(t, s, StateCurrent, 0, "current", StateCurrent)
	})

	t.Run("inside grace the penalty is not yet owed", func(t *testing.T) {
		t.Parallel()
		s := btSnap(t, l, p, History{}, btAt(t, loc, "2026-12-04 23:59"))
		btCheck(t, "overdue", s.Overdue, "1000.00 45.00 0.00 0.00 0.00 1045.00")
		btWhere(t, s, StateOverdue, 3, "1-7", "overdue_gentle")
	})

	t.Run("paid the day after grace", func(t *testing.T) {
		t.Parallel()
		// 1045.00 at D+4 10:00 meets 2.00 penalty (days 1..4) and the
		// 20.00 late fee first (allocation: penalty, late fee, interest,
		// fee, principal), so 22.00 of principal is still owed.
		first := btRep("T1", "1045.00", btAt(t, loc, "2026-12-05 10:00"))
		s := btSnap(t, l, p, History{Repayments: []Repayment{first}}, btAt(t, loc, "2026-12-05 12:00"))
		in := btInstOf(t, s, 1)
		btCheck(t, "paid by T1", s.Applied[0].Parts[0].Paid, "978.00 45.00 0.00 2.00 20.00 1045.00")
		btCheck(t, "installment 1", in.Outstanding, "22.00 0 0 0 0 22.00")
		btAmount(t, "penalty posted", in.PenaltyPosted, "2.00")
		btAmount(t, "late fee posted", in.LateFeePosted, "20.00")
		if in.Status != StatusOverdue {
			t.Errorf("status %s; want overdue", in.Status)
		}

		// A second repayment the next morning pays the 22.00 and the 0.01
		// posted at 00:00 on D+5 (22.00 × 0.0005 = 0.011 → 0.01).
		second := btRep("T2", "22.01", btAt(t, loc, "2026-12-06 09:00"))
		s = btSnap(t, l, p, History{Repayments: []Repayment{first, second}}, btAt(t, loc, "2026-12-06 12:00"))
		in = btInstOf(t, s, 1)
		btCheck(t, "paid by T2", s.Applied[1].Parts[0].Paid, "22.00 0 0 0.01 0 22.01")
		if in.Status != StatusPaid {
			t.Errorf("status %s; want paid", in.Status)
		}
		btAmount(t, "penalty posted", in.PenaltyPosted, "2.01")
		btAmount(t, "late fee posted", in.LateFeePosted, "20.00")
		btAmount(t, "credit", s.Credit, "0")
		btWhere(t, s, StateCurrent, 0, "current", StateCurrent)
	})
}

// TestBalancePartialRepaymentReducesPenaltyBase: penalty is charged on the principal
// unpaid at each midnight. 475.00 on D+2 pays the 45.00 interest and 430.00
// of principal; from D+3 the day's penalty is 570.00 × 0.0005 = 0.285 → 0.29.
func TestBalancePartialRepaymentReducesPenaltyBase(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	h := History{Repayments: []Repayment{btRep("T1", "475.00", btAt(t, loc, "2026-12-03 10:00"))}}
	for _, tc := range []struct {
		asOf string
		want string // installment 1
	}{
		// D+1, D+2 0.50 each and D+3 0.29 are provisional until grace ends.
		{"2026-12-04 10:00", "570.00 0 0 0 0 570.00"},
		// D+4: 0.50 + 0.50 + 0.29 retroactive + 0.29 = 1.58, late fee 20.00.
		{"2026-12-05 10:00", "570.00 0 0 1.58 20.00 591.58"},
		{"2026-12-06 10:00", "570.00 0 0 1.87 20.00 591.87"},
		{"2026-12-08 10:00", "570.00 0 0 2.45 20.00 592.45"},
	} {
		s := btSnap(t, btOneLoan(), Default(), h, btAt(t, loc, tc.asOf))
		btCheck(t, tc.asOf, btInstOf(t, s, 1).Outstanding, tc.want)
	}
}

// TestBalanceRoundingHalfUp: each day's penalty is rounded half-up to the minor
// unit, never to the even neighbour. The late fee is set to zero here so the
// penalty alone shows: ten midnights at D+10.
func TestBalanceRoundingHalfUp(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	p := Default()
	p.Penalty.LateFee = decimal.Zero
	for _, tc := range []struct {
		principal, daily, tenDays string
	}{
		{"10.00", "0.01", "0.10"},     // 0.005 → 0.01 (banker's would give 0.00)
		{"9.99", "0.00", "0.00"},      // 0.004995 → 0.00
		{"30.00", "0.02", "0.20"},     // 0.015 → 0.02
		{"50.00", "0.03", "0.30"},     // 0.025 → 0.03 (banker's would give 0.02)
		{"1000.01", "0.50", "5.00"},   // 0.500005 → 0.50
		{"1010.00", "0.51", "5.10"},   // 0.505 → 0.51
		{"1009.99", "0.50", "5.00"},   // 0.504995 → 0.50
		{"12345.67", "6.17", "61.70"}, // 6.172835 → 6.17
	} {
		l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", tc.principal, "0"))
		s := btSnap(t, l, p, History{}, btAt(t, loc, "2026-12-11 10:00"))
		btAmount(t, "penalty after 10 days on "+tc.principal, btInstOf(t, s, 1).Outstanding.Penalty, tc.tenDays)
	}

	// On a principal paid down to 10.00 inside grace: D+1 0.50 (posted
	// before the repayment), then 0.005 → 0.01 a day.
	l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", "1000.00", "0"))
	h := History{Repayments: []Repayment{btRep("T1", "990.00", btAt(t, loc, "2026-12-02 10:00"))}}
	s := btSnap(t, l, Default(), h, btAt(t, loc, "2026-12-06 10:00"))
	// D+1 0.50, D+2 0.01, D+3 0.01, D+4 0.01 (posted together), D+5 0.01.
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "10.00 0 0 0.54 20.00 30.54")
}

// TestBalanceCap: penalty + late fee of one installment never exceed 0.24 × its
// principal; accrual stops at the cap.
func TestBalanceCap(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	p := Default()

	t.Run("100.00: late fee, then penalties stop at 24.00", func(t *testing.T) {
		t.Parallel()
		// 0.05 a day; at D+4 0.20 + 20.00 = 20.20; 3.80 more room is 76
		// days, so the cap is reached at D+80 (penalty 4.00).
		l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", "100.00", "0"))
		for _, tc := range []struct{ asOf, want string }{
			{"2026-12-05 10:00", "100.00 0 0 0.20 20.00 120.20"}, // D+4
			{"2027-02-18 10:00", "100.00 0 0 3.95 20.00 123.95"}, // D+79
			{"2027-02-19 10:00", "100.00 0 0 4.00 20.00 124.00"}, // D+80: at the cap
			{"2027-02-25 10:00", "100.00 0 0 4.00 20.00 124.00"}, // D+86: stopped
		} {
			s := btSnap(t, l, p, History{}, btAt(t, loc, tc.asOf))
			in := btInstOf(t, s, 1)
			btCheck(t, tc.asOf, in.Outstanding, tc.want)
		}
	})

	t.Run("50.00: the late fee is cut to what the cap leaves", func(t *testing.T) {
		t.Parallel()
		// Cap 12.00; 0.025 → 0.03 a day; at D+4 0.12 penalty, late fee 11.88.
		l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", "50.00", "0"))
		s := btSnap(t, l, p, History{}, btAt(t, loc, "2026-12-20 10:00"))
		in := btInstOf(t, s, 1)
		btCheck(t, "installment 1", in.Outstanding, "50.00 0 0 0.12 11.88 62.00")
		btAmount(t, "late fee posted", in.LateFeePosted, "11.88")
	})

	t.Run("the cap counts what was paid too", func(t *testing.T) {
		t.Parallel()
		// 100.00 principal: paying the penalty and fee at D+10 does not
		// reopen room under the cap.
		l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", "100.00", "0"))
		h := History{Repayments: []Repayment{btRep("T1", "20.50", btAt(t, loc, "2026-12-11 10:00"))}}
		s := btSnap(t, l, p, h, btAt(t, loc, "2027-03-10 10:00"))
		in := btInstOf(t, s, 1)
		btAmount(t, "penalty posted", in.PenaltyPosted, "4.00")
		btAmount(t, "late fee posted", in.LateFeePosted, "20.00")
		btCheck(t, "installment 1", in.Outstanding, "100.00 0 0 3.50 0 103.50")
	})
}

// TestBalanceCapNeverExceedsRatio: "never exceed cap_ratio × its principal" holds to
// the last minor unit: with principal 10.03 the cap is 2.4072, so at most
// 2.40 may be charged (0.04 penalty at D+4 and a 2.36 late fee).
func TestBalanceCapNeverExceedsRatio(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", "10.03", "0"))
	s := btSnap(t, l, Default(), History{}, btAt(t, loc, "2026-12-20 10:00"))
	in := btInstOf(t, s, 1)
	btAmount(t, "penalty posted", in.PenaltyPosted, "0.04")
	btAmount(t, "late fee posted", in.LateFeePosted, "2.36")
}

// TestBalanceCurrencies: amounts round to the currency's minor unit; the late fee of
// 20.00 is 20 yen; the wire form carries that many decimals.
func TestBalanceCurrencies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, currency, tz, principal, interest string
		want, wantJSON                          string // installment 1 at D+7
	}{
		// 100000 × 0.0005 = 50 a day: 350 over 7 days, late fee 20.
		{"JPY", "JPY", "Asia/Tokyo", "100000", "5000", "100000 5000 0 350 20 105370", `"total":"105370"`},
		// 1000 × 0.0005 = 0.5 → 1 yen a day (half-up); 999 → 0.4995 → 0.
		{"JPY half", "JPY", "Asia/Tokyo", "1000", "0", "1000 0 0 7 20 1027", `"penalty":"7"`},
		{"JPY below half", "JPY", "Asia/Tokyo", "999", "0", "999 0 0 0 20 1019", `"penalty":"0"`},
		// Three decimals: 1000.000 × 0.0005 = 0.500 a day.
		{"KWD", "KWD", "Asia/Kuwait", "1000.000", "45.000", "1000 45 0 3.5 20 1068.5", `"total":"1068.500"`},
		{"KWD thousandths", "KWD", "Asia/Kuwait", "1.001", "0", "1.001 0 0 0.004 0.236 1.241", `"late_fee":"0.236"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			loc := btLoc(t, tc.tz)
			l := btLoan(tc.currency, tc.tz, btInst(1, "2026-12-01", tc.principal, tc.interest))
			s := btSnap(t, l, Default(), History{}, btAt(t, loc, "2026-12-08 10:00"))
			btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, tc.want)
			if js := btJSON(t, s); !strings.Contains(js, tc.wantJSON) {
				t.Errorf("JSON lacks %s: %s", tc.wantJSON, js)
			}
		})
	}
}

// TestBalanceBackDatedRepayment: a repayment reported late with its real paid_at
// gives the balance it would have given had it arrived in time, undoing the
// penalty and late fee charged meanwhile.
func TestBalanceBackDatedRepayment(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()
	asOf := btAt(t, loc, "2026-12-08 10:00")

	// Before the bank's file arrives the loan is at D+7 with 3.50 + 20.00.
	s := btSnap(t, l, p, History{}, asOf)
	btCheck(t, "overdue before", s.Overdue, "1000.00 45.00 0.00 3.50 20.00 1068.50")

	// It says 1045.00 was paid on D+2, inside grace.
	backDated := btRep("BANK-77", "1045.00", btAt(t, loc, "2026-12-03 15:00"))
	later := btRep("APP-1", "100.00", btAt(t, loc, "2026-12-07 09:00"))
	reported := History{Repayments: []Repayment{later, backDated}} // arrival order
	inTime := History{Repayments: []Repayment{backDated, later}}   // paid_at order
	got, want := btSnap(t, l, p, reported, asOf), btSnap(t, l, p, inTime, asOf)
	if btJSON(t, got) != btJSON(t, want) {
		t.Errorf("back-dated\n%s\nin time\n%s", btJSON(t, got), btJSON(t, want))
	}
	in := btInstOf(t, got, 1)
	if in.Status != StatusPaid {
		t.Errorf("installment 1 %s; want paid", in.Status)
	}
	btAmount(t, "penalty posted", in.PenaltyPosted, "0")
	btAmount(t, "late fee posted", in.LateFeePosted, "0")
	// The later 100.00 prepays installment 2: interest 40.00, principal 60.00.
	btCheck(t, "installment 2", btInstOf(t, got, 2).Outstanding, "940.00 0 0 0 0 940.00")
	if got.Applied[0].TxnID != "BANK-77" || got.Applied[1].TxnID != "APP-1" {
		t.Errorf("applied out of paid_at order: %s, %s", got.Applied[0].TxnID, got.Applied[1].TxnID)
	}
	btWhere(t, got, StateCurrent, 0, "current", StateCurrent)
}

// TestBalanceDuplicateTxnID: a repayment whose txn_id was already applied changes
// nothing and gives the same result.
func TestBalanceDuplicateTxnID(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()
	asOf := btAt(t, loc, "2026-12-08 10:00")
	r := btRep("T1", "500.00", btAt(t, loc, "2026-12-06 10:00"))
	once := btSnap(t, l, p, History{Repayments: []Repayment{r}}, asOf)
	twice := btSnap(t, l, p, History{Repayments: []Repayment{r, r}}, asOf)
	if btJSON(t, once) != btJSON(t, twice) {
		t.Errorf("once\n%s\ntwice\n%s", btJSON(t, once), btJSON(t, twice))
	}
	if len(twice.Applied) != 1 {
		t.Errorf("%d applied; want 1", len(twice.Applied))
	}
	// A retry carrying the same txn_id with another paid_at is still the
	// same payment: the first one recorded counts.
	retry := r
	retry.PaidAt = btAt(t, loc, "2026-12-07 18:00")
	if got := btSnap(t, l, p, History{Repayments: []Repayment{r, retry}}, asOf); btJSON(t, got) != btJSON(t, once) {
		t.Errorf("retry changed the balance:\n%s", btJSON(t, got))
	}
	// 500.00 at D+5: penalty 2.50, late fee 20.00, interest 45.00, principal 432.50.
	btCheck(t, "paid", once.Applied[0].Parts[0].Paid, "432.50 45.00 0 2.50 20.00 500.00")
	btCheck(t, "installment 1", btInstOf(t, once, 1).Outstanding, "567.50 0 0 0.56 0 568.06")
}

// TestBalanceOverpaymentAndPrepayment: a repayment pays overdue installments oldest
// first (penalty, late fee, interest, fee, principal), prepays later ones
// (interest, then principal) and keeps anything beyond the total as credit.
func TestBalanceOverpaymentAndPrepayment(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()
	at := btAt(t, loc, "2026-12-08 10:00")

	t.Run("overpayment becomes credit", func(t *testing.T) {
		t.Parallel()
		s := btSnap(t, l, p, History{Repayments: []Repayment{btRep("T1", "2200.00", at)}}, at)
		btAmount(t, "credit", s.Credit, "91.50")
		btCheck(t, "outstanding", s.Outstanding, "0 0 0 0 0 0")
		a := s.Applied[0]
		btCheck(t, "paid 1", a.Parts[0].Paid, "1000.00 45.00 0 3.50 20.00 1068.50")
		btCheck(t, "paid 2", a.Parts[1].Paid, "1000.00 40.00 0 0 0 1040.00")
		btAmount(t, "allocation credit", a.Credit, "91.50")
		btWhere(t, s, StatePaidOff, 0, "current", StatePaidOff)
		if js := btJSON(t, s); !strings.Contains(js, `"credit":"91.50"`) {
			t.Errorf("JSON credit: %s", js)
		}
	})

	t.Run("what is left prepays the next installment", func(t *testing.T) {
		t.Parallel()
		s := btSnap(t, l, p, History{Repayments: []Repayment{btRep("T1", "1168.50", at)}}, at)
		btCheck(t, "paid 2", s.Applied[0].Parts[1].Paid, "60.00 40.00 0 0 0 100.00")
		btCheck(t, "installment 2", btInstOf(t, s, 2).Outstanding, "940.00 0 0 0 0 940.00")
		btAmount(t, "credit", s.Credit, "0")
		if got := btStatuses(s); got != "1:paid 2:upcoming" {
			t.Errorf("statuses %s", got)
		}
		btWhere(t, s, StateCurrent, 0, "current", StateCurrent)
	})

	t.Run("prepayment before any due date", func(t *testing.T) {
		t.Parallel()
		h := History{Repayments: []Repayment{btRep("T1", "1100.00", btAt(t, loc, "2026-11-20 10:00"))}}
		s := btSnap(t, l, p, h, at)
		btCheck(t, "installment 2", btInstOf(t, s, 2).Outstanding, "985.00 0 0 0 0 985.00")
		if got := btStatuses(s); got != "1:paid 2:upcoming" {
			t.Errorf("statuses %s", got)
		}
		btAmount(t, "penalty posted 1", btInstOf(t, s, 1).PenaltyPosted, "0")
	})
}

// TestBalanceAllocationOrder: an overdue installment is paid in the
// policy's allocation order; here a lender's order that puts principal
// before interest.
func TestBalanceAllocationOrder(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	p := Default()
	p.Allocation = []Component{CompPenalty, CompLateFee, CompPrincipal, CompInterest, CompFee}
	at := btAt(t, loc, "2026-12-08 10:00")
	s := btSnap(t, btSampleLoan(), p, History{Repayments: []Repayment{btRep("T1", "500.00", at)}}, at)
	btCheck(t, "paid 1", s.Applied[0].Parts[0].Paid, "476.50 0 0 3.50 20.00 500.00")
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "523.50 45.00 0 0 0 568.50")
}

// TestBalancePrepaymentInterestFirst: whatever order the policy pays due
// installments in, what is left prepays later installments interest first,
// then principal (DESIGN.md "Allocation").
func TestBalancePrepaymentInterestFirst(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	p := Default()
	p.Allocation = []Component{CompPenalty, CompLateFee, CompPrincipal, CompInterest, CompFee}
	at := btAt(t, loc, "2026-12-08 10:00")
	s := btSnap(t, btSampleLoan(), p, History{Repayments: []Repayment{btRep("T1", "1168.50", at)}}, at)
	btCheck(t, "paid 1", s.Applied[0].Parts[0].Paid, "1000.00 45.00 0 3.50 20.00 1068.50")
	btCheck(t, "paid 2", s.Applied[0].Parts[1].Paid, "60.00 40.00 0 0 0 100.00")
}

// TestBalanceSeveralOverdue: two installments overdue at once each accrue their own
// penalty and late fee; the loan's DPD is the oldest's; a repayment pays the
// oldest first.
func TestBalanceSeveralOverdue(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()
	s := btSnap(t, l, p, History{}, btAt(t, loc, "2027-01-05 10:00"))
	btWhere(t, s, StateOverdue, 35, "31-60", "final_notice")
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "1000.00 45.00 0 17.50 20.00 1082.50") // 35 × 0.50
	btCheck(t, "installment 2", btInstOf(t, s, 2).Outstanding, "1000.00 40.00 0 2.00 20.00 1062.00")  // 4 × 0.50
	btCheck(t, "overdue", s.Overdue, "2000.00 85.00 0 19.50 40.00 2144.50")
	if btInstOf(t, s, 2).DaysPastDue != 4 {
		t.Errorf("installment 2 DPD %d; want 4", btInstOf(t, s, 2).DaysPastDue)
	}

	h := History{Repayments: []Repayment{btRep("T1", "1100.00", btAt(t, loc, "2027-01-05 12:00"))}}
	s = btSnap(t, l, p, h, btAt(t, loc, "2027-01-05 13:00"))
	btCheck(t, "paid 1", s.Applied[0].Parts[0].Paid, "1000.00 45.00 0 17.50 20.00 1082.50")
	btCheck(t, "paid 2", s.Applied[0].Parts[1].Paid, "0 0 0 2.00 15.50 17.50")
	btCheck(t, "installment 2", btInstOf(t, s, 2).Outstanding, "1000.00 40.00 0 0 4.50 1044.50")
	btWhere(t, s, StateOverdue, 4, "1-7", "overdue_gentle")
}

// TestBalanceEventAtMidnight: an event at exactly 00:00 local happens after that
// midnight's posting. With no grace, a repayment at 00:00 on D+1 meets the
// day's penalty and the late fee; a second earlier it owes nothing.
func TestBalanceEventAtMidnight(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	noGrace := Default()
	noGrace.Penalty.GraceDays = 0
	for _, tc := range []struct {
		name   string
		p      Policy
		paidAt string
		paid   string // what the 1045.00 paid of installment 1
		left   string // installment 1 at 12:00 that day
		status string
	}{
		{"no grace, 23:59:59 on D", noGrace, "2026-12-01 23:59:59", "1000.00 45.00 0 0 0 1045.00", "0 0 0 0 0 0", StatusPaid},
		{"no grace, 00:00 on D+1", noGrace, "2026-12-02 00:00", "979.50 45.00 0 0.50 20.00 1045.00", "20.50 0 0 0 0 20.50", StatusOverdue},
		{"grace, 23:59:59 on D+3", Default(), "2026-12-04 23:59:59", "1000.00 45.00 0 0 0 1045.00", "0 0 0 0 0 0", StatusPaid},
		{"grace, 00:00 on D+4", Default(), "2026-12-05 00:00", "978.00 45.00 0 2.00 20.00 1045.00", "22.00 0 0 0 0 22.00", StatusOverdue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			paidAt := btAt(t, loc, tc.paidAt)
			h := History{Repayments: []Repayment{btRep("T1", "1045.00", paidAt)}}
			s := btSnap(t, btOneLoan(), tc.p, h, paidAt.Add(time.Second))
			btCheck(t, "paid", s.Applied[0].Parts[0].Paid, tc.paid)
			in := btInstOf(t, s, 1)
			btCheck(t, "installment 1", in.Outstanding, tc.left)
			if in.Status != tc.status {
				t.Errorf("status %s; want %s", in.Status, tc.status)
			}
		})
	}
}

// TestBalancePause: while paused with freeze_penalty nothing posts at the frozen
// midnights, and the late fee waits for the first unfrozen midnight after
// grace; without freeze_penalty a pause changes no amount.
func TestBalancePause(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	// Paused from D+2 12:00 to D+6 12:00: the midnights of D+3..D+6 are
	// inside the pause, D+1, D+2 and D+7 outside.
	pause := Pause{From: btAt(t, loc, "2026-12-03 12:00"), Until: btAt(t, loc, "2026-12-07 12:00"), Reason: "dispute"}
	h := History{Pauses: []Pause{pause}}
	thaw := Default()
	thaw.Penalty.FreezePenalty = false

	for _, tc := range []struct {
		name, asOf string
		p          Policy
		want       string // installment 1
		state      string
	}{
		{"freeze: nothing during the pause", "2026-12-06 10:00", Default(), "1000.00 45.00 0 0 0 1045.00", StatePaused},
		// D+7: D+1, D+2 retroactive + D+7 = 1.50, late fee assessed now.
		{"freeze: late fee at the first unfrozen midnight", "2026-12-08 10:00", Default(), "1000.00 45.00 0 1.50 20.00 1066.50", StateOverdue},
		{"freeze: accrual resumes", "2026-12-10 10:00", Default(), "1000.00 45.00 0 2.50 20.00 1067.50", StateOverdue},
		{"no freeze: accrues while paused", "2026-12-06 10:00", thaw, "1000.00 45.00 0 2.50 20.00 1067.50", StatePaused},
		{"no freeze: as if never paused", "2026-12-08 10:00", thaw, "1000.00 45.00 0 3.50 20.00 1068.50", StateOverdue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := btSnap(t, btOneLoan(), tc.p, h, btAt(t, loc, tc.asOf))
			btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, tc.want)
			if s.State != tc.state || s.Paused != (tc.state == StatePaused) {
				t.Errorf("state %s paused %v; want %s", s.State, s.Paused, tc.state)
			}
		})
	}

	t.Run("open-ended pause", func(t *testing.T) {
		t.Parallel()
		h := History{Pauses: []Pause{{From: btAt(t, loc, "2026-12-03 12:00")}}}
		s := btSnap(t, btOneLoan(), Default(), h, btAt(t, loc, "2027-01-20 10:00"))
		btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "1000.00 45.00 0 0 0 1045.00")
		if s.State != StatePaused || s.DaysPastDue != 50 {
			t.Errorf("state %s DPD %d; want paused, 50", s.State, s.DaysPastDue)
		}
	})

	t.Run("paid during the pause after grace owes no late fee", func(t *testing.T) {
		t.Parallel()
		// Decision in SnapshotAt: grace is judged at the first unfrozen
		// midnight, so an installment paid while frozen owes nothing.
		h := History{Pauses: []Pause{pause}, Repayments: []Repayment{btRep("T1", "1045.00", btAt(t, loc, "2026-12-06 10:00"))}}
		s := btSnap(t, btOneLoan(), Default(), h, btAt(t, loc, "2026-12-10 10:00"))
		in := btInstOf(t, s, 1)
		if in.Status != StatusPaid || !in.PenaltyPosted.IsZero() || !in.LateFeePosted.IsZero() {
			t.Errorf("status %s penalty %s late fee %s; want paid, 0, 0", in.Status, in.PenaltyPosted, in.LateFeePosted)
		}
	})
}

// TestBalanceChargeOff: at 00:00 on D+90 the day's penalty posts and the loan is
// charged off; nothing accrues after, and a later repayment still applies.
func TestBalanceChargeOff(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()

	s := btSnap(t, l, p, History{}, btAt(t, loc, "2027-02-28 10:00")) // D+89
	btWhere(t, s, StateOverdue, 89, "61-90", "final_notice")
	btCheck(t, "installment 1 at D+89", btInstOf(t, s, 1).Outstanding, "1000.00 45.00 0 44.50 20.00 1109.50")
	if s.ChargedOff {
		t.Error("charged off at D+89")
	}

	s = btSnap(t, l, p, History{}, btAt(t, loc, "2027-03-01 10:00")) // D+90
	btWhere(t, s, StateChargedOff, 90, "61-90", StateChargedOff)
	btCheck(t, "installment 1 at D+90", btInstOf(t, s, 1).Outstanding, "1000.00 45.00 0 45.00 20.00 1110.00")
	// Installment 2 (due 2027-01-01) accrued 59 days until the charge-off.
	btCheck(t, "installment 2 at D+90", btInstOf(t, s, 2).Outstanding, "1000.00 40.00 0 29.50 20.00 1089.50")
	if !s.ChargedOff {
		t.Error("not charged off at D+90")
	}

	later := btSnap(t, l, p, History{}, btAt(t, loc, "2027-04-01 10:00"))
	btWhere(t, later, StateChargedOff, 121, "90+", StateChargedOff)
	btCheck(t, "outstanding after", later.Outstanding, "2000.00 85.00 0 74.50 40.00 2199.50")

	// A recovery: 500.00 pays installment 1 in the usual order; nothing
	// accrues on the rest.
	h := History{Repayments: []Repayment{btRep("R1", "500.00", btAt(t, loc, "2027-04-01 12:00"))}}
	s = btSnap(t, l, p, h, btAt(t, loc, "2027-05-01 10:00"))
	btCheck(t, "recovered", s.Applied[0].Parts[0].Paid, "390.00 45.00 0 45.00 20.00 500.00")
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "610.00 0 0 0 0 610.00")
	btCheck(t, "installment 2", btInstOf(t, s, 2).Outstanding, "1000.00 40.00 0 29.50 20.00 1089.50")
	btWhere(t, s, StateChargedOff, 151, "90+", StateChargedOff)
}

// TestBalanceReschedule: a reschedule replaces every installment not fully paid
// (their penalty and late fee go with them), bumps the schedule version and
// spends credit on hand on the new installments.
func TestBalanceReschedule(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()

	t.Run("unpaid installments replaced", func(t *testing.T) {
		t.Parallel()
		// 1100.00 at D+4 pays installment 1 (1067.00 with 2.00 penalty and
		// the late fee) and 33.00 of installment 2's interest.
		h := History{
			Repayments: []Repayment{btRep("T1", "1100.00", btAt(t, loc, "2026-12-05 12:00"))},
			Reschedules: []Reschedule{{At: btAt(t, loc, "2026-12-10 12:00"), Installments: []Installment{
				btInst(3, "2027-02-01", "500.00", "10.00"),
				btInst(4, "2027-03-01", "500.00", "5.00"),
			}}},
		}
		s := btSnap(t, l, p, h, btAt(t, loc, "2026-12-10 13:00"))
		if s.ScheduleVersion != 1 {
			t.Errorf("schedule version %d; want 1", s.ScheduleVersion)
		}
		if got := btStatuses(s); got != "1:paid 3:upcoming 4:upcoming" {
			t.Errorf("statuses %s", got)
		}
		btCheck(t, "outstanding", s.Outstanding, "1000.00 15.00 0 0 0 1015.00")
		btWhere(t, s, StateCurrent, 0, "current", StateCurrent)

		// The new installments accrue from their own due dates.
		s = btSnap(t, l, p, h, btAt(t, loc, "2027-02-08 10:00"))
		btCheck(t, "installment 3 at D+7", btInstOf(t, s, 3).Outstanding, "500.00 10.00 0 1.75 20.00 531.75")
		btWhere(t, s, StateOverdue, 7, "1-7", "overdue_firm")
	})

	t.Run("penalty of replaced installments is dropped", func(t *testing.T) {
		t.Parallel()
		h := History{Reschedules: []Reschedule{{At: btAt(t, loc, "2026-12-10 12:00"), Installments: []Installment{
			btInst(3, "2027-01-10", "2000.00", "100.00"),
		}}}}
		s := btSnap(t, l, p, h, btAt(t, loc, "2026-12-20 10:00"))
		if got := btStatuses(s); got != "3:upcoming" {
			t.Errorf("statuses %s", got)
		}
		btCheck(t, "outstanding", s.Outstanding, "2000.00 100.00 0 0 0 2100.00")
		btWhere(t, s, StateCurrent, 0, "current", StateCurrent)
	})

	t.Run("two reschedules apply in time order", func(t *testing.T) {
		t.Parallel()
		first := Reschedule{At: btAt(t, loc, "2026-12-10 12:00"), Installments: []Installment{
			btInst(3, "2027-01-10", "2000.00", "100.00"),
		}}
		second := Reschedule{At: btAt(t, loc, "2026-12-20 12:00"), Installments: []Installment{
			btInst(4, "2027-02-10", "1000.00", "60.00"),
			btInst(5, "2027-03-10", "1000.00", "60.00"),
		}}
		s := btSnap(t, l, p, History{Reschedules: []Reschedule{second, first}}, btAt(t, loc, "2026-12-21 10:00"))
		if s.ScheduleVersion != 2 {
			t.Errorf("schedule version %d; want 2", s.ScheduleVersion)
		}
		if got := btStatuses(s); got != "4:upcoming 5:upcoming" {
			t.Errorf("statuses %s", got)
		}
		btCheck(t, "outstanding", s.Outstanding, "2000.00 120.00 0 0 0 2120.00")
	})

	t.Run("credit spent on the new installments", func(t *testing.T) {
		t.Parallel()
		h := History{
			Repayments: []Repayment{btRep("T1", "2200.00", btAt(t, loc, "2026-12-08 10:00"))}, // credit 91.50
			Reschedules: []Reschedule{{At: btAt(t, loc, "2026-12-09 10:00"), Installments: []Installment{
				btInst(3, "2027-02-01", "100.00", "5.00"),
			}}},
		}
		s := btSnap(t, l, p, h, btAt(t, loc, "2026-12-09 11:00"))
		btAmount(t, "credit", s.Credit, "0")
		btCheck(t, "installment 3", btInstOf(t, s, 3).Outstanding, "13.50 0 0 0 0 13.50")
		if s.ScheduleVersion != 1 || s.State != StateCurrent {
			t.Errorf("version %d state %s; want 1, current", s.ScheduleVersion, s.State)
		}
	})
}

// TestBalanceTimeZones: days are counted in the customer's zone, across DST
// changes and half-hour offsets. Each case pays 1000.00 of a 1000.00
// installment just before or just at a local midnight that ends grace (D+4)
// or posts a penalty (D+5).
func TestBalanceTimeZones(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, currency, tz, due string
		paidAt                  string // RFC 3339
		penalty, lateFee        string // posted
	}{
		// 2026-03-08 is the spring-forward day in New York: D+4 of
		// 2026-03-05 begins at 00:00 EDT = 04:00Z, not 05:00Z.
		{"New York spring, 23:59 EDT on D+3", "USD", "America/New_York", "2026-03-05", "2026-03-09T03:59:00Z", "0", "0"},
		{"New York spring, 00:00 EDT on D+4", "USD", "America/New_York", "2026-03-05", "2026-03-09T04:00:00Z", "2.00", "20.00"},
		{"New York spring, 00:30 EDT on D+4", "USD", "America/New_York", "2026-03-05", "2026-03-09T04:30:00Z", "2.00", "20.00"},
		// D+3 itself (2026-03-08) is 23 hours long; its midnight is 05:00Z.
		{"New York spring, before D+3", "USD", "America/New_York", "2026-03-05", "2026-03-08T04:59:00Z", "0", "0"},
		// 2026-11-01 is the fall-back day: D+4 of 2026-10-28 begins at
		// 04:00Z (EDT), D+5 at 05:00Z (EST), 25 hours later.
		{"New York fall, 23:59 EST on D+4", "USD", "America/New_York", "2026-10-28", "2026-11-02T04:59:00Z", "2.00", "20.00"},
		{"New York fall, 00:00 EST on D+5", "USD", "America/New_York", "2026-10-28", "2026-11-02T05:00:00Z", "2.50", "20.00"},
		// Kolkata is +05:30: 00:00 on D+4 (2026-12-05) is 18:30Z on 12-04.
		{"Kolkata, 23:59 IST on D+3", "INR", "Asia/Kolkata", "2026-12-01", "2026-12-04T18:29:00Z", "0", "0"},
		{"Kolkata, 00:00 IST on D+4", "INR", "Asia/Kolkata", "2026-12-01", "2026-12-04T18:30:00Z", "2.00", "20.00"},
		// The same instant for a Shanghai customer is 02:30 on D+4.
		{"Shanghai, same instant", "CNY", "Asia/Shanghai", "2026-12-01", "2026-12-04T18:30:00Z", "2.00", "20.00"},
		// And 17:30Z is 01:30 in Shanghai but 23:00 in Kolkata.
		{"Kolkata, 17:30Z", "INR", "Asia/Kolkata", "2026-12-01", "2026-12-04T17:30:00Z", "0", "0"},
		{"Shanghai, 17:30Z", "CNY", "Asia/Shanghai", "2026-12-01", "2026-12-04T17:30:00Z", "2.00", "20.00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			paidAt, err := time.Parse(time.RFC3339, tc.paidAt)
			if err != nil {
				t.Fatal(err)
			}
			l := btLoan(tc.currency, tc.tz, btInst(1, tc.due, "1000.00", "0"))
			h := History{Repayments: []Repayment{btRep("T1", "1000.00", paidAt)}}
			s := btSnap(t, l, Default(), h, paidAt.Add(time.Second))
			in := btInstOf(t, s, 1)
			btAmount(t, "penalty posted", in.PenaltyPosted, tc.penalty)
			btAmount(t, "late fee posted", in.LateFeePosted, tc.lateFee)
			if want := tc.penalty == "0"; (in.Status == StatusPaid) != want {
				t.Errorf("status %s; paid want %v", in.Status, want)
			}
			if s.AsOf.Location().String() != tc.tz {
				t.Errorf("as_of in %s; want %s", s.AsOf.Location(), tc.tz)
			}
		})
	}

	t.Run("DPD by local day across spring forward", func(t *testing.T) {
		t.Parallel()
		loc := btLoc(t, "America/New_York")
		l := btLoan("USD", "America/New_York", btInst(1, "2026-03-07", "1000.00", "0"))
		for _, tc := range []struct {
			asOf   string
			dpd    int
			status string
		}{
			{"2026-03-07 23:59", 0, StatusDue},
			{"2026-03-08 00:00", 1, StatusOverdue},
			{"2026-03-08 23:59", 1, StatusOverdue}, // a 23-hour day
			{"2026-03-09 00:00", 2, StatusOverdue},
		} {
			s := btSnap(t, l, Default(), History{}, btAt(t, loc, tc.asOf))
			if in := btInstOf(t, s, 1); in.Status != tc.status || s.DaysPastDue != tc.dpd {
				t.Errorf("%s: status %s DPD %d; want %s %d", tc.asOf, in.Status, s.DaysPastDue, tc.status, tc.dpd)
			}
		}
		// 2026-03-12 is D+5: 5 × 0.50.
		s := btSnap(t, l, Default(), History{}, btAt(t, loc, "2026-03-12 10:00"))
		btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "1000.00 0 0 2.50 20.00 1022.50")
		if js := btJSON(t, s); !strings.Contains(js, `"as_of":"2026-03-12T10:00:00-04:00"`) {
			t.Errorf("as_of not local: %s", js)
		}
	})
}

// TestBalanceMonthEnds: due dates on 31 January and 29 February 2028 (leap year)
// count days like any other.
func TestBalanceMonthEnds(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l := btLoan("CNY", "Asia/Shanghai",
		btInst(1, "2028-01-31", "1000.00", "10.00"),
		btInst(2, "2028-02-29", "1000.00", "10.00"))
	p := Default()

	s := btSnap(t, l, p, History{}, btAt(t, loc, "2028-02-29 10:00"))
	if got := btStatuses(s); got != "1:overdue 2:due" {
		t.Errorf("statuses %s", got)
	}
	btWhere(t, s, StateOverdue, 29, "16-30", "overdue_urgent")
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "1000.00 10.00 0 14.50 20.00 1044.50")

	s = btSnap(t, l, p, History{}, btAt(t, loc, "2028-03-01 10:00"))
	btWhere(t, s, StateOverdue, 30, "16-30", "final_notice")
	if in := btInstOf(t, s, 2); in.Status != StatusOverdue || in.DaysPastDue != 1 {
		t.Errorf("installment 2 %s DPD %d; want overdue 1", in.Status, in.DaysPastDue)
	}
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "1000.00 10.00 0 15.00 20.00 1045.00")

	s = btSnap(t, l, p, History{}, btAt(t, loc, "2028-03-04 10:00"))
	btCheck(t, "installment 2 at D+4", btInstOf(t, s, 2).Outstanding, "1000.00 10.00 0 2.00 20.00 1032.00")
	if js := btJSON(t, s); !strings.Contains(js, `"due_date":"2028-02-29"`) {
		t.Errorf("JSON due date: %s", js)
	}
}

// TestBalancePosition: state, delinquency bucket and ladder stage by days past due
// of one installment due 2026-12-01.
func TestBalancePosition(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	for _, tc := range []struct {
		asOf, status, state string
		dpd                 int
		bucket, stage       string
	}{
		{"2026-11-20 10:00", StatusUpcoming, StateCurrent, 0, "current", "current"},
		{"2026-11-28 10:00", StatusUpcoming, StateCurrent, 0, "current", "upcoming"}, // D−3
		{"2026-11-30 10:00", StatusUpcoming, StateCurrent, 0, "current", "upcoming"}, // D−1
		{"2026-12-01 10:00", StatusDue, StateCurrent, 0, "current", "due_today"},
		{"2026-12-02 10:00", StatusOverdue, StateOverdue, 1, "1-7", "overdue_gentle"},
		{"2026-12-04 10:00", StatusOverdue, StateOverdue, 3, "1-7", "overdue_gentle"},
		{"2026-12-08 10:00", StatusOverdue, StateOverdue, 7, "1-7", "overdue_firm"},
		{"2026-12-09 10:00", StatusOverdue, StateOverdue, 8, "8-15", "overdue_firm"},
		{"2026-12-16 10:00", StatusOverdue, StateOverdue, 15, "8-15", "overdue_urgent"},
		{"2026-12-17 10:00", StatusOverdue, StateOverdue, 16, "16-30", "overdue_urgent"},
		{"2026-12-31 10:00", StatusOverdue, StateOverdue, 30, "16-30", "final_notice"},
		{"2027-01-01 10:00", StatusOverdue, StateOverdue, 31, "31-60", "final_notice"},
		{"2027-01-30 10:00", StatusOverdue, StateOverdue, 60, "31-60", "final_notice"},
		{"2027-01-31 10:00", StatusOverdue, StateOverdue, 61, "61-90", "final_notice"},
		{"2027-03-01 10:00", StatusOverdue, StateChargedOff, 90, "61-90", "charged_off"},
		{"2027-03-02 10:00", StatusOverdue, StateChargedOff, 91, "90+", "charged_off"},
	} {
		s := btSnap(t, btOneLoan(), Default(), History{}, btAt(t, loc, tc.asOf))
		if in := btInstOf(t, s, 1); in.Status != tc.status {
			t.Errorf("%s: status %s; want %s", tc.asOf, in.Status, tc.status)
		}
		if s.State != tc.state || s.DaysPastDue != tc.dpd || s.Bucket != tc.bucket || s.Stage != tc.stage {
			t.Errorf("%s: %s/%d/%s/%s; want %s/%d/%s/%s", tc.asOf, s.State, s.DaysPastDue, s.Bucket, s.Stage,
				tc.state, tc.dpd, tc.bucket, tc.stage)
		}
	}
}

// TestBalanceLargeAmount: once the overdue total reaches 10000.00 an overdue stage
// moves up one (gentle → firm → urgent → final_notice).
func TestBalanceLargeAmount(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	for _, tc := range []struct {
		principal, asOf, overdue, stage string
	}{
		{"10000.00", "2026-12-02 10:00", "10000.00", "overdue_firm"}, // D+1
		{"10000.00", "2026-12-08 10:00", "10055.00", "overdue_urgent"},
		{"10000.00", "2026-12-16 10:00", "10095.00", "final_notice"},
		{"10000.00", "2026-12-31 10:00", "10170.00", "final_notice"}, // the last stage stays
		{"10000.00", "2026-11-30 10:00", "0", "upcoming"},            // pre-due rungs never escalate
		{"9999.99", "2026-12-02 10:00", "9999.99", "overdue_gentle"}, // one cent short
		// At D+4 the late fee and penalty lift it over: 9999.99 + 20.00 + 4 × 5.00.
		{"9999.99", "2026-12-05 10:00", "10039.99", "overdue_firm"},
	} {
		l := btLoan("CNY", "Asia/Shanghai", btInst(1, "2026-12-01", tc.principal, "0"))
		s := btSnap(t, l, Default(), History{}, btAt(t, loc, tc.asOf))
		btAmount(t, tc.principal+" "+tc.asOf+" overdue", s.Overdue.Total, tc.overdue)
		if s.Stage != tc.stage {
			t.Errorf("%s at %s: stage %s; want %s", tc.principal, tc.asOf, s.Stage, tc.stage)
		}
	}
}

// TestBalancePrincipalAndInterestBase: with base principal_and_interest the rate
// applies to unpaid principal + interest: 1045.00 × 0.0005 = 0.5225 → 0.52.
func TestBalancePrincipalAndInterestBase(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	p := Default()
	p.Penalty.Base = BasePrincipalAndInterest

	s := btSnap(t, btOneLoan(), p, History{}, btAt(t, loc, "2026-12-08 10:00"))
	btCheck(t, "installment 1", btInstOf(t, s, 1).Outstanding, "1000.00 45.00 0 3.64 20.00 1068.64")

	// Interest paid on D+1: from D+2 the base is 1000.00 (0.50 a day).
	h := History{Repayments: []Repayment{btRep("T1", "45.00", btAt(t, loc, "2026-12-02 10:00"))}}
	s = btSnap(t, btOneLoan(), p, h, btAt(t, loc, "2026-12-08 10:00"))
	btCheck(t, "installment 1 after interest", btInstOf(t, s, 1).Outstanding, "1000.00 0 0 3.52 20.00 1023.52")
}

// TestBalanceBadInput: what SnapshotAt cannot compute is an error, not a guess.
func TestBalanceBadInput(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		edit func(*Loan, *Policy)
		want string
	}{
		{"unknown currency", func(l *Loan, _ *Policy) { l.Currency = "XXX" }, "XXX"},
		{"lower-case currency", func(l *Loan, _ *Policy) { l.Currency = "cny" }, "cny"},
		{"empty currency", func(l *Loan, _ *Policy) { l.Currency = "" }, "currency"},
		{"unknown zone", func(l *Loan, _ *Policy) { l.Customer.TimeZone = "Mars/Olympus" }, "Mars/Olympus"},
		{"unknown allocation component", func(_ *Loan, p *Policy) { p.Allocation[0] = "tip" }, "tip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, p := btSampleLoan(), Default()
			tc.edit(&l, &p)
			_, err := SnapshotAt(l, p, History{}, asOf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want one naming %q", err, tc.want)
			}
		})
	}

	// A customer with no zone uses the policy's.
	l := btSampleLoan()
	l.Customer.TimeZone = ""
	s := btSnap(t, l, Default(), History{}, asOf)
	if s.AsOf.Location().String() != "Asia/Shanghai" || s.DaysPastDue != 7 {
		t.Errorf("zone %s DPD %d; want Asia/Shanghai, 7", s.AsOf.Location(), s.DaysPastDue)
	}
}

// TestBalancePostedTotals: PenaltyPosted and LateFeePosted keep everything ever
// charged, paid or not, so the ledger can reconcile; events after as_of are
// ignored.
func TestBalancePostedTotals(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btSampleLoan(), Default()
	h := History{Repayments: []Repayment{
		btRep("T1", "1068.50", btAt(t, loc, "2026-12-08 10:00")),
		btRep("T2", "1040.00", btAt(t, loc, "2026-12-20 10:00")),
	}}
	s := btSnap(t, l, p, h, btAt(t, loc, "2026-12-10 10:00"))
	in1 := btInstOf(t, s, 1)
	btCheck(t, "installment 1", in1.Outstanding, "0 0 0 0 0 0")
	btAmount(t, "penalty posted", in1.PenaltyPosted, "3.50")
	btAmount(t, "late fee posted", in1.LateFeePosted, "20.00")
	if len(s.Applied) != 1 {
		t.Errorf("%d applied at 12-10; want 1 (T2 is later)", len(s.Applied))
	}
	if js := btJSON(t, s); !strings.Contains(js, `"penalty_posted":"3.50","late_fee_posted":"20.00"`) {
		t.Errorf("JSON posted totals: %s", js)
	}

	s = btSnap(t, l, p, h, btAt(t, loc, "2027-01-10 10:00"))
	btWhere(t, s, StatePaidOff, 0, "current", StatePaidOff)
	btCheck(t, "outstanding", s.Outstanding, "0 0 0 0 0 0")
	btAmount(t, "installment 2 penalty posted", btInstOf(t, s, 2).PenaltyPosted, "0")
}

// TestWorkedExampleInREADME checks, number for number, the worked example of
// the README's "Money rules": a 1000.00 + 45.00 installment due 2026-12-01,
// 600.00 paid on D+5, still overdue on D+10.
func TestWorkedExampleInREADME(t *testing.T) {
	t.Parallel()
	loc := btLoc(t, "Asia/Shanghai")
	l, p := btOneLoan(), Default()
	h := History{Repayments: []Repayment{btRep("T1", "600.00", btAt(t, loc, "2026-12-06 10:00"))}}

	// Day by day, at 10:00 local.
	for _, tc := range []struct{ asOf, want string }{
		{"2026-12-02 10:00", "1000.00 45.00 0 0 0 1045.00"},        // D+1: 0.50 in grace, not yet owed
		{"2026-12-04 10:00", "1000.00 45.00 0 0 0 1045.00"},        // D+3: 1.50 in grace
		{"2026-12-05 10:00", "1000.00 45.00 0 2.00 20.00 1067.00"}, // D+4: 1.50 retroactive + 0.50, late fee
		{"2026-12-06 09:59", "1000.00 45.00 0 2.50 20.00 1067.50"}, // D+5 00:00: +0.50
		{"2026-12-06 10:00", "467.50 0 0 0 0 467.50"},              // 600.00 paid
		{"2026-12-07 10:00", "467.50 0 0 0.23 0 467.73"},           // D+6: 467.50 × 0.0005 = 0.23375 → 0.23
		{"2026-12-08 10:00", "467.50 0 0 0.46 0 467.96"},           // D+7
		{"2026-12-09 10:00", "467.50 0 0 0.69 0 468.19"},           // D+8
		{"2026-12-10 10:00", "467.50 0 0 0.92 0 468.42"},           // D+9
		{"2026-12-11 10:00", "467.50 0 0 1.15 0 468.65"},           // D+10
	} {
		s := btSnap(t, l, p, h, btAt(t, loc, tc.asOf))
		btCheck(t, tc.asOf, btInstOf(t, s, 1).Outstanding, tc.want)
	}

	s := btSnap(t, l, p, h, btAt(t, loc, "2026-12-11 10:00"))
	btCheck(t, "600.00 paid", s.Applied[0].Parts[0].Paid, "532.50 45.00 0 2.50 20.00 600.00")
	in := btInstOf(t, s, 1)
	btAmount(t, "penalty posted", in.PenaltyPosted, "3.65")
	btAmount(t, "late fee posted", in.LateFeePosted, "20.00")
	btWhere(t, s, StateOverdue, 10, "8-15", "overdue_firm")
	if js := btJSON(t, s); !strings.Contains(js, `"total":"468.65"`) {
		t.Errorf("JSON total: %s", js)
	}
}
