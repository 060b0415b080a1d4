package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"dunning/activities"
	"dunning/policy"
)

// pointsVersion gates what the throughput release changed (issue 9): a
// ladder point, or a repayment's confirmations, is one SendPoint activity
// that writes the audit rows decided before it and sends every channel's
// notice, instead of one SendNotice activity per channel plus AppendLedger
// and RecordSkipped/FinalizeNotice activities; and the run asks no other
// version at all.
//
// A loan takes it once, in the first run that asks (a new loan, or the next
// run of one started before), and keeps it in State.Points for life: its
// later runs read it from their input and record no version markers (each
// costs the history two events per run: the marker and the SDK's
// TemporalChangeVersion upsert). A run at points-1 behaves as every earlier
// gate at its newest version (hardening-1, delivery-1, actor-1,
// compliance-1, case-when-unreachable).
const pointsVersion = "points-1"

// initVersions decides the versions this run runs at. Runs recorded before
// pointsVersion replay exactly as they ran: the points marker is absent,
// GetVersion answers DefaultVersion and the older gates are asked as before.
func (l *loan) initVersions(ctx workflow.Context) {
	if l.st.Points < 1 && workflow.GetVersion(ctx, pointsVersion, workflow.DefaultVersion, 1) >= 1 {
		l.st.Points = 1
	}
	if l.points() {
		l.hv, l.dv, l.av = 1, 1, 1
		return
	}
	l.hv = workflow.GetVersion(ctx, hardeningVersion, workflow.DefaultVersion, 1)
	l.dv = workflow.GetVersion(ctx, deliveryVersion, workflow.DefaultVersion, 1)
	l.av = workflow.GetVersion(ctx, actorVersion, workflow.DefaultVersion, 1)
}

// points reports whether this loan runs at pointsVersion.
func (l *loan) points() bool { return l.st.Points >= 1 }

// pointOptions: like noticeOptions (retried for hours, never forever), on
// the points queue (PointQueue), whose rate is the slowest channel's. An
// attempt covers a provider call on each channel in parallel (30 s at most
// in every adapter) and the rows around them.
//
// A point is a regular activity, not a local one, although a local activity
// would cost the history one marker instead of three events and a workflow
// task: a local activity runs before its workflow task is committed, so when
// that task is lost (the worker stops, the task times out) the retried task
// runs it again with inputs computed at another workflow.Now, and a ledger
// row whose amount or time depends on the clock (a penalty posting, the
// loan_started row) would meet its own key holding other content. The e2e
// test TestWorkerRestartMidFlight found exactly that. An activity is
// scheduled only by a committed task, so its input is the one the history
// holds.
func pointOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              PointQueue(workflow.GetInfo(ctx).TaskQueueName),
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 6 * time.Hour,
		Summary:                summary,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
		},
	})
}

// noticeOutcome is what became of one notice of a point.
type noticeOutcome struct {
	status string
	optOut bool
	reason string
}

// sendBatch does one point in one SendPoint activity: the ledger rows and
// final notice rows queued so far, the skipped notices given, and the
// notices reqs. It returns one outcome per request. What the activity could
// not do stays queued, as flush would keep it: ledger rows refused for good
// stay in the outbox, final rows in Finals; a notice whose send failed is
// queued to be recorded failed (failNotice). Rows queued by handlers while
// the activity ran are kept for the next write.
func (l *loan) sendBatch(ctx workflow.Context, summary string, reqs []activities.NoticeRequest, skipped []activities.NoticeOutcome) []noticeOutcome {
	l.st.Finals = append(l.st.Finals, skipped...)
	ledger := l.st.Outbox
	finals := l.st.Finals
	in := activities.PointRequest{Ledger: ledger, Finals: finals, Notices: reqs}
	var res activities.PointResult
	err := workflow.ExecuteActivity(pointOptions(ctx, summary), acts.SendPoint, in).Get(ctx, &res)
	out := make([]noticeOutcome, len(reqs))
	if err != nil {
		workflow.GetLogger(ctx).Error("point failed", "point", summary, "error", err)
		for i, req := range reqs {
			out[i] = noticeOutcome{status: activities.StatusFailed}
			l.failNotice(req, err)
		}
		return out
	}
	// Ledger rows: keep those refused (all when the write failed for now),
	// then what handlers queued meanwhile.
	refused := map[string]bool{}
	for _, r := range res.Ledger.Rejected {
		refused[r.DedupeKey] = true
	}
	var keptRows []activities.LedgerEntry
	for _, e := range ledger {
		if refused[e.DedupeKey] || res.LedgerError != "" {
			keptRows = append(keptRows, e)
		}
	}
	l.st.Outbox = append(keptRows, l.st.Outbox[len(ledger):]...)
	// Final rows: keep those the store refused; learn what the table holds.
	var keptFinals []activities.NoticeOutcome
	for i, o := range finals {
		if i >= len(res.Finals) || res.Finals[i].Error != "" {
			keptFinals = append(keptFinals, o)
			continue
		}
		if r := res.Finals[i]; r.Status != o.Status {
			l.settle(o.Key, r.Status)
		}
	}
	l.st.Finals = append(keptFinals, l.st.Finals[len(finals):]...)
	for i, req := range reqs {
		if i >= len(res.Notices) || res.Notices[i].Error != "" {
			kind := "missing from the result"
			if i < len(res.Notices) {
				kind = res.Notices[i].Error
			}
			l.failNotice(req, errors.New(kind))
			out[i] = noticeOutcome{status: activities.StatusFailed}
			continue
		}
		r := res.Notices[i]
		out[i] = noticeOutcome{status: r.Status, optOut: r.OptOut, reason: r.Reason}
	}
	return out
}

