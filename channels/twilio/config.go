package twilio

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// DefaultAPIURL is Twilio's REST API. TWILIO_API_URL replaces it, for a mock.
const DefaultAPIURL = "https://api.twilio.com"

// WebhookPath is where the API receives Twilio's status callbacks, below
// PUBLIC_BASE_URL. Twilio signs the callback with the URL it was given, so the
// webhook handler must validate against PUBLIC_BASE_URL + path and query, not
// against the URL it sees behind a proxy.
const WebhookPath = "/v1/webhooks/twilio"

var (
	// accountSIDPattern is an Account SID: "AC" and 32 hex digits.
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	// serviceSIDPattern is a Messaging Service SID: "MG" and 32 hex digits.
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	// e164Pattern is an E.164 number: "+", no leading 0, at most 15 digits.
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	// authTokenPattern is what twilio-go accepts as a password: it refuses
	// any other character before sending (error 21224).
	authTokenPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// Config is what the Twilio sender needs; ConfigFromEnv reads it from the
// environment, so secrets never live in code or in files.
type Config struct {
	// AccountSID is the account ("AC…"), the basic-auth user.
	AccountSID string
	// AuthToken is the account's auth token: the basic-auth password and the
	// key Twilio signs webhooks with. Never logged (see String, LogValue).
	AuthToken string
	// From is the sender: an E.164 number, or a Messaging Service SID
	// ("MG…"), which is sent as MessagingServiceSid so Twilio picks the number
	// from the service's pool.
	From string
	// APIURL is the REST API's base URL without a path; DefaultAPIURL unless
	// pointed at a mock.
	APIURL string
	// PublicBaseURL, when set, is where Twilio reaches this service: every
	// message asks for status callbacks at PublicBaseURL + WebhookPath.
	PublicBaseURL string
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv in the
// worker, a map in tests): TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and
// TWILIO_FROM are required; TWILIO_API_URL defaults to DefaultAPIURL and
// PUBLIC_BASE_URL is optional. The error names every missing or invalid
// variable at once, so one deploy fixes them all, and never shows the token.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		AccountSID:    env("TWILIO_ACCOUNT_SID"),
		AuthToken:     env("TWILIO_AUTH_TOKEN"),
		From:          env("TWILIO_FROM"),
		APIURL:        env("TWILIO_API_URL"),
		PublicBaseURL: env("PUBLIC_BASE_URL"),
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if err := c.validate(true); err != nil {
		return Config{}, err
	}
	c.APIURL = strings.TrimRight(c.APIURL, "/")
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	return c, nil
}

// validate checks every field and reports all problems, naming the fields by
// their environment variable when env is true and by their Go name otherwise.
func (c Config) validate(env bool) error {
	name := func(envName, field string) string {
		if env {
			return envName
		}
		return field
	}
	var errs []error
	bad := func(envName, field, problem string) {
		errs = append(errs, fmt.Errorf("%s %s", name(envName, field), problem))
	}
	switch {
	case c.AccountSID == "":
		bad("TWILIO_ACCOUNT_SID", "AccountSID", "is not set")
	case !accountSIDPattern.MatchString(c.AccountSID):
		// An SID is not a secret, but a mistyped one may be the token pasted
		// into the wrong variable: do not echo it.
		bad("TWILIO_ACCOUNT_SID", "AccountSID", "is not an Account SID (AC and 32 hex digits)")
	}
	switch {
	case c.AuthToken == "":
		bad("TWILIO_AUTH_TOKEN", "AuthToken", "is not set")
	case !authTokenPattern.MatchString(c.AuthToken):
		bad("TWILIO_AUTH_TOKEN", "AuthToken", "must be letters and digits only")
	}
	switch {
	case c.From == "":
		bad("TWILIO_FROM", "From", "is not set")
	case !e164Pattern.MatchString(c.From) && !serviceSIDPattern.MatchString(c.From):
		bad("TWILIO_FROM", "From", "is neither an E.164 number (+15005550006) nor a Messaging Service SID (MG and 32 hex digits)")
	}
	if err := checkBaseURL(c.APIURL, true); err != nil {
		bad("TWILIO_API_URL", "APIURL", err.Error())
	}
	if c.PublicBaseURL != "" {
		if err := checkBaseURL(c.PublicBaseURL, false); err != nil {
			bad("PUBLIC_BASE_URL", "PublicBaseURL", err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("twilio configuration: %w", errors.Join(errs...))
	}
	return nil
}

// checkBaseURL accepts an absolute http(s) URL with a host and nothing after
// the path. Its errors do not echo the value (a secret pasted into the wrong
// variable must not reach a log). Plain http is allowed only for a loopback host (a mock on this
// machine): anywhere else it would send the auth token and phone numbers in
// the clear. apiRoot also refuses a path, since the SDK appends its own.
func checkBaseURL(raw string, apiRoot bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return errors.New("is not an absolute http(s) URL")
	case u.User != nil:
		return errors.New("must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("must not have a query or fragment")
	case apiRoot && strings.Trim(u.Path, "/") != "":
		return errors.New("must have no path (the SDK adds /2010-04-01/…)")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return errors.New("must use https (http only for a loopback mock)")
	}
	return nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// usesMessagingService reports whether From is a Messaging Service SID.
func (c Config) usesMessagingService() bool { return serviceSIDPattern.MatchString(c.From) }

// StatusCallbackURL is where every message asks Twilio to post its status
// changes, or "" without PublicBaseURL. Send adds "?key=<idempotency key>";
// Twilio signs the URL it was given, query included, so the webhook handler
// validates against PublicBaseURL + the request's path and query.
func (c Config) StatusCallbackURL() string {
	if c.PublicBaseURL == "" {
		return ""
	}
	return strings.TrimRight(c.PublicBaseURL, "/") + WebhookPath
}

// String shows the configuration without the auth token, so a Config printed
// by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("twilio.Config{AccountSID:%s AuthToken:%s From:%s APIURL:%s PublicBaseURL:%s}",
		c.AccountSID, redacted(c.AuthToken), c.From, c.APIURL, c.PublicBaseURL)
}

// LogValue makes slog print the configuration without the auth token.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account_sid", c.AccountSID),
		slog.String("auth_token", redacted(c.AuthToken)),
		slog.String("from", c.From),
		slog.String("api_url", c.APIURL),
		slog.String("public_base_url", c.PublicBaseURL),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}
