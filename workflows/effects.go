package workflows

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// noticeOptions: a notice is retried for hours (a provider outage), never
// forever: after that it is recorded as failed and the ladder moves on.
func noticeOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 6 * time.Hour,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		},
	})
}

// ledgerOptions: the audit trail must not lose a row, so ledger and case
// activities retry until the database is back.
func ledgerOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		},
	})
}

// record queues a ledger row; flush appends the queue.
func (l *loan) record(ctx workflow.Context, kind string, amount *decimal.Decimal, detail map[string]any) {
	l.recordAt(kind, amount, detail, workflow.Now(ctx))
}

func (l *loan) recordAt(kind string, amount *decimal.Decimal, detail map[string]any, at time.Time) {
	l.st.LedgerSeq++
	e := activities.LedgerEntry{
		LoanID: l.terms.LoanID, Kind: kind, Amount: amount, Detail: detail, OccurredAt: at,
		DedupeKey: fmt.Sprintf("%s/%d", l.terms.LoanID, l.st.LedgerSeq),
	}
	if amount != nil {
		e.Currency = l.terms.Currency
	}
	l.st.Outbox = append(l.st.Outbox, e)
}

// flush appends the queued ledger rows in one activity.
func (l *loan) flush(ctx workflow.Context) {
	for len(l.st.Outbox) > 0 {
		batch := l.st.Outbox
		err := workflow.ExecuteActivity(ledgerOptions(ctx, fmt.Sprintf("ledger: %d row(s)", len(batch))),
			acts.AppendLedger, batch).Get(ctx, nil)
		if err != nil {
			workflow.GetLogger(ctx).Error("ledger append failed; will retry on next wake", "error", err)
			return
		}
		l.st.Outbox = l.st.Outbox[len(batch):]
	}
}

// recordCharges writes to the ledger the penalty and late fees posted since
// the last wake-up (negative when a back-dated repayment lowered them), and
// a stage change.
func (l *loan) recordCharges(ctx workflow.Context, snap policy.Snapshot) {
	for _, in := range snap.Installments {
		i := -1
		for j, p := range l.st.Posted {
			if p.Version == snap.ScheduleVersion && p.Seq == in.Seq {
				i = j
				break
			}
		}
		if i < 0 {
			l.st.Posted = append(l.st.Posted, Posted{Version: snap.ScheduleVersion, Seq: in.Seq})
			i = len(l.st.Posted) - 1
		}
		p := &l.st.Posted[i]
		if d := in.PenaltyPosted.Sub(p.Penalty); !d.IsZero() {
			l.record(ctx, store.KindPenaltyPosted, &d, map[string]any{"seq": in.Seq, "total": in.PenaltyPosted, "days_past_due": in.DaysPastDue})
			p.Penalty = in.PenaltyPosted
		}
		if d := in.LateFeePosted.Sub(p.LateFee); !d.IsZero() {
			l.record(ctx, store.KindLateFeeAssessed, &d, map[string]any{"seq": in.Seq, "total": in.LateFeePosted})
			p.LateFee = in.LateFeePosted
		}
	}
	if snap.Stage != l.st.LastStage {
		l.record(ctx, store.KindStageChanged, nil, map[string]any{"from": l.st.LastStage, "to": snap.Stage, "days_past_due": snap.DaysPastDue})
		l.st.LastStage = snap.Stage
	}
}

