package twilio

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/twilio/twilio-go/client"

	"dunning/channels"
)

// SignatureHeader is the request header carrying Twilio's webhook signature.
const SignatureHeader = "X-Twilio-Signature"

// ValidateRequest reports whether signature (the X-Twilio-Signature header)
// is Twilio's signature of a webhook request: base64 of HMAC-SHA1, keyed with
// the auth token, over fullURL followed by every POST parameter's name and
// value in name order. fullURL is the URL Twilio was given, scheme, host,
// path and query exactly (PUBLIC_BASE_URL + the request's path and query),
// not the one the handler sees behind a proxy; params are the form's POST
// parameters, first value of each. twilio-go's RequestValidator does the
// work, trying the URL with and without its default port as Twilio's own
// libraries do, and compares in constant time.
//
// An empty token or signature is never valid: an unsigned request must not
// pass because the worker was started without TWILIO_AUTH_TOKEN.
func ValidateRequest(authToken, fullURL string, params map[string]string, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// Twilio message statuses (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values)
// that matter here.
const (
	statusDelivered   = "delivered"
	statusRead        = "read"
	statusUndelivered = "undelivered"
	statusFailed      = "failed"
)

// deadAddressCodes are the delivery error codes of an undelivered or failed
// message that mean the number cannot take our SMS for good, so the caller
// opts the customer out of SMS (permanent in StatusCallback.Final). An
// opt-out is never withdrawn, so a code that may pass (a handset switched
// off, a carrier's content filter) is not here:
//
//	30003 unreachable handset     no: switched off or out of coverage, often temporary
//	30004 message blocked         yes: the recipient or their carrier blocks our messages
//	30005 unknown destination     yes: the number does not exist
//	30006 landline or unreachable yes: the number cannot take SMS
//	30007 filtered by the carrier no: about our content or sender, not the number
//	30008 unknown error           no
//	21610 unsubscribed (STOP)     yes: the customer opted out
//	21211, 21614 (rarely async)   yes: invalid or not a mobile number
var deadAddressCodes = map[string]bool{
	"30004": true,
	"30005": true,
	"30006": true,
	"21610": true,
	"21211": true,
	"21614": true,
}

var (
	// sidPattern is a Twilio resource SID: two letters and 32 hex digits.
	sidPattern = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
	// errorCodePattern is a Twilio error code: a few digits, no sign.
	errorCodePattern = regexp.MustCompile(`^[0-9]{1,6}$`)
)

// StatusCallback is Twilio's report of a message's status change, posted to
// the StatusCallback URL Send asked for.
type StatusCallback struct {
	// MessageSID is the message's SID, Receipt.MessageID of its send.
	MessageSID string
	// MessageStatus is Twilio's status: queued, sending, sent, delivered,
	// undelivered, failed, ….
	MessageStatus string
	// ErrorCode is Twilio's delivery error code for undelivered or failed,
	// "" otherwise.
	ErrorCode string
	// To is the recipient, E.164; mask it before logging.
	To string
}

// ParseStatusCallback reads a status callback's form (validate its signature
// first). MessageSid and MessageStatus are required (the legacy SmsSid and
// SmsStatus are accepted in their place); ErrorCode, when present, must be a
// number. Errors never quote the phone number.
func ParseStatusCallback(form url.Values) (StatusCallback, error) {
	s := StatusCallback{
		MessageSID:    firstOf(form, "MessageSid", "SmsSid"),
		MessageStatus: strings.ToLower(firstOf(form, "MessageStatus", "SmsStatus")),
		ErrorCode:     strings.TrimSpace(form.Get("ErrorCode")),
		To:            strings.TrimSpace(form.Get("To")),
	}
	var errs []error
	switch {
	case s.MessageSID == "":
		errs = append(errs, errors.New("field MessageSid is missing"))
	case !sidPattern.MatchString(s.MessageSID):
		errs = append(errs, errors.New("field MessageSid is not a Twilio SID"))
	}
	if s.MessageStatus == "" {
		errs = append(errs, errors.New("field MessageStatus is missing"))
	}
	if s.ErrorCode != "" {
		if !errorCodePattern.MatchString(s.ErrorCode) {
			errs = append(errs, errors.New("field ErrorCode is not a number"))
		}
	}
	if len(errs) > 0 {
		return StatusCallback{}, fmt.Errorf("twilio status callback: %w", errors.Join(errs...))
	}
	return s, nil
}

// Final maps the callback to a notice's delivery status. ok is false while
// the message is on its way (queued, accepted, sending, sent, …) or for a
// status this package does not know: the caller waits for the next callback.
// Otherwise status is channels.StatusDelivered (delivered, or read) or
// channels.StatusUndelivered (undelivered, failed), and permanent says the
// number is dead for SMS (see deadAddressCodes), so the caller opts the
// customer out of SMS as it does for channels.ErrInvalidRecipient.
func (s StatusCallback) Final() (status string, permanent bool, ok bool) {
	switch s.MessageStatus {
	case statusDelivered, statusRead:
		return channels.StatusDelivered, false, true
	case statusUndelivered, statusFailed:
		return channels.StatusUndelivered, deadAddressCodes[s.ErrorCode], true
	default:
		return "", false, false
	}
}

// Inbound is an SMS a customer sent to our Twilio number, posted to the
// number's messaging webhook.
type Inbound struct {
	// From is the sender, E.164; mask it before logging.
	From string
	// Body is the text, possibly empty (a picture alone).
	Body string
	// MessageSID is Twilio's SID of the inbound message.
	MessageSID string
}

// optOutKeywords are the words Twilio's default opt-out handling treats as
// STOP: Twilio blocks the number itself, and the next Send to it fails with
// 21610, but the handler should record the opt-out at once.
var optOutKeywords = map[string]bool{
	"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true,
	"END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true,
}

// OptOut reports whether the message is one of Twilio's opt-out keywords
// (STOP, UNSUBSCRIBE, …), the whole text, in any case.
func (i Inbound) OptOut() bool {
	return optOutKeywords[strings.ToUpper(strings.TrimSpace(i.Body))]
}

// ParseInbound reads an inbound message's form (validate its signature
// first). From and MessageSid (or the legacy SmsMessageSid) are required.
// Errors never quote the phone number or the text.
func ParseInbound(form url.Values) (Inbound, error) {
	in := Inbound{
		From:       strings.TrimSpace(form.Get("From")),
		Body:       form.Get("Body"),
		MessageSID: firstOf(form, "MessageSid", "SmsMessageSid", "SmsSid"),
	}
	var errs []error
	if in.From == "" {
		errs = append(errs, errors.New("field From is missing"))
	}
	switch {
	case in.MessageSID == "":
		errs = append(errs, errors.New("field MessageSid is missing"))
	case !sidPattern.MatchString(in.MessageSID):
		errs = append(errs, errors.New("field MessageSid is not a Twilio SID"))
	}
	if len(errs) > 0 {
		return Inbound{}, fmt.Errorf("twilio inbound message: %w", errors.Join(errs...))
	}
	return in, nil
}

// firstOf returns the first non-blank value among the form's keys.
func firstOf(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(form.Get(k)); v != "" {
			return v
		}
	}
	return ""
}
