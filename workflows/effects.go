package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// noticeOptions: a notice is retried for hours (a provider outage), never
// forever: after that it is recorded as failed and the ladder moves on. From
// deliveryVersion on it runs on its channel's task queue (ChannelQueue),
// where the worker applies the channel's rate limit.
func (l *loan) noticeOptions(ctx workflow.Context, summary string, ch policy.Channel) workflow.Context {
	opts := workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 6 * time.Hour,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		},
	}
	if l.dv >= 1 {
		opts.TaskQueue = ChannelQueue(workflow.GetInfo(ctx).TaskQueueName, ch)
	}
	return workflow.WithActivityOptions(ctx, opts)
}

// ledgerOptions: the audit trail must not lose a row, so ledger and case
// activities of runs started before hardeningVersion retry until the
// database is back.
func ledgerOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		Summary:             summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
		},
	})
}

// auditRetry is how soon a loan tries again to write audit rows, open cases
// or finalize notice rows that the last attempt could not.
const auditRetry = time.Hour

// auditOptions bound the audit activities (ledger, cases, notice rows): a
// database outage or a row the database refuses for good (a constraint, a
// ledger kind deployed before its migration) must not freeze the loan inside
// an activity that retries forever. What an attempt could not write stays in
// the loan's state, is retried every auditRetry and at every wake, and shows
// in the loan's current details and in the dunning_audit_stuck metrics.
func auditOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 10 * time.Minute,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
		},
	})
}

// record queues a ledger row with a key of this run (see recordKeyed).
func (l *loan) record(ctx workflow.Context, kind string, amount *decimal.Decimal, detail map[string]any) {
	l.recordKeyed(kind, "", amount, detail, workflow.Now(ctx))
}

// runKey is unique among this run's ledger rows that have nothing else
// unique: the run id and a counter. Replaying the run gives the same keys; a
// loan started again after a failed run, or a reset, gets new ones, so its
// rows are written rather than taken for retries.
func (l *loan) runKey() string {
	l.keySeq++
	return fmt.Sprintf("%s/%d", l.runID, l.keySeq)
}

// recordKeyed queues a ledger row; flush appends the queue. The row's dedupe
// key is derived from the event: "<loan>/<kind>/<natural>", natural being
// the txn id, the update id, the case key... or runKey when it is "". A
// retried append of the same row is a no-op; the same key with other content
// is refused by the store (and kept, see flush). Runs started before
// hardeningVersion keep their positional "<loan>/<n>" keys.
func (l *loan) recordKeyed(kind, natural string, amount *decimal.Decimal, detail map[string]any, at time.Time) {
	l.st.LedgerSeq++
	key := fmt.Sprintf("%s/%d", l.terms.LoanID, l.st.LedgerSeq)
	if l.hv >= 1 {
		if natural == "" {
			natural = l.runKey()
		}
		key = l.terms.LoanID + "/" + kind + "/" + natural
	}
	e := activities.LedgerEntry{
		LoanID: l.terms.LoanID, Kind: kind, Amount: amount, Detail: detail, OccurredAt: at, DedupeKey: key,
	}
	if amount != nil {
		e.Currency = l.terms.Currency
	}
	l.st.Outbox = append(l.st.Outbox, e)
}

// flush does the audit work decided so far: collections cases, final notice
// rows, then the ledger rows (cases add rows). What fails stays queued.
func (l *loan) flush(ctx workflow.Context) {
	if l.hv < 1 {
		l.flushOriginal(ctx)
		return
	}
	var problems []string
	if p := l.openPendingCases(ctx); p != "" {
		problems = append(problems, p)
	}
	if p := l.finalizeNotices(ctx); p != "" {
		problems = append(problems, p)
	}
	if p := l.appendLedger(ctx); p != "" {
		problems = append(problems, p)
	}
	l.audit = strings.Join(problems, "; ")
	stuck := len(l.st.Outbox) + len(l.st.Cases) + len(l.st.Finals)
	m := workflow.GetMetricsHandler(ctx)
	m.Gauge("dunning_audit_stuck_rows").Update(float64(stuck))
	if l.audit != "" {
		m.Counter("dunning_audit_stuck_total").Inc(1)
		workflow.GetLogger(ctx).Error("audit trail incomplete; kept in the loan's state and retried", "problems", l.audit)
	}
}

// auditPending reports whether audit work is still queued.
func (l *loan) auditPending() bool {
	return len(l.st.Outbox)+len(l.st.Cases)+len(l.st.Finals) > 0
}

