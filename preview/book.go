package preview

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// GenerateBook makes a book of n loans for simulations, the same for the
// same arguments: monthly installments (each loan's first due date within
// the four weeks from first), principals from 200.00 to 5,000.00 an
// installment with 1–2% interest, CNY, borrowers in Asia/Shanghai (a tenth
// in Asia/Singapore), four in five writing in zh-CN and the others in en,
// every one with a phone, most with an email and many with the app. Every
// loan passes policy.ValidateLoan.
func GenerateBook(n, installments int, first policy.Date, seed uint64) []policy.Loan {
	r := rand.New(rand.NewPCG(seed, 0x6c6f616e73)) // "loans"
	zh := []string{"张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周婷", "吴刚"}
	en := []string{"Alex Tan", "Maria Lim", "John Ng", "Priya Nair", "Wei Ling", "Sam Lee"}
	book := make([]policy.Loan, 0, n)
	for i := range n {
		id := fmt.Sprintf("%06d", i+1)
		c := policy.Customer{ID: "C-SIM-" + id, Phone: fmt.Sprintf("+86138%08d", i+1), Locale: "zh-CN", TimeZone: "Asia/Shanghai"}
		if r.IntN(10) < 2 {
			c.Locale, c.Name = "en", en[r.IntN(len(en))]
		} else {
			c.Name = zh[r.IntN(len(zh))]
		}
		if r.IntN(10) == 0 {
			c.TimeZone = "Asia/Singapore"
		}
		if r.IntN(10) < 7 {
			c.Email = fmt.Sprintf("borrower%s@example.cn", id)
		}
		if r.IntN(10) < 6 {
			c.PushToken = "fcm-sim-" + id
		}
		l := policy.Loan{LoanID: "L-SIM-" + id, Currency: "CNY", Policy: policy.DefaultPolicyName, Customer: c}
		principal := decimal.NewFromInt(int64(20 + r.IntN(481))).Mul(decimal.NewFromInt(10))
		rate := decimal.NewFromInt(int64(100 + r.IntN(101))).Div(decimal.NewFromInt(10000))
		interest := principal.Mul(rate).Round(2)
		d := first.AddDays(r.IntN(28))
		for k := range installments {
			due := policy.DateOf(time.Date(d.Year, d.Month+time.Month(k), min(d.Day, 28), 12, 0, 0, 0, time.UTC))
			l.Installments = append(l.Installments, policy.Installment{Seq: k + 1, DueDate: due,
				Principal: principal, Interest: interest, Fee: decimal.Zero})
		}
		book = append(book, l)
	}
	return book
}

// WriteBook writes loans as JSON Lines, one loan a line, every amount a
// string with the currency's minor units ("1045.00"), as `starter import`
// and `starter simulate -book` read them.
func WriteBook(w io.Writer, loans []policy.Loan) error {
	type wireInstallment struct {
		Seq       int         `json:"seq"`
		DueDate   policy.Date `json:"due_date"`
		Principal string      `json:"principal"`
		Interest  string      `json:"interest"`
		Fee       string      `json:"fee"`
	}
	type wireLoan struct {
		LoanID       string            `json:"loan_id"`
		Currency     string            `json:"currency"`
		Policy       string            `json:"policy,omitempty"`
		Customer     policy.Customer   `json:"customer"`
		Installments []wireInstallment `json:"installments"`
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, l := range loans {
		places, ok := policy.MinorUnits(l.Currency)
		if !ok {
			places = 2
		}
		wl := wireLoan{LoanID: l.LoanID, Currency: l.Currency, Policy: l.Policy, Customer: l.Customer}
		for _, in := range l.Installments {
			wl.Installments = append(wl.Installments, wireInstallment{in.Seq, in.DueDate,
				in.Principal.StringFixed(places), in.Interest.StringFixed(places), in.Fee.StringFixed(places)})
		}
		if err := enc.Encode(wl); err != nil {
			return fmt.Errorf("write book: %w", err)
		}
	}
	return bw.Flush()
}