// sendPoint sends one ladder point: one notice per channel, in parallel,
// each at most once, then the point's action.
func (l *loan) sendPoint(ctx workflow.Context, p policy.Point, snap policy.Snapshot) {
	summary := pointSummary(p)
	cust := l.terms.Customer
	data := l.noticeData(snap, p.Seq)
	type pending struct {
		ch  policy.Channel
		key string
		f   workflow.Future
	}
	var fs []pending
	for _, ch := range p.Channels {
		key := policy.NoticeKey(l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset, ch)
		req := activities.NoticeRequest{
			Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: ch, Template: p.Template,
			Locale: cust.Locale, Recipient: recipient(cust, ch), Data: data,
		}
		fs = append(fs, pending{ch, key, workflow.ExecuteActivity(noticeOptions(ctx, summary+" "+string(ch)), acts.SendNotice, req)})
	}
	if len(p.Skipped) > 0 {
		var skips activities.SkipRequest
		for _, s := range p.Skipped {
			skips.Notices = append(skips.Notices, activities.SkippedNotice{
				Key:    policy.NoticeKey(l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset, s.Channel),
				LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: s.Channel, Template: p.Template,
				Locale: cust.Locale, Recipient: recipient(cust, s.Channel), Reason: s.Reason,
			})
		}
		if err := workflow.ExecuteActivity(ledgerOptions(ctx, summary+" skipped"), acts.RecordSkipped, skips).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("recording skipped notices failed", "error", err)
		}
		for _, s := range skips.Notices {
			l.st.Sent = append(l.st.Sent, l.sentNotice(ctx, p, s.Key, s.Channel, activities.StatusSkipped))
		}
	}
	for _, pf := range fs {
		var res activities.NoticeResult
		status := activities.StatusFailed
		if err := pf.f.Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Error("notice failed", "key", pf.key, "error", err)
		} else {
			status = res.Status
			if res.OptOut {
				l.optOut(ctx, pf.ch, res.Reason)
			}
		}
		if status == activities.StatusSent {
			l.st.NoticesSent++
		}
		l.st.Sent = append(l.st.Sent, l.sentNotice(ctx, p, pf.key, pf.ch, status))
	}
	switch p.Action {
	case policy.ActionOpenCase:
		l.openCase(ctx, snap, fmt.Sprintf("D+%d %s", p.Offset, p.Template), fmt.Sprintf("%s/%d/%d/%d/case", l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset))
	case policy.ActionChargeOff:
		if !l.st.ChargedOff {
			l.st.ChargedOff = true
			total := snap.Outstanding.Total
			l.record(ctx, store.KindChargedOff, &total, map[string]any{"days_past_due": snap.DaysPastDue, "seq": p.Seq})
		}
	}
	if !l.reachable() {
		l.openCase(ctx, snap, "no reachable channel left", l.terms.LoanID+"/unreachable")
	}
	l.trimSent(workflow.Now(ctx), snap)
	l.flush(ctx)
}

func (l *loan) sentNotice(ctx workflow.Context, p policy.Point, key string, ch policy.Channel, status string) policy.SentNotice {
	return policy.SentNotice{Key: key, ScheduleVersion: p.ScheduleVersion, Seq: p.Seq, Offset: p.Offset,
		Channel: ch, Template: p.Template, Status: status, At: workflow.Now(ctx)}
}

// trimSent keeps only what caps and catch-up still need: the last 8 days and
// every notice of an installment not yet paid.
func (l *loan) trimSent(now time.Time, snap policy.Snapshot) {
	cut := now.Add(-8 * 24 * time.Hour)
	paid := func(s policy.SentNotice) bool {
		if s.Confirmation || s.ScheduleVersion < snap.ScheduleVersion {
			return true
		}
		for _, in := range snap.Installments {
			if in.Seq == s.Seq {
				return in.Status == policy.StatusPaid
			}
		}
		return true
	}
	keep := l.st.Sent[:0]
	for _, s := range l.st.Sent {
		if s.At.After(cut) || !paid(s) {
			keep = append(keep, s)
		}
	}
	l.st.Sent = keep
}

// sendConfirmations answers repayments: payment_received or paid_off, by SMS
// (push too when the customer has the app), at once, outside the contact
// window too, never counted against caps.
func (l *loan) sendConfirmations(ctx workflow.Context) {
	for len(l.st.Pending) > 0 {
		c := l.st.Pending[0]
		now := workflow.Now(ctx)
		snap := l.snapshot(now)
		data := l.noticeData(snap, 0)
		data.Paid = c.Amount.StringFixed(places(l.terms.Currency))
		// What is still overdue after the payment ("0.00" drops the sentence).
		data.AmountDue = snap.Overdue.Total.StringFixed(places(l.terms.Currency))
		cust := l.terms.Customer
		for _, ch := range []policy.Channel{policy.SMS, policy.Push} {
			if !l.canUse(ch) {
				continue
			}
			key := policy.ConfirmationKey(l.terms.LoanID, c.TxnID, c.Template, ch)
			req := activities.NoticeRequest{Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: ch,
				Template: c.Template, Locale: cust.Locale, Recipient: recipient(cust, ch), Data: data, Confirmation: true}
			var res activities.NoticeResult
			status := activities.StatusFailed
			if err := workflow.ExecuteActivity(noticeOptions(ctx, c.Template+" "+string(ch)), acts.SendNotice, req).Get(ctx, &res); err != nil {
				workflow.GetLogger(ctx).Error("confirmation failed", "key", key, "error", err)
			} else {
				status = res.Status
				if res.OptOut {
					l.optOut(ctx, ch, res.Reason)
				}
			}
			if status == activities.StatusSent {
				l.st.NoticesSent++
			}
			l.st.Sent = append(l.st.Sent, policy.SentNotice{Key: key, Channel: ch, Template: c.Template,
				Status: status, At: workflow.Now(ctx), Confirmation: true})
		}
		l.st.Pending = l.st.Pending[1:]
	}
}

