// Package aliyun delivers SMS notices through Alibaba Cloud SMS (dysmsapi
// 2017-05-25, SendSms) behind channels.Sender.
//
// It uses Aliyun's own SDK, github.com/aliyun/alibaba-cloud-sdk-go (only its
// sdk and services/dysmsapi packages), for the RPC request format and its
// HMAC-SHA1 signature. The SDK is used defensively: it defaults to plain
// HTTP (the endpoint here is https unless a loopback mock), retries by itself
// when asked to (never here: a retried SendSms is a second SMS), takes no
// context (each Send gives it a transport bound to one), and its error
// strings carry the request's string-to-sign, phone number included (Send
// builds its own errors from the error code). Its debug output, enabled by
// DEBUG=sdk, prints every request with the phone number: New refuses to run
// with it.
//
// Aliyun sends only templates it approved, filled with parameters; the text
// our templates render is kept in the notices table but not sent. The
// approved template must therefore say what templates/zh-CN/sms/<name>.tmpl
// says, minus the 【brand】, which Aliyun adds from SignName.
package aliyun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/dysmsapi"

	"dunning/channels"
)

// Provider is the provider name on the receipts this package returns.
const Provider = "aliyun"

// regionID is the region the SDK signs for; SMS is served centrally from
// cn-hangzhou whatever the endpoint.
const regionID = "cn-hangzhou"

// requestTimeout bounds one Send when the caller's context has no earlier
// deadline: an activity attempt should fail and be retried rather than hang.
const requestTimeout = 30 * time.Second

// Error codes of SendSms (https://help.aliyun.com/zh/sms/developer-reference/api-error-codes)
// and how Send classifies them. An invalid recipient opts the customer out of
// SMS for good, so only a code about the number itself is one; problems of
// our account, signature or templates are permanent (every retry fails the
// same way until someone fixes the console) but never an opt-out.
//
//	code                                  class              why
//	OK                                    success            Receipt.MessageID = BizId
//	isv.MOBILE_NUMBER_ILLEGAL             invalid recipient  the number is malformed or not a mobile number
//	isv.MOBILE_COUNT_OVER_LIMIT           permanent          too many numbers in one call (we send one): a bug, not the recipient
//	isv.BLACK_KEY_CONTROL_LIMIT           permanent          a parameter holds a blacklisted keyword: our content, not the recipient
//	isv.SMS_TEMPLATE_ILLEGAL              permanent          template code not approved or not ours
//	isv.SMS_SIGNATURE_ILLEGAL             permanent          SignName not approved
//	isv.TEMPLATE_MISSING_PARAMETERS       permanent          a template variable has no value
//	isv.INVALID_PARAMETERS, isv.INVALID_JSON_PARAM, isv.PARAM_LENGTH_LIMIT,
//	isv.PARAM_NOT_SUPPORT_URL, isv.SMS_CONTENT_ILLEGAL, isv.SMS_SIGN_ILLEGAL,
//	isv.SMS_SIGNATURE_SCENE_ILLEGAL, isv.DOMESTIC_NUMBER_NOT_SUPPORTED,
//	isv.DENY_IP_RANGE, isv.MONTH_LIMIT_CONTROL, isv.AMOUNT_NOT_ENOUGH,
//	isv.OUT_OF_SERVICE, isv.PRODUCT_UN_SUBSCRIPT, isv.ACCOUNT_*,
//	isp.RAM_PERMISSION_DENY, SignatureDoesNotMatch, InvalidAccessKeyId.*,
//	and any other code                    permanent          content, configuration or account: fixed by a person, not by time
//	isv.BUSINESS_LIMIT_CONTROL            transient, delay   per-number flow control; the message says which window:
//	                                                         分钟级 (minute) 1m, 小时级 (hour) 1h, 天级 (day, a sliding 24h) 1h
//	isv.DAY_LIMIT_CONTROL                 transient, 1h      the daily quota set in the console
//	Throttling, Throttling.*              transient, delay   API rate limit: Retry-After if sent, else 1s
//	isp.SYSTEM_ERROR, isp.GATEWAY_ERROR,
//	other isp.*, ServiceUnavailable,
//	HTTP 429 and 5xx                      transient          Aliyun's side; Retry-After honoured
//	network error, timeout                transient          the message may have gone out: see Sender
var invalidRecipientCodes = map[string]bool{
	"isv.MOBILE_NUMBER_ILLEGAL": true,
}

