// Package fcm delivers push notices to Android and iOS apps through Firebase
// Cloud Messaging's HTTP v1 API (FCM relays to APNs for iOS).
//
// It uses the generated REST client google.golang.org/api/fcm/v1, not the
// Firebase Admin SDK (firebase.google.com/go/v4/messaging): measured on a
// cold build cache on 2 cores, the Admin SDK's messaging package pulls in
// 455 non-standard packages and adds about 65 s of compile time and 38 MB of
// binary to a bare program, fcm/v1 244 packages, about 22 s and 16 MB; and
// the Admin SDK brings nothing a single "messages:send" call needs.
// Authentication is golang.org/x/oauth2/google's JWT flow from a service
// account key: a signed assertion is exchanged at the key's token_uri for a
// bearer token, cached and renewed before it expires.
//
// # Not a Deduplicator
//
// FCM's send has no idempotency key: a message whose answer was lost would
// be sent again by a retry. So Sender does not implement
// channels.Deduplicator, and SendNotice calls it again for a notice only
// after an error marked channels.NotAccepted (FCM answered with an error,
// or the request never left: no token, no connection), never after one
// whose outcome is unknown (a timeout once the request was sent). The
// Android notification tag and the APNs collapse id are derived from the
// notice's idempotency key all the same, so should a notice ever go out
// twice, the second copy replaces the first on the device.
package fcm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	fcm "google.golang.org/api/fcm/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"dunning/channels"
)

// Provider is the provider name on the receipts of Sender.
const Provider = "fcm"

// The environment variables ConfigFromEnv reads.
const (
	// EnvCredentialsFile is the path of the service account key (JSON)
	// with the "Firebase Cloud Messaging API Admin" role. The key is a
	// secret: it stays in that file, which only the worker reads.
	EnvCredentialsFile = "FCM_CREDENTIALS_FILE"
	// EnvProjectID is the Firebase project; unset, the key's project_id.
	EnvProjectID = "FCM_PROJECT_ID"
	// EnvAPIURL replaces DefaultAPIURL, for a mock FCM in tests.
	EnvAPIURL = "FCM_API_URL"
)

// DefaultAPIURL is FCM's HTTP v1 endpoint.
const DefaultAPIURL = "https://fcm.googleapis.com/"

// Scope is the OAuth2 scope of FCM's send.
const Scope = "https://www.googleapis.com/auth/firebase.messaging"

// timeout bounds one HTTP exchange (token or send) when the caller's
// context has no nearer deadline.
const timeout = 30 * time.Second

// defaultQuotaDelay is how long to wait after a 429 that names no
// Retry-After: FCM asks senders over quota for at least a minute.
const defaultQuotaDelay = time.Minute

// maxRetryAfter caps what a Retry-After header can ask for, so a bad header
// cannot park a notice for days.
const maxRetryAfter = time.Hour

// Config says which project to send for and with which key.
type Config struct {
	// CredentialsFile is FCM_CREDENTIALS_FILE: a service account key.
	CredentialsFile string
	// ProjectID is FCM_PROJECT_ID; empty means the key's project_id.
	ProjectID string
	// APIURL is FCM_API_URL; empty means DefaultAPIURL.
	APIURL string
}

// ConfigFromEnv reads FCM_CREDENTIALS_FILE, FCM_PROJECT_ID and FCM_API_URL
// through getenv (os.Getenv in the worker) and checks what it can without
// reading the key, which New does. Errors name the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		CredentialsFile: strings.TrimSpace(getenv(EnvCredentialsFile)),
		ProjectID:       strings.TrimSpace(getenv(EnvProjectID)),
		APIURL:          strings.TrimSpace(getenv(EnvAPIURL)),
	}
	if c.CredentialsFile == "" {
		return Config{}, fmt.Errorf("%s is not set: the path of the Firebase service account key (JSON)", EnvCredentialsFile)
	}
	if c.ProjectID != "" && !projectRE.MatchString(c.ProjectID) {
		return Config{}, fmt.Errorf("%s %q is not a project id", EnvProjectID, c.ProjectID)
	}
	if _, err := apiURL(c.APIURL); err != nil {
		return Config{}, err
	}
	return c, nil
}

