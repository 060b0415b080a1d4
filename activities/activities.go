package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// Store is what the activities need of the audit store.
type Store interface {
	ReserveNotice(ctx context.Context, n store.Notice) (store.Notice, bool, error)
	ReserveNoticeChecked(ctx context.Context, n store.Notice, c policy.SendCheck) (store.Notice, bool, error)
	MarkProviderCalled(ctx context.Context, key string, called bool) error
	CompleteNotice(ctx context.Context, key, status, reason, provider, providerMessageID string, sentAt time.Time) error
	RecordSkipped(ctx context.Context, n store.Notice) (store.Notice, error)
	FinalizeNotice(ctx context.Context, n store.Notice) (store.Notice, bool, error)
	AppendLedger(ctx context.Context, e store.LedgerEntry) (bool, error)
	OpenCase(ctx context.Context, c store.Case) (store.Case, bool, error)
}

// Senders finds the sender for a channel.
type Senders interface {
	For(ch string) (channels.Sender, error)
}

// Brand is what every notice signs with: the lender's name, hotline and
// where to repay. It comes from the environment, not from the loan.
type Brand struct {
	Name     string
	Hotline  string
	RepayURL string
}

// Activities are the loan workflow's side effects.
type Activities struct {
	Store     Store
	Senders   Senders
	Templates *templates.Renderer
	Brand     Brand
	Log       *slog.Logger
	// Metrics counts notices by outcome and opt-outs (the worker's
	// metrics.Recorder); nil counts nothing.
	Metrics Recorder
}

// Recorder is what the activities count (metrics.Recorder has it).
type Recorder interface {
	Notice(channel, template, status string)
	OptOut(channel, source string)
}

// count records the outcome of a notice that ended here.
func (a *Activities) count(req NoticeRequest, res NoticeResult, err error) {
	if a.Metrics == nil || err != nil {
		return
	}
	a.Metrics.Notice(string(req.Channel), req.Template, res.Status)
	if res.OptOut {
		a.Metrics.OptOut(string(req.Channel), "invalid_recipient")
	}
}

// Error types the workflow and Temporal's retry policy branch on.
const (
	// ErrTypeAuditRejected: the audit store refused the data for good (a
	// constraint violation, invalid data, a ledger dedupe key holding other
	// content; store.IsPermanent). Non-retryable: the same call fails the
	// same way until the data or the schema changes. Every activity returns
	// it for such a store error; AppendLedger instead lists the entry in
	// LedgerResult.Rejected.
	ErrTypeAuditRejected = "AuditRejected"
	// ErrTypeRender was SendNotice's error for a notice that cannot be
	// rendered; it now records such a notice as failed instead. Histories
	// recorded before may hold it.
	ErrTypeRender = "RenderFailed"
	// ErrTypeInput was AppendLedger's error for an entry whose detail cannot
	// be encoded; it now lists such an entry in LedgerResult.Rejected.
	// Histories recorded before may hold it.
	ErrTypeInput = "InvalidInput"
)

// storeError wraps err, returned by the store while doing what: a
// non-retryable ErrTypeAuditRejected error when the store refused the data
// for good, else a plain error that Temporal retries (connection lost,
// timeout, serialization failure).
func storeError(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	if store.IsPermanent(err) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeAuditRejected, err)
	}
	return err
}