// Delays for flow control and throttling (see the table above).
const (
	minuteWindowDelay = time.Minute
	hourWindowDelay   = time.Hour
	dayQuotaDelay     = time.Hour
	throttlingDelay   = time.Second
)

// APIError is an error answer from Aliyun's SMS API: the HTTP status and the
// code, message and request id of the answer's body, with phone numbers and
// the echoed string-to-sign removed from the message. It is in the chain of
// every error Send returns for an answer Aliyun gave, so callers can count
// failures by Code.
type APIError struct {
	// Status is the HTTP status code (200 for most business errors).
	Status int
	// Code is Aliyun's error code, e.g. isv.MOBILE_NUMBER_ILLEGAL.
	Code string
	// Message is Aliyun's message, phone numbers masked.
	Message string
	// RequestID identifies the request for Aliyun's support.
	RequestID string
}

func (e *APIError) Error() string {
	var b strings.Builder
	if e.Code != "" {
		fmt.Fprintf(&b, "aliyun error %s (HTTP %d)", e.Code, e.Status)
	} else {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	return b.String()
}

// Sender sends SMS through Aliyun's SendSms, one recipient per call. Build it
// with New; it is safe for concurrent use.
//
// Sender does not implement channels.Deduplicator, on purpose: SendSms has no
// idempotency key, and Aliyun does not deduplicate by OutId, so calling Send
// again for a message whose answer was lost sends the SMS a second time. Send
// passes the notice's idempotency key as OutId anyway: Aliyun keeps it with
// the message and returns it in delivery receipts (SmsReport) and in
// QuerySendDetails, so a receipt can be matched to its notice even when the
// BizId was lost with the answer. Errors for an answer Aliyun gave mean the
// message was not accepted; a network error or timeout after the request
// left may hide an accepted one.
type Sender struct {
	cfg       Config
	scheme    string // "HTTPS", or "HTTP" for a loopback mock
	domain    string // host[:port]
	transport http.RoundTripper
}

// New returns a Sender for c, which must be complete (see ConfigFromEnv; an
// empty Endpoint means DefaultEndpoint). The error names every bad field.
// New also refuses to run while the environment variable DEBUG enables the
// SDK's debug output ("sdk"), which would print phone numbers to stdout.
func New(c Config) (*Sender, error) {
	if err := c.validate(false); err != nil {
		return nil, fmt.Errorf("aliyun configuration: %w", err)
	}
	if sdkDebug(os.Getenv("DEBUG")) {
		return nil, errors.New(`aliyun: DEBUG includes "sdk", which makes the Aliyun SDK print every request, phone numbers included, to stdout: remove it`)
	}
	scheme, domain, err := parseEndpoint(c.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("aliyun configuration: Endpoint %w", err)
	}
	c.Templates = maps.Clone(c.Templates)
	// One connection pool for every Send; each Send wraps it with its own
	// context.
	base := http.DefaultTransport.(*http.Transport).Clone()
	return &Sender{cfg: c, scheme: scheme, domain: domain, transport: base}, nil
}

// sdkDebug reports whether the DEBUG value turns on the SDK's debug output.
func sdkDebug(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if part == "sdk" {
			return true
		}
	}
	return false
}

