// Package smtp delivers email notices through an SMTP submission server
// (a mail provider's relay, the company's MTA, or mailpit in development).
//
// It uses github.com/wneessen/go-mail rather than net/smtp: net/smtp is
// frozen, writes no MIME (a multipart/alternative text+HTML message with
// encoded non-ASCII headers is ours to get right), and reports server
// replies as bare strings. go-mail does STARTTLS (mandatory or
// opportunistic) and implicit TLS, picks the strongest AUTH mechanism the
// server offers, writes correct MIME, and returns a SendError carrying the
// stage that failed and the server's reply code, which is what decides
// whether a notice is retried, failed, or its address opted out.
//
// # Not a Deduplicator
//
// SMTP has no idempotency key: a server that accepted a message whose 250
// reply was lost would take it again. So Sender does not implement
// channels.Deduplicator, and SendNotice calls it again for a notice only
// after an error marked channels.NotAccepted (any failure before the end of
// the message, any refusal), never after one whose outcome is unknown. The
// Message-ID is derived from the notice's idempotency key all the same, so
// should a notice ever go out twice (an operator resending it), both copies
// carry the same one and mail clients (Gmail among them) collapse them.
package smtp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"dunning/channels"
)

// Provider is the provider name on the receipts of Sender.
const Provider = "smtp"

// The environment variables ConfigFromEnv reads.
const (
	// EnvURL is the server to submit to, with credentials:
	// smtp://user:pass@host:587 (STARTTLS when the server offers it;
	// ?starttls=required refuses to go on without it) or
	// smtps://user:pass@host:465 (implicit TLS). No user means no AUTH.
	// A password with reserved characters (@ : / ? #) is percent-encoded.
	EnvURL = "SMTP_URL"
	// EnvFrom is the sender: an address, optionally with a display name
	// ("安心借 <noreply@example.cn>").
	EnvFrom = "MAIL_FROM"
	// EnvUnsubscribe optionally sets the List-Unsubscribe header: one or
	// more mailto: or https: URIs separated by commas. Unset, the header
	// is a mailto: to the From address with subject "unsubscribe", so
	// that mailbox must be read (unsubscribe requests are a compliance
	// matter).
	EnvUnsubscribe = "UNSUBSCRIBE_URL"
)

// Default ports when SMTP_URL names none: submission with STARTTLS
// (RFC 6409) and submission over implicit TLS (RFC 8314).
const (
	defaultPort    = 587
	defaultTLSPort = 465
)

// defaultTimeout bounds each stage of a session (connect, then the
// transaction) when the context has no nearer deadline.
const defaultTimeout = 30 * time.Second

// Config says where and as whom to send. URL holds the password: it comes
// from the environment only and no error quotes it.
type Config struct {
	// URL is SMTP_URL: smtp://[user:pass@]host[:port][?starttls=required]
	// or smtps://[user:pass@]host[:port].
	URL string
	// From is MAIL_FROM: the From header and the envelope sender.
	From string
	// UnsubscribeURL is UNSUBSCRIBE_URL: comma-separated mailto: and
	// https: URIs for List-Unsubscribe; empty means a mailto: to From.
	UnsubscribeURL string

	// tlsConfig replaces the TLS configuration (tests trust their
	// self-signed certificate with it). Nil means the system roots.
	tlsConfig *tls.Config
}

