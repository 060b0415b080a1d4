package policy

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// The wire types below mirror Snapshot with amounts as fixed-point strings.
// decimal's own encoding drops trailing zeros ("20" for 20.00); DESIGN.md's
// snapshot shows every amount with the currency's minor units ("1068.50").

type wireBreakdown struct {
	Principal string `json:"principal"`
	Interest  string `json:"interest"`
	Fee       string `json:"fee"`
	Penalty   string `json:"penalty"`
	LateFee   string `json:"late_fee"`
	Total     string `json:"total"`
}

type wireInstallment struct {
	Seq           int           `json:"seq"`
	DueDate       Date          `json:"due_date"`
	Status        string        `json:"status"`
	DaysPastDue   int           `json:"days_past_due"`
	Outstanding   wireBreakdown `json:"outstanding"`
	PenaltyPosted string        `json:"penalty_posted"`
	LateFeePosted string        `json:"late_fee_posted"`
}

type wirePart struct {
	Seq  int           `json:"seq"`
	Paid wireBreakdown `json:"paid"`
}

type wireAllocation struct {
	TxnID  string     `json:"txn_id"`
	Amount string     `json:"amount"`
	PaidAt time.Time  `json:"paid_at"`
	Parts  []wirePart `json:"parts,omitempty"`
	Credit string     `json:"credit"`
}

type wireSnapshot struct {
	LoanID          string            `json:"loan_id"`
	State           string            `json:"state"`
	DaysPastDue     int               `json:"days_past_due"`
	Bucket          string            `json:"bucket"`
	Stage           string            `json:"stage"`
	AsOf            time.Time         `json:"as_of"`
	Currency        string            `json:"currency"`
	Overdue         wireBreakdown     `json:"overdue"`
	Outstanding     wireBreakdown     `json:"outstanding"`
	Credit          string            `json:"credit"`
	Installments    []wireInstallment `json:"installments"`
	NextReminderAt  *time.Time        `json:"next_reminder_at,omitempty"`
	Paused          bool              `json:"paused"`
	NoticesSent     int               `json:"notices_sent"`
	OptOuts         []Channel         `json:"opt_outs"`
	ChargedOff      bool              `json:"charged_off,omitempty"`
	ScheduleVersion int               `json:"schedule_version"`
	Applied         []wireAllocation  `json:"applied,omitempty"`
}

// MarshalJSON writes every amount as a string with exactly the currency's
// minor units. Decoding needs no counterpart: decimal reads those strings.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	places, ok := MinorUnits(s.Currency)
	if !ok {
		places = 2
	}
	f := func(d decimal.Decimal) string { return d.StringFixed(places) }
	b := func(x Breakdown) wireBreakdown {
		return wireBreakdown{f(x.Principal), f(x.Interest), f(x.Fee), f(x.Penalty), f(x.LateFee), f(x.Total)}
	}
	w := wireSnapshot{
		LoanID: s.LoanID, State: s.State, DaysPastDue: s.DaysPastDue, Bucket: s.Bucket, Stage: s.Stage,
		AsOf: s.AsOf, Currency: s.Currency, Overdue: b(s.Overdue), Outstanding: b(s.Outstanding),
		Credit: f(s.Credit), NextReminderAt: s.NextReminderAt, Paused: s.Paused, NoticesSent: s.NoticesSent,
		OptOuts:    s.OptOuts,
		ChargedOff: s.ChargedOff, ScheduleVersion: s.ScheduleVersion,
		Installments: make([]wireInstallment, 0, len(s.Installments)),
	}
	for _, in := range s.Installments {
		w.Installments = append(w.Installments, wireInstallment{in.Seq, in.DueDate, in.Status, in.DaysPastDue, b(in.Outstanding),
			f(in.PenaltyPosted), f(in.LateFeePosted)})
	}
	for _, a := range s.Applied {
		wa := wireAllocation{TxnID: a.TxnID, Amount: f(a.Amount), PaidAt: a.PaidAt, Credit: f(a.Credit)}
		for _, p := range a.Parts {
			wa.Parts = append(wa.Parts, wirePart{p.Seq, b(p.Paid)})
		}
		w.Applied = append(w.Applied, wa)
	}
	return json.Marshal(w)
}
