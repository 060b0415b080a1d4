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
	CompleteNotice(ctx context.Context, key, status, reason, provider, providerMessageID string, sentAt time.Time) error
	RecordSkipped(ctx context.Context, n store.Notice) (store.Notice, error)
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
}

// Error types the workflow and Temporal's retry policy branch on.
const (
	ErrTypeRender = "RenderFailed"
	ErrTypeInput  = "InvalidInput"
)

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
func (a *Activities) SendNotice(ctx context.Context, req NoticeRequest) (NoticeResult, error) {
	log := a.logger(ctx)
	data := req.Data
	data.Brand, data.Hotline, data.RepayURL = a.Brand.Name, a.Brand.Hotline, a.Brand.RepayURL
	msg, err := a.Templates.Render(req.Locale, string(req.Channel), req.Template, data)
	if err != nil {
		return NoticeResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("render %s/%s/%s: %v", req.Locale, req.Channel, req.Template, err), ErrTypeRender, err)
	}
	// Find the sender before reserving: a channel with no sender wired is a
	// configuration error that a redeployed worker fixes, so it is retried
	// and leaves no row stuck in pending.
	sender, err := a.Senders.For(string(req.Channel))
	if err != nil {
		return NoticeResult{}, fmt.Errorf("no sender for %s (configuration): %w", req.Channel, err)
	}
	n := a.noticeRow(ctx, req, msg)
	row, reserved, err := a.Store.ReserveNotice(ctx, n)
	if err != nil {
		return NoticeResult{}, fmt.Errorf("reserve notice %s: %w", req.Key, err)
	}
	if !reserved && row.Status != store.NoticePending {
		log.Info("notice already recorded", "key", req.Key, "status", row.Status)
		return resultOf(row), nil
	}
	receipt, err := sender.Send(ctx, channels.Message{
		IdempotencyKey: req.Key, Channel: string(req.Channel), To: req.Recipient, Locale: req.Locale, Template: req.Template,
		Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, Title: msg.Title, Body: msg.Body,
	})
	if err != nil {
		if !channels.IsPermanent(err) {
			return NoticeResult{}, fmt.Errorf("send %s via %s: %w", req.Key, req.Channel, err)
		}
		res := NoticeResult{Status: StatusFailed, Reason: "permanent: " + err.Error(), SentAt: time.Now()}
		if errors.Is(err, channels.ErrInvalidRecipient) {
			res.Reason, res.OptOut = "invalid_recipient", true
		}
		if err := a.Store.CompleteNotice(ctx, req.Key, StatusFailed, res.Reason, "", "", res.SentAt); err != nil {
			return NoticeResult{}, fmt.Errorf("complete notice %s: %w", req.Key, err)
		}
		log.Warn("notice failed permanently", "key", req.Key, "to", mask(req.Channel, req.Recipient), "reason", res.Reason)
		return res, nil
	}
	if err := a.Store.CompleteNotice(ctx, req.Key, StatusSent, "", receipt.Provider, receipt.MessageID, receipt.AcceptedAt); err != nil {
		return NoticeResult{}, fmt.Errorf("complete notice %s: %w", req.Key, err)
	}
	log.Info("notice sent", "key", req.Key, "channel", req.Channel, "template", req.Template,
		"to", mask(req.Channel, req.Recipient), "provider", receipt.Provider)
	return NoticeResult{Status: StatusSent, Provider: receipt.Provider, MessageID: receipt.MessageID, SentAt: receipt.AcceptedAt}, nil
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
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		n.WorkflowID, n.RunID, n.Attempt = info.WorkflowExecution.ID, info.WorkflowExecution.RunID, int(info.Attempt)
	}
	return n
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
		if activity.IsActivity(ctx) {
			info := activity.GetInfo(ctx)
			n.WorkflowID, n.RunID, n.Attempt = info.WorkflowExecution.ID, info.WorkflowExecution.RunID, int(info.Attempt)
		}
		if _, err := a.Store.RecordSkipped(ctx, n); err != nil {
			return fmt.Errorf("record skipped %s: %w", s.Key, err)
		}
		a.logger(ctx).Info("notice skipped", "key", s.Key, "reason", s.Reason)
	}
	return nil
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
		return CaseResult{}, fmt.Errorf("open case for %s: %w", req.LoanID, err)
	}
	a.logger(ctx).Info("collections case", "loan_id", req.LoanID, "case_id", got.ID, "new", opened, "reason", req.Reason)
	return CaseResult{CaseID: got.ID, Opened: opened}, nil
}

// AppendLedger appends rows to the loan ledger; a row whose dedupe key is
// already there is skipped, so a retry never doubles the audit trail.
func (a *Activities) AppendLedger(ctx context.Context, entries []LedgerEntry) error {
	for _, e := range entries {
		row, err := ledgerRow(e)
		if err != nil {
			return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInput, err)
		}
		if activity.IsActivity(ctx) {
			info := activity.GetInfo(ctx)
			row.WorkflowID, row.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
		}
		if _, err := a.Store.AppendLedger(ctx, row); err != nil {
			return fmt.Errorf("append ledger %s %s: %w", e.Kind, e.DedupeKey, err)
		}
	}
	return nil
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

// mask hides a recipient in logs: the table keeps the real address.
func mask(ch policy.Channel, to string) string {
	switch ch {
	case policy.SMS:
		return policy.MaskPhone(to)
	case policy.Email:
		return policy.MaskEmail(to)
	default:
		if len(to) > 6 {
			return to[:3] + "…"
		}
		return "…"
	}
}
