package preview

import (
	"context"
	"fmt"
	"sync"
	"time"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
)

// recorder stands in for everything outside the workflow that the real
// activities touch: it is their audit store (activities.Store), kept in
// memory with the same rules as the PostgreSQL one, and the sender of every
// channel (channels.Sender), which accepts each message and keeps nothing but
// its time. The activities that run against it are the real ones, with the
// real templates, so what it holds is exactly what would have been sent and
// written. clock is the test environment's clock: rows carry simulated time.
type recorder struct {
	mu      sync.Mutex
	clock   func() time.Time
	notices []store.Notice
	index   map[string]int
	ledger  []store.LedgerEntry
	keys    map[string]bool
	cases   []store.Case
	// chargedOff is when the workflow wrote its charged_off row.
	chargedOff *time.Time
}

func newRecorder() *recorder {
	return &recorder{index: map[string]int{}, keys: map[string]bool{}}
}

func (r *recorder) setClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock = now
}

func (r *recorder) now() time.Time {
	if r.clock == nil {
		return time.Time{}
	}
	return r.clock()
}

// ReserveNotice reserves n's key as pending, or returns the row it has.
func (r *recorder) ReserveNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[n.IdempotencyKey]; ok {
		return r.notices[i], false, nil
	}
	n.Status, n.CreatedAt = store.NoticePending, r.now()
	r.add(n)
	return n, true, nil
}

// ReserveNoticeChecked is store.Store.ReserveNoticeChecked in memory: the
// send-time check (policy.SendCheck.Stop) at the simulated clock over this
// loan's notices to the same channel and address. A preview has one loan and
// no opt_outs table, so the check sees only what this loan sent.
func (r *recorder) ReserveNoticeChecked(_ context.Context, n store.Notice, c policy.SendCheck) (store.Notice, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[n.IdempotencyKey]
	if ok && r.notices[i].Status != store.NoticePending {
		return r.notices[i], false, nil
	}
	now := r.now()
	var prior []policy.PriorNotice
	for _, x := range r.notices {
		if x.Channel == n.Channel && x.Recipient == n.Recipient && x.IdempotencyKey != n.IdempotencyKey {
			at := x.CreatedAt
			if x.SentAt != nil {
				at = *x.SentAt
			}
			prior = append(prior, policy.PriorNotice{Template: x.Template, Status: x.Status, At: at})
		}
	}
	reason, err := c.Stop(n.Template, n.Recipient, false, prior, now)
	if err != nil {
		return store.Notice{}, false, fmt.Errorf("reserve notice %s: %v: %w", n.IdempotencyKey, err, store.ErrInvalid)
	}
	if ok {
		if reason != "" {
			r.notices[i].Status, r.notices[i].Reason = store.NoticeSkipped, reason
		}
		return r.notices[i], false, nil
	}
	n.Status, n.CreatedAt = store.NoticePending, now
	if reason != "" {
		// As the table holds it: nothing was said, so no message.
		n.Status, n.Reason, n.Subject, n.Body, n.BodyHTML = store.NoticeSkipped, reason, "", "", ""
	}
	r.add(n)
	return n, n.Status == store.NoticePending, nil
}

func (r *recorder) add(n store.Notice) {
	r.index[n.IdempotencyKey] = len(r.notices)
	r.notices = append(r.notices, n)
}

// MarkProviderCalled changes nothing a preview shows: the recorder's sender
// never loses an answer.
func (r *recorder) MarkProviderCalled(context.Context, string, bool) error { return nil }

// CompleteNotice records the outcome of a send.
func (r *recorder) CompleteNotice(_ context.Context, key, status, reason, provider, msgID string, at time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.index[key]
	if !ok {
		return store.ErrNotFound
	}
	n := &r.notices[i]
	n.Status, n.Reason, n.Provider, n.ProviderMessageID = status, reason, provider, msgID
	if !at.IsZero() {
		n.SentAt = &at
	}
	return nil
}

// RecordSkipped records a notice planned and not sent (runs from before the
// workflow's hardening only; kept for the interface).
func (r *recorder) RecordSkipped(_ context.Context, n store.Notice) (store.Notice, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[n.IdempotencyKey]; ok {
		return r.notices[i], nil
	}
	n.Status, n.CreatedAt = store.NoticeSkipped, r.now()
	r.add(n)
	return n, nil
}

// FinalizeNotice is store.Store.FinalizeNotice: insert n in its final status
// (skipped by the plan, failed), or complete a pending row; a final row is
// returned unchanged.
func (r *recorder) FinalizeNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n.Status != store.NoticeFailed && n.Status != store.NoticeSkipped {
		return store.Notice{}, false, fmt.Errorf("finalize notice %s: status %q: %w", n.IdempotencyKey, n.Status, store.ErrInvalid)
	}
	if i, ok := r.index[n.IdempotencyKey]; ok {
		if r.notices[i].Status != store.NoticePending {
			return r.notices[i], false, nil
		}
		r.notices[i].Status, r.notices[i].Reason = n.Status, n.Reason
		return r.notices[i], true, nil
	}
	n.CreatedAt = r.now()
	r.add(n)
	return n, true, nil
}

// AppendLedger appends e once per dedupe key.
func (r *recorder) AppendLedger(_ context.Context, e store.LedgerEntry) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys[e.DedupeKey] {
		return false, nil
	}
	r.keys[e.DedupeKey] = true
	e.RecordedAt = r.now()
	r.ledger = append(r.ledger, e)
	if e.Kind == store.KindChargedOff && r.chargedOff == nil {
		at := e.OccurredAt
		r.chargedOff = &at
	}
	return true, nil
}

// OpenCase opens a collections case once per dedupe key.
func (r *recorder) OpenCase(_ context.Context, c store.Case) (store.Case, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.cases {
		if x.DedupeKey == c.DedupeKey {
			return x, false, nil
		}
	}
	c.ID = int64(len(r.cases) + 1)
	c.Status = "open"
	r.cases = append(r.cases, c)
	return c, true, nil
}

// chargedOffAt is when the loan was charged off, or nil.
func (r *recorder) chargedOffAt() *time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chargedOff
}

// For is the sender of every channel: the recorder itself.
func (r *recorder) For(string) (channels.Sender, error) { return r, nil }

// Send accepts m and sends nothing: the rendered message is in the notice
// row SendNotice wrote before calling it.
func (r *recorder) Send(_ context.Context, m channels.Message) (channels.Receipt, error) {
	return channels.Receipt{Provider: Provider, MessageID: m.IdempotencyKey, AcceptedAt: r.now()}, nil
}

// Deduplicates is true: the recorder takes a key any number of times.
func (r *recorder) Deduplicates() bool { return true }

// Provider is the provider name a preview's notices carry: nothing left the
// process.
const Provider = "preview"