// Send calls SendSms for m: PhoneNumbers is m.To without the "+" (and
// without the 86 of a mainland number, the 11-digit form Aliyun documents for
// domestic SMS; other countries go as country code and number, which
// Aliyun accepts only with templates approved for international SMS),
// SignName from the configuration, TemplateCode the code configured for
// m.Template, TemplateParam the JSON of the message's template parameters
// (see templateParams), OutId m.IdempotencyKey. The receipt's MessageID is
// Aliyun's BizId.
//
// Errors are classified as the table on invalidRecipientCodes says. A
// message that cannot be sent as built (no recipient, not E.164, a template
// with no code, another channel) is permanent and never reaches Aliyun.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	masked := channels.MaskPhone(m.To)
	fail := func(err error) (channels.Receipt, error) {
		return channels.Receipt{}, fmt.Errorf("aliyun: sms %s to %s: %w", m.IdempotencyKey, masked, err)
	}
	if m.Channel != "" && m.Channel != channels.SMS {
		return fail(channels.Permanent(fmt.Errorf("cannot send a %q message", m.Channel)))
	}
	phone, err := phoneNumber(m.To)
	if err != nil {
		return fail(channels.Permanent(err))
	}
	code, ok := s.cfg.Templates[m.Template]
	if !ok {
		return fail(channels.Permanent(fmt.Errorf("template %q has no Aliyun template code (ALIYUN_SMS_TEMPLATES)", m.Template)))
	}
	params, err := templateParams(m)
	if err != nil {
		return fail(channels.Permanent(err))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ex := &channels.Exchange{}
	client, err := s.client(ctx, ex)
	if err != nil {
		return fail(fmt.Errorf("sdk client: %w", err))
	}
	req := dysmsapi.CreateSendSmsRequest()
	req.Scheme, req.Domain = s.scheme, s.domain
	req.PhoneNumbers = phone
	req.SignName = s.cfg.SignName
	req.TemplateCode = code
	req.TemplateParam = params
	req.OutId = m.IdempotencyKey
	resp, err := client.SendSms(req)
	if err != nil {
		return fail(classify(ctx, err, ex, m.To))
	}
	if resp.Code != "OK" {
		return fail(classifyAPI(&APIError{Status: ex.Status, Code: resp.Code, Message: scrub(resp.Message, m.To), RequestID: resp.RequestId}, ex.Header))
	}
	if resp.BizId == "" {
		// Accepted: retrying would send it twice, so this is permanent,
		// and says so.
		return fail(channels.Permanent(fmt.Errorf("code OK without a BizId (request %s): the message may have been sent", resp.RequestId)))
	}
	return channels.Receipt{Provider: Provider, MessageID: resp.BizId, AcceptedAt: time.Now().UTC()}, nil
}

// client builds an SDK client for one Send: the SDK takes no context and
// mutates its client on every call, so each Send has its own, sharing only
// the connection pool. It never retries by itself.
func (s *Sender) client(ctx context.Context, ex *channels.Exchange) (*dysmsapi.Client, error) {
	cfg := sdk.NewConfig()
	cfg.AutoRetry = false
	cfg.Scheme = s.scheme
	cfg.Timeout = requestTimeout
	cfg.Transport = &channels.ContextTransport{Ctx: ctx, Base: s.transport, Ex: ex}
	return dysmsapi.NewClientWithOptions(regionID, cfg, credentials.NewAccessKeyCredential(s.cfg.AccessKeyID, s.cfg.AccessKeySecret))
}

// e164 is an E.164 number: "+", no leading 0, at most 15 digits.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// phoneNumber is to as SendSms's PhoneNumbers wants it: digits only, the
// mainland's 86 dropped ("+8613800138000" → "13800138000"), other countries
// with their country code ("+85261234567" → "85261234567"). Country codes are
// prefix-free, so a leading 86 is always China's.
func phoneNumber(to string) (string, error) {
	to = strings.TrimSpace(to)
	switch {
	case to == "":
		return "", errors.New("no recipient")
	case !e164.MatchString(to):
		return "", errors.New("recipient is not an E.164 number")
	}
	if national, ok := strings.CutPrefix(to[1:], "86"); ok {
		return national, nil
	}
	return to[1:], nil
}

// templateParams is TemplateParam: the JSON object of the message's template
// variables (Message.Params, templates.Data by snake_case name), each value a
// string as Aliyun requires; "{}" for none.
func templateParams(m channels.Message) (string, error) {
	if len(m.Params) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m.Params) // map keys are marshalled sorted
	if err != nil {
		return "", fmt.Errorf("template parameters: %w", err)
	}
	return string(b), nil
}