// sendPointBatched is sendPoint at pointsVersion: the point's notices and
// skipped rows, and the ledger rows decided before it, in one activity.
func (l *loan) sendPointBatched(ctx workflow.Context, p policy.Point, snap policy.Snapshot) []policy.Channel {
	summary := pointSummary(p)
	cust := l.terms.Customer
	data := l.noticeData(snap, p.Seq)
	check := l.sendCheck(ctx)
	var reqs []activities.NoticeRequest
	for _, ch := range p.Channels {
		reqs = append(reqs, activities.NoticeRequest{
			Key: policy.NoticeKey(l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset, ch), LoanID: l.terms.LoanID,
			CustomerID: cust.ID, Channel: ch, Template: p.Template, Locale: cust.Locale, Recipient: recipient(cust, ch),
			Data: data, Check: check,
		})
	}
	var skipped []activities.NoticeOutcome
	for _, s := range p.Skipped {
		key := policy.NoticeKey(l.terms.LoanID, p.ScheduleVersion, p.Seq, p.Offset, s.Channel)
		skipped = append(skipped, activities.NoticeOutcome{
			Key: key, LoanID: l.terms.LoanID, CustomerID: cust.ID, Channel: s.Channel, Template: p.Template,
			Locale: cust.Locale, Recipient: recipient(cust, s.Channel), Status: activities.StatusSkipped, Reason: s.Reason,
		})
		l.st.Sent = append(l.st.Sent, l.sentNotice(ctx, p, key, s.Channel, activities.StatusSkipped))
	}
	var invalid []policy.Channel
	for i, o := range l.sendBatch(ctx, summary, reqs, skipped) {
		ch := reqs[i].Channel
		if o.optOut {
			l.optOut(ctx, ch, o.reason)
			invalid = append(invalid, ch)
		}
		if o.status == activities.StatusSent {
			l.st.NoticesSent++
		}
		l.st.Sent = append(l.st.Sent, l.sentNotice(ctx, p, reqs[i].Key, ch, o.status))
	}
	return invalid
}

// sendConfirmationBatched sends one repayment's confirmation on every
// channel that reaches the borrower (SMS, push) in one activity, with the
// repayment's ledger row.
func (l *loan) sendConfirmationBatched(ctx workflow.Context, c Confirmation, channels []policy.Channel, build func(policy.Channel) activities.NoticeRequest) {
	var reqs []activities.NoticeRequest
	for _, ch := range channels {
		reqs = append(reqs, build(ch))
	}
	for i, o := range l.sendBatch(ctx, c.Template, reqs, nil) {
		ch := reqs[i].Channel
		if o.optOut {
			l.optOut(ctx, ch, o.reason)
		}
		if o.status == activities.StatusSent {
			l.st.NoticesSent++
		}
		l.st.Sent = append(l.st.Sent, policy.SentNotice{Key: reqs[i].Key, Channel: ch, Template: c.Template,
			Status: o.status, At: workflow.Now(ctx), Confirmation: true})
	}
}

// pointDue reports whether a ladder point is due at now: the loop then
// sends it before anything else, and its SendPoint carries the audit rows
// queued so far.
func (l *loan) pointDue(now time.Time, snap policy.Snapshot) bool {
	if l.st.Closed || snap.State == policy.StatePaidOff || snap.Paused {
		return false
	}
	p, ok := policy.NextPointUnder(l.st.Rules.OrOriginal(), l.terms, l.pol, l.loc, snap, l.st.Sent, now)
	return ok && !p.At.After(now)
}
