package aliyun

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"dunning/templates"
)

// DefaultEndpoint is Aliyun's SMS API (dysmsapi, the central endpoint).
// ALIYUN_SMS_ENDPOINT replaces it, for another region or a mock.
const DefaultEndpoint = "dysmsapi.aliyuncs.com"

var (
	// templateCodePattern is an approved template's code: "SMS_" and digits.
	templateCodePattern = regexp.MustCompile(`^SMS_[0-9]+$`)
	// accessKeyIDPattern is what an AccessKey ID is made of ("LTAI…").
	accessKeyIDPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// Config is what the Aliyun sender needs; ConfigFromEnv reads it from the
// environment, so secrets never live in code or in files.
type Config struct {
	// AccessKeyID identifies the RAM user's AccessKey (it needs
	// dysms:SendSms and nothing more).
	AccessKeyID string
	// AccessKeySecret signs every request. Never logged (see String,
	// LogValue) and never sent: only the signature travels.
	AccessKeySecret string
	// SignName is the approved signature Aliyun puts in 【】 before the text.
	SignName string
	// Templates maps our template names (templates.Names: overdue_firm, …)
	// to the codes of the templates Aliyun approved (SMS_123456). Aliyun
	// sends only approved templates, filled with the message's parameters;
	// our rendered text is not sent.
	Templates map[string]string
	// Endpoint is the API's host ("dysmsapi.aliyuncs.com", over https) or a
	// URL: "https://host", or "http://127.0.0.1:port" for a mock (plain http
	// only to a loopback host). Empty means DefaultEndpoint.
	Endpoint string
}

// ConfigFromEnv reads the configuration through getenv (os.Getenv in the
// worker, a map in tests): ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET,
// ALIYUN_SMS_SIGN_NAME and ALIYUN_SMS_TEMPLATES are required;
// ALIYUN_SMS_ENDPOINT defaults to DefaultEndpoint. ALIYUN_SMS_TEMPLATES is a
// comma-separated list of name=code, such as
// "overdue_firm=SMS_123,upcoming=SMS_456"; each name must be one of
// templates.Names and appear once, each code an approved template code. The
// error names every missing or invalid variable and every bad template entry
// at once, and never shows the secret.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	env := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := Config{
		AccessKeyID:     env("ALIYUN_ACCESS_KEY_ID"),
		AccessKeySecret: env("ALIYUN_ACCESS_KEY_SECRET"),
		SignName:        env("ALIYUN_SMS_SIGN_NAME"),
		Endpoint:        env("ALIYUN_SMS_ENDPOINT"),
	}
	var errs []error
	raw := env("ALIYUN_SMS_TEMPLATES")
	if raw == "" {
		errs = append(errs, errors.New("ALIYUN_SMS_TEMPLATES is not set"))
	} else {
		var err error
		if c.Templates, err = parseTemplates(raw); err != nil {
			errs = append(errs, fmt.Errorf("ALIYUN_SMS_TEMPLATES: %w", err))
		}
	}
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint
	}
	if err := c.validate(true); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("aliyun configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// parseTemplates parses "name=code,name=code" strictly: blanks around names
// and codes are allowed, nothing else is. The error names each bad entry by
// its position and text: an empty entry, one without "=", an unknown template
// name, a name given twice, a code that is not "SMS_" and digits.
func parseTemplates(s string) (map[string]string, error) {
	known := templates.Names()
	out := make(map[string]string)
	var errs []error
	for i, entry := range strings.Split(s, ",") {
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("entry %d %q: %s", i+1, strings.TrimSpace(entry), fmt.Sprintf(format, args...)))
		}
		name, code, found := strings.Cut(entry, "=")
		name, code = strings.TrimSpace(name), strings.TrimSpace(code)
		switch {
		case strings.TrimSpace(entry) == "":
			bad("empty")
		case !found:
			bad("not name=code")
		case name == "":
			bad("no template name")
		case !slices.Contains(known, name):
			bad("unknown template %q (known: %s)", name, strings.Join(known, ", "))
		case out[name] != "":
			bad("template %q given twice", name)
		case !templateCodePattern.MatchString(code):
			bad("code %q is not a template code (SMS_ and digits)", code)
		default:
			out[name] = code
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// validate checks every field but Templates' parsing and reports all
// problems, naming fields by their environment variable when env is true and
// by their Go name otherwise.
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
	case c.AccessKeyID == "":
		bad("ALIYUN_ACCESS_KEY_ID", "AccessKeyID", "is not set")
	case !accessKeyIDPattern.MatchString(c.AccessKeyID):
		bad("ALIYUN_ACCESS_KEY_ID", "AccessKeyID", "must be letters and digits only")
	}
	if c.AccessKeySecret == "" {
		bad("ALIYUN_ACCESS_KEY_SECRET", "AccessKeySecret", "is not set")
	}
	if c.SignName == "" {
		bad("ALIYUN_SMS_SIGN_NAME", "SignName", "is not set")
	}
	if !env {
		// From the environment, parseTemplates has checked them already.
		if len(c.Templates) == 0 {
			bad("ALIYUN_SMS_TEMPLATES", "Templates", "is empty")
		}
		for _, n := range slices.Sorted(maps.Keys(c.Templates)) {
			if !templateCodePattern.MatchString(c.Templates[n]) {
				bad("ALIYUN_SMS_TEMPLATES", "Templates", fmt.Sprintf("%q: code %q is not a template code", n, c.Templates[n]))
			}
		}
	}
	if _, _, err := parseEndpoint(c.Endpoint); err != nil {
		bad("ALIYUN_SMS_ENDPOINT", "Endpoint", err.Error())
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// parseEndpoint splits an endpoint into the SDK's scheme ("HTTPS" or "HTTP")
// and domain (host[:port]). A bare host means https. Its errors do not echo
// the value (a secret pasted into the wrong variable must not reach a log).
// Plain http is refused except to a loopback host: the query string carries
// the phone number and the template parameters.
func parseEndpoint(endpoint string) (scheme, domain string, err error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, perr := url.Parse(endpoint)
	switch {
	case perr != nil:
		return "", "", errors.New("is not a host or URL")
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "", "", errors.New("is not a host or an absolute http(s) URL")
	case u.User != nil:
		return "", "", errors.New("must not carry credentials")
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "":
		return "", "", errors.New("must be a host or scheme://host[:port], without a path or query")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", "", errors.New("must use https (http only for a loopback mock)")
	}
	return strings.ToUpper(u.Scheme), u.Host, nil
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String shows the configuration without the AccessKey secret, so a Config
// printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("aliyun.Config{AccessKeyID:%s AccessKeySecret:%s SignName:%s Templates:%v Endpoint:%s}",
		c.AccessKeyID, redacted(c.AccessKeySecret), c.SignName, c.Templates, c.Endpoint)
}

// LogValue makes slog print the configuration without the AccessKey secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("access_key_secret", redacted(c.AccessKeySecret)),
		slog.String("sign_name", c.SignName),
		slog.Any("templates", c.Templates),
		slog.String("endpoint", c.Endpoint),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}