// ConfigFromEnv reads SMTP_URL, MAIL_FROM and UNSUBSCRIBE_URL through
// getenv (os.Getenv in the worker) and checks them, so a bad setting stops
// the worker at start instead of failing every notice. Errors name the
// variable and never contain the password.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		URL:            strings.TrimSpace(getenv(EnvURL)),
		From:           strings.TrimSpace(getenv(EnvFrom)),
		UnsubscribeURL: strings.TrimSpace(getenv(EnvUnsubscribe)),
	}
	if _, err := c.parse(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// settings is a Config checked and taken apart.
type settings struct {
	host        string
	port        int
	implicitTLS bool
	starttls    mail.TLSPolicy
	user, pass  string
	from        *netmail.Address
	domain      string // of the From address: the right side of Message-IDs
	unsubscribe []string
}

// parse checks c. Its errors name the variable at fault and quote nothing
// of SMTP_URL but its scheme.
func (c Config) parse() (settings, error) {
	var s settings
	if err := s.parseURL(c.URL); err != nil {
		return settings{}, err
	}
	if c.From == "" {
		return settings{}, fmt.Errorf("%s is not set: the sender address, e.g. \"Brand <noreply@example.cn>\"", EnvFrom)
	}
	from, err := netmail.ParseAddress(c.From)
	if err != nil {
		return settings{}, fmt.Errorf("%s %q is not an email address (name optional): %v", EnvFrom, c.From, err)
	}
	s.from = from
	s.domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	if c.UnsubscribeURL == "" {
		s.unsubscribe = []string{"mailto:" + from.Address + "?subject=unsubscribe"}
		return s, nil
	}
	for raw := range strings.SplitSeq(c.UnsubscribeURL, ",") {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		switch {
		case err != nil || raw == "":
			return settings{}, fmt.Errorf("%s: %q is not a URI", EnvUnsubscribe, raw)
		case u.Scheme == "mailto" && strings.Contains(u.Opaque, "@"):
		case u.Scheme == "https" && u.Host != "":
		default:
			return settings{}, fmt.Errorf("%s: %q is neither a mailto: address nor an https: URL", EnvUnsubscribe, raw)
		}
		s.unsubscribe = append(s.unsubscribe, u.String())
	}
	return s, nil
}

// urlForm is the shape of SMTP_URL, for error messages.
const urlForm = "smtp://user:pass@host:587[?starttls=required] or smtps://user:pass@host:465"

func (s *settings) parseURL(raw string) error {
	// No part of the URL but its scheme is ever quoted: in a URL that does
	// not parse as meant (a password with a raw "/" or "@"), any part of
	// host, port, path or query may be a piece of the password.
	if raw == "" {
		return fmt.Errorf("%s is not set: %s", EnvURL, urlForm)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included.
		return fmt.Errorf("%s is not a valid URL (%s); percent-encode reserved characters in the password", EnvURL, urlForm)
	}
	switch u.Scheme {
	case "smtp":
		s.port, s.starttls = defaultPort, mail.TLSOpportunistic
	case "smtps":
		s.port, s.implicitTLS = defaultTLSPort, true
	default:
		return fmt.Errorf("%s: scheme %q, want smtp or smtps (%s)", EnvURL, u.Scheme, urlForm)
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return fmt.Errorf("%s: only user, password, host, port and ?starttls= are allowed (%s); percent-encode reserved characters in the password", EnvURL, urlForm)
	}
	if s.host = u.Hostname(); s.host == "" {
		return fmt.Errorf("%s: no host (%s)", EnvURL, urlForm)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%s: the port is not a number 1-65535 (%s)", EnvURL, urlForm)
		}
		s.port = n
	}
	for k, v := range u.Query() {
		if k != "starttls" {
			return fmt.Errorf("%s: unknown parameter; the only one is starttls=required|opportunistic", EnvURL)
		}
		if s.implicitTLS {
			return fmt.Errorf("%s: starttls applies to smtp://; smtps:// is TLS from the start", EnvURL)
		}
		switch strings.Join(v, ",") {
		case "required":
			s.starttls = mail.TLSMandatory
		case "opportunistic":
			s.starttls = mail.TLSOpportunistic
		default:
			return fmt.Errorf("%s: starttls must be required or opportunistic", EnvURL)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" || s.pass == "" {
			return fmt.Errorf("%s: give both user and password, or neither (no AUTH)", EnvURL)
		}
	}
	return nil
}

// Sender sends email notices through one SMTP server, one connection per
// message: notices are few and far between per worker, and a fresh session
// keeps one message's failure from touching the next. It is safe for
// concurrent use. It does not implement channels.Deduplicator (see the
// package comment).
type Sender struct {
	s   settings
	tls *tls.Config
	now func() time.Time
}

// New checks c and returns a Sender for it. It does not connect: a server
// that is down at start delays notices (they are retried), it does not stop
// the worker.
func New(c Config) (*Sender, error) {
	s, err := c.parse()
	if err != nil {
		return nil, err
	}
	tc := c.tlsConfig
	if tc == nil {
		tc = &tls.Config{}
	}
	tc = tc.Clone()
	tc.ServerName = s.host
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	return &Sender{s: s, tls: tc, now: time.Now}, nil
}

// MessageID is the Message-ID (without angle brackets) of the notice with
// this idempotency key: "dunning.", the first 32 hex digits of the key's
// SHA-256, "@" and the From domain. The key itself stays out of the message
// (it holds the loan id, which is internal); the hash makes a resend carry
// the same Message-ID as the first copy.
func (s *Sender) MessageID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "dunning." + hex.EncodeToString(sum[:16]) + "@" + s.s.domain
}