// projectRE admits project ids, including the legacy domain-scoped ones
// ("example.com:project"); the id goes into the request path.
var projectRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.:-]*[a-z0-9]$`)

func apiURL(raw string) (string, error) {
	if raw == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("%s %q is not an http(s) URL", EnvAPIURL, raw)
	}
	return strings.TrimSuffix(u.String(), "/") + "/", nil
}

// Sender sends push notices through FCM for one project. It is safe for
// concurrent use; its bearer token is shared and renewed as it expires. It
// does not implement channels.Deduplicator (see the package comment).
type Sender struct {
	svc     *fcm.Service
	parent  string // "projects/<id>"
	project string
	now     func() time.Time
}

// New reads and checks the service account key and returns a Sender. It
// does not fetch a token yet: an FCM or token endpoint that is down at start
// delays notices (they are retried), it does not stop the worker. Errors
// name the variable at fault and never quote the key.
func New(c Config) (*Sender, error) {
	if c.CredentialsFile == "" {
		return nil, fmt.Errorf("%s is not set", EnvCredentialsFile)
	}
	key, err := os.ReadFile(c.CredentialsFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvCredentialsFile, err)
	}
	var meta struct {
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(key, &meta); err != nil {
		// encoding/json's errors quote no more than a character.
		return nil, fmt.Errorf("%s %s: not JSON: %v", EnvCredentialsFile, c.CredentialsFile, err)
	}
	jwt, err := google.JWTConfigFromJSON(key, Scope)
	if err != nil {
		return nil, fmt.Errorf("%s %s: not a service account key: %v", EnvCredentialsFile, c.CredentialsFile, err)
	}
	project := c.ProjectID
	if project == "" {
		project = meta.ProjectID
	}
	if project == "" {
		return nil, fmt.Errorf("%s is not set and %s %s has no project_id", EnvProjectID, EnvCredentialsFile, c.CredentialsFile)
	}
	if !projectRE.MatchString(project) {
		return nil, fmt.Errorf("%s %q is not a project id", EnvProjectID, project)
	}
	endpoint, err := apiURL(c.APIURL)
	if err != nil {
		return nil, err
	}

	// The token is fetched with base (its timeout); sends go through
	// oauth2's transport, which adds the bearer token.
	base := &http.Client{Timeout: timeout}
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient, base)
	client := oauth2.NewClient(tokenCtx, tokenSource{jwt.TokenSource(tokenCtx)})
	client.Timeout = timeout
	svc, err := fcm.NewService(context.Background(),
		option.WithHTTPClient(client),
		option.WithEndpoint(endpoint),
		// The client logs whole requests, device token included, at debug
		// level when GOOGLE_SDK_GO_LOGGING_LEVEL asks: never.
		option.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, fmt.Errorf("fcm: %w", err)
	}
	return &Sender{svc: svc, parent: "projects/" + project, project: project, now: time.Now}, nil
}

// errNoToken marks a send that failed for want of a bearer token: the
// request never left, so FCM surely does not have the message.
var errNoToken = errors.New("no OAuth2 token")

// tokenSource tags its source's errors with errNoToken.
type tokenSource struct{ src oauth2.TokenSource }

func (t tokenSource) Token() (*oauth2.Token, error) {
	tok, err := t.src.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNoToken, err)
	}
	return tok, nil
}

// Tag is the Android notification tag and APNs collapse id of the notice
// with this idempotency key: "dunning-" and the first 16 hex digits of the
// key's SHA-256 (the key holds the loan id, which stays internal).
func Tag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "dunning-" + hex.EncodeToString(sum[:8])
}

// request is the send request for m: a notification (title and body) to
// the device token m.To, delivered at once on Android (priority HIGH) and
// shown as an alert at once on iOS (apns-priority 10, apns-push-type
// alert), tagged so a resend replaces the first copy.
func request(m channels.Message) *fcm.SendMessageRequest {
	tag := Tag(m.IdempotencyKey)
	return &fcm.SendMessageRequest{Message: &fcm.Message{
		Token:        m.To,
		Notification: &fcm.Notification{Title: m.Title, Body: m.Body},
		Android: &fcm.AndroidConfig{
			Priority:     "HIGH",
			Notification: &fcm.AndroidNotification{Tag: tag},
		},
		Apns: &fcm.ApnsConfig{Headers: map[string]string{
			"apns-priority":    "10",
			"apns-push-type":   "alert",
			"apns-collapse-id": tag,
		}},
	}}
}

// Send pushes m (Title, Body) to the device token m.To. The receipt's
// MessageID is the name FCM gave the message
// ("projects/<id>/messages/<n>").
//
// Errors, by FCM's errorCode and HTTP status:
//   - UNREGISTERED (404), or INVALID_ARGUMENT (400) about the token: the
//     token is dead, channels.ErrInvalidRecipient, so the customer's push
//     is opted out.
//   - INVALID_ARGUMENT about anything else, SENDER_ID_MISMATCH (403: the
//     token is another project's), THIRD_PARTY_AUTH_ERROR (401: the APNs
//     key or certificate in Firebase is wrong), any other 4xx that is not
//     about our credentials: channels.Permanent.
//   - QUOTA_EXCEEDED or 429: transient, a channels.RetryAfterError with the
//     Retry-After header's delay (a minute when it names none).
//   - UNAVAILABLE, INTERNAL, any 5xx, a network failure, a timeout:
//     transient (with Retry-After's delay when the answer has one).
//   - every transient error is also channels.NotAccepted (FCM surely does
//     not have the message, so SendNotice may send again) except one after
//     the request left and before an answer came (a timeout, a connection
//     reset): that outcome is unknown.
//   - 401, 403 or 404 without an FCM errorCode (our token refused, the
//     service account lacking the role, a wrong project or URL), or no
//     token at all from the token endpoint: transient. It is our
//     configuration, and a fixed deployment delivers the notice on retry.
//
// No error holds the device token unmasked.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return channels.Receipt{}, channels.NotAccepted(fmt.Errorf("fcm: %w", err))
	}
	switch {
	case m.IdempotencyKey == "":
		return channels.Receipt{}, channels.Permanent(errors.New("fcm: message has no idempotency key"))
	case m.Channel != channels.Push:
		return channels.Receipt{}, channels.Permanent(fmt.Errorf("fcm: sends push, not %q", m.Channel))
	case m.To == "":
		return channels.Receipt{}, channels.Permanent(fmt.Errorf("fcm: message %s has no device token", m.IdempotencyKey))
	case m.Title == "" && m.Body == "":
		return channels.Receipt{}, channels.Permanent(fmt.Errorf("fcm: message %s has neither title nor body", m.IdempotencyKey))
	}
	res, err := s.svc.Projects.Messages.Send(s.parent, request(m)).Context(ctx).Do()
	if err != nil {
		return channels.Receipt{}, s.classify(ctx, err, m.To)
	}
	return channels.Receipt{Provider: Provider, MessageID: res.Name, AcceptedAt: s.now().UTC()}, nil
}

// apiError is the body of an FCM error answer (google.rpc.Status).
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type            string `json:"@type"`
			ErrorCode       string `json:"errorCode"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	} `json:"error"`
}

