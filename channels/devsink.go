package channels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DevProvider is the provider name DevSink puts on its receipts.
const DevProvider = "devsink"

// errLostResponse is what DevSink returns when FailAfterAccept fires: the
// message counts as sent, yet the caller sees a retryable error.
var errLostResponse = errors.New("devsink: message accepted but the response was lost")

// DevSink is the Sender for development and tests: it "sends" by writing one
// log line with the recipient masked and keeps nothing else (the notices table
// holds the rendered message). Like a provider that honours idempotency keys,
// it delivers a key once: a repeated Send with a key it already accepted
// returns the first receipt and delivers nothing. That is the contract the
// SendNotice activity relies on after a lost response, and what a real
// adapter must reproduce (pass the key to the provider's deduplication, or
// look the message up by key before sending). Sent counts deliveries per key
// so tests can assert that a notice went out exactly once.
//
// The zero value is ready to use; use it by pointer and do not copy it.
type DevSink struct {
	// Logger receives the log lines; nil means slog.Default().
	Logger *slog.Logger
	// FailAfterAccept, when it returns true for a key, makes Send accept and
	// count the message and then return a retryable error: the provider took
	// it but the response was lost.
	FailAfterAccept func(key string) bool
	// Reject, when it returns an error for a message, makes Send return that
	// error without accepting it, e.g. ErrInvalidRecipient for a dead number.
	Reject func(m Message) error

	mu       sync.Mutex
	sent     map[string]int
	receipts map[string]Receipt
}

// Deduplicates is true: the dev sink delivers a key once, like a provider
// with idempotency keys.
func (d *DevSink) Deduplicates() bool { return true }

// Send records m as sent: one masked log line, one more count for its key.
// It fails permanently for a message with no idempotency key, channel or
// recipient, since retrying cannot fix those.
func (d *DevSink) Send(ctx context.Context, m Message) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, fmt.Errorf("devsink: %w", err)
	}
	switch {
	case m.IdempotencyKey == "":
		return Receipt{}, Permanent(errors.New("devsink: message has no idempotency key"))
	case m.Channel != SMS && m.Channel != Email && m.Channel != Push:
		return Receipt{}, Permanent(fmt.Errorf("devsink: unknown channel %q", m.Channel))
	case m.To == "":
		return Receipt{}, Permanent(fmt.Errorf("devsink: %s message %s has no recipient", m.Channel, m.IdempotencyKey))
	}
	if d.Reject != nil {
		if err := d.Reject(m); err != nil {
			return Receipt{}, fmt.Errorf("devsink: %s to %s: %w", m.Channel, MaskRecipient(m.Channel, m.To), err)
		}
	}

	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	d.mu.Lock()
	if prev, ok := d.receipts[m.IdempotencyKey]; ok {
		d.mu.Unlock()
		logger.InfoContext(ctx, m.Channel+" to "+MaskRecipient(m.Channel, m.To)+" already delivered",
			"key", m.IdempotencyKey, "message_id", prev.MessageID)
		return prev, nil
	}
	if d.sent == nil {
		d.sent = make(map[string]int)
		d.receipts = make(map[string]Receipt)
	}
	d.sent[m.IdempotencyKey]++
	r := Receipt{Provider: DevProvider, MessageID: DevMessageID(m.IdempotencyKey), AcceptedAt: time.Now().UTC()}
	d.receipts[m.IdempotencyKey] = r
	d.mu.Unlock()

	logger.InfoContext(ctx, m.Channel+" to "+MaskRecipient(m.Channel, m.To),
		"template", m.Template, "locale", m.Locale, "key", m.IdempotencyKey, "message_id", r.MessageID)

	if d.FailAfterAccept != nil && d.FailAfterAccept(m.IdempotencyKey) {
		return Receipt{}, errLostResponse
	}
	return r, nil
}

// Sent reports how many times a message with this idempotency key was
// delivered: 0 or 1, since a repeated key is not delivered again.
func (d *DevSink) Sent(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sent[key]
}

// DevMessageID is the message id DevSink gives the message with this
// idempotency key: "dev-" and the first 16 hex digits of its SHA-256.
func DevMessageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "dev-" + hex.EncodeToString(sum[:8])
}