// Send submits m as a multipart/alternative email (m.Text, m.HTML) with
// subject m.Subject to m.To. The receipt's MessageID is the message's
// Message-ID, without angle brackets.
//
// Errors, by what the server answered:
//   - 550, 551 or 553 to RCPT TO, saying the mailbox does not exist or is
//     malformed (no enhanced status, or 5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10,
//     5.2.1): channels.ErrInvalidRecipient, so the customer's email is
//     opted out. A 550 for relaying or policy (5.7.x) is only Permanent:
//     it is our configuration, not the customer's address.
//   - any other 5xx to RCPT TO or DATA (mailbox full, content rejected,
//     message too big): channels.Permanent.
//   - 4xx, a connection that fails or drops, a timeout: transient, so
//     Temporal retries. Every transient error is also channels.NotAccepted
//     (the server surely does not have the message, so SendNotice may send
//     again) except a session that broke between the message's final "."
//     and the server's answer: that outcome is unknown.
//   - a failure before the recipient is named (greeting, STARTTLS,
//     certificate, AUTH, a 5xx to MAIL FROM, 530 authentication required):
//     transient even with a 5xx. It says nothing about the notice or the
//     customer's address; it is our sender, our credentials or the
//     server, and a fixed deployment delivers the notice on retry (as with
//     channels.ErrUnknownChannel) where Permanent would lose it.
//
// A message the server accepted is sent even if closing the session fails
// afterwards. No error holds the recipient unmasked or the password.
func (s *Sender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return channels.Receipt{}, channels.NotAccepted(fmt.Errorf("smtp: %w", err))
	}
	to := channels.MaskEmail(m.To)
	switch {
	case m.IdempotencyKey == "":
		return channels.Receipt{}, channels.Permanent(errors.New("smtp: message has no idempotency key"))
	case m.Channel != channels.Email:
		return channels.Receipt{}, channels.Permanent(fmt.Errorf("smtp: sends email, not %q", m.Channel))
	case m.To == "":
		return channels.Receipt{}, channels.Permanent(fmt.Errorf("smtp: message %s has no recipient", m.IdempotencyKey))
	case m.Text == "" && m.HTML == "":
		return channels.Receipt{}, channels.Permanent(fmt.Errorf("smtp: message %s to %s has no body", m.IdempotencyKey, to))
	}

	id := s.MessageID(m.IdempotencyKey)
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.s.from)
	if err := msg.To(m.To); err != nil {
		// go-mail's error quotes the address: say it masked.
		return channels.Receipt{}, fmt.Errorf("smtp: %s is not an email address: %w", to, channels.ErrInvalidRecipient)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id)
	msg.SetDateWithValue(s.now())
	msg.SetListUnsubscribe(s.s.unsubscribe...)
	// RFC 3834: an automatic message, so auto-responders do not answer it.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.Locale != "" {
		msg.SetGenHeader(mail.HeaderContentLang, m.Locale)
	}
	if m.Text != "" {
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		if m.HTML != "" {
			msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
		}
	} else {
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	}

	var conns connections
	// A cancelled context (the activity cancelled, its worker stopping)
	// ends the session at once instead of after the per-stage timeout.
	stop := context.AfterFunc(ctx, conns.close)
	defer stop()
	defer conns.close()
	client, err := mail.NewClient(s.s.host, s.options(ctx, &conns)...)
	if err != nil {
		return channels.Receipt{}, fmt.Errorf("smtp: client for %s:%d: %s", s.s.host, s.s.port, redact(err.Error()))
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err != nil && !msg.IsDelivered() {
		return channels.Receipt{}, s.classify(ctx, err, to)
	}
	return channels.Receipt{Provider: Provider, MessageID: id, AcceptedAt: s.now().UTC()}, nil
}

// connections are the connections of one Send, closed when it returns:
// go-mail leaves a connection open when the session fails after connecting
// (greeting, STARTTLS, AUTH), which would hold a socket, and the server's
// session, until the garbage collector found it.
type connections struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (c *connections) add(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns = append(c.conns, conn)
}

func (c *connections) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		_ = conn.Close() // already closed after a QUIT: nothing to report
	}
	c.conns = nil
}

// dial connects to the server for go-mail, keeping the connection in
// conns, and does the TLS handshake itself for implicit TLS (go-mail does
// it only with its own dialer).
func (s *Sender) dial(conns *connections) mail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conns.add(conn)
		if !s.s.implicitTLS {
			return conn, nil
		}
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, err
		}
		return tc, nil
	}
}

