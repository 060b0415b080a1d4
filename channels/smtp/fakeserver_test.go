package smtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer is an in-process SMTP server, just enough of RFC 5321 for
// go-mail's client: EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT. Tests script its replies and read back what it received.
type fakeServer struct {
	t    *testing.T
	ln   net.Listener
	addr string

	// cert, when set, is offered by STARTTLS (or used from the first byte
	// with implicit).
	cert     *tls.Certificate
	implicit bool
	// user and pass, when set, are required with AUTH PLAIN, which is
	// offered only over TLS (as real servers do) unless authInClear.
	user, pass  string
	authInClear bool
	// replies replaces the reply to a stage: "greeting", "MAIL", "RCPT",
	// "DATA" (the command), "END" (after the message) or "QUIT"; "close"
	// hangs up instead of replying, "hang" never replies.
	replies map[string]string

	active atomic.Int32 // sessions open

	mu   sync.Mutex
	got  []received
	auth []string // "user:pass" of every AUTH PLAIN seen
	wg   sync.WaitGroup
}

// received is one message the server accepted.
type received struct {
	from string
	to   []string
	data string
	tls  bool
	user string
}

func newFakeServer(t *testing.T, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, replies: map[string]string{}}
	if configure != nil {
		configure(f)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if f.implicit {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*f.cert}})
	}
	f.ln, f.addr = ln, ln.Addr().String()
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() { _ = ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeServer) port() string { _, p, _ := net.SplitHostPort(f.addr); return p }

// idle reports whether every session has ended within a second: the
// client hung up and did not leave a connection open.
func (f *fakeServer) idle() bool {
	for range 100 {
		if f.active.Load() == 0 {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func (f *fakeServer) messages() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func (f *fakeServer) auths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func (f *fakeServer) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		f.active.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.active.Add(-1)
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			f.session(c)
		}()
	}
}

// reply sends the scripted reply of stage, or def; it reports whether the
// reply was positive (2xx or 3xx).
func (f *fakeServer) reply(tp *textproto.Conn, stage, def string) bool {
	r := def
	if s, ok := f.replies[stage]; ok {
		r = s
	}
	switch r {
	case "close": // hang up without a reply
		_ = tp.Close()
		return false
	case "hang": // never reply, until the client hangs up
		_, _ = io.Copy(io.Discard, tp.R)
		return false
	}
	_ = tp.PrintfLine("%s", r)
	return r[0] == '2' || r[0] == '3'
}

func (f *fakeServer) session(c net.Conn) {
	tp := textproto.NewConn(c)
	_, isTLS := c.(*tls.Conn)
	if !f.reply(tp, "greeting", "220 fake ESMTP") {
		return
	}
	var cur received
	var user string
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"fake", "8BITMIME", "ENHANCEDSTATUSCODES", "PIPELINING"}
			if f.cert != nil && !isTLS {
				lines = append(lines, "STARTTLS")
			}
			if f.user != "" && (isTLS || f.authInClear) {
				lines = append(lines, "AUTH PLAIN")
			}
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				_ = tp.PrintfLine("250%s%s", sep, l)
			}
		case "HELO", "NOOP":
			_ = tp.PrintfLine("250 2.0.0 ok")
		case "RSET":
			cur = received{}
			_ = tp.PrintfLine("250 2.0.0 ok")
		case "STARTTLS":
			if f.cert == nil || isTLS {
				_ = tp.PrintfLine("502 5.5.1 not offered")
				continue
			}
			_ = tp.PrintfLine("220 2.0.0 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*f.cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			tp = textproto.NewConn(tc)
		case "AUTH":
			mech, ir, _ := strings.Cut(arg, " ")
			if f.user == "" || (!isTLS && !f.authInClear) || !strings.EqualFold(mech, "PLAIN") {
				_ = tp.PrintfLine("504 5.5.4 mechanism not offered")
				continue
			}
			if ir == "" {
				_ = tp.PrintfLine("334 ")
				if ir, err = tp.ReadLine(); err != nil {
					return
				}
			}
			raw, _ := base64.StdEncoding.DecodeString(ir)
			parts := strings.Split(string(raw), "\x00")
			if len(parts) != 3 {
				_ = tp.PrintfLine("501 5.5.2 malformed")
				continue
			}
			f.mu.Lock()
			f.auth = append(f.auth, parts[1]+":"+parts[2])
			f.mu.Unlock()
			if parts[1] != f.user || parts[2] != f.pass {
				_ = tp.PrintfLine("535 5.7.8 authentication credentials invalid")
				continue
			}
			user = parts[1]
			_ = tp.PrintfLine("235 2.7.0 authenticated")
		case "MAIL":
			if f.user != "" && user == "" {
				_ = tp.PrintfLine("530 5.7.0 authentication required")
				continue
			}
			if f.reply(tp, "MAIL", "250 2.1.0 ok") {
				cur = received{from: addrOf(arg), tls: isTLS, user: user}
			}
		case "RCPT":
			if f.reply(tp, "RCPT", "250 2.1.5 ok") {
				cur.to = append(cur.to, addrOf(arg))
			}
		case "DATA":
			if !f.reply(tp, "DATA", "354 end with <CRLF>.<CRLF>") {
				continue
			}
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			if f.reply(tp, "END", "250 2.0.0 queued as F4K3") {
				cur.data = string(data)
				f.mu.Lock()
				f.got = append(f.got, cur)
				f.mu.Unlock()
			}
			cur = received{}
		case "QUIT":
			f.reply(tp, "QUIT", "221 2.0.0 bye")
			return
		default:
			_ = tp.PrintfLine("502 5.5.2 unknown command")
		}
	}
}

// addrOf takes the address out of "FROM:<a@b> BODY=8BITMIME".
func addrOf(arg string) string {
	_, rest, _ := strings.Cut(arg, "<")
	a, _, _ := strings.Cut(rest, ">")
	return a
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fake smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:    []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// refusedAddr is a local address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
