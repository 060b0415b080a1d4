package fcm

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dunning/channels"
)

const (
	project     = "dunning-test"
	clientEmail = "dunning-push@dunning-test.iam.gserviceaccount.com"
	deviceToken = "fGcmT0k3n:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx_very-long-device-token-0123456789"
)

// testKey is one RSA key for the whole package: generating one per test is
// the slow part.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeGoogle is the OAuth2 token endpoint and FCM's send endpoint in one
// httptest server. The token endpoint checks the JWT assertion's signature
// and claims; the send endpoint checks the bearer token, the path and the
// exact JSON body, then answers with reply (a name by default).
type fakeGoogle struct {
	t      *testing.T
	srv    *httptest.Server
	tokens atomic.Int32 // tokens issued

	mu     sync.Mutex
	bodies []map[string]any
	// tokenStatus, when set, makes the token endpoint refuse.
	tokenStatus int
	// status, header and body replace the send's answer when status is set
	// (hang: no answer until the client gives up; hangUp: the connection
	// closed without an answer).
	status int
	header http.Header
	body   string
}

func newFakeGoogle(t *testing.T) *fakeGoogle {
	f := &fakeGoogle{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.send)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if f.tokenStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.tokenStatus)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`)
		return
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		f.t.Errorf("grant_type %q", g)
	}
	claims, err := verifyJWT(r.PostForm.Get("assertion"), &testKey().PublicKey)
	if err != nil {
		f.t.Errorf("assertion: %v", err)
		http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
		return
	}
	if claims["iss"] != clientEmail || claims["scope"] != Scope || claims["aud"] != f.srv.URL+"/token" {
		f.t.Errorf("assertion claims %v", claims)
	}
	n := f.tokens.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": "ya29.test-token-" + string(rune('0'+n)), "token_type": "Bearer", "expires_in": 3600,
	})
}

func (f *fakeGoogle) send(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer ya29.test-token-1" {
		f.t.Errorf("Authorization %q, want the bearer token from the token endpoint", got)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if p := r.PathValue("project"); p != project {
		f.t.Errorf("project %q in the path", p)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("Content-Type %q", ct)
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("body: %v", err)
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	status, header, reply := f.status, f.header, f.body
	f.mu.Unlock()
	switch status {
	case hang:
		<-r.Context().Done()
		return
	case hangUp:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	if status != 0 {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = io.WriteString(w, `{"name":"projects/`+project+`/messages/0:1700000000000000%abcdef"}`)
}

// Special send statuses of fakeGoogle.
const (
	hang   = -1
	hangUp = -2
)

// verifyJWT checks an RS256 JWT's signature with pub and returns its claims.
func verifyJWT(token string, pub *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	var header map[string]any
	if err := decodeSegment(parts[0], &header); err != nil || header["alg"] != "RS256" {
		return nil, errors.New("header is not RS256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, decodeSegment(parts[1], &claims)
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// keyFile writes a service account key whose token_uri is tokenURI, with
// fields changed by edit, and returns its path.
func keyFile(t *testing.T, tokenURI string, edit func(map[string]any)) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	k := map[string]any{
		"type":           "service_account",
		"project_id":     project,
		"private_key_id": "0123456789abcdef",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   clientEmail,
		"client_id":      "100000000000000000001",
		"token_uri":      tokenURI,
	}
	if edit != nil {
		edit(k)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newSender(t *testing.T, f *fakeGoogle) *Sender {
	t.Helper()
	s, err := New(Config{CredentialsFile: keyFile(t, f.srv.URL+"/token", nil), APIURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func notice(key string) channels.Message {
	return channels.Message{
		IdempotencyKey: key, Channel: channels.Push, To: deviceToken,
		Template: "overdue_firm", Locale: "zh-CN",
		Title: "还款提醒", Body: "您的借款已逾期 7 天，应还 1068.50 元。",
	}
}

func noLeak(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), deviceToken[8:]) {
		t.Errorf("error shows the device token: %v", err)
	}
}

func TestSendExactRequest(t *testing.T) {
	f := newFakeGoogle(t)
	s := newSender(t, f)
	m := notice("L-2026-0001/v0/s1/7/push")
	r, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Provider != Provider || r.MessageID != "projects/"+project+"/messages/0:1700000000000000%abcdef" || r.AcceptedAt.IsZero() {
		t.Errorf("receipt %+v", r)
	}
	tag := Tag(m.IdempotencyKey)
	want := map[string]any{"message": map[string]any{
		"token":        deviceToken,
		"notification": map[string]any{"title": m.Title, "body": m.Body},
		"android":      map[string]any{"priority": "HIGH", "notification": map[string]any{"tag": tag}},
		"apns": map[string]any{"headers": map[string]any{
			"apns-priority": "10", "apns-push-type": "alert", "apns-collapse-id": tag,
		}},
	}}
	if len(f.bodies) != 1 || !reflect.DeepEqual(f.bodies[0], want) {
		got, _ := json.MarshalIndent(f.bodies, "", "  ")
		exp, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("FCM got\n%s\nwant exactly\n%s", got, exp)
	}
	if b, _ := json.Marshal(f.bodies[0]); strings.Contains(string(b), "L-2026-0001") {
		t.Errorf("the request carries the idempotency key (internal, holds the loan id): %s", b)
	}

	// A second send reuses the token.
	if _, err := s.Send(context.Background(), notice("L-2026-0001/v0/s1/15/push")); err != nil {
		t.Fatal(err)
	}
	if n := f.tokens.Load(); n != 1 {
		t.Errorf("%d tokens fetched for two sends, want 1 (cached)", n)
	}
	if channels.Deduplicates(s) {
		t.Error("an FCM sender claims to deduplicate: SendNotice would resend a pending notice as if it could not duplicate")
	}
}

func TestTag(t *testing.T) {
	a, again, b := Tag("L-1/v0/s1/7/push"), Tag("L-1/v0/s1/7/push"), Tag("L-1/v0/s1/15/push")
	if a != again || a == b || !strings.HasPrefix(a, "dunning-") || len(a) != len("dunning-")+16 || len(a) > 64 {
		t.Errorf("tags %q %q %q: want stable, distinct, dunning-<16 hex>, at most 64 bytes (apns-collapse-id)", a, again, b)
	}
}

// class is what a caller does with Send's outcome.
type class string

const (
	sent      class = "sent"
	transient class = "transient"
	permanent class = "permanent"
	invalid   class = "invalid recipient"
)

// unknownOutcome reports whether err leaves it open whether FCM has the
// message: SendNotice must then not send again.
func unknownOutcome(err error) bool { return err != nil && !channels.IsNotAccepted(err) }

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

// fcmError is an FCM v1 error body with an FcmError detail.
func fcmError(code int, status, errorCode, message string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": code, "message": message, "status": status,
		"details": []any{map[string]any{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": errorCode}},
	}})
	return string(b)
}

func TestErrorClasses(t *testing.T) {
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		want      class
		wantDelay time.Duration // 0: no Retry-After; -1: about 90 s
	}{
		{name: "UNREGISTERED", status: 404, body: fcmError(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found."), want: invalid},
		{name: "INVALID_ARGUMENT, the token", status: 400,
			body: fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token"), want: invalid},
		{name: "INVALID_ARGUMENT, field message.token", status: 400,
			body: `{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT","details":[` +
				`{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"},` +
				`{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token","description":"Invalid registration token"}]}]}}`,
			want: invalid},
		{name: "INVALID_ARGUMENT, the payload", status: 400,
			body: `{"error":{"code":400,"message":"Invalid value at 'message.android.ttl'","status":"INVALID_ARGUMENT","details":[` +
				`{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.android.ttl","description":"bad"}]}]}}`,
			want: permanent},
		{name: "SENDER_ID_MISMATCH", status: 403, body: fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"), want: permanent},
		{name: "THIRD_PARTY_AUTH_ERROR", status: 401, body: fcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Auth error from APNS or Web Push Service"), want: permanent},
		{name: "QUOTA_EXCEEDED with Retry-After seconds", status: 429, header: http.Header{"Retry-After": {"120"}},
			body: fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded"), want: transient, wantDelay: 120 * time.Second},
		{name: "429 without Retry-After: a minute", status: 429,
			body: fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded"), want: transient, wantDelay: time.Minute},
		{name: "UNAVAILABLE with Retry-After date", status: 503, header: http.Header{"Retry-After": {httpDate}},
			body: fcmError(503, "UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."), want: transient, wantDelay: -1},
		{name: "INTERNAL", status: 500, body: fcmError(500, "INTERNAL", "INTERNAL", "Internal error encountered."), want: transient},
		{name: "502 from a proxy, not JSON", status: 502, header: http.Header{"Content-Type": {"text/html"}},
			body: "<html><body>Bad Gateway</body></html>", want: transient},
		{name: "401 our token refused: configuration", status: 401,
			body: `{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`, want: transient},
		{name: "403 the role missing: configuration", status: 403,
			body: `{"error":{"code":403,"message":"Permission 'cloudmessaging.messages.create' denied","status":"PERMISSION_DENIED"}}`, want: transient},
		{name: "404 no such project: configuration", status: 404,
			body: `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND"}}`, want: transient},
		{name: "other 4xx", status: 413, body: `{"error":{"code":413,"message":"Payload too large","status":"INVALID_ARGUMENT"}}`, want: permanent},
		{name: "the token quoted back is masked", status: 400,
			body: fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token "+deviceToken+" is not a valid FCM registration token"), want: invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeGoogle(t)
			f.status, f.header, f.body = tt.status, tt.header, tt.body
			s := newSender(t, f)
			_, err := s.Send(context.Background(), notice("err-"+tt.name))
			noLeak(t, err)
			if got := classOf(err); got != tt.want {
				t.Fatalf("outcome %s (%v), want %s", got, err, tt.want)
			}
			if unknownOutcome(err) {
				t.Errorf("FCM answered, yet the error is not NotAccepted: %v", err)
			}
			d := channels.RetryDelay(err)
			switch {
			case tt.wantDelay == -1:
				if d < 80*time.Second || d > 91*time.Second {
					t.Errorf("retry delay %s, want about 90s", d)
				}
			case d != tt.wantDelay:
				t.Errorf("retry delay %s, want %s", d, tt.wantDelay)
			}
		})
	}

	t.Run("token endpoint refuses the key: configuration, retried", func(t *testing.T) {
		f := newFakeGoogle(t)
		f.tokenStatus = http.StatusBadRequest
		s := newSender(t, f)
		_, err := s.Send(context.Background(), notice("no-token"))
		noLeak(t, err)
		if got := classOf(err); got != transient || unknownOutcome(err) {
			t.Fatalf("outcome %s (%v), want transient, NotAccepted (nothing was sent)", got, err)
		}
		if len(f.bodies) != 0 {
			t.Error("sent without a token")
		}
	})
	t.Run("FCM unreachable", func(t *testing.T) {
		f := newFakeGoogle(t)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		refused := "http://" + ln.Addr().String()
		_ = ln.Close()
		s, err := New(Config{CredentialsFile: keyFile(t, f.srv.URL+"/token", nil), APIURL: refused})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(context.Background(), notice("unreachable"))
		noLeak(t, err)
		if got := classOf(err); got != transient || unknownOutcome(err) {
			t.Fatalf("outcome %s (%v), want transient, NotAccepted (nothing was sent)", got, err)
		}
	})
	t.Run("no answer after the request left: outcome unknown", func(t *testing.T) {
		f := newFakeGoogle(t)
		f.status = hang
		s := newSender(t, f)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_, err := s.Send(ctx, notice("hang"))
		noLeak(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || channels.IsPermanent(err) || !unknownOutcome(err) {
			t.Fatalf("err = %v, want deadline exceeded, transient, outcome unknown", err)
		}
	})
	t.Run("connection dropped after the request left: outcome unknown", func(t *testing.T) {
		f := newFakeGoogle(t)
		f.status = hangUp
		s := newSender(t, f)
		_, err := s.Send(context.Background(), notice("hang-up"))
		noLeak(t, err)
		if got := classOf(err); got != transient || !unknownOutcome(err) {
			t.Fatalf("outcome %s (%v), want transient, outcome unknown", got, err)
		}
	})
	t.Run("context done", func(t *testing.T) {
		f := newFakeGoogle(t)
		s := newSender(t, f)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Send(ctx, notice("canceled"))
		if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) || unknownOutcome(err) {
			t.Fatalf("err = %v, want context.Canceled, transient, NotAccepted", err)
		}
	})
}

func TestSendRefusesWhatNoRetryFixes(t *testing.T) {
	f := newFakeGoogle(t)
	s := newSender(t, f)
	tests := []struct {
		name string
		edit func(*channels.Message)
	}{
		{name: "no key", edit: func(m *channels.Message) { m.IdempotencyKey = "" }},
		{name: "not push", edit: func(m *channels.Message) { m.Channel = channels.Email }},
		{name: "no token", edit: func(m *channels.Message) { m.To = "" }},
		{name: "nothing to show", edit: func(m *channels.Message) { m.Title, m.Body = "", "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := notice("bad-" + tt.name)
			tt.edit(&m)
			_, err := s.Send(context.Background(), m)
			noLeak(t, err)
			if got := classOf(err); got != permanent {
				t.Fatalf("outcome %s (%v), want permanent", got, err)
			}
		})
	}
	if len(f.bodies) != 0 {
		t.Errorf("FCM was called %d times for messages that cannot be sent", len(f.bodies))
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "key only", env: map[string]string{EnvCredentialsFile: "/run/secrets/fcm.json"},
			want: Config{CredentialsFile: "/run/secrets/fcm.json"}},
		{name: "all", env: map[string]string{EnvCredentialsFile: "k.json", EnvProjectID: "anxinjie-prod", EnvAPIURL: "http://127.0.0.1:9999"},
			want: Config{CredentialsFile: "k.json", ProjectID: "anxinjie-prod", APIURL: "http://127.0.0.1:9999"}},
		{name: "no key", env: map[string]string{EnvProjectID: "p1"}, wantErr: "FCM_CREDENTIALS_FILE is not set"},
		{name: "bad project", env: map[string]string{EnvCredentialsFile: "k.json", EnvProjectID: "x/../y"}, wantErr: "FCM_PROJECT_ID"},
		{name: "bad URL", env: map[string]string{EnvCredentialsFile: "k.json", EnvAPIURL: "ftp://fcm"}, wantErr: "FCM_API_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c != tt.want {
				t.Fatalf("got %+v, %v; want %+v", c, err, tt.want)
			}
		})
	}
}