func (l *loan) canUse(ch policy.Channel) bool {
	c := l.terms.Customer
	for _, o := range c.OptOuts {
		if o == ch {
			return false
		}
	}
	return recipient(c, ch) != ""
}

func (l *loan) reachable() bool {
	for _, ch := range policy.AllChannels {
		if l.canUse(ch) {
			return true
		}
	}
	return false
}

// optOut stops a channel for good after the provider reported the address
// permanently invalid.
func (l *loan) optOut(ctx workflow.Context, ch policy.Channel, reason string) {
	if !l.canUse(ch) {
		return
	}
	l.terms.Customer.OptOuts = append(l.terms.Customer.OptOuts, ch)
	l.record(ctx, store.KindContactUpdated, nil, map[string]any{"opt_out": ch, "reason": reason})
}

func (l *loan) openCase(ctx workflow.Context, snap policy.Snapshot, reason, key string) {
	for _, k := range l.st.CasesOpened {
		if k == key {
			return
		}
	}
	req := activities.CaseRequest{LoanID: l.terms.LoanID, CustomerID: l.terms.Customer.ID, Reason: reason,
		DedupeKey: key, DaysPastDue: snap.DaysPastDue, OverdueTotal: snap.Overdue.Total,
		Currency: l.terms.Currency, OpenedAt: workflow.Now(ctx)}
	var res activities.CaseResult
	if err := workflow.ExecuteActivity(ledgerOptions(ctx, "open collections case: "+reason), acts.OpenCollectionsCase, req).Get(ctx, &res); err != nil {
		workflow.GetLogger(ctx).Error("open case failed", "error", err)
		return
	}
	l.st.CasesOpened = append(l.st.CasesOpened, key)
	total := snap.Overdue.Total
	l.record(ctx, store.KindCaseOpened, &total, map[string]any{"reason": reason, "case_id": res.CaseID, "days_past_due": snap.DaysPastDue})
}

func recipient(c policy.Customer, ch policy.Channel) string {
	switch ch {
	case policy.SMS:
		return c.Phone
	case policy.Email:
		return c.Email
	case policy.Push:
		return c.PushToken
	}
	return ""
}

func places(currency string) int32 {
	p, _ := policy.MinorUnits(currency)
	return p
}

// noticeData is what a template shows: for an overdue loan the overdue
// amounts (all overdue installments, coalesced); before the due date the
// driving installment's amounts.
func (l *loan) noticeData(snap policy.Snapshot, seq int) templates.Data {
	pl := places(l.terms.Currency)
	f := func(d decimal.Decimal) string { return d.StringFixed(pl) }
	b := snap.Overdue
	due := ""
	count := 0
	for _, in := range snap.Installments {
		if in.Status == policy.StatusOverdue {
			count++
			if due == "" {
				due = in.DueDate.String()
			}
		}
	}
	if count == 0 {
		for _, in := range snap.Installments {
			if in.Status != policy.StatusPaid && (seq == 0 || in.Seq == seq) {
				b, due, count = in.Outstanding, in.DueDate.String(), 1
				break
			}
		}
	}
	return templates.Data{
		CustomerName: l.terms.Customer.Name, LoanRef: templates.MaskLoanID(l.terms.LoanID),
		Currency: l.terms.Currency, DueDate: due, DaysOverdue: snap.DaysPastDue,
		AmountDue: f(b.Total), Principal: f(b.Principal), Interest: f(b.Interest), Fee: f(b.Fee),
		Penalty: f(b.Penalty), LateFee: f(b.LateFee), Outstanding: f(snap.Outstanding.Total),
		InstallmentCount: count,
	}
}
