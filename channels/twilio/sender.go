// Package twilio delivers SMS notices through Twilio Programmable Messaging
// behind channels.Sender, and parses and authenticates the webhooks Twilio
// sends back (status callbacks and inbound messages).
//
// It uses Twilio's own SDK, github.com/twilio/twilio-go, for the wire format,
// the error body and the webhook signature check, but only its client and
// rest/api/v2010 packages: the SDK's root package imports the packages of
// every Twilio product (about 60), all compiled on a cold build.
//
// Phone numbers never appear in full in an error (channels.MaskPhone), and the
// auth token never appears at all.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"dunning/channels"
)

// Provider is the provider name on the receipts this package returns.
const Provider = "twilio"

// requestTimeout bounds one Send when the caller's context has no earlier
// deadline: Twilio answers in well under a second, and an activity attempt
// should fail and be retried rather than hang.
const requestTimeout = 30 * time.Second

// Twilio error codes (https://www.twilio.com/docs/api/errors) that say the
// recipient's number is dead for SMS: the send fails with
// channels.ErrInvalidRecipient and the workflow opts the customer out of SMS.
// An opt-out is never withdrawn, so a code belongs here only if it is about
// the number itself, never about our account's configuration.
var invalidRecipientCodes = map[int]string{
	21211: "invalid To number",
	21214: "To number cannot be reached",
	21217: "number does not appear to be valid",
	21265: "To number is a short code",
	21401: "invalid phone number",
	21407: "number type does not support SMS",
	21610: "recipient unsubscribed (replied STOP)",
	21612: "To number is not reachable via SMS",
	21614: "To number is not a mobile number",
}

// transientCodes are Twilio error codes that go away by themselves: rate
// limits and full queues. Any other code on a 4xx answer is permanent. Note
// 21408 (SMS to that country not enabled on the account) is deliberately
// permanent and not an invalid recipient: it is our geo-permission setting,
// and opting every customer of that country out for good would outlive the fix.
var transientCodes = map[int]string{
	14107: "message rate limit exceeded",
	20429: "too many requests",
	21611: "From number has too many queued messages",
}

// APIError is an error answer from Twilio's REST API, with the phone numbers
// in its message masked. It is in the chain of every error Send returns for
// an answer Twilio gave, so callers can count failures by Code.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Twilio's error code (21211), 0 if the body had none.
	Code int
	// Message is Twilio's message, phone numbers masked.
	Message string
	// MoreInfo is the documentation link for Code.
	MoreInfo string
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Code != 0 {
		fmt.Fprintf(&b, "twilio error %d (HTTP %d)", e.Code, e.Status)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.MoreInfo != "" {
		b.WriteString(" (" + e.MoreInfo + ")")
	}
	return b.String()
}

// Sender sends SMS through Twilio's Messages resource
// (POST /2010-04-01/Accounts/<sid>/Messages.json). Build it with New; it is
// safe for concurrent use.
//
// Sender does not implement channels.Deduplicator, on purpose: Twilio's
// Messages resource takes no idempotency key (the I-Twilio-Idempotency-Token
// header exists only on Twilio's own webhook retries), so calling Send again
// for a message whose answer was lost sends the SMS a second time. Whether a
// retry is safe is the caller's call: errors for an answer Twilio gave (4xx,
// 429, 5xx) mean the message was not accepted, while a network error or a
// timeout after the request left may hide an accepted message, whose status
// callback then settles the outcome.
type Sender struct {
	cfg       Config
	transport http.RoundTripper
}