func TestNewChecksTheKey(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "not.json")
	if err := os.WriteFile(notJSON, []byte("-----BEGIN PRIVATE KEY-----\nMIIE..."), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		config  func() Config
		wantErr string
	}{
		{name: "missing file", config: func() Config { return Config{CredentialsFile: filepath.Join(dir, "nope.json")} }, wantErr: "FCM_CREDENTIALS_FILE"},
		{name: "not JSON", config: func() Config { return Config{CredentialsFile: notJSON} }, wantErr: "not JSON"},
		{name: "a user's credentials, not a service account", config: func() Config {
			return Config{CredentialsFile: keyFile(t, "http://127.0.0.1/token", func(k map[string]any) { k["type"] = "authorized_user" })}
		}, wantErr: "not a service account key"},
		{name: "no project anywhere", config: func() Config {
			return Config{CredentialsFile: keyFile(t, "http://127.0.0.1/token", func(k map[string]any) { delete(k, "project_id") })}
		}, wantErr: "FCM_PROJECT_ID is not set"},
		{name: "project from the environment wins", config: func() Config {
			return Config{CredentialsFile: keyFile(t, "http://127.0.0.1/token", func(k map[string]any) { delete(k, "project_id") }), ProjectID: "other-project"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.config())
			if tt.wantErr == "" {
				if err != nil || s.project != "other-project" {
					t.Fatalf("New: %v, project %q", err, s.project)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), "MII") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}