// options configures one session: TLS as SMTP_URL says, AUTH when it has a
// user, a per-stage timeout no longer than what is left of ctx.
func (s *Sender) options(ctx context.Context, conns *connections) []mail.Option {
	timeout := defaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Second)
	}
	policy := s.s.starttls
	if s.s.implicitTLS {
		// The connection is TLS already (dial): go-mail sees that and
		// counts the session as encrypted; no STARTTLS is offered on it.
		policy = mail.TLSOpportunistic
	}
	opts := []mail.Option{
		mail.WithDialContextFunc(s.dial(conns)),
		mail.WithPort(s.s.port),
		mail.WithTLSPolicy(policy),
		mail.WithTLSConfig(s.tls),
		mail.WithTimeout(timeout),
		// One message per connection: the NOOP before it and the RSET
		// after it are round trips for nothing.
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	if s.s.user != "" {
		// The strongest mechanism offered; PLAIN and LOGIN only over TLS,
		// so the password never crosses the network in clear.
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.s.user), mail.WithPassword(s.s.pass))
	}
	return opts
}

// classify turns go-mail's error into one that says whether to retry (see
// Send), with the recipient masked.
func (s *Sender) classify(ctx context.Context, err error, to string) error {
	var se *mail.SendError
	isSendErr := errors.As(err, &se)
	// The server surely does not have the message unless the session broke
	// after the message's final "." and before the server's answer to it:
	// a server delivers nothing it has not acknowledged, and one that
	// answered the final "." with an error refused it. Only that one case
	// leaves the outcome unknown.
	notTaken := !isSendErr || se.Reason != mail.ErrSMTPDataClose || se.ErrorCode() != 0
	mark := func(err error) error {
		if notTaken {
			return channels.NotAccepted(err)
		}
		return err
	}
	if ctx.Err() != nil {
		return mark(fmt.Errorf("smtp: to %s via %s:%d: %w", to, s.s.host, s.s.port, ctx.Err()))
	}
	if !isSendErr {
		return channels.NotAccepted(fmt.Errorf("smtp: to %s: session with %s:%d failed: %s", to, s.s.host, s.s.port, redact(err.Error())))
	}
	text := describe(se)
	code := se.ErrorCode()
	if code < 500 || code > 599 {
		// 4xx, or no reply at all (0): the connection broke mid-way.
		return mark(fmt.Errorf("smtp: to %s: %s", to, text))
	}
	if se.Reason == mail.ErrSMTPMailFrom || code == 530 {
		return channels.NotAccepted(fmt.Errorf("smtp: to %s: %s (our sender or credentials: fix the configuration)", to, text))
	}
	if se.Reason == mail.ErrSMTPRcptTo && mailboxInvalid(code, enhancedCode(se, text), text) {
		return fmt.Errorf("smtp: to %s: %s: %w", to, text, channels.ErrInvalidRecipient)
	}
	return channels.Permanent(fmt.Errorf("smtp: to %s: %s", to, text))
}

// describe is a SendError's text without what go-mail appends (the
// recipient list and the Message-ID), with any address the server quoted
// masked.
func describe(se *mail.SendError) string {
	text := se.Error()
	if i := strings.Index(text, ", affected "); i >= 0 {
		text = text[:i]
	}
	return redact(text)
}

// redact masks the addresses in a server reply ("<zhang.wei@example.cn>:
// Recipient address rejected") as logs do.
func redact(s string) string { return channels.MaskText(s) }

var enhancedRE = regexp.MustCompile(`\b5\.\d{1,3}\.\d{1,3}\b`)

// enhancedCode is the RFC 3463 status of a reply: go-mail's when the server
// advertised ENHANCEDSTATUSCODES, else whatever the reply text carries.
func enhancedCode(se *mail.SendError, text string) string {
	if c := se.EnhancedStatusCode(); c != "" {
		return c
	}
	return enhancedRE.FindString(text)
}

// badMailbox are the RFC 3463 statuses that mean the recipient's address
// is wrong for good: bad mailbox, bad system, bad syntax, moved, null MX
// (RFC 7505), disabled.
var badMailbox = map[string]bool{
	"5.1.1": true, "5.1.2": true, "5.1.3": true, "5.1.6": true, "5.1.10": true, "5.2.1": true,
}

// notAboutTheMailbox are words in a 550 without an enhanced status that
// blame something other than the recipient's address.
var notAboutTheMailbox = []string{"relay", "auth", "policy", "spam", "blocked", "blacklist", "rate limit", "sender"}

// mailboxInvalid reports whether a 5xx reply to RCPT TO says the address
// itself is dead, as opposed to our sender, our credentials or a policy.
func mailboxInvalid(code int, enhanced, text string) bool {
	if code != 550 && code != 551 && code != 553 {
		return false
	}
	if enhanced != "" {
		return badMailbox[enhanced]
	}
	lower := strings.ToLower(text)
	for _, w := range notAboutTheMailbox {
		if strings.Contains(lower, w) {
			return false
		}
	}
	return true
}