// classify turns the client's error into one that says whether to retry
// (see Send), with the token masked.
func (s *Sender) classify(ctx context.Context, err error, token string) error {
	to := channels.MaskToken(token)
	// The request never left: no token, or no connection to FCM.
	var op *net.OpError
	notSent := errors.Is(err, errNoToken) || (errors.As(err, &op) && op.Op == "dial")
	if ctx.Err() != nil {
		err := fmt.Errorf("fcm: to %s: %w", to, ctx.Err())
		if notSent {
			return channels.NotAccepted(err)
		}
		return err // maybe sent: the outcome is unknown
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		// No answer from FCM: network, timeout, or no token from the
		// token endpoint.
		err := fmt.Errorf("fcm: to %s: %s", to, redact(err.Error(), token))
		if notSent {
			return channels.NotAccepted(err)
		}
		return err
	}
	// FCM answered with an error: it does not have the message, so every
	// transient error below is also channels.NotAccepted.
	var body apiError
	_ = json.Unmarshal([]byte(ge.Body), &body) // not JSON (a proxy's page): status only
	fcmCode, aboutToken := "", false
	for _, d := range body.Error.Details {
		if d.ErrorCode != "" {
			fcmCode = d.ErrorCode
		}
		for _, v := range d.FieldViolations {
			aboutToken = aboutToken || v.Field == "message.token"
		}
	}
	msg := body.Error.Message
	if msg == "" {
		msg = http.StatusText(ge.Code)
	}
	aboutToken = aboutToken || strings.Contains(strings.ToLower(msg), "registration token")
	code := fcmCode
	if code == "" {
		code = body.Error.Status
	}
	if code != "" {
		code = " " + code
	}
	desc := fmt.Sprintf("fcm: to %s: %d%s: %s", to, ge.Code, code, redact(msg, token))
	status := body.Error.Status

	switch {
	case fcmCode == "UNREGISTERED":
		return fmt.Errorf("%s: %w", desc, channels.ErrInvalidRecipient)
	case fcmCode == "INVALID_ARGUMENT" || status == "INVALID_ARGUMENT":
		if aboutToken {
			return fmt.Errorf("%s: %w", desc, channels.ErrInvalidRecipient)
		}
		return channels.Permanent(errors.New(desc))
	case fcmCode == "SENDER_ID_MISMATCH" || fcmCode == "THIRD_PARTY_AUTH_ERROR":
		return channels.Permanent(errors.New(desc))
	case fcmCode == "QUOTA_EXCEEDED" || ge.Code == http.StatusTooManyRequests:
		d, ok := retryAfter(ge.Header, s.now())
		if !ok {
			d = defaultQuotaDelay
		}
		return channels.RetryAfter(errors.New(desc), d)
	case ge.Code >= 500:
		if d, ok := retryAfter(ge.Header, s.now()); ok {
			return channels.RetryAfter(errors.New(desc), d)
		}
		return channels.NotAccepted(errors.New(desc))
	case ge.Code == http.StatusUnauthorized || ge.Code == http.StatusForbidden || ge.Code == http.StatusNotFound:
		return channels.NotAccepted(fmt.Errorf("%s (our credentials, project or URL: fix the configuration)", desc))
	case ge.Code >= 400:
		return channels.Permanent(errors.New(desc))
	default:
		return channels.NotAccepted(errors.New(desc))
	}
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// redact masks the device token wherever a message quotes it.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, channels.MaskToken(token))
}
