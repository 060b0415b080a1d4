package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"dunning/channels"
)

const (
	testFrom = "安心借 <noreply@example.cn>"
	testTo   = "zhang.wei@example.cn"
	testPass = "s3cr3t-p@ss/word"
)

func notice(key string) channels.Message {
	return channels.Message{
		IdempotencyKey: key, Channel: channels.Email, To: testTo,
		Template: "overdue_firm", Locale: "zh-CN",
		Subject: "您的借款已逾期 7 天 — please repay",
		Text:    "尊敬的张伟：您的借款已逾期 7 天，应还 1068.50 元。\nRepay: https://m.example.cn/repay\n",
		HTML:    "<p>尊敬的张伟：您的借款已逾期 <b>7</b> 天，应还 1068.50 元。</p>",
	}
}

func newSender(t *testing.T, rawURL string, pool *x509.CertPool) *Sender {
	t.Helper()
	c := Config{URL: rawURL, From: testFrom}
	if pool != nil {
		c.tlsConfig = &tls.Config{RootCAs: pool}
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// class is what a caller does with Send's outcome.
type class string

const (
	sent      class = "sent"
	transient class = "transient"
	permanent class = "permanent"
	invalid   class = "invalid recipient"
)

func classOf(err error) class {
	switch {
	case err == nil:
		return sent
	case errors.Is(err, channels.ErrInvalidRecipient):
		return invalid
	case channels.IsPermanent(err):
		return permanent
	default:
		return transient
	}
}

// unknownOutcome reports whether err leaves it open whether the server has
// the message: SendNotice must then not send again.
func unknownOutcome(err error) bool { return err != nil && !channels.IsNotAccepted(err) }

// noLeak fails if err's text holds the recipient unmasked or the password.
func noLeak(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if msg := err.Error(); strings.Contains(msg, testTo) || strings.Contains(msg, testPass) || strings.Contains(msg, "p%40ss") {
		t.Errorf("error leaks the recipient or the password: %s", msg)
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // a substring; "" means valid
		check   func(t *testing.T, s settings)
	}{
		{name: "submission with STARTTLS when offered, and auth",
			env: map[string]string{EnvURL: "smtp://apikey:" + "s3cr3t-p%40ss%2Fword" + "@smtp.example.com", EnvFrom: testFrom},
			check: func(t *testing.T, s settings) {
				if s.host != "smtp.example.com" || s.port != 587 || s.implicitTLS || s.starttls.String() != "TLSOpportunistic" ||
					s.user != "apikey" || s.pass != testPass {
					t.Errorf("got %+v", s)
				}
				if s.from.Name != "安心借" || s.from.Address != "noreply@example.cn" || s.domain != "example.cn" {
					t.Errorf("from %+v domain %q", s.from, s.domain)
				}
				if len(s.unsubscribe) != 1 || s.unsubscribe[0] != "mailto:noreply@example.cn?subject=unsubscribe" {
					t.Errorf("default unsubscribe %q", s.unsubscribe)
				}
			}},
		{name: "STARTTLS required",
			env: map[string]string{EnvURL: "smtp://u:p@mx.example.com:2525?starttls=required", EnvFrom: "noreply@example.cn"},
			check: func(t *testing.T, s settings) {
				if s.port != 2525 || s.starttls.String() != "TLSMandatory" {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "implicit TLS on 465",
			env: map[string]string{EnvURL: "smtps://u:p@smtp.example.com", EnvFrom: "noreply@example.cn"},
			check: func(t *testing.T, s settings) {
				if s.port != 465 || !s.implicitTLS {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "no user, no auth (mailpit)",
			env: map[string]string{EnvURL: "smtp://127.0.0.1:1025", EnvFrom: "noreply@example.cn"},
			check: func(t *testing.T, s settings) {
				if s.user != "" || s.pass != "" || s.port != 1025 {
					t.Errorf("got %+v", s)
				}
			}},
		{name: "unsubscribe mailto and https",
			env: map[string]string{EnvURL: "smtp://127.0.0.1:1025", EnvFrom: "noreply@example.cn",
				EnvUnsubscribe: "mailto:unsubscribe@example.cn, https://m.example.cn/unsubscribe"},
			check: func(t *testing.T, s settings) {
				if strings.Join(s.unsubscribe, " ") != "mailto:unsubscribe@example.cn https://m.example.cn/unsubscribe" {
					t.Errorf("unsubscribe %q", s.unsubscribe)
				}
			}},
		{name: "no URL", env: map[string]string{EnvFrom: "noreply@example.cn"}, wantErr: "SMTP_URL is not set"},
		{name: "unparsable URL", env: map[string]string{EnvURL: "smtp://u:s3cr3t@bad host:25", EnvFrom: "a@b.c"}, wantErr: "SMTP_URL is not a valid URL"},
		{name: "raw / and @ in the password", env: map[string]string{EnvURL: "smtp://u:" + testPass + "@h:25", EnvFrom: "a@b.c"}, wantErr: "SMTP_URL: only user"},
		{name: "raw / and : in the password", env: map[string]string{EnvURL: "smtp://u:s3cr3t/word:99@h", EnvFrom: "a@b.c"}, wantErr: "SMTP_URL"},
		{name: "raw ? in the password", env: map[string]string{EnvURL: "smtp://u:s3cr3t?word=1@h", EnvFrom: "a@b.c"}, wantErr: "SMTP_URL"},
		{name: "wrong scheme", env: map[string]string{EnvURL: "http://u:s3cr3t@h", EnvFrom: "a@b.c"}, wantErr: "SMTP_URL: scheme \"http\""},
		{name: "no host", env: map[string]string{EnvURL: "smtp://u:s3cr3t@:25", EnvFrom: "a@b.c"}, wantErr: "no host"},
		{name: "bad port", env: map[string]string{EnvURL: "smtp://h:99999", EnvFrom: "a@b.c"}, wantErr: "the port is not"},
		{name: "unknown parameter", env: map[string]string{EnvURL: "smtp://h?auth=login", EnvFrom: "a@b.c"}, wantErr: "unknown parameter"},
		{name: "bad starttls", env: map[string]string{EnvURL: "smtp://h?starttls=off", EnvFrom: "a@b.c"}, wantErr: "starttls must be"},
		{name: "starttls with smtps", env: map[string]string{EnvURL: "smtps://h?starttls=required", EnvFrom: "a@b.c"}, wantErr: "smtps:// is TLS"},
		{name: "user without password", env: map[string]string{EnvURL: "smtp://u@h", EnvFrom: "a@b.c"}, wantErr: "both user and password"},
		{name: "path", env: map[string]string{EnvURL: "smtp://h/x", EnvFrom: "a@b.c"}, wantErr: "SMTP_URL: only user"},
		{name: "no sender", env: map[string]string{EnvURL: "smtp://h"}, wantErr: "MAIL_FROM is not set"},
		{name: "bad sender", env: map[string]string{EnvURL: "smtp://h", EnvFrom: "noreply"}, wantErr: "MAIL_FROM \"noreply\" is not an email address"},
		{name: "bad unsubscribe", env: map[string]string{EnvURL: "smtp://h", EnvFrom: "a@b.c", EnvUnsubscribe: "http://insecure.example.cn/u"},
			wantErr: "UNSUBSCRIBE_URL: \"http://insecure.example.cn/u\" is neither"},
		{name: "mailto without address", env: map[string]string{EnvURL: "smtp://h", EnvFrom: "a@b.c", EnvUnsubscribe: "mailto:"},
			wantErr: "UNSUBSCRIBE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				for _, piece := range []string{"s3cr3t", "ss/word", "/word", "word=1", "word:99"} {
					if strings.Contains(err.Error(), piece) {
						t.Errorf("error shows (a piece of) the password: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.parse()
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestSendWritesTheMessage(t *testing.T) {
	f := newFakeServer(t, nil)
	s := newSender(t, "smtp://127.0.0.1:"+f.port(), nil)
	m := notice("L-2026-0001/v0/s1/7/email")
	r, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	wantID := s.MessageID(m.IdempotencyKey)
	if r.Provider != Provider || r.MessageID != wantID || r.AcceptedAt.IsZero() {
		t.Errorf("receipt %+v, want provider smtp, message id %s", r, wantID)
	}
	got := f.messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	if got[0].from != "noreply@example.cn" || len(got[0].to) != 1 || got[0].to[0] != testTo {
		t.Errorf("envelope from %q to %q", got[0].from, got[0].to)
	}
	if strings.Contains(got[0].data, m.IdempotencyKey) || strings.Contains(got[0].data, "L-2026-0001") {
		t.Errorf("the message carries the idempotency key (internal, holds the loan id):\n%s", got[0].data)
	}

	msg, err := netmail.ReadMessage(strings.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "安心借" || from[0].Address != "noreply@example.cn" {
		t.Errorf("From %q: %v %v", h.Get("From"), from, err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != testTo {
		t.Errorf("To %q: %v", h.Get("To"), err)
	}
	if subj, err := dec.DecodeHeader(h.Get("Subject")); err != nil || subj != m.Subject {
		t.Errorf("Subject %q decodes to %q (%v), want %q", h.Get("Subject"), subj, err, m.Subject)
	}
	for _, c := range []struct{ header, want string }{
		{"Message-ID", "<" + wantID + ">"},
		{"List-Unsubscribe", "<mailto:noreply@example.cn?subject=unsubscribe>"},
		{"Auto-Submitted", "auto-generated"},
		{"Content-Language", "zh-CN"},
		{"MIME-Version", "1.0"},
		{"X-Dunning-Key", ""},
	} {
		if got := h.Get(c.header); got != c.want {
			t.Errorf("%s: %q, want %q", c.header, got, c.want)
		}
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}

	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types, bodies []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if !strings.EqualFold(pp["charset"], "utf-8") {
			t.Errorf("part %s charset %q, want UTF-8", pt, pp["charset"])
		}
		b, err := io.ReadAll(p) // multipart decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		types, bodies = append(types, pt), append(bodies, string(b))
	}
	// RFC 2046: the plainest first, the preferred (HTML) last.
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Fatalf("parts %v, want text/plain then text/html", types)
	}
	if bodies[0] != m.Text || bodies[1] != m.HTML {
		t.Errorf("bodies\n%q\n%q\nwant\n%q\n%q", bodies[0], bodies[1], m.Text, m.HTML)
	}
}

func TestMessageIDIsStableAndDistinct(t *testing.T) {
	s := newSender(t, "smtp://127.0.0.1:1025", nil)
	a, again, b := s.MessageID("L-1/v0/s1/7/email"), s.MessageID("L-1/v0/s1/7/email"), s.MessageID("L-1/v0/s1/15/email")
	if a != again {
		t.Errorf("same key, two ids: %s %s", a, again)
	}
	if a == b {
		t.Errorf("two keys, one id: %s", a)
	}
	if !strings.HasPrefix(a, "dunning.") || !strings.HasSuffix(a, "@example.cn") || len(a) != len("dunning.")+32+len("@example.cn") {
		t.Errorf("id %q, want dunning.<32 hex>@example.cn", a)
	}
	if channels.Deduplicates(s) {
		t.Error("an SMTP sender claims to deduplicate: SendNotice would resend a pending notice as if it could not duplicate")
	}
}

func TestUnsubscribeFromConfig(t *testing.T) {
	f := newFakeServer(t, nil)
	s, err := New(Config{URL: "smtp://127.0.0.1:" + f.port(), From: "noreply@example.cn",
		UnsubscribeURL: "https://m.example.cn/unsubscribe,mailto:unsubscribe@example.cn"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), notice("k1")); err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(strings.NewReader(f.messages()[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Header.Get("List-Unsubscribe"), "<https://m.example.cn/unsubscribe>, <mailto:unsubscribe@example.cn>"; got != want {
		t.Errorf("List-Unsubscribe %q, want %q", got, want)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "" {
		t.Errorf("List-Unsubscribe-Post %q: one-click needs an endpoint that unsubscribes on a bare POST", got)
	}
}

func TestTLSAndAuth(t *testing.T) {
	cert, pool := selfSigned(t)
	tests := []struct {
		name      string
		server    func(*fakeServer)
		url       string // PORT is the server's port
		untrusted bool   // the sender does not trust the server's certificate
		want      class
		wantTLS   bool
		wantUser  string
		wantAuths int // AUTH attempts the server saw
	}{
		{name: "opportunistic, offered: encrypted", server: func(f *fakeServer) { f.cert = cert },
			url: "smtp://127.0.0.1:PORT", want: sent, wantTLS: true},
		{name: "opportunistic, not offered: in clear", url: "smtp://127.0.0.1:PORT", want: sent},
		{name: "required, offered: encrypted", server: func(f *fakeServer) { f.cert = cert },
			url: "smtp://127.0.0.1:PORT?starttls=required", want: sent, wantTLS: true},
		{name: "required, not offered: nothing sent, retried", url: "smtp://127.0.0.1:PORT?starttls=required", want: transient},
		{name: "opportunistic with a certificate we do not trust: no fallback to clear", server: func(f *fakeServer) { f.cert = cert },
			url: "smtp://127.0.0.1:PORT", untrusted: true, want: transient},
		{name: "implicit TLS", server: func(f *fakeServer) { f.cert, f.implicit = cert, true },
			url: "smtps://127.0.0.1:PORT", want: sent, wantTLS: true},
		{name: "implicit TLS with auth", server: func(f *fakeServer) { f.cert, f.implicit, f.user, f.pass = cert, true, "apikey", testPass },
			url: "smtps://apikey:s3cr3t-p%40ss%2Fword@127.0.0.1:PORT", want: sent, wantTLS: true, wantUser: "apikey", wantAuths: 1},
		{name: "AUTH PLAIN after STARTTLS", server: func(f *fakeServer) { f.cert, f.user, f.pass = cert, "apikey", testPass },
			url: "smtp://apikey:s3cr3t-p%40ss%2Fword@127.0.0.1:PORT", want: sent, wantTLS: true, wantUser: "apikey", wantAuths: 1},
		{name: "wrong password: configuration, retried", server: func(f *fakeServer) { f.cert, f.user, f.pass = cert, "apikey", "other" },
			url: "smtp://apikey:s3cr3t-p%40ss%2Fword@127.0.0.1:PORT", want: transient, wantAuths: 1},
		{name: "PLAIN offered in clear: the password is not sent", server: func(f *fakeServer) { f.user, f.pass, f.authInClear = "apikey", testPass, true },
			url: "smtp://apikey:s3cr3t-p%40ss%2Fword@127.0.0.1:PORT", want: transient},
		{name: "server wants auth, we have none: configuration, retried", server: func(f *fakeServer) { f.cert, f.user, f.pass = cert, "apikey", testPass },
			url: "smtp://127.0.0.1:PORT", want: transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, tt.server)
			p := pool
			if tt.untrusted {
				p = x509.NewCertPool()
			}
			s := newSender(t, strings.Replace(tt.url, "PORT", f.port(), 1), p)
			_, err := s.Send(context.Background(), notice("tls-"+tt.name))
			noLeak(t, err)
			if got := classOf(err); got != tt.want {
				t.Fatalf("outcome %s (%v), want %s", got, err, tt.want)
			}
			msgs := f.messages()
			if unknownOutcome(err) {
				t.Errorf("a failure before the message was sent is not marked NotAccepted: %v", err)
			}
			if tt.want != sent {
				if len(msgs) != 0 {
					t.Errorf("server got %d messages after a failure", len(msgs))
				}
			} else if len(msgs) != 1 || msgs[0].tls != tt.wantTLS || msgs[0].user != tt.wantUser {
				t.Errorf("server got %+v, want one message, tls %v, user %q", msgs, tt.wantTLS, tt.wantUser)
			}
			if !f.idle() {
				t.Error("the sender left its connection open")
			}
			if a := f.auths(); len(a) != tt.wantAuths {
				t.Errorf("server saw %d AUTH attempts (%q), want %d", len(a), a, tt.wantAuths)
			}
		})
	}
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		name    string
		replies map[string]string
		want    class
		// delivered: the server has the message (accepted before the
		// failure), so Send reports it sent.
		delivered bool
		// unknown: the session broke after the message was sent and
		// before the answer, so the error must not be NotAccepted.
		unknown bool
	}{
		{name: "550 5.1.1 unknown user", replies: map[string]string{"RCPT": "550 5.1.1 <" + testTo + ">: Recipient address rejected: User unknown"}, want: invalid},
		{name: "553 5.1.3 bad syntax", replies: map[string]string{"RCPT": "553 5.1.3 <" + testTo + ">: bad recipient address syntax"}, want: invalid},
		{name: "551 user not local", replies: map[string]string{"RCPT": "551 User not local; please try <other@example.org>"}, want: invalid},
		{name: "550 without enhanced code", replies: map[string]string{"RCPT": "550 No such user here"}, want: invalid},
		{name: "550 5.2.1 mailbox disabled", replies: map[string]string{"RCPT": "550 5.2.1 The email account that you tried to reach is disabled"}, want: invalid},
		{name: "550 5.7.1 relaying denied is ours, not the address", replies: map[string]string{"RCPT": "550 5.7.1 <" + testTo + ">: Relay access denied"}, want: permanent},
		{name: "550 relay without enhanced code", replies: map[string]string{"RCPT": "550 relaying not permitted"}, want: permanent},
		{name: "552 mailbox full", replies: map[string]string{"RCPT": "552 5.2.2 mailbox full"}, want: permanent},
		{name: "554 at RCPT", replies: map[string]string{"RCPT": "554 5.7.1 rejected by policy"}, want: permanent},
		{name: "550 to MAIL FROM is our sender: configuration, retried", replies: map[string]string{"MAIL": "550 5.7.1 sender address rejected"}, want: transient},
		{name: "554 after the message: content rejected", replies: map[string]string{"END": "554 5.7.1 message rejected as spam"}, want: permanent},
		{name: "552 after the message: too big", replies: map[string]string{"END": "552 5.3.4 message size exceeds fixed limit"}, want: permanent},
		{name: "554 to DATA", replies: map[string]string{"DATA": "554 5.5.1 no valid recipients"}, want: permanent},
		{name: "421 greeting", replies: map[string]string{"greeting": "421 4.3.2 service not available, try later"}, want: transient},
		{name: "554 greeting: the server's problem or ours, retried", replies: map[string]string{"greeting": "554 5.7.1 no SMTP service here"}, want: transient},
		{name: "421 to MAIL FROM", replies: map[string]string{"MAIL": "421 4.7.0 too many connections"}, want: transient},
		{name: "450 greylisted", replies: map[string]string{"RCPT": "450 4.2.0 <" + testTo + ">: Recipient address rejected: Greylisted"}, want: transient},
		{name: "451 after the message", replies: map[string]string{"END": "451 4.3.0 local error, try later"}, want: transient},
		{name: "hang-up before the reply to the message: outcome unknown, retried", replies: map[string]string{"END": "close"}, want: transient, unknown: true},
		{name: "hang-up at RCPT", replies: map[string]string{"RCPT": "close"}, want: transient},
		{name: "accepted, then hang-up at QUIT: sent", replies: map[string]string{"QUIT": "close"}, want: sent, delivered: true},
		{name: "accepted, then 421 to QUIT: sent", replies: map[string]string{"QUIT": "421 4.4.2 timeout"}, want: sent, delivered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t, func(f *fakeServer) { f.replies = tt.replies })
			s := newSender(t, "smtp://127.0.0.1:"+f.port(), nil)
			r, err := s.Send(context.Background(), notice("err-"+tt.name))
			noLeak(t, err)
			if got := classOf(err); got != tt.want {
				t.Fatalf("outcome %s (%v), want %s", got, err, tt.want)
			}
			if err == nil && r.MessageID == "" {
				t.Error("sent without a receipt")
			}
			if unknownOutcome(err) != tt.unknown {
				t.Errorf("outcome unknown %v (NotAccepted %v), want unknown %v: %v", unknownOutcome(err), channels.IsNotAccepted(err), tt.unknown, err)
			}
			if n := len(f.messages()); (n == 1) != tt.delivered {
				t.Errorf("server has %d messages, delivered %v", n, tt.delivered)
			}
			if !f.idle() {
				t.Error("the sender left its connection open")
			}
			if err != nil && tt.replies["RCPT"] != "" && strings.Contains(tt.replies["RCPT"], testTo) && !strings.Contains(err.Error(), "z***@example.cn") {
				t.Errorf("error should quote the server with the address masked: %v", err)
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		s := newSender(t, "smtp://"+refusedAddr(t), nil)
		_, err := s.Send(context.Background(), notice("refused"))
		noLeak(t, err)
		if got := classOf(err); got != transient || unknownOutcome(err) {
			t.Fatalf("outcome %s (%v), want transient, NotAccepted", got, err)
		}
	})
	t.Run("context cancelled mid-session: ends at once, retried", func(t *testing.T) {
		f := newFakeServer(t, func(f *fakeServer) { f.replies = map[string]string{"END": "hang"} })
		s := newSender(t, "smtp://127.0.0.1:"+f.port(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Send(ctx, notice("hang"))
		if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) || !unknownOutcome(err) {
			t.Fatalf("err = %v, want context.Canceled, transient, outcome unknown (the message was sent, no answer yet)", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %s after its context was cancelled", d)
		}
		if !f.idle() {
			t.Error("the sender left its connection open")
		}
	})
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := newSender(t, "smtp://"+refusedAddr(t), nil)
		_, err := s.Send(ctx, notice("canceled"))
		if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) || unknownOutcome(err) {
			t.Fatalf("err = %v, want context.Canceled, transient, NotAccepted", err)
		}
	})
}

func TestSendRefusesWhatNoRetryFixes(t *testing.T) {
	addr := refusedAddr(t) // a connection attempt would be transient
	s := newSender(t, "smtp://"+addr, nil)
	tests := []struct {
		name string
		edit func(*channels.Message)
		want class
	}{
		{name: "no key", edit: func(m *channels.Message) { m.IdempotencyKey = "" }, want: permanent},
		{name: "not email", edit: func(m *channels.Message) { m.Channel = channels.SMS }, want: permanent},
		{name: "no recipient", edit: func(m *channels.Message) { m.To = "" }, want: permanent},
		{name: "no body", edit: func(m *channels.Message) { m.Text, m.HTML = "", "" }, want: permanent},
		{name: "not an address", edit: func(m *channels.Message) { m.To = "zhang.wei.example.cn" }, want: invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := notice("bad-" + tt.name)
			tt.edit(&m)
			_, err := s.Send(context.Background(), m)
			noLeak(t, err)
			if err != nil && strings.Contains(err.Error(), "zhang.wei.example.cn") {
				t.Errorf("error shows the address: %v", err)
			}
			if got := classOf(err); got != tt.want {
				t.Fatalf("outcome %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}

func TestHTMLOnly(t *testing.T) {
	f := newFakeServer(t, nil)
	s := newSender(t, "smtp://127.0.0.1:"+f.port(), nil)
	m := notice("html-only")
	m.Text = ""
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(strings.NewReader(f.messages()[0].data))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt != "text/html" {
		t.Errorf("Content-Type %q, want text/html", msg.Header.Get("Content-Type"))
	}
}
