// Package chaos is `make chaos` (issue 9): a burst of notices through the
// real worker, its real Twilio and FCM adapters pointed at a mock provider
// that refuses and hangs on some calls, while the worker is killed, the
// Temporal dev server and PostgreSQL restart; then it checks that every
// planned notice was recorded exactly once, that the provider took exactly
// the messages the notices table says were sent, and that every loan's
// balance and ledger agree with a fresh policy snapshot of its repayments.
//
// check.go is the pure part (rows and mock records in, counts out); run.go
// drives the processes and faults.
package chaos

import (
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"dunning/policy"
)

// Row is one notices row, as the check reads it.
type Row struct {
	Key, Status, Provider, MessageID string
}

// Message is one message the mock provider took, resolved to the
// idempotency key of its notice ("" when it matches no known notice).
type Message struct {
	Key, Provider, MessageID string
}

// NoticeReport counts what the notices table and the provider say.
type NoticeReport struct {
	Planned, Rows int
	// Sent counts the rows sent or delivered; Failed and Skipped the others
	// that are final without a message.
	Sent, Failed, Skipped int
	// UnknownAccepted are unknown rows whose message the provider took (its
	// answer was lost: a hang, a worker killed between the call and the
	// row); UnknownNotAccepted are unknown rows whose call the provider
	// refused (a Twilio 500 without Retry-After leaves the outcome unknown
	// by design, DESIGN.md §11). Both are allowed: nothing is sent twice.
	UnknownAccepted, UnknownNotAccepted int
	// Accepted is the number of distinct notices the provider took.
	Accepted int
	// Duplicates are the extra messages the provider took for one notice.
	Duplicates int
	// Lost are planned notices without a final row (none, or pending) and
	// sent rows whose message the provider never took.
	Lost int
	// Mismatched are sent rows whose message id is not one the provider
	// gave for the key, messages taken for a notice recorded failed or
	// skipped (or not recorded), and rows or messages no plan explains.
	Mismatched int
	// Problems names the first problems found, for the log.
	Problems []string
}

// maxProblems bounds NoticeReport.Problems and the problems of a loan.
const maxProblems = 20