// New returns a Sender for c, which must be complete (see ConfigFromEnv; an
// empty APIURL means DefaultAPIURL). The error names every bad field.
func New(c Config) (*Sender, error) {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if err := c.validate(false); err != nil {
		return nil, err
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	// One connection pool for every Send; each Send wraps it with its own
	// context (the SDK builds its requests without one).
	base := http.DefaultTransport.(*http.Transport).Clone()
	return &Sender{cfg: c, transport: base}, nil
}

// Send posts m to Twilio: To, From (or MessagingServiceSid), Body, and, when
// PublicBaseURL is set, StatusCallback: Config.StatusCallbackURL with the
// notice's idempotency key as the query parameter "key". The SMS text is m.Text, or m.Body
// when Text is empty (the SendNotice activity passes the rendered SMS in
// Body). The receipt carries Twilio's message SID, which status callbacks
// refer to.
//
// Errors: the recipient codes in invalidRecipientCodes wrap
// channels.ErrInvalidRecipient; any other 4xx answer is channels.Permanent;
// 429, 5xx and the rate-limit codes are transient, with
// channels.RetryAfter when Twilio sent Retry-After; network errors and
// timeouts are transient. A message that cannot be sent as built (no
// recipient, empty text, another channel) is permanent.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	masked := channels.MaskPhone(m.To)
	fail := func(err error) (channels.Receipt, error) {
		return channels.Receipt{}, fmt.Errorf("twilio: sms %s to %s: %w", m.IdempotencyKey, masked, err)
	}
	text := smsText(m)
	switch {
	case m.Channel != "" && m.Channel != channels.SMS:
		return fail(channels.Permanent(fmt.Errorf("cannot send a %q message", m.Channel)))
	case strings.TrimSpace(m.To) == "":
		return fail(channels.Permanent(errors.New("no recipient")))
	case strings.TrimSpace(text) == "":
		return fail(channels.Permanent(errors.New("empty message text")))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	params := &api.CreateMessageParams{}
	params.SetTo(m.To).SetBody(text)
	if s.cfg.usesMessagingService() {
		params.SetMessagingServiceSid(s.cfg.From)
	} else {
		params.SetFrom(s.cfg.From)
	}
	if cb := s.cfg.StatusCallbackURL(); cb != "" {
		// The key in the URL lets the callback settle the notice even when
		// the answer carrying the SID was lost (Twilio signs the URL with
		// its query, so the key cannot be forged).
		params.SetStatusCallback(cb + "?key=" + url.QueryEscape(m.IdempotencyKey))
	}

	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ex := &channels.Exchange{}
	msg, err := s.service(ctx, ex).CreateMessage(params)
	if err != nil {
		return fail(classify(ctx, err, ex, m.To))
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		// A 2xx answer means Twilio took the message: retrying would send
		// it twice, so this is permanent, and says so.
		return fail(channels.Permanent(fmt.Errorf("HTTP %d without a message sid: the message may have been sent", ex.Status)))
	}
	accepted := time.Now().UTC()
	if msg.DateCreated != nil {
		if t, err := time.Parse(time.RFC1123Z, *msg.DateCreated); err == nil {
			accepted = t.UTC()
		}
	}
	return channels.Receipt{Provider: Provider, MessageID: *msg.Sid, AcceptedAt: accepted}, nil
}

// smsText is the text of an SMS message: Text, as channels.Message documents,
// or Body, where the SendNotice activity puts the rendered SMS today.
func smsText(m channels.Message) string {
	if m.Text != "" {
		return m.Text
	}
	return m.Body
}

// service builds the SDK's Messages API for one Send: a client whose HTTP
// requests run under ctx (twilio-go does not take a context) and whose base
// URL is the configured APIURL (twilio-go hard-codes https://api.twilio.com;
// its BaseClient interface is the seam to change it). Edge and region come
// from APIURL only, never from the SDK's TWILIO_EDGE/TWILIO_REGION variables.
func (s *Sender) service(ctx context.Context, ex *channels.Exchange) *api.ApiService {
	c := &client.Client{
		Credentials: client.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport: &channels.ContextTransport{Ctx: ctx, Base: s.transport, Ex: ex},
			// Like the SDK's default client: a redirect is an answer, not
			// something to follow with the credentials.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(s.cfg.AccountSID)
	return api.NewApiService(&client.RequestHandler{Client: &baseURLClient{Client: c, apiURL: s.cfg.APIURL}})
}

// baseURLClient is twilio-go's client with the API's base URL replaced.
type baseURLClient struct {
	*client.Client
	apiURL string
}

// SendRequest sends to apiURL what the SDK addressed to DefaultAPIURL.
func (c *baseURLClient) SendRequest(method, rawURL string, data url.Values, headers map[string]any, body ...byte) (*http.Response, error) {
	if rest, ok := strings.CutPrefix(rawURL, DefaultAPIURL); ok {
		rawURL = c.apiURL + rest
	}
	return c.Client.SendRequest(method, rawURL, data, headers, body...)
}

// classify turns what CreateMessage returned into the error Send returns:
// invalid recipient, permanent or transient (see Send). to is masked wherever
// Twilio's message repeats it.
func classify(ctx context.Context, err error, ex *channels.Exchange, to string) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		status := ex.Status
		if status == 0 {
			// Refused by the SDK before sending (credentials it rejects).
			status = rest.Status
		}
		return classifyAPI(&APIError{Status: status, Code: rest.Code, Message: scrub(rest.Message, to), MoreInfo: rest.MoreInfo}, ex.Header)
	}
	switch {
	case ex.Status >= 200 && ex.Status < 300:
		// Accepted, but the answer could not be read: retrying would send
		// a second SMS.
		return channels.Permanent(fmt.Errorf("HTTP %d but the answer is unreadable (%s): the message may have been sent", ex.Status, scrub(err.Error(), to)))
	case ex.Status != 0:
		// An error answer whose body is not Twilio's JSON (a proxy's page).
		return classifyAPI(&APIError{Status: ex.Status}, ex.Header)
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// The URL holds only the account SID, but keep errors to what is
		// needed: the operation, the host and the cause.
		host := ""
		if u, perr := url.Parse(uerr.URL); perr == nil {
			host = u.Host
		}
		err = fmt.Errorf("%s %s: %w", uerr.Op, host, uerr.Err)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", err, cerr)
	}
	// A network error or timeout: transient.
	return err
}

// classifyAPI classifies an answer Twilio gave.
func classifyAPI(e *APIError, header http.Header) error {
	if _, ok := invalidRecipientCodes[e.Code]; ok {
		return fmt.Errorf("%w: %w", channels.ErrInvalidRecipient, e)
	}
	_, transient := transientCodes[e.Code]
	if transient || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500 {
		if d := channels.ParseRetryAfter(header, time.Now()); d > 0 {
			return channels.RetryAfter(e, d)
		}
		if refused(e.Status) || transient {
			return channels.NotAccepted(e)
		}
		return e // a gateway or request timeout: Twilio may have taken it
	}
	return channels.Permanent(e)
}

// refused reports whether an HTTP error status proves the message was not
// taken (so a retry may send it): rate limited, or the service failed or is
// unavailable. A gateway or request timeout (504, 408) proves nothing.
func refused(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable:
		return true
	}
	return false
}

// scrub masks to, and anything else that looks like a phone number, in a
// provider's message, and bounds its length.
func scrub(s, to string) string { return channels.ScrubProviderMessage(s, to) }