// SendNotice renders a notice, reserves its idempotency key in the notices
// table, hands it to the channel's provider and records the outcome.
//
// Exactly once: a retry finds the key reserved. If the row is final it
// returns that outcome without calling the provider. If the row is still
// pending, an earlier attempt died between reserving and completing: the
// provider is called again with the same idempotency key, which a provider
// adapter must pass on to the provider's own deduplication (the dev sink
// dedupes by key), so a message the provider already accepted is not sent
// twice.
//
// Compliance is checked twice. The workflow plans a notice only inside the
// contact window, under the caps and not to an opted-out channel; with
// req.Check set the reservation checks it again, in the same transaction,
// against the audit store (store.ReserveNoticeChecked): an open opt-out of
// the address, the window at the moment of sending, the caps counted over
// every loan's notices to the address. A notice that check stops is recorded
// skipped with its reason (opted_out, no_address, window, cap_day,
// cap_7_days), and that outcome is returned without calling the provider; a
// pending one an earlier attempt had handed to its provider ends unknown.
// So a retry hours later, a stale plan, two loans of one borrower or two
// workers cannot break the rules.
//
// A notice that cannot be rendered (no template for its locale, data
// missing, data that is not UTF-8) is recorded as failed with reason "render: <error>" and that
// outcome returned: retrying cannot render it, and the audit keeps one row
// per planned notice. A store error is retried, unless the store refused the
// data for good (ErrTypeAuditRejected).
func (a *Activities) SendNotice(ctx context.Context, req NoticeRequest) (res NoticeResult, err error) {
	defer func() { a.count(req, res, err) }()
	log := a.logger(ctx)
	data := req.Data
	data.Brand, data.Hotline, data.RepayURL = a.Brand.Name, a.Brand.Hotline, a.Brand.RepayURL
	msg, err := a.Templates.Render(req.Locale, string(req.Channel), req.Template, data)
	if err != nil {
		return a.renderFailed(ctx, req, err)
	}
	// Find the sender before reserving: a channel with no sender wired is a
	// configuration error that a redeployed worker fixes, so it is retried
	// and leaves no row stuck in pending.
	sender, err := a.Senders.For(string(req.Channel))
	if err != nil {
		return NoticeResult{}, fmt.Errorf("no sender for %s (configuration): %w", req.Channel, err)
	}
	n := a.noticeRow(ctx, req, msg)
	row, reserved, err := a.reserve(ctx, req, n)
	if err != nil {
		return NoticeResult{}, storeError("reserve notice "+req.Key, err)
	}
	if !reserved && row.Status != store.NoticePending {
		log.Info("notice already recorded", "key", req.Key, "status", row.Status, "reason", row.Reason)
		return resultOf(row), nil
	}
	if row.ProviderCalledAt != nil && !channels.Deduplicates(sender) {
		// An earlier attempt handed the notice to a provider that cannot
		// deduplicate, and its answer was lost: sending again could reach
		// the borrower twice. The receipt settles it; the next rung
		// catches a notice that was really lost.
		reason := "outcome unknown: an earlier attempt reached the provider and its answer was lost"
		if err := a.Store.CompleteNotice(ctx, req.Key, StatusUnknown, reason, "", "", time.Time{}); err != nil {
			return NoticeResult{}, storeError("complete notice "+req.Key, err)
		}
		log.Warn("notice outcome unknown; not sent again", "key", req.Key, "to", channels.MaskRecipient(string(req.Channel), req.Recipient))
		return NoticeResult{Status: StatusUnknown, Reason: reason}, nil
	}
	if err := a.Store.MarkProviderCalled(ctx, req.Key, true); err != nil {
		return NoticeResult{}, storeError("mark notice "+req.Key, err)
	}
	receipt, err := sender.Send(ctx, channels.Message{
		IdempotencyKey: req.Key, Channel: string(req.Channel), To: req.Recipient, Locale: req.Locale, Template: req.Template,
		Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, Title: msg.Title, Body: msg.Body, Params: data.Params(),
	})
	if err != nil {
		if !channels.IsPermanent(err) {
			if channels.IsNotAccepted(err) {
				// The provider surely does not have it: a retry may send.
				if err := a.Store.MarkProviderCalled(ctx, req.Key, false); err != nil {
					return NoticeResult{}, storeError("mark notice "+req.Key, err)
				}
			}
			err = fmt.Errorf("send %s via %s: %w", req.Key, req.Channel, err)
			if d := channels.RetryDelay(err); d > 0 {
				// The provider said when: no sooner (HTTP 429, Retry-After).
				return NoticeResult{}, temporal.NewApplicationErrorWithOptions(err.Error(), "ProviderBusy",
					temporal.ApplicationErrorOptions{NextRetryDelay: d, Cause: err})
			}
			return NoticeResult{}, err
		}
		res := NoticeResult{Status: StatusFailed, Reason: "permanent: " + err.Error(), SentAt: time.Now()}
		if errors.Is(err, channels.ErrInvalidRecipient) {
			res.Reason, res.OptOut = "invalid_recipient", true
		}
		if err := a.Store.CompleteNotice(ctx, req.Key, StatusFailed, res.Reason, "", "", res.SentAt); err != nil {
			return NoticeResult{}, storeError("complete notice "+req.Key, err)
		}
		log.Warn("notice failed permanently", "key", req.Key, "to", channels.MaskRecipient(string(req.Channel), req.Recipient), "reason", res.Reason)
		return res, nil
	}
	if err := a.Store.CompleteNotice(ctx, req.Key, StatusSent, "", receipt.Provider, receipt.MessageID, receipt.AcceptedAt); err != nil {
		return NoticeResult{}, storeError("complete notice "+req.Key, err)
	}
	log.Info("notice sent", "key", req.Key, "channel", req.Channel, "template", req.Template,
		"to", channels.MaskRecipient(string(req.Channel), req.Recipient), "provider", receipt.Provider)
	return NoticeResult{Status: StatusSent, Provider: receipt.Provider, MessageID: receipt.MessageID, SentAt: receipt.AcceptedAt}, nil
}

