package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"dunning/policy"
)

// Channel names, as used in policies, notices and idempotency keys: the
// policy's, as plain strings for the provider side.
const (
	SMS   = string(policy.SMS)
	Email = string(policy.Email)
	Push  = string(policy.Push)
)

// Message is one rendered notice ready for a provider. Which fields matter
// depends on the channel: SMS uses Body (the rendered SMS; a sender may fall
// back to Text); email Subject, Text and HTML; push Title and Body. To is the real address (E.164 phone, email, device token):
// mask it before logging. IdempotencyKey is the notice's audit key, passed to
// providers that deduplicate on it. Template names the template the message
// was rendered from, for logs and for providers (Aliyun SMS) that send by
// template code.
type Message struct {
	IdempotencyKey string
	Channel        string
	To             string
	Template       string
	Locale         string
	Subject        string
	Text           string
	HTML           string
	Title          string
	Body           string
	// Params are the data the message was rendered from, by snake_case name
	// (templates.Data.Params), for providers that send approved templates by
	// code with parameters (Aliyun SMS) instead of free text.
	Params map[string]string
}

// Receipt is a provider's acknowledgement of a message: which provider took
// it, the id the provider gave it (for delivery reports and support), and
// when.
type Receipt struct {
	Provider   string
	MessageID  string
	AcceptedAt time.Time
}

// Message statuses a provider's delivery receipt reports, as stored in the
// notices table after sent.
const (
	StatusDelivered   = "delivered"
	StatusUndelivered = "undelivered"
)

// Sender hands a message to one provider. An error for which IsPermanent is
// true will not succeed on retry; any other error may.
type Sender interface {
	Send(ctx context.Context, m Message) (Receipt, error)
}

// ErrPermanent marks a failure that retrying cannot fix (invalid number,
// rejected content, unverified sender). Wrap provider errors with Permanent.
var ErrPermanent = errors.New("permanent delivery failure")

// ErrInvalidRecipient means the provider reported the address as permanently
// invalid (unknown number, bounced mailbox, unregistered device token): the
// caller opts the customer out of this channel. It is permanent.
var ErrInvalidRecipient = Permanent(errors.New("invalid recipient"))

// ErrUnknownChannel is returned by Registry.For for a channel with no sender.
// It is a configuration error, not a permanent one: a redeployed worker with
// the sender wired in succeeds on retry.
var ErrUnknownChannel = errors.New("no sender for channel")

// permanentError wraps an error so that errors.Is finds both ErrPermanent and
// the original cause.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return "permanent: " + e.err.Error() }
func (e *permanentError) Unwrap() []error { return []error{ErrPermanent, e.err} }

// Permanent marks err as permanent, keeping it in the chain for errors.Is and
// errors.As. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	if IsPermanent(err) {
		return err
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, is permanent, so the
// caller records the notice as failed instead of retrying.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrPermanent)
}

// ErrNotAccepted marks a transient failure after which the provider surely
// does not have the message (it answered with an error status: 429, 5xx),
// as opposed to one where it may (a timeout after the request left). The
// caller may then send again even to a provider that cannot deduplicate.
var ErrNotAccepted = errors.New("not accepted by the provider")

// notAcceptedError keeps err in the chain beside ErrNotAccepted.
type notAcceptedError struct{ err error }

func (e *notAcceptedError) Error() string   { return e.err.Error() }
func (e *notAcceptedError) Unwrap() []error { return []error{ErrNotAccepted, e.err} }

// NotAccepted marks err as a failure after which the provider surely does
// not have the message. NotAccepted(nil) is nil.
func NotAccepted(err error) error {
	if err == nil {
		return nil
	}
	return &notAcceptedError{err: err}
}

// IsNotAccepted reports whether the provider surely does not have the
// message after err: a permanent failure, a RetryAfter, or NotAccepted.
func IsNotAccepted(err error) bool {
	return errors.Is(err, ErrNotAccepted) || IsPermanent(err) || RetryDelay(err) > 0
}

// RetryAfterError is a transient failure for which the provider said when to
// try again (HTTP 429 or 503 with Retry-After): the caller retries no sooner.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter marks err as transient with a delay before the next attempt.
func RetryAfter(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryAfterError{Err: err, After: after}
}

// RetryDelay is the delay a RetryAfterError in err's chain asks for, or 0.
func RetryDelay(err error) time.Duration {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After
	}
	return 0
}

// Deduplicator is implemented by a Sender whose provider deduplicates by the
// message's IdempotencyKey (the dev sink; SMTP by Message-ID is not enough).
// Only such a Sender may be called again for a notice whose earlier attempt
// may have reached the provider: for the others the outcome is "unknown" and
// the delivery receipt settles it, because a duplicate collections SMS is a
// complaint while a missing one is caught by the next rung.
type Deduplicator interface {
	Deduplicates() bool
}

// Deduplicates reports whether s's provider deduplicates by idempotency key.
func Deduplicates(s Sender) bool {
	d, ok := s.(Deduplicator)
	return ok && d.Deduplicates()
}

// Registry maps a channel name to the Sender that delivers it; the worker
// fills it once at start.
type Registry map[string]Sender

// For returns the Sender of channel ch, or an error wrapping
// ErrUnknownChannel.
func (r Registry) For(ch string) (Sender, error) {
	s, ok := r[ch]
	if !ok || s == nil {
		return nil, fmt.Errorf("channel %q: %w", ch, ErrUnknownChannel)
	}
	return s, nil
}

// DevRegistry routes every channel to the one dev sink, for development and
// tests.
func DevRegistry(sink *DevSink) Registry {
	return Registry{SMS: sink, Email: sink, Push: sink}
}
