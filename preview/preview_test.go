package preview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/shopspring/decimal"

	"dunning/policy"
	"dunning/templates"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// sampleLoan is DESIGN.md's sample loan cut to its first installment: 1000.00
// principal and 45.00 interest due 2026-12-01, the loan of the policy
// package's ladder and balance tests (TestLadderWalk, TestBalanceDesignSample).
func sampleLoan() policy.Loan {
	return policy.Loan{LoanID: "L-2026-0001", Currency: "CNY", Policy: "default",
		Customer: policy.Customer{ID: "C-778", Name: "张伟", Phone: "+8613800138000", Email: "zhang.wei@example.cn",
			PushToken: "fcm-token-1", Locale: "zh-CN", TimeZone: "Asia/Shanghai"},
		Installments: []policy.Installment{{Seq: 1, DueDate: policy.MustDate("2026-12-01"),
			Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("45.00"), Fee: decimal.Zero}}}
}

func renderer(t testing.TB) *templates.Renderer {
	t.Helper()
	tr, err := templates.New()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func run(t *testing.T, l policy.Loan, pays ...Payment) *Timeline {
	t.Helper()
	tl, err := Run(context.Background(), l, Options{Policy: policy.Default(), Templates: renderer(t), Payments: pays})
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

// The preview of the one-installment sample under the default policy is,
// point by point, DESIGN.md's ladder at 10:12 local (send_at 10:00 and the
// loan's spread of 12 minutes, as TestLadderWalk has it) with the amounts
// the balance tests check: at +7 penalty 3.50 (seven days of 0.50, three of
// them retroactive), the 20.00 late fee, 1068.50 in all; the case at +15;
// the charge-off at +90 after 90 days of penalty (45.00, as
// TestChargeOffWalksTheWholeLadder has it). The notices' own texts, rendered
// from the workflow's figures, say the same amounts.
func TestPreviewMatchesPolicyLadder(t *testing.T) {
	tl := run(t, sampleLoan())
	want := []struct {
		date     string
		offset   int
		channels string
		template string
		action   string
		dpd      int
		overdue  string
		penalty  string
		lateFee  string
		total    string
	}{
		{"2026-11-28", -3, "push", "upcoming", "", 0, "0.00", "0.00", "0.00", "1045.00"},
		{"2026-11-30", -1, "sms", "upcoming", "", 0, "0.00", "0.00", "0.00", "1045.00"},
		{"2026-12-01", 0, "sms+push", "due_today", "", 0, "0.00", "0.00", "0.00", "1045.00"},
		{"2026-12-02", 1, "sms", "overdue_gentle", "", 1, "1045.00", "0.00", "0.00", "1045.00"},
		{"2026-12-04", 3, "sms+push", "overdue_gentle", "", 3, "1045.00", "0.00", "0.00", "1045.00"},
		{"2026-12-08", 7, "sms+email+push", "overdue_firm", "", 7, "1068.50", "3.50", "20.00", "1068.50"},
		{"2026-12-16", 15, "sms+email+push", "overdue_urgent", "open_case", 15, "1072.50", "7.50", "20.00", "1072.50"},
		{"2026-12-31", 30, "sms+email+push", "final_notice", "", 30, "1080.00", "15.00", "20.00", "1080.00"},
		{"2027-01-30", 60, "sms+email", "final_notice", "", 60, "1095.00", "30.00", "20.00", "1095.00"},
		{"2027-03-01", 90, "email", "charged_off", "charge_off", 90, "1110.00", "45.00", "20.00", "1110.00"},
	}
	if len(tl.Points) != len(want) {
		t.Fatalf("%d points, want %d: %+v", len(tl.Points), len(want), tl.Points)
	}
	for i, w := range want {
		p := tl.Points[i]
		t.Run(fmt.Sprintf("D%+d", w.offset), func(t *testing.T) {
			at := policy.MustDate(w.date).At(shanghai, 10, 12)
			if !p.At.Equal(at) || p.At.Location().String() != "Asia/Shanghai" {
				t.Errorf("at %s, want %s local", p.At, at)
			}
			if p.Kind != "ladder" || p.Seq != 1 || p.DueDate != "2026-12-01" || p.Offset != w.offset {
				t.Errorf("kind %s seq %d due %s offset %d, want ladder 1 2026-12-01 %d", p.Kind, p.Seq, p.DueDate, p.Offset, w.offset)
			}
			if got := joinChannels(p.Channels); got != w.channels || len(p.Skipped) != 0 || len(p.Failed) != 0 {
				t.Errorf("channels %s skipped %v failed %v, want %s", got, p.Skipped, p.Failed, w.channels)
			}
			if p.Template != w.template || p.Action != w.action {
				t.Errorf("template %s action %q, want %s %q", p.Template, p.Action, w.template, w.action)
			}
			b := p.Balance
			if b.DaysPastDue != w.dpd || b.Overdue != w.overdue || b.Penalty != w.penalty || b.LateFee != w.lateFee || b.Total != w.total {
				t.Errorf("balance %+v, want DPD %d overdue %s penalty %s late fee %s total %s", b, w.dpd, w.overdue, w.penalty, w.lateFee, w.total)
			}
			if len(p.Message) != len(p.Channels) {
				t.Fatalf("%d messages for %d channels", len(p.Message), len(p.Channels))
			}
			for _, m := range p.Message {
				if m.Text == "" {
					t.Errorf("%s message is empty", m.Channel)
				}
				if m.Channel == policy.SMS {
					if n, enc := templates.Segments(m.Text); m.Segments != n || m.Encoding != enc || n < 1 {
						t.Errorf("sms segments %d %s, want %d %s", m.Segments, m.Encoding, n, enc)
					}
					// The workflow's own figures, as rendered, agree.
					if w.offset >= 7 && (!strings.Contains(m.Text, w.total) || !strings.Contains(m.Text, w.penalty)) {
						t.Errorf("sms %q does not say %s and %s", m.Text, w.total, w.penalty)
					}
				}
				if m.Channel == policy.Email && m.Subject == "" {
					t.Error("email without a subject")
				}
			}
		})
	}
	if tl.End.State != policy.StateChargedOff || !tl.End.At.Equal(policy.MustDate("2027-03-01").At(shanghai, 10, 12)) {
		t.Errorf("end %+v, want charged_off at 2027-03-01 10:12", tl.End)
	}
	tot := tl.Totals
	if tot.PenaltyPosted != "45.00" || tot.LateFeePosted != "20.00" || tot.PenaltyPaid != "0.00" || tot.Paid != "0.00" {
		t.Errorf("totals %+v", tot)
	}
	if tot.Notices[policy.SMS] != 8 || tot.Notices[policy.Email] != 5 || tot.Notices[policy.Push] != 6 {
		t.Errorf("notices %v, want sms 8, email 5, push 6", tot.Notices)
	}
	if len(tl.Repayments) != 0 || len(tl.NotSent) != 0 || tl.Runs != 1 {
		t.Errorf("repayments %v not sent %v runs %d", tl.Repayments, tl.NotSent, tl.Runs)
	}
}

// Paying everything owed on D+5 (1000.00 + 45.00 + penalty 2.50 + late fee
// 20.00) ends the loan paid_off at that moment: the last point is the
// paid_off confirmation, by SMS and push, and nothing comes after it.
func TestPreviewPaidOffOnDay5(t *testing.T) {
	paidAt := policy.MustDate("2026-12-06").At(shanghai, 12, 0)
	tl := run(t, sampleLoan(), Payment{At: paidAt, Amount: decimal.RequireFromString("1067.50")})
	if tl.End.State != policy.StatePaidOff || !tl.End.At.Equal(paidAt) {
		t.Fatalf("end %+v, want paid_off at %s", tl.End, paidAt)
	}
	last := tl.Points[len(tl.Points)-1]
	if last.Template != policy.TemplatePaidOff || last.Kind != "confirmation" || !last.At.Equal(paidAt) || last.Offset != 5 {
		t.Fatalf("last point %+v, want the paid_off confirmation at D+5", last)
	}
	if got := joinChannels(last.Channels); got != "sms+push" || len(last.Message) != 2 || !strings.Contains(last.Message[0].Text, "1067.50") {
		t.Errorf("paid_off went out on %s: %+v", got, last.Message)
	}
	for _, p := range tl.Points {
		if p.At.After(paidAt) {
			t.Errorf("point after the payoff: %+v", p)
		}
	}
	var offsets []int
	for _, p := range tl.Points[:len(tl.Points)-1] {
		offsets = append(offsets, p.Offset)
	}
	if !slices.Equal(offsets, []int{-3, -1, 0, 1, 3}) {
		t.Errorf("ladder offsets %v, want -3 -1 0 1 3", offsets)
	}
	if len(tl.Repayments) != 1 {
		t.Fatalf("repayments %+v", tl.Repayments)
	}
	r := tl.Repayments[0]
	a := Allocation{Seq: 1, Principal: "1000.00", Interest: "45.00", Fee: "0.00", Penalty: "2.50", LateFee: "20.00", Total: "1067.50"}
	if !r.Applied || len(r.Allocation) != 1 || r.Allocation[0] != a || r.Balance.Total != "0.00" || r.Balance.State != policy.StatePaidOff {
		t.Errorf("repayment %+v, want %+v and nothing left", r, a)
	}
	if tl.Totals.PenaltyPaid != "2.50" || tl.Totals.LateFeePaid != "20.00" || tl.Totals.Paid != "1067.50" {
		t.Errorf("totals %+v", tl.Totals)
	}
}

// A partial payment (README's worked example: 600.00 on D+5) is confirmed
// with payment_received and the ladder goes on with what is left; a payment
// after the loan ended is reported as not made.
func TestPreviewPartialPayment(t *testing.T) {
	d5 := policy.MustDate("2026-12-06").At(shanghai, 10, 0)
	late := policy.MustDate("2027-06-01").At(shanghai, 10, 0)
	tl := run(t, sampleLoan(), Payment{At: d5, Amount: decimal.RequireFromString("600.00"), TxnID: "BANK-1"},
		Payment{At: policy.MustDate("2026-12-11").At(shanghai, 10, 0), Amount: decimal.RequireFromString("468.65"), TxnID: "BANK-2"},
		Payment{At: late, Amount: decimal.RequireFromString("1.00"), TxnID: "BANK-3"})
	var got []string
	for _, p := range tl.Points {
		got = append(got, fmt.Sprintf("%s D%+d %s", p.At.Format("01-02 15:04"), p.Offset, p.Template))
	}
	want := []string{"11-28 10:12 D-3 upcoming", "11-30 10:12 D-1 upcoming", "12-01 10:12 D+0 due_today",
		"12-02 10:12 D+1 overdue_gentle", "12-04 10:12 D+3 overdue_gentle", "12-06 10:00 D+5 payment_received",
		"12-08 10:12 D+7 overdue_firm", "12-11 10:00 D+10 paid_off"}
	if !slices.Equal(got, want) {
		t.Errorf("points\n got %q\nwant %q", got, want)
	}
	// README's worked example: 467.50 of principal left, 0.23 a day.
	if b := tl.Points[6].Balance; b.Penalty != "0.46" || b.Total != "467.96" {
		t.Errorf("D+7 balance %+v, want penalty 0.46 total 467.96", b)
	}
	r := tl.Repayments
	if len(r) != 3 || !r[0].Applied || r[0].Balance.Total != "467.50" || !r[1].Applied || r[1].Balance.State != policy.StatePaidOff {
		t.Fatalf("repayments %+v", r)
	}
	if r[2].Applied || !strings.Contains(r[2].Error, "ended") {
		t.Errorf("a payment after the payoff: %+v", r[2])
	}
}

// A preview opens no network connection: every dial through the resolver
// and HTTP's default transport is recorded and fails, and none happens
// while a loan is previewed and a small book simulated.
func TestPreviewOpensNoConnection(t *testing.T) {
	var mu sync.Mutex
	var dials []string
	fail := func(_ context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dials = append(dials, network+" "+addr)
		return nil, errors.New("no network in a preview")
	}
	oldResolver, oldTransport, oldDial := net.DefaultResolver, http.DefaultTransport, http.DefaultClient.Transport
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: fail}
	http.DefaultTransport = &http.Transport{DialContext: fail, DialTLSContext: fail, Proxy: nil}
	http.DefaultClient.Transport = http.DefaultTransport
	t.Cleanup(func() {
		net.DefaultResolver, http.DefaultTransport, http.DefaultClient.Transport = oldResolver, oldTransport, oldDial
	})
	// The trap works: a lookup and a request are caught.
	_, _ = net.DefaultResolver.LookupHost(context.Background(), "example.com")
	if resp, err := http.Get("http://127.0.0.1:9/"); err == nil {
		_ = resp.Body.Close()
	}
	mu.Lock()
	if !slices.ContainsFunc(dials, func(d string) bool { return strings.HasPrefix(d, "udp ") }) ||
		!slices.Contains(dials, "tcp 127.0.0.1:9") {
		t.Fatalf("the trap caught %v, want the lookup and the request", dials)
	}
	dials = nil
	mu.Unlock()

	run(t, sampleLoan(), Payment{At: policy.MustDate("2026-12-06").At(shanghai, 12, 0), Amount: decimal.RequireFromString("600.00")})
	book := GenerateBook(4, 3, policy.MustDate("2027-01-01"), 1)
	if _, err := Simulate(context.Background(), book, SimOptions{Policies: []policy.Policy{policy.Default()}, Templates: renderer(t)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dials) != 0 {
		t.Errorf("a preview dialed: %v", dials)
	}
}

// The JSON has the shape: loan_id, policy, points with at (RFC 3339
// with the customer's offset), offset, template, channels, skipped, action,
// balance {overdue, penalty, late_fee, total}, messages {channel, text,
// segments}, repayments, end {state, at}.
func TestPreviewJSONShape(t *testing.T) {
	tl := run(t, sampleLoan(), Payment{At: policy.MustDate("2026-12-06").At(shanghai, 12, 0), Amount: decimal.RequireFromString("1067.50")})
	b, err := tl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		LoanID string `json:"loan_id"`
		Policy string `json:"policy"`
		Points []struct {
			At       string            `json:"at"`
			Offset   *int              `json:"offset"`
			Template string            `json:"template"`
			Channels []string          `json:"channels"`
			Skipped  []any             `json:"skipped"`
			Action   *string           `json:"action"`
			Balance  map[string]any    `json:"balance"`
			Messages []json.RawMessage `json:"messages"`
		} `json:"points"`
		Repayments []map[string]any `json:"repayments"`
		End        struct {
			State string `json:"state"`
			At    string `json:"at"`
		} `json:"end"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.LoanID != "L-2026-0001" || m.Policy != "default" || len(m.Points) != 6 || len(m.Repayments) != 1 {
		t.Fatalf("json %s", b)
	}
	p := m.Points[1]
	if p.At != "2026-11-30T10:12:00+08:00" || p.Offset == nil || *p.Offset != -1 || p.Template != "upcoming" ||
		!slices.Equal(p.Channels, []string{"sms"}) || p.Skipped == nil || p.Action == nil {
		t.Errorf("point %+v", p)
	}
	for _, k := range []string{"overdue", "penalty", "late_fee", "total"} {
		if _, ok := p.Balance[k].(string); !ok {
			t.Errorf("balance.%s = %v, want a string", k, p.Balance[k])
		}
	}
	var msg struct {
		Channel  string `json:"channel"`
		Text     string `json:"text"`
		Segments int    `json:"segments"`
	}
	if err := json.Unmarshal(p.Messages[0], &msg); err != nil || msg.Channel != "sms" || msg.Text == "" || msg.Segments != 2 {
		t.Errorf("message %s", p.Messages[0])
	}
	if m.End.State != "paid_off" || m.End.At != "2026-12-06T12:00:00+08:00" {
		t.Errorf("end %+v", m.End)
	}
}

// The table shows every point with its balance and messages, the repayment
// with its allocation before the confirmation it caused, and the end.
func TestPreviewTable(t *testing.T) {
	tl := run(t, sampleLoan(), Payment{At: policy.MustDate("2026-12-06").At(shanghai, 12, 0), Amount: decimal.RequireFromString("1067.50")})
	var b bytes.Buffer
	if err := tl.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"2026-12-04 10:12 CST  D+3     overdue_gentle",
		"repayment", "paid to installment 1: penalty 2.50, late fee 20.00, interest 45.00, fee 0.00, principal 1000.00",
		"sms   [2 segments UCS-2",
		"End: paid_off at 2026-12-06 12:00 CST",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "repayment") > strings.Index(out, "paid_off  ") {
		t.Errorf("the repayment comes after its confirmation:\n%s", out)
	}
}

// Loans in the 2nd installment's overdue: its own pre-due and overdue rungs
// are covered by the first's notices (coalesced), and the preview says so.
func TestPreviewNotSentCoalesced(t *testing.T) {
	l := sampleLoan()
	l.Installments = append(l.Installments, policy.Installment{Seq: 2, DueDate: policy.MustDate("2027-01-01"),
		Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("40.00"), Fee: decimal.Zero})
	tl := run(t, l)
	var got []string
	for _, n := range tl.NotSent {
		got = append(got, fmt.Sprintf("%d D%+d %s", n.Seq, n.Offset, n.Reason))
	}
	want := []string{"2 D-3 coalesced", "2 D-1 coalesced", "2 D+0 coalesced", "2 D+1 coalesced", "2 D+3 coalesced",
		"2 D+7 coalesced", "2 D+15 coalesced", "2 D+30 coalesced"}
	if !slices.Equal(got, want) {
		t.Errorf("not sent\n got %q\nwant %q", got, want)
	}
	for _, p := range tl.Points {
		if p.Seq != 1 {
			t.Errorf("a point driven by installment %d: %+v", p.Seq, p)
		}
	}
}

func TestParsePayment(t *testing.T) {
	for _, tc := range []struct {
		in, at, amount, err string
	}{
		{in: "2026-12-06:600.00", at: "2026-12-06T12:00:00+08:00", amount: "600"},
		{in: "2026-12-06T10:30:1.5", at: "2026-12-06T10:30:00+08:00", amount: "1.5"},
		{in: "2026-12-06T10:30:00Z:100", at: "2026-12-06T18:30:00+08:00", amount: "100"},
		{in: "2026-12-06", err: "DATE:AMOUNT"},
		{in: "600.00", err: "DATE:AMOUNT"},
		{in: "2026-13-06:1", err: "date"},
		{in: "2026-12-06:0", err: "above 0"},
		{in: "2026-12-06:-5", err: "above 0"},
		{in: "2026-12-06:1.001", err: "decimals"},
		{in: "1999-12-06:1", err: "outside"},
	} {
		p, err := ParsePayment(tc.in, "CNY", shanghai)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p.At.In(shanghai).Format(time.RFC3339) != tc.at || p.Amount.String() != tc.amount {
			t.Errorf("%s: %v %s %v, want %s %s", tc.in, p.At, p.Amount, err, tc.at, tc.amount)
		}
	}
}