// appendLedger appends the queued ledger rows, in batches, until none is new.
// Rows the store refused for good stay queued (in order) for a later flush;
// rows queued while the activity ran are appended in the next round.
func (l *loan) appendLedger(ctx workflow.Context) string {
	var kept []activities.LedgerEntry
	problem := ""
	for len(l.st.Outbox) > 0 {
		batch := l.st.Outbox
		var res activities.LedgerResult
		err := workflow.ExecuteActivity(auditOptions(ctx, fmt.Sprintf("ledger: %d row(s)", len(batch))),
			acts.AppendLedger, batch).Get(ctx, &res)
		if err != nil {
			l.st.Outbox = append(kept, l.st.Outbox...)
			return fmt.Sprintf("ledger: %d row(s) not written: %s", len(l.st.Outbox), errorKind(err))
		}
		refused := map[string]string{}
		for _, r := range res.Rejected {
			refused[r.DedupeKey] = r.Reason
		}
		for _, e := range batch {
			if reason, ok := refused[e.DedupeKey]; ok {
				kept = append(kept, e)
				problem = fmt.Sprintf("ledger: row %s refused: %s", e.DedupeKey, reason)
			}
		}
		l.st.Outbox = l.st.Outbox[len(batch):]
	}
	l.st.Outbox = kept
	if len(kept) > 1 {
		problem = fmt.Sprintf("ledger: %d rows refused, the last: %s", len(kept), problem)
	}
	return problem
}