// reserve reserves req's key as pending: checked again against the audit
// store when the workflow sent a check, else as before it did.
func (a *Activities) reserve(ctx context.Context, req NoticeRequest, n store.Notice) (store.Notice, bool, error) {
	if req.Check == nil {
		return a.Store.ReserveNotice(ctx, n)
	}
	return a.Store.ReserveNoticeChecked(ctx, n, *req.Check)
}

// renderFailed records the notice req, which cannot be rendered, as failed
// with reason "render: <renderErr>" and returns the stored outcome. A key
// already final (sent by an attempt before a deploy broke the template) keeps
// its outcome, and that is returned.
func (a *Activities) renderFailed(ctx context.Context, req NoticeRequest, renderErr error) (NoticeResult, error) {
	n := a.noticeRow(ctx, req, templates.Message{})
	n.Status, n.Reason = StatusFailed, "render: "+renderErr.Error()
	row, finalized, err := a.Store.FinalizeNotice(ctx, n)
	if err != nil {
		return NoticeResult{}, storeError("record unrenderable notice "+req.Key, err)
	}
	a.logger(ctx).Warn("notice not rendered", "key", req.Key, "status", row.Status, "recorded", finalized, "reason", row.Reason)
	return resultOf(row), nil
}

func (a *Activities) noticeRow(ctx context.Context, req NoticeRequest, msg templates.Message) store.Notice {
	n := store.Notice{
		IdempotencyKey: req.Key, LoanID: req.LoanID, CustomerID: req.CustomerID, Channel: string(req.Channel),
		Template: req.Template, Locale: req.Locale, Recipient: req.Recipient,
	}
	switch req.Channel {
	case policy.Email:
		n.Subject, n.Body, n.BodyHTML = msg.Subject, msg.Text, msg.HTML
	case policy.Push:
		n.Subject, n.Body = msg.Title, msg.Body
	default:
		n.Body = msg.Body
	}
	setProvenance(ctx, &n)
	return n
}

// setProvenance stamps n with the workflow run and attempt writing it, when
// ctx is an activity's.
func setProvenance(ctx context.Context, n *store.Notice) {
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		n.WorkflowID, n.RunID, n.Attempt = info.WorkflowExecution.ID, info.WorkflowExecution.RunID, int(info.Attempt)
	}
}

func resultOf(n store.Notice) NoticeResult {
	r := NoticeResult{Status: n.Status, Reason: n.Reason, Provider: n.Provider, MessageID: n.ProviderMessageID}
	if n.SentAt != nil {
		r.SentAt = *n.SentAt
	}
	r.OptOut = n.Reason == "invalid_recipient"
	return r
}

// RecordSkipped writes one skipped row per notice that was planned but not
// sent, with the reason (opted_out, no_address, cap_day, cap_7_days).
func (a *Activities) RecordSkipped(ctx context.Context, req SkipRequest) error {
	for _, s := range req.Notices {
		n := store.Notice{
			IdempotencyKey: s.Key, LoanID: s.LoanID, CustomerID: s.CustomerID, Channel: string(s.Channel),
			Template: s.Template, Locale: s.Locale, Recipient: s.Recipient, Reason: s.Reason,
		}
		setProvenance(ctx, &n)
		if _, err := a.Store.RecordSkipped(ctx, n); err != nil {
			return storeError("record skipped "+s.Key, err)
		}
		a.logger(ctx).Info("notice skipped", "key", s.Key, "reason", s.Reason)
	}
	return nil
}