// classify turns an error of SendSms into the error Send returns. Only
// fields are used, never the SDK's error strings: those hold the request's
// string-to-sign and the response headers.
func classify(ctx context.Context, err error, ex *channels.Exchange, to string) error {
	var serr *sdkerrors.ServerError
	if errors.As(err, &serr) {
		status := ex.Status
		if status == 0 {
			status = serr.HttpStatus()
		}
		msg := serr.Message()
		if serr.ErrorCode() == "" {
			msg = "" // the body was not JSON: a proxy's page, not worth keeping
		}
		return classifyAPI(&APIError{Status: status, Code: serr.ErrorCode(), Message: scrub(msg, to), RequestID: serr.RequestId()}, ex.Header)
	}
	if ex.Status >= 200 && ex.Status < 300 {
		// Accepted, but the answer could not be read: retrying would send
		// a second SMS.
		return channels.Permanent(fmt.Errorf("HTTP %d but the answer is unreadable: the message may have been sent", ex.Status))
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// The URL's query holds the phone number: keep only the host.
		host := ""
		if u, perr := url.Parse(uerr.URL); perr == nil {
			host = u.Host
		}
		err = fmt.Errorf("%s %s: %w", uerr.Op, host, uerr.Err)
	} else {
		var cerr *sdkerrors.ClientError
		if errors.As(err, &cerr) {
			err = fmt.Errorf("sdk error %s", cerr.ErrorCode())
		} else {
			err = errors.New(scrub(err.Error(), to))
		}
	}
	if c := ctx.Err(); c != nil && !errors.Is(err, c) {
		err = fmt.Errorf("%w (%w)", err, c)
	}
	// A network error or timeout: transient.
	return err
}

// classifyAPI classifies an answer Aliyun gave (see the table on
// invalidRecipientCodes).
func classifyAPI(e *APIError, header http.Header) error {
	switch {
	case invalidRecipientCodes[e.Code]:
		return fmt.Errorf("%w: %w", channels.ErrInvalidRecipient, e)
	case e.Code == "isv.BUSINESS_LIMIT_CONTROL":
		return channels.RetryAfter(e, flowControlDelay(e.Message))
	case e.Code == "isv.DAY_LIMIT_CONTROL":
		return channels.RetryAfter(e, dayQuotaDelay)
	case e.Code == "Throttling" || strings.HasPrefix(e.Code, "Throttling."):
		d := channels.ParseRetryAfter(header, time.Now())
		if d == 0 {
			d = throttlingDelay
		}
		return channels.RetryAfter(e, d)
	case e.Code == "isp.RAM_PERMISSION_DENY":
		return channels.Permanent(e)
	case strings.HasPrefix(e.Code, "isp."), e.Code == "ServiceUnavailable",
		e.Status == http.StatusTooManyRequests, e.Status >= 500:
		if d := channels.ParseRetryAfter(header, time.Now()); d > 0 {
			return channels.RetryAfter(e, d)
		}
		if e.Status == http.StatusGatewayTimeout || e.Status == http.StatusRequestTimeout {
			return e // a timeout proves nothing: Aliyun may have taken it
		}
		// An error answer (isp.*, ServiceUnavailable, 429, 500, 502, 503):
		// the message was not taken, so a retry may send it.
		return channels.NotAccepted(e)
	default:
		return channels.Permanent(e)
	}
}

// flowControlDelay reads which window isv.BUSINESS_LIMIT_CONTROL hit from its
// message ("触发分钟级流控Permits:1", "触发小时级流控Permits:5",
// "触发天级流控Permits:10"). The day window slides over 24 hours, so an
// hourly retry finds room as soon as the oldest message leaves it.
func flowControlDelay(msg string) time.Duration {
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(msg, "分钟"), strings.Contains(lower, "minute"):
		return minuteWindowDelay
	case strings.Contains(msg, "小时"), strings.Contains(lower, "hour"),
		strings.Contains(msg, "天"), strings.Contains(lower, "day"):
		return hourWindowDelay
	default:
		return minuteWindowDelay
	}
}

// scrub drops the string-to-sign Aliyun echoes after a signature mismatch
// (it holds every parameter), masks to and anything else that looks like a
// phone number, and bounds the length.
func scrub(s, to string) string {
	if i := strings.Index(strings.ToLower(s), "string to sign"); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " [string to sign removed]"
	}
	national := ""
	if to != "" {
		national, _ = phoneNumber(to)
	}
	return channels.ScrubProviderMessage(s, to, national)
}