func (r *NoticeReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Notice status values as the notices table holds them.
const (
	statusPending     = "pending"
	statusSent        = "sent"
	statusDelivered   = "delivered"
	statusUndelivered = "undelivered"
	statusUnknown     = "unknown"
	statusFailed      = "failed"
	statusSkipped     = "skipped"
)

// CheckNotices compares the planned keys, the notices rows and the messages
// the provider took.
func CheckNotices(planned []string, rows []Row, taken []Message) NoticeReport {
	rep := NoticeReport{Planned: len(planned), Rows: len(rows)}
	byKey := make(map[string]Row, len(rows))
	for _, r := range rows {
		byKey[r.Key] = r
	}
	ids := map[string][]string{}
	for _, m := range taken {
		if m.Key == "" {
			rep.Mismatched++
			rep.problem("%s message %s matches no notice", m.Provider, m.MessageID)
			continue
		}
		ids[m.Key] = append(ids[m.Key], m.MessageID)
	}
	isPlanned := make(map[string]bool, len(planned))
	for _, k := range planned {
		isPlanned[k] = true
	}
	for _, r := range rows {
		if !isPlanned[r.Key] {
			rep.Mismatched++
			rep.problem("row %s (%s) was not planned", r.Key, r.Status)
		}
	}
	for key, got := range ids {
		if len(got) > 1 {
			rep.Duplicates += len(got) - 1
			rep.problem("%s: the provider took %d messages %v", key, len(got), got)
		}
		if !isPlanned[key] {
			rep.Mismatched++
			rep.problem("%s: the provider took a message for a notice not planned", key)
		}
	}
	rep.Accepted = len(ids)

	for _, key := range planned {
		r, ok := byKey[key]
		got := ids[key]
		switch {
		case !ok:
			rep.Lost++
			rep.problem("%s: no row", key)
		case r.Status == statusPending:
			rep.Lost++
			rep.problem("%s: still pending", key)
		case r.Status == statusSent || r.Status == statusDelivered || r.Status == statusUndelivered:
			rep.Sent++
			if len(got) == 0 {
				rep.Lost++
				rep.problem("%s: recorded %s (%s %s) but the provider took no message", key, r.Status, r.Provider, r.MessageID)
			} else if !slices.Contains(got, r.MessageID) {
				rep.Mismatched++
				rep.problem("%s: recorded message id %q, the provider gave %v", key, r.MessageID, got)
			}
		case r.Status == statusUnknown:
			if len(got) > 0 {
				rep.UnknownAccepted++
			} else {
				rep.UnknownNotAccepted++
			}
		case r.Status == statusFailed || r.Status == statusSkipped:
			if r.Status == statusFailed {
				rep.Failed++
			} else {
				rep.Skipped++
			}
			if len(got) > 0 {
				rep.Mismatched++
				rep.problem("%s: recorded %s but the provider took %v", key, r.Status, got)
			}
		default:
			rep.Mismatched++
			rep.problem("%s: status %q", key, r.Status)
		}
	}
	return rep
}

// LedgerRow is one ledger row of a loan as the check reads it: its kind and
// amount (zero when the row has none).
type LedgerRow struct {
	Kind   string
	Amount decimal.Decimal
}

// Ledger kinds that carry money (DESIGN.md §7).
const (
	kindRepayment = "repayment_applied"
	kindPenalty   = "penalty_posted"
	kindLateFee   = "late_fee_assessed"
)

// CheckLoan compares the balance the workflow answers (got, its status query
// at asOf) with a fresh policy snapshot of the loan and the repayments the
// driver made, and the loan's ledger with that snapshot: the repayments sum
// to what was paid, penalty and late-fee rows to what the installments
// report posted, and what was ever owed less what was paid to the balance
// less the credit. It returns the problems, none when all agree.
func CheckLoan(l policy.Loan, p policy.Policy, reps []policy.Repayment, asOf time.Time, got policy.Snapshot, ledger []LedgerRow) []string {
	want, err := policy.SnapshotAt(l, p, policy.History{Repayments: reps}, asOf)
	if err != nil {
		return []string{"policy snapshot: " + err.Error()}
	}
	var out []string
	bad := func(format string, args ...any) {
		if len(out) < maxProblems {
			out = append(out, fmt.Sprintf(format, args...))
		}
	}
	if got.State != want.State {
		bad("state %s, policy says %s", got.State, want.State)
	}
	if got.DaysPastDue != want.DaysPastDue {
		bad("dpd %d, policy says %d", got.DaysPastDue, want.DaysPastDue)
	}
	cmpBreakdown := func(what string, g, w policy.Breakdown) {
		for _, f := range []struct {
			name string
			g, w decimal.Decimal
		}{{"principal", g.Principal, w.Principal}, {"interest", g.Interest, w.Interest}, {"fee", g.Fee, w.Fee},
			{"penalty", g.Penalty, w.Penalty}, {"late_fee", g.LateFee, w.LateFee}, {"total", g.Total, w.Total}} {
			if !f.g.Equal(f.w) {
				bad("%s %s %s, policy says %s", what, f.name, f.g, f.w)
			}
		}
	}
	cmpBreakdown("outstanding", got.Outstanding, want.Outstanding)
	cmpBreakdown("overdue", got.Overdue, want.Overdue)
	if !got.Credit.Equal(want.Credit) {
		bad("credit %s, policy says %s", got.Credit, want.Credit)
	}
	if len(got.Applied) != len(want.Applied) {
		bad("%d repayments applied, policy applies %d", len(got.Applied), len(want.Applied))
	}
	if len(got.Installments) != len(want.Installments) {
		bad("%d installments, policy has %d", len(got.Installments), len(want.Installments))
	} else {
		for i, w := range want.Installments {
			g := got.Installments[i]
			if !g.PenaltyPosted.Equal(w.PenaltyPosted) || !g.LateFeePosted.Equal(w.LateFeePosted) {
				bad("installment %d posted penalty %s late fee %s, policy says %s and %s",
					w.Seq, g.PenaltyPosted, g.LateFeePosted, w.PenaltyPosted, w.LateFeePosted)
			}
		}
	}

	sums := map[string]decimal.Decimal{}
	for _, r := range ledger {
		sums[r.Kind] = sums[r.Kind].Add(r.Amount)
	}
	var paid, penalty, lateFee, owed decimal.Decimal
	for _, a := range want.Applied {
		paid = paid.Add(a.Amount)
	}
	for _, in := range want.Installments {
		penalty, lateFee = penalty.Add(in.PenaltyPosted), lateFee.Add(in.LateFeePosted)
	}
	for _, in := range l.Installments {
		owed = owed.Add(in.Principal).Add(in.Interest).Add(in.Fee)
	}
	if !sums[kindRepayment].Equal(paid) {
		bad("ledger repayments sum to %s, paid %s", sums[kindRepayment], paid)
	}
	if !sums[kindPenalty].Equal(penalty) {
		bad("ledger penalties sum to %s, posted %s", sums[kindPenalty], penalty)
	}
	if !sums[kindLateFee].Equal(lateFee) {
		bad("ledger late fees sum to %s, posted %s", sums[kindLateFee], lateFee)
	}
	balance := owed.Add(sums[kindPenalty]).Add(sums[kindLateFee]).Sub(sums[kindRepayment])
	if !balance.Equal(want.Outstanding.Total.Sub(want.Credit)) {
		bad("ledger sums to a balance of %s (owed %s + penalties %s + late fees %s - repaid %s), the snapshot's is %s - credit %s",
			balance, owed, sums[kindPenalty], sums[kindLateFee], sums[kindRepayment], want.Outstanding.Total, want.Credit)
	}
	return out
}