// flushOriginal is flush as first released (runs before hardeningVersion).
func (l *loan) flushOriginal(ctx workflow.Context) {
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

// openPendingCases opens the queued collections cases, each once.
func (l *loan) openPendingCases(ctx workflow.Context) string {
	var kept []activities.CaseRequest
	problem := ""
	for len(l.st.Cases) > 0 {
		req := l.st.Cases[0]
		l.st.Cases = l.st.Cases[1:]
		var res activities.CaseResult
		if err := workflow.ExecuteActivity(auditOptions(ctx, "open collections case: "+req.Reason),
			acts.OpenCollectionsCase, req).Get(ctx, &res); err != nil {
			kept = append(kept, req)
			problem = fmt.Sprintf("case %s not opened: %s", req.DedupeKey, errorKind(err))
			continue
		}
		l.st.CasesOpened = append(l.st.CasesOpened, req.DedupeKey)
		total := req.OverdueTotal
		l.recordKeyed(store.KindCaseOpened, req.DedupeKey, &total, map[string]any{
			"reason": req.Reason, "case_id": res.CaseID, "days_past_due": req.DaysPastDue}, req.OpenedAt)
	}
	l.st.Cases = append(kept, l.st.Cases...)
	return problem
}

// finalizeNotices writes the final row of every notice whose send did not
// end with one (skipped by the plan, failed by timeout or error). If the row
// turns out to be final already (the provider took it and only the answer
// was lost), the loan learns that outcome.
func (l *loan) finalizeNotices(ctx workflow.Context) string {
	var kept []activities.NoticeOutcome
	problem := ""
	for len(l.st.Finals) > 0 {
		o := l.st.Finals[0]
		l.st.Finals = l.st.Finals[1:]
		var res activities.NoticeResult
		if err := workflow.ExecuteActivity(auditOptions(ctx, "notice "+o.Status+": "+o.Key),
			acts.FinalizeNotice, o).Get(ctx, &res); err != nil {
			kept = append(kept, o)
			problem = fmt.Sprintf("notice %s not recorded as %s: %s", o.Key, o.Status, errorKind(err))
			continue
		}
		if res.Status != o.Status {
			l.settle(o.Key, res.Status)
		}
	}
	l.st.Finals = append(kept, l.st.Finals...)
	return problem
}

// settle corrects the status the loan holds for notice key to what the
// audit table says happened.
func (l *loan) settle(key, status string) {
	for i := range l.st.Sent {
		if l.st.Sent[i].Key == key && l.st.Sent[i].Status != status {
			if status == activities.StatusSent {
				l.st.NoticesSent++
			}
			l.st.Sent[i].Status = status
		}
	}
}

// errorKind names what went wrong with an activity without its message,
// which may quote a provider's answer: timed out, or the error's type.
func errorKind(err error) string {
	var act *temporal.ActivityError
	if errors.As(err, &act) {
		switch act.RetryState() {
		case enumspb.RETRY_STATE_TIMEOUT:
			return "gave up: timed out after retries (last: " + errorKind(act.Unwrap()) + ")"
		case enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED:
			return "gave up after the last attempt (last: " + errorKind(act.Unwrap()) + ")"
		}
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timed out (" + strings.ToLower(strings.TrimPrefix(te.TimeoutType().String(), "TIMEOUT_TYPE_")) + ")"
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() != "" {
		return "failed: " + ae.Type()
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "canceled"
	}
	return "failed"
}

// failNotice queues the final failed row of a notice whose send activity
// ended in an error, so the table never keeps it pending.
func (l *loan) failNotice(req activities.NoticeRequest, err error) {
	if l.hv < 1 {
		return
	}
	l.st.Finals = append(l.st.Finals, activities.NoticeOutcome{
		Key: req.Key, LoanID: req.LoanID, CustomerID: req.CustomerID, Channel: req.Channel,
		Template: req.Template, Locale: req.Locale, Recipient: req.Recipient,
		Status: activities.StatusFailed, Reason: "send " + errorKind(err),
	})
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
		now := workflow.Now(ctx)
		if d := in.PenaltyPosted.Sub(p.Penalty); !d.IsZero() {
			l.recordKeyed(store.KindPenaltyPosted, l.installmentKey(snap.ScheduleVersion, in.Seq), &d,
				map[string]any{"seq": in.Seq, "total": in.PenaltyPosted, "days_past_due": in.DaysPastDue}, now)
			p.Penalty = in.PenaltyPosted
		}
		if d := in.LateFeePosted.Sub(p.LateFee); !d.IsZero() {
			l.recordKeyed(store.KindLateFeeAssessed, l.installmentKey(snap.ScheduleVersion, in.Seq), &d,
				map[string]any{"seq": in.Seq, "total": in.LateFeePosted}, now)
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
	var invalid []policy.Channel
	if l.points() {
		invalid = l.sendPointBatched(ctx, p, snap)
	} else {
		invalid = l.sendPointEach(ctx, p, snap)
	}
	if l.dv >= 1 {
		// The point's notice goes out once more on a fallback channel for
		// each channel whose address turned out invalid.
		used := slices.Clone(p.Channels)
		for _, sk := range p.Skipped {
			used = append(used, sk.Channel)
		}
		for _, ch := range invalid {
			l.fallback(ctx, Fallback{ScheduleVersion: p.ScheduleVersion, Seq: p.Seq, Offset: p.Offset, Template: p.Template, Failed: ch}, &used, snap)
		}
	}
	switch p.Action {
	case policy.ActionOpenCase:
		l.openCase(ctx, snap, fmt.Sprintf("D+%d %s", p.Offset, p.Template), fmt.Sprintf("%s/%d/%d/%d/case", l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset))
	case policy.ActionChargeOff:
		if !l.st.ChargedOff {
			l.st.ChargedOff = true
			total := snap.Outstanding.Total
			l.recordKeyed(store.KindChargedOff, fmt.Sprintf("v%d", p.ScheduleVersion), &total,
				map[string]any{"days_past_due": snap.DaysPastDue, "seq": p.Seq}, workflow.Now(ctx))
		}
	}
	if !l.reachable() {
		l.openCase(ctx, snap, "no reachable channel left", l.terms.LoanID+"/unreachable")
	}
	l.trimSent(workflow.Now(ctx), snap)
	l.flush(ctx)
}

// sendPointEach sends a point's notices as runs before pointsVersion do: one
// SendNotice activity per channel, in parallel, and the skipped ones through
// Finals (or RecordSkipped before hardeningVersion). It returns the channels
// whose address the provider reported invalid.
func (l *loan) sendPointEach(ctx workflow.Context, p policy.Point, snap policy.Snapshot) []policy.Channel {
	summary := pointSummary(p)
	cust := l.terms.Customer
	data := l.noticeData(snap, p.Seq)
	type pending struct {
		ch  policy.Channel
		req activities.NoticeRequest
		f   workflow.Future
	}
	var fs []pending
	for _, ch := range p.Channels {
		key := policy.NoticeKey(l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset, ch)
		req := activities.NoticeRequest{
			Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: ch, Template: p.Template,
			Locale: cust.Locale, Recipient: recipient(cust, ch), Data: data, Check: l.sendCheck(ctx),
		}
		fs = append(fs, pending{ch, req, workflow.ExecuteActivity(l.noticeOptions(ctx, summary+" "+string(ch), ch), acts.SendNotice, req)})
	}
	if len(p.Skipped) > 0 && l.hv >= 1 {
		for _, s := range p.Skipped {
			key := policy.NoticeKey(l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset, s.Channel)
			l.st.Finals = append(l.st.Finals, activities.NoticeOutcome{
				Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: s.Channel, Template: p.Template,
				Locale: cust.Locale, Recipient: recipient(cust, s.Channel), Status: activities.StatusSkipped, Reason: s.Reason,
			})
			l.st.Sent = append(l.st.Sent, l.sentNotice(ctx, p, key, s.Channel, activities.StatusSkipped))
		}
	} else if len(p.Skipped) > 0 {
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
	var invalid []policy.Channel
	for _, pf := range fs {
		var res activities.NoticeResult
		status := activities.StatusFailed
		if err := pf.f.Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Error("notice failed", "key", pf.req.Key, "error", err)
			l.failNotice(pf.req, err)
		} else {
			status = res.Status
			if res.OptOut {
				l.optOut(ctx, pf.ch, res.Reason)
				invalid = append(invalid, pf.ch)
			}
		}
		if status == activities.StatusSent {
			l.st.NoticesSent++
		}
		l.st.Sent = append(l.st.Sent, l.sentNotice(ctx, p, pf.req.Key, pf.ch, status))
	}
	return invalid
}

// fallback sends the notice of point fb, whose address on fb.Failed is
// invalid, once on the first of the policy's fallback channels for it that
// reaches the customer and is not in used (the point's channels, skipped
// ones, and fallbacks already taken). A fallback whose address is invalid too
// passes on to the next one.
func (l *loan) fallback(ctx workflow.Context, fb Fallback, used *[]policy.Channel, snap policy.Snapshot) {
	cust := l.terms.Customer
	for _, ch := range l.pol.Fallback.For(fb.Failed) {
		if slices.Contains(*used, ch) || !l.canUse(ch) || l.attempted(fb, ch) {
			continue
		}
		*used = append(*used, ch)
		key := policy.NoticeKey(l.terms.LoanID, fb.ScheduleVersion, fb.Seq, fb.Offset, ch)
		req := activities.NoticeRequest{Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: ch,
			Template: fb.Template, Locale: cust.Locale, Recipient: recipient(cust, ch), Data: l.noticeData(snap, fb.Seq),
			Check: l.sendCheck(ctx)}
		summary := fmt.Sprintf("D%+d %s fallback %s → %s", fb.Offset, fb.Template, fb.Failed, ch)
		workflow.GetMetricsHandler(ctx).WithTags(map[string]string{"from": string(fb.Failed), "to": string(ch)}).
			Counter("dunning_fallbacks_total").Inc(1)
		var res activities.NoticeResult
		status := activities.StatusFailed
		if err := workflow.ExecuteActivity(l.noticeOptions(ctx, summary, ch), acts.SendNotice, req).Get(ctx, &res); err != nil {
			workflow.GetLogger(ctx).Error("fallback notice failed", "key", key, "error", err)
			l.failNotice(req, err)
		} else {
			status = res.Status
		}
		if status == activities.StatusSent {
			l.st.NoticesSent++
		}
		l.st.Sent = append(l.st.Sent, policy.SentNotice{Key: key, ScheduleVersion: fb.ScheduleVersion, Seq: fb.Seq,
			Offset: fb.Offset, Channel: ch, Template: fb.Template, Status: status, At: workflow.Now(ctx)})
		if res.OptOut {
			l.optOut(ctx, ch, res.Reason)
			continue // invalid too: the next fallback
		}
		return
	}
}

// attempted reports whether point fb's notice was attempted on ch.
func (l *loan) attempted(fb Fallback, ch policy.Channel) bool {
	return slices.ContainsFunc(l.st.Sent, func(n policy.SentNotice) bool {
		return !n.Confirmation && n.ScheduleVersion == fb.ScheduleVersion && n.Seq == fb.Seq && n.Offset == fb.Offset && n.Channel == ch
	})
}

// sendFallbacks sends the fallbacks that delivery receipts queued.
func (l *loan) sendFallbacks(ctx workflow.Context, snap policy.Snapshot) {
	for len(l.st.Fallbacks) > 0 {
		fb := l.st.Fallbacks[0]
		l.st.Fallbacks = l.st.Fallbacks[1:]
		var used []policy.Channel
		for _, n := range l.st.Sent {
			if !n.Confirmation && n.ScheduleVersion == fb.ScheduleVersion && n.Seq == fb.Seq && n.Offset == fb.Offset {
				used = append(used, n.Channel)
			}
		}
		l.fallback(ctx, fb, &used, snap)
	}
}

func (l *loan) sentNotice(ctx workflow.Context, p policy.Point, key string, ch policy.Channel, status string) policy.SentNotice {
	return policy.SentNotice{Key: key, ScheduleVersion: p.ScheduleVersion, Seq: p.Seq, Offset: p.Offset,
		Channel: ch, Template: p.Template, Status: status, At: workflow.Now(ctx)}
}

// trimSent keeps only what caps and catch-up still need: the caps' window
// plus a day, and every notice of an installment not yet paid.
func (l *loan) trimSent(now time.Time, snap policy.Snapshot) {
	cut := now.Add(-(policy.CapWindowDays + 1) * 24 * time.Hour)
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
		if l.points() {
			var chans []policy.Channel
			for _, ch := range []policy.Channel{policy.SMS, policy.Push} {
				if l.canUse(ch) {
					chans = append(chans, ch)
				}
			}
			check := l.sendCheck(ctx)
			l.sendConfirmationBatched(ctx, c, chans, func(ch policy.Channel) activities.NoticeRequest {
				return activities.NoticeRequest{Key: policy.ConfirmationKey(l.terms.LoanID, c.TxnID, c.Template, ch),
					LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: ch, Template: c.Template, Locale: cust.Locale,
					Recipient: recipient(cust, ch), Data: data, Confirmation: true, Check: check}
			})
			l.st.Pending = l.st.Pending[1:]
			continue
		}
		for _, ch := range []policy.Channel{policy.SMS, policy.Push} {
			if !l.canUse(ch) {
				continue
			}
			key := policy.ConfirmationKey(l.terms.LoanID, c.TxnID, c.Template, ch)
			req := activities.NoticeRequest{Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: ch,
				Template: c.Template, Locale: cust.Locale, Recipient: recipient(cust, ch), Data: data, Confirmation: true,
				Check: l.sendCheck(ctx)}
			var res activities.NoticeResult
			status := activities.StatusFailed
			if err := workflow.ExecuteActivity(l.noticeOptions(ctx, c.Template+" "+string(ch), ch), acts.SendNotice, req).Get(ctx, &res); err != nil {
				workflow.GetLogger(ctx).Error("confirmation failed", "key", key, "error", err)
				l.failNotice(req, err)
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

func (l *loan) canUse(ch policy.Channel) bool { return l.terms.Customer.CanUse(ch) }

func (l *loan) reachable() bool { return len(l.terms.Customer.Reachable()) > 0 }

// optOut stops a channel for good after the provider reported the address
// permanently invalid.
func (l *loan) optOut(ctx workflow.Context, ch policy.Channel, reason string) {
	if !l.canUse(ch) {
		return
	}
	l.terms.Customer.OptOuts = append(l.terms.Customer.OptOuts, ch)
	l.record(ctx, store.KindContactUpdated, nil, map[string]any{"opt_out": ch, "reason": reason})
}

// installmentKey is the natural part of a charge's ledger key: the schedule
// version and installment it was posted to, then this run's runKey.
func (l *loan) installmentKey(version, seq int) string {
	if l.hv < 1 {
		return ""
	}
	return fmt.Sprintf("v%d/s%d/%s", version, seq, l.runKey())
}

// openCase hands the loan to collectors once per key. From hardeningVersion
// on the case is queued and opened by flush, so a database outage delays it
// rather than losing it.
func (l *loan) openCase(ctx workflow.Context, snap policy.Snapshot, reason, key string) {
	for _, k := range l.st.CasesOpened {
		if k == key {
			return
		}
	}
	req := activities.CaseRequest{LoanID: l.terms.LoanID, CustomerID: l.terms.Customer.ID, Reason: reason,
		DedupeKey: key, DaysPastDue: snap.DaysPastDue, OverdueTotal: snap.Overdue.Total,
		Currency: l.terms.Currency, OpenedAt: workflow.Now(ctx)}
	if l.hv >= 1 {
		for _, c := range l.st.Cases {
			if c.DedupeKey == key {
				return
			}
		}
		l.st.Cases = append(l.st.Cases, req)
		return
	}
	var res activities.CaseResult
	if err := workflow.ExecuteActivity(ledgerOptions(ctx, "open collections case: "+reason), acts.OpenCollectionsCase, req).Get(ctx, &res); err != nil {
		workflow.GetLogger(ctx).Error("open case failed", "error", err)
		return
	}
	l.st.CasesOpened = append(l.st.CasesOpened, key)
	total := snap.Overdue.Total
	l.record(ctx, store.KindCaseOpened, &total, map[string]any{"reason": reason, "case_id": res.CaseID, "days_past_due": snap.DaysPastDue})
}

func recipient(c policy.Customer, ch policy.Channel) string { return c.Address(ch) }

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
