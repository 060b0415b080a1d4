package codec

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const uiOrigin = "http://localhost:8233"

// uiPayload is a payload as the Temporal UI sends and reads it: JSON with
// base64 metadata values and data.
type uiPayload struct {
	Metadata map[string]string `json:"metadata"`
	Data     string            `json:"data"`
}

type uiBody struct {
	Payloads []uiPayload `json:"payloads"`
}

func toUI(ps []*commonpb.Payload) string {
	var body uiBody
	for _, p := range ps {
		u := uiPayload{Metadata: map[string]string{}, Data: base64.StdEncoding.EncodeToString(p.Data)}
		for k, v := range p.Metadata {
			u.Metadata[k] = base64.StdEncoding.EncodeToString(v)
		}
		body.Payloads = append(body.Payloads, u)
	}
	b, _ := json.Marshal(body)
	return string(b)
}

func fromUI(t *testing.T, s string) []*commonpb.Payload {
	t.Helper()
	var body uiBody
	if err := json.Unmarshal([]byte(s), &body); err != nil {
		t.Fatalf("response %q is not the UI's JSON: %v", s, err)
	}
	var out []*commonpb.Payload
	for _, u := range body.Payloads {
		p := &commonpb.Payload{Metadata: map[string][]byte{}}
		for k, v := range u.Metadata {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			p.Metadata[k] = b
		}
		var err error
		if p.Data, err = base64.StdEncoding.DecodeString(u.Data); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func serve(h http.Handler, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandlerDecodeEncode(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	h := Handler(c, HandlerOptions{AllowOrigins: []string{uiOrigin + "/"}})
	dc := DataConverter(c)
	encrypted, err := dc.ToPayloads(borrower{Name: "Ada Lovelace", Phone: "+447700900123"}, "plain?")
	if err != nil {
		t.Fatal(err)
	}
	// A payload from before encryption, in the same request.
	legacy, _ := converter.GetDefaultDataConverter().ToPayload("legacy")
	reqPayloads := append(encrypted.Payloads, legacy)

	// Decode, exactly as the UI does it.
	w := serve(h, http.MethodPost, DecodePath, toUI(reqPayloads), map[string]string{
		"Content-Type": "application/json", "X-Namespace": "default", "Origin": uiOrigin,
	})
	if w.Code != http.StatusOK {
		t.Fatalf("decode: %d %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Access-Control-Allow-Origin"); got != uiOrigin {
		t.Errorf("decode response Allow-Origin = %q, want %q", got, uiOrigin)
	}
	decoded := fromUI(t, w.Body.String())
	if len(decoded) != 3 {
		t.Fatalf("decoded %d payloads, want 3", len(decoded))
	}
	if enc := string(decoded[0].Metadata[converter.MetadataEncoding]); enc != "json/plain" {
		t.Errorf("decoded encoding = %q, want json/plain", enc)
	}
	if !strings.Contains(string(decoded[0].Data), "Ada Lovelace") || !strings.Contains(string(decoded[0].Data), "+447700900123") {
		t.Errorf("decoded data = %s", decoded[0].Data)
	}
	if string(decoded[2].Data) != `"legacy"` {
		t.Errorf("legacy payload = %s, want passed through", decoded[2].Data)
	}

	// Encode (the UI uses it to send a signal): the result must decode
	// with the codec.
	plain := []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(`"STOP"`)}}
	w = serve(h, http.MethodPost, EncodePath, toUI(plain), map[string]string{"Content-Type": "application/json"})
	if w.Code != http.StatusOK {
		t.Fatalf("encode: %d %s", w.Code, w.Body)
	}
	enc := fromUI(t, w.Body.String())
	if len(enc) != 1 || string(enc[0].Metadata[converter.MetadataEncoding]) != EncodingEncrypted || strings.Contains(string(enc[0].Data), "STOP") {
		t.Fatalf("encode response = %v", enc)
	}
	var s string
	if err := dc.FromPayload(enc[0], &s); err != nil || s != "STOP" {
		t.Errorf("encoded payload decodes to %q, %v", s, err)
	}
}

func TestHandlerErrors(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	h := Handler(c, HandlerOptions{})
	foreign := mustCodec(t, "other:"+testKey(9))
	other, _ := foreign.Encode([]*commonpb.Payload{{Data: []byte("+447700900123")}})

	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		wantCode int
		wantBody string
	}{
		{name: "unknown key id", method: http.MethodPost, path: DecodePath, body: toUI(other), wantCode: http.StatusBadRequest, wantBody: `"other"`},
		{name: "not json", method: http.MethodPost, path: DecodePath, body: "{", wantCode: http.StatusBadRequest},
		{name: "too large", method: http.MethodPost, path: DecodePath, body: strings.Repeat(" ", MaxRequestBytes+1), wantCode: http.StatusRequestEntityTooLarge},
		{name: "get", method: http.MethodGet, path: DecodePath, wantCode: http.StatusMethodNotAllowed},
		{name: "unknown path", method: http.MethodPost, path: "/codec/other", body: "{}", wantCode: http.StatusNotFound},
		{name: "root", method: http.MethodPost, path: "/decode", body: "{}", wantCode: http.StatusNotFound},
		{name: "suffix trick", method: http.MethodPost, path: "/x/codec/decode", body: "{}", wantCode: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.method, tt.path, tt.body, nil)
			if w.Code != tt.wantCode {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, w.Code, w.Body, tt.wantCode)
			}
			if !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("body %q does not contain %q", w.Body, tt.wantBody)
			}
			if strings.Contains(w.Body.String(), "+447700900123") {
				t.Errorf("body %q leaks payload data", w.Body)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestHandlerBodyReadError(t *testing.T) {
	h := Handler(mustCodec(t, "k1:"+testKey(1)), HandlerOptions{})
	r := httptest.NewRequest(http.MethodPost, DecodePath, failingReader{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Errorf("code = %d, want 400", w.Code)
	}
}

func TestHandlerCORS(t *testing.T) {
	h := Handler(mustCodec(t, "k1:"+testKey(1)), HandlerOptions{
		Token:        "s3cret",
		AllowOrigins: []string{" " + uiOrigin + " ", "", "https://temporal.example.com"},
	})
	preflight := map[string]string{
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "content-type,x-namespace,authorization",
	}
	with := func(origin string) map[string]string {
		m := map[string]string{"Origin": origin}
		for k, v := range preflight {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name      string
		method    string
		path      string
		header    map[string]string
		wantCode  int
		wantAllow string // expected Access-Control-Allow-Origin, "" for none
	}{
		{name: "preflight allowed", method: http.MethodOptions, path: DecodePath, header: with(uiOrigin), wantCode: http.StatusNoContent, wantAllow: uiOrigin},
		{name: "preflight second origin", method: http.MethodOptions, path: EncodePath, header: with("https://temporal.example.com"), wantCode: http.StatusNoContent, wantAllow: "https://temporal.example.com"},
		{name: "preflight denied", method: http.MethodOptions, path: DecodePath, header: with("https://evil.example"), wantCode: http.StatusForbidden},
		{name: "preflight prefix of allowed", method: http.MethodOptions, path: DecodePath, header: with(uiOrigin + ".evil.example"), wantCode: http.StatusForbidden},
		{name: "options without origin", method: http.MethodOptions, path: DecodePath, wantCode: http.StatusNoContent},
		{name: "post from denied origin", method: http.MethodPost, path: DecodePath, header: map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer s3cret"}, wantCode: http.StatusBadRequest},
		{name: "401 carries CORS for allowed origin", method: http.MethodPost, path: DecodePath, header: map[string]string{"Origin": uiOrigin}, wantCode: http.StatusUnauthorized, wantAllow: uiOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(h, tt.method, tt.path, "", tt.header)
			if w.Code != tt.wantCode {
				t.Errorf("code = %d %s, want %d", w.Code, w.Body, tt.wantCode)
			}
			hdr := w.Header()
			if got := hdr.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("Allow-Origin = %q, want %q", got, tt.wantAllow)
			}
			if hdr.Get("Vary") != "Origin" {
				t.Errorf("Vary = %q, want Origin", hdr.Get("Vary"))
			}
			if tt.wantAllow == "" {
				for k := range hdr {
					if strings.HasPrefix(k, "Access-Control-") {
						t.Errorf("disallowed request got CORS header %s", k)
					}
				}
				return
			}
			if got := hdr.Get("Access-Control-Allow-Credentials"); got != "true" {
				t.Errorf("Allow-Credentials = %q, want true", got)
			}
			if tt.method != http.MethodOptions {
				return
			}
			if got := hdr.Get("Access-Control-Allow-Methods"); got != "POST" {
				t.Errorf("Allow-Methods = %q, want POST", got)
			}
			if got := hdr.Get("Access-Control-Allow-Headers"); got != "Content-Type, X-Namespace, Authorization" {
				t.Errorf("Allow-Headers = %q", got)
			}
		})
	}
}

func TestHandlerToken(t *testing.T) {
	c := mustCodec(t, "k1:"+testKey(1))
	h := Handler(c, HandlerOptions{Token: "s3cret"})
	body := toUI([]*commonpb.Payload{{Data: []byte("x")}})
	tests := []struct {
		name     string
		auth     string
		wantCode int
	}{
		{name: "missing", auth: "", wantCode: http.StatusUnauthorized},
		{name: "wrong", auth: "Bearer s3creT", wantCode: http.StatusUnauthorized},
		{name: "prefix of token", auth: "Bearer s3cre", wantCode: http.StatusUnauthorized},
		{name: "token without scheme", auth: "s3cret", wantCode: http.StatusUnauthorized},
		{name: "basic scheme", auth: "Basic s3cret", wantCode: http.StatusUnauthorized},
		{name: "ok", auth: "Bearer s3cret", wantCode: http.StatusOK},
		{name: "scheme is case-insensitive", auth: "bearer s3cret", wantCode: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": "application/json"}
			if tt.auth != "" {
				hdr["Authorization"] = tt.auth
			}
			for _, path := range []string{DecodePath, EncodePath} {
				w := serve(h, http.MethodPost, path, body, hdr)
				if w.Code != tt.wantCode {
					t.Errorf("%s: code = %d %s, want %d", path, w.Code, w.Body, tt.wantCode)
				}
				if tt.wantCode == http.StatusUnauthorized {
					if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("%s: WWW-Authenticate = %q", path, w.Header().Get("WWW-Authenticate"))
					}
					if strings.Contains(w.Body.String(), "s3cret") {
						t.Errorf("%s: 401 body echoes the token", path)
					}
				}
			}
		})
	}
	// The preflight never carries credentials, so it must not need them.
	if w := serve(h, http.MethodOptions, DecodePath, "", nil); w.Code != http.StatusNoContent {
		t.Errorf("OPTIONS without token = %d, want 204", w.Code)
	}
}
