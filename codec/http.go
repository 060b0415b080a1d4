package codec

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// MaxRequestBytes bounds a codec request body so that a runaway or hostile
// client cannot make the server buffer without limit. 4 MiB is gRPC's
// default message size and leaves room for a payload at Temporal's default
// 2 MB per-payload limit even after the UI's base64 JSON inflates it by a
// third; a request over the bound gets 413.
const MaxRequestBytes = 4 << 20

// Paths the handler serves. They are what the Temporal Web UI requests when
// started with --ui-codec-endpoint=https://host/codec: it appends /decode
// (to show payloads) and /encode (to send signals or start workflows from
// the UI).
const (
	DecodePath = "/codec/decode"
	EncodePath = "/codec/encode"
)

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Token, when set, is required as "Authorization: Bearer <Token>" on
	// every POST. The Temporal UI sends an Authorization header to the codec
	// endpoint only when configured to pass its access token
	// (codec.passAccessToken / TEMPORAL_CODEC_PASS_ACCESS_TOKEN), and then it
	// sends the user's own access token, so Token must match what the UI
	// actually sends; a reverse proxy that injects the header is the other
	// option. Leave it empty only when the server listens on localhost for a
	// developer's own UI: anyone who can reach an open codec endpoint can
	// decrypt any payload they hold.
	Token string
	// AllowOrigins lists the exact origins (scheme://host[:port], e.g.
	// "http://localhost:8233") of the Temporal UI allowed to call the codec
	// from a browser. Requests from other origins get no CORS headers, so
	// the browser refuses to hand them the decrypted data. There is no
	// wildcard: credentials are allowed, and echoing any origin with
	// credentials would let any web page decrypt through a logged-in
	// operator's browser.
	AllowOrigins []string
}

// Handler serves c to the Temporal Web UI: POST /codec/decode and POST
// /codec/encode with the UI's JSON ({"payloads":[{"metadata":{…},"data":"…"}]}),
// with CORS for the UI's origin and an optional bearer token. The
// encoding itself is the SDK's converter.NewPayloadCodecHTTPHandler, so the
// wire format is exactly the one the UI and the SDK's remote codec expect.
func Handler(c *Codec, opts HandlerOptions) http.Handler {
	origins := make([]string, 0, len(opts.AllowOrigins))
	for _, o := range opts.AllowOrigins {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			origins = append(origins, o)
		}
	}
	h := &handler{
		codec:   converter.NewPayloadCodecHTTPHandler(c),
		origins: origins,
	}
	if opts.Token != "" {
		h.want = []byte(opts.Token)
	}
	return h
}

type handler struct {
	codec   http.Handler
	origins []string
	want    []byte // expected bearer token; nil: no token required
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != DecodePath && r.URL.Path != EncodePath {
		http.NotFound(w, r)
		return
	}
	// Responses differ by Origin, so caches must key on it.
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(h.origins, origin)
	if allowed {
		// Set on the preflight and on the actual response (including
		// errors, so the UI can show a 401 rather than a CORS failure).
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}

	switch r.Method {
	case http.MethodOptions:
		if origin != "" && !allowed {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Set("Access-Control-Max-Age", "600")
		}
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}

	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="codec"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}

	// Read the bounded body here rather than hand the SDK handler a
	// MaxBytesReader, so an oversized request is a 413, not a 400.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.codec.ServeHTTP(w, r)
}

// authorized reports whether r carries the configured bearer token. The
// comparison is constant-time so the token cannot be guessed byte by byte
// from response timings.
func (h *handler) authorized(r *http.Request) bool {
	if h.want == nil {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), h.want) == 1
}
