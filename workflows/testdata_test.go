package workflows

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"dunning/policy"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func at(date string, hh, mm int) time.Time {
	return policy.MustDate(date).At(shanghai, hh, mm)
}

func startOptions(loanID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: WorkflowID(loanID), TaskQueue: TaskQueue}
}

// testLoan is a loan of n monthly installments of 1000.00 principal and
// 45.00 interest, the first due on first.
func testLoan(id string, n int, first string) Input {
	d := policy.MustDate(first)
	l := policy.Loan{
		LoanID: id, Currency: "CNY", Policy: "default",
		Customer: policy.Customer{ID: "C-778", Name: "张伟", Phone: "+8613800138000", Email: "zhang.wei@example.cn",
			PushToken: "fcm-token-1", Locale: "zh-CN", TimeZone: "Asia/Shanghai"},
	}
	for i := range n {
		due := policy.Date{Year: d.Year, Month: d.Month + time.Month(i), Day: d.Day}
		due = policy.DateOf(time.Date(due.Year, due.Month, due.Day, 12, 0, 0, 0, time.UTC))
		l.Installments = append(l.Installments, policy.Installment{Seq: i + 1, DueDate: due,
			Principal: decimal.RequireFromString("1000.00"), Interest: decimal.RequireFromString("45.00"), Fee: decimal.Zero})
	}
	if err := policy.ValidateLoan(l, nil, nil); err != nil {
		panic(fmt.Sprintf("test loan: %v", err))
	}
	return Input{Loan: l, Policy: policy.Default()}
}
