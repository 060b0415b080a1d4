// Package demo makes the demo loans that `make run` loads, with due dates relative to today so every state of the ladder shows
// up at once: upcoming, due today, 1 to 95 days overdue, a large amount, an
// English-speaking customer, an opted-out channel, and one loan that
// `make run` repays while you watch.
//
// Customers live in a time zone where it is now daytime (unless -tz says
// otherwise), so the contact window (08:00–21:00) is open and the catch-up
// notices go out at once instead of at the next 08:00.
package demo

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// RepaidDuringDemo is the loan `make run` repays after start.
const RepaidDuringDemo = "L-DEMO-20"

type spec struct {
	dpd    int // days past due of the first installment (negative: due in that many days)
	n      int // installments
	amount string
	locale string
	name   string
	note   string
	mutate func(*policy.Customer)
}

var specs = []spec{
	{dpd: -10, n: 3, amount: "1000.00", name: "王芳", note: "upcoming in 10 days"},
	{dpd: -5, n: 3, amount: "800.00", name: "李娜", note: "upcoming in 5 days"},
	{dpd: -2, n: 2, amount: "1500.00", name: "刘洋", note: "due in 2 days (-3 push caught up)"},
	{dpd: -1, n: 2, amount: "600.00", name: "陈静", note: "due tomorrow"},
	{dpd: 0, n: 2, amount: "1200.00", name: "杨磊", note: "due today"},
	{dpd: 1, n: 2, amount: "900.00", name: "赵敏", note: "1 day overdue"},
	{dpd: 3, n: 2, amount: "700.00", name: "Emily Chen", locale: "en", note: "3 days overdue, English"},
	{dpd: 7, n: 2, amount: "1000.00", name: "张伟", note: "7 days overdue"},
	{dpd: 10, n: 3, amount: "2000.00", name: "黄勇", note: "10 days overdue"},
	{dpd: 15, n: 2, amount: "1000.00", name: "周杰", note: "15 days overdue: collections case"},
	{dpd: 20, n: 2, amount: "3000.00", name: "吴霞", note: "20 days overdue"},
	{dpd: 30, n: 3, amount: "1000.00", name: "徐强", note: "30 days overdue: final notice"},
	{dpd: 45, n: 2, amount: "1000.00", name: "孙丽", note: "45 days overdue"},
	{dpd: 60, n: 2, amount: "500.00", name: "马超", note: "60 days overdue"},
	{dpd: 89, n: 2, amount: "1000.00", name: "朱婷", note: "89 days overdue: charge-off tomorrow"},
	{dpd: 95, n: 1, amount: "1000.00", name: "胡军", note: "95 days overdue: charged off"},
	{dpd: 7, n: 2, amount: "12000.00", name: "郭鹏", note: "large amount: escalated template, email added"},
	{dpd: 3, n: 2, amount: "1000.00", name: "林芳", note: "push only (no phone, no email)", mutate: func(c *policy.Customer) { c.Phone, c.Email = "", "" }},
	{dpd: 7, n: 2, amount: "1000.00", name: "何洁", note: "opted out of sms", mutate: func(c *policy.Customer) { c.OptOuts = []policy.Channel{policy.SMS} }},
	{dpd: 4, n: 2, amount: "1000.00", name: "高明", note: "repaid by make run while you watch"},
}

// DaytimeZone names an Etc/GMT zone in which now is between 11:00 and 15:59:
// after every ladder time of the default policy (10:00 plus a spread of up
// to 59 minutes), so a demo loan on a rung's day catches that rung up at
// once instead of waiting for it (policy.RulesCatchUpByDay), and inside the
// contact window.
func DaytimeZone(now time.Time) string {
	for off := -12; off <= 14; off++ {
		h := now.UTC().Add(time.Duration(off) * time.Hour).Hour()
		if h >= 11 && h < 16 {
			if off == 0 {
				return "Etc/GMT"
			}
			// Etc/GMT-8 is UTC+8: the sign is inverted by POSIX convention.
			return fmt.Sprintf("Etc/GMT%+d", -off)
		}
	}
	return "Asia/Shanghai"
}

// Loans are the demo loans as of now for customers in tz (DaytimeZone(now)
// when empty), each validated against the default policy.
func Loans(tz string, now time.Time) ([]policy.Loan, error) {
	if tz == "" {
		tz = DaytimeZone(now)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	today := policy.LocalDate(now, loc)
	var out []policy.Loan
	for i, s := range specs {
		l := Loan(i+1, s.dpd, s.n, s.amount, today, tz)
		l.Customer.Name = s.name
		if s.locale != "" {
			l.Customer.Locale = s.locale
		}
		if s.mutate != nil {
			s.mutate(&l.Customer)
		}
		if err := policy.ValidateLoan(l, nil, nil); err != nil {
			return nil, fmt.Errorf("demo loan %s: %w", l.LoanID, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Loan is demo loan number i: n monthly installments of principal (plus
// 4.5% interest), the first dpd days past due on today (negative: not yet
// due), for a zh-CN customer in tz reachable on every channel.
func Loan(i, dpd, n int, principal string, today policy.Date, tz string) policy.Loan {
	c := policy.Customer{
		ID: fmt.Sprintf("C-DEMO-%02d", i), Name: "张伟", Phone: fmt.Sprintf("+86138001380%02d", i%100),
		Email: fmt.Sprintf("customer%02d@example.cn", i), PushToken: fmt.Sprintf("demo-push-token-%02d", i),
		Locale: "zh-CN", TimeZone: tz,
	}
	p := decimal.RequireFromString(principal)
	interest := p.Mul(decimal.RequireFromString("0.045")).Round(2)
	l := policy.Loan{LoanID: fmt.Sprintf("L-DEMO-%02d", i), Currency: "CNY", Policy: "default", Customer: c}
	first := today.AddDays(-dpd)
	for k := range n {
		l.Installments = append(l.Installments, policy.Installment{
			Seq: k + 1, DueDate: first.AddDays(30 * k), Principal: p, Interest: interest, Fee: decimal.Zero,
		})
	}
	return l
}