// FinalizeNotice writes the final row of a notice whose SendNotice did not
// (it timed out, or failed for good) or that was planned and not sent: o.Status
// (StatusFailed or StatusSkipped) with o.Reason. With no row for o.Key it
// inserts one; a pending row it completes; a row already final (the send did
// go out and only its answer was lost) it leaves as it is. It returns the
// outcome the table holds afterwards, so the workflow learns what really
// happened. Only a pending row is ever changed, so a send attempt completing
// at the same moment is never overwritten.
func (a *Activities) FinalizeNotice(ctx context.Context, o NoticeOutcome) (NoticeResult, error) {
	n := store.Notice{
		IdempotencyKey: o.Key, LoanID: o.LoanID, CustomerID: o.CustomerID, Channel: string(o.Channel),
		Template: o.Template, Locale: o.Locale, Recipient: o.Recipient, Status: o.Status, Reason: o.Reason,
	}
	setProvenance(ctx, &n)
	row, finalized, err := a.Store.FinalizeNotice(ctx, n)
	if err != nil {
		return NoticeResult{}, storeError("finalize notice "+o.Key+" as "+o.Status, err)
	}
	a.logger(ctx).Info("notice finalized", "key", o.Key, "asked", o.Status, "status", row.Status,
		"changed", finalized, "reason", row.Reason)
	return resultOf(row), nil
}

// OpenCollectionsCase hands the loan to collectors, once per dedupe key.
func (a *Activities) OpenCollectionsCase(ctx context.Context, req CaseRequest) (CaseResult, error) {
	total := req.OverdueTotal
	c := store.Case{LoanID: req.LoanID, CustomerID: req.CustomerID, Reason: req.Reason,
		DaysPastDue: req.DaysPastDue, OverdueTotal: &total, Currency: req.Currency,
		DedupeKey: req.DedupeKey, OpenedAt: req.OpenedAt}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		c.WorkflowID, c.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	}
	got, opened, err := a.Store.OpenCase(ctx, c)
	if err != nil {
		return CaseResult{}, storeError("open case for "+req.LoanID, err)
	}
	a.logger(ctx).Info("collections case", "loan_id", req.LoanID, "case_id", got.ID, "new", opened, "reason", req.Reason)
	return CaseResult{CaseID: got.ID, Opened: opened}, nil
}

// AppendLedger appends rows to the loan ledger; a row whose dedupe key is
// already there with the same content is skipped, so a retry never doubles
// the audit trail.
//
// A row the store refuses for good (an unknown kind, its dedupe key holding
// other content, invalid data) is listed in LedgerResult.Rejected with the
// reason and the rows after it are still appended: the workflow keeps
// rejected rows and offers them again later (after a migration, say), so a
// rejection is a result, not an activity error. Any other store error
// (connection, timeout) stops the batch with a retryable error; the retry
// skips the rows already written.
func (a *Activities) AppendLedger(ctx context.Context, entries []LedgerEntry) (LedgerResult, error) {
	var res LedgerResult
	log := a.logger(ctx)
	reject := func(e LedgerEntry, err error) {
		res.Rejected = append(res.Rejected, RejectedEntry{DedupeKey: e.DedupeKey, Reason: err.Error()})
		log.Warn("ledger entry rejected", "kind", e.Kind, "dedupe_key", e.DedupeKey, "reason", err.Error())
	}
	for _, e := range entries {
		row, err := ledgerRow(e)
		if err != nil {
			reject(e, err)
			continue
		}
		if activity.IsActivity(ctx) {
			info := activity.GetInfo(ctx)
			row.WorkflowID, row.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
		}
		if _, err := a.Store.AppendLedger(ctx, row); err != nil {
			if !store.IsPermanent(err) {
				return LedgerResult{}, fmt.Errorf("append ledger %s %s: %w", e.Kind, e.DedupeKey, err)
			}
			reject(e, err)
		}
	}
	return res, nil
}

func (a *Activities) logger(ctx context.Context) *slog.Logger {
	l := a.Log
	if l == nil {
		l = slog.Default()
	}
	if activity.IsActivity(ctx) {
		l = l.With("workflow_id", activity.GetInfo(ctx).WorkflowExecution.ID)
	}
	return l
}
