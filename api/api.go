package api

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"dunning/activities"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// Store is the part of the audit store the API reads. A *store.Store
// satisfies it; tests use a fake.
type Store interface {
	NoticesByLoan(ctx context.Context, loanID string) ([]store.Notice, error)
	Timeline(ctx context.Context, loanID string) ([]store.TimelineEntry, error)
	Ping(ctx context.Context) error
}

var _ Store = (*store.Store)(nil)

// DefaultTimeout bounds each request's calls to Temporal and the database.
const DefaultTimeout = 15 * time.Second

// Deps is what the API needs. Temporal is required; the rest have defaults.
type Deps struct {
	// Temporal starts, queries, updates and signals loan workflows.
	Temporal Temporal
	// History reads the loans' workflow histories for the audit export.
	// Nil takes Temporal when it is one (a client.Client is); without
	// either, audit exports say their history part is unavailable.
	History HistoryReader
	// Store serves notices and audit timelines. Nil answers those routes
	// 503 and reports the database as not configured in /healthz.
	Store Store
	// Policies resolves a loan's policy by name; nil knows only
	// policy.Default(). Load it with policy.LoadDir(policies.FS).
	Policies *policy.Registry
	// HasLocale reports whether templates exist for a locale (use
	// templates.Renderer.Has); nil accepts any well-formed locale.
	HasLocale func(locale string) bool
	// Token, when not empty, is required on every /v1 call as
	// "Authorization: Bearer <Token>" (the API_TOKEN environment variable).
	Token string
	// Logger gets one line per request; nil discards.
	Logger *slog.Logger
	// Timeout bounds each request's calls to Temporal and the database;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// TaskQueue is where loans start; "" is workflows.TaskQueue.
	TaskQueue string
	// Now is the clock for defaults (paid_at) and checks (paused until);
	// nil means time.Now.
	Now func() time.Time
	// Delivery serves the delivery webhooks (receipts, replies) and the
	// opt-out check when a loan starts; nil disables both (those routes
	// answer 503). A *store.Store is one.
	Delivery DeliveryStore
	// InboundToken is the bearer token an SMS gateway sends to POST
	// /v1/inbound/sms (INBOUND_TOKEN); "" turns that route off.
	InboundToken string
	// BrandName signs the confirmation of an opt-out by reply.
	BrandName string
	// Twilio authenticates Twilio's webhooks; nil answers them 503.
	Twilio *TwilioWebhooks
	// Reports answers the cross-loan reports GET /v1/notices and GET
	// /v1/opt-outs; nil answers them 503. A *store.Store is one.
	Reports ReportStore
	// Codec, when set, is the codec server the Temporal Web UI decrypts
	// payloads through (codec.Handler), served on /codec/.
	Codec http.Handler
	// Templates render the notices of POST /v1/preview; nil loads the
	// embedded ones (templates.New).
	Templates *templates.Renderer
	// Brand is what previewed notices sign with (the worker's
	// DUNNING_BRAND, DUNNING_HOTLINE, DUNNING_REPAY_URL); an empty name
	// takes BrandName, other empty fields preview.DefaultBrand's.
	Brand activities.Brand
}

// server is the API: the dependencies, the routes and the counters.
type server struct {
	Deps
	mux      *http.ServeMux
	metrics  *metrics
	previews *previews
}

// New returns the HTTP API of DESIGN.md "HTTP API" over deps. It panics if
// deps.Temporal is nil, which is a wiring mistake.
func New(deps Deps) http.Handler {
	if deps.Temporal == nil {
		panic("api.New: Deps.Temporal is nil")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Timeout <= 0 {
		deps.Timeout = DefaultTimeout
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if h, ok := deps.Temporal.(HistoryReader); ok && deps.History == nil {
		deps.History = h
	}
	s := &server{Deps: deps, mux: http.NewServeMux(), metrics: newMetrics(), previews: newPreviews(deps)}

	s.mux.HandleFunc("POST /v1/loans", s.v1(s.startLoan))
	s.mux.HandleFunc("GET /v1/loans/{id}", s.v1(s.status))
	s.mux.HandleFunc("POST /v1/loans/{id}/repayments", s.v1(s.repay))
	s.mux.HandleFunc("POST /v1/loans/{id}/pause", s.v1(s.pause))
	s.mux.HandleFunc("POST /v1/loans/{id}/resume", s.v1(s.resume))
	s.mux.HandleFunc("POST /v1/loans/{id}/close", s.v1(s.closeLoan))
	s.mux.HandleFunc("PUT /v1/loans/{id}/contact", s.v1(s.contact))
	s.mux.HandleFunc("POST /v1/loans/{id}/reschedule", s.v1(s.reschedule))
	s.mux.HandleFunc("GET /v1/loans/{id}/notices", s.v1(s.notices))
	s.mux.HandleFunc("GET /v1/loans/{id}/audit", s.v1(s.audit))
	s.mux.HandleFunc("GET /v1/notices", s.v1(s.noticesReport))
	s.mux.HandleFunc("GET /v1/opt-outs", s.v1(s.optOutsReport))
	s.mux.HandleFunc("POST /v1/preview", s.v1(s.preview))
	s.mux.HandleFunc("POST /v1/inbound/sms", s.inboundSMS)
	s.mux.HandleFunc("POST /v1/inbound/twilio", s.twilioInbound)
	s.mux.HandleFunc("POST /v1/webhooks/twilio", s.twilioStatus)
	if deps.Codec != nil {
		s.mux.Handle("/codec/", deps.Codec)
	}
	s.mux.HandleFunc("GET /healthz", s.health)
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	return s
}

// ServeHTTP routes r, turns the mux's own 404 and 405 answers into JSON,
// recovers from panics, counts the answer and logs one line: method, route
// pattern, status and duration — never the body or the path's values.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h, pattern := s.mux.Handler(r)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.Logger.Error("panic serving request", "pattern", pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !sw.wrote {
				writeError(sw, http.StatusInternalServerError, "internal error")
			}
		}
		method, path := "", "unmatched"
		if pattern != "" {
			method, path, _ = strings.Cut(pattern, " ")
		}
		s.metrics.request(method, path, sw.status())
		s.Logger.Info("http request", "method", r.Method, "pattern", path, "status", sw.status(),
			"duration", time.Since(start))
	}()
	if pattern == "" {
		notRouted(sw, r, h)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// notRouted answers a request no route matches: the mux's handler says what
// (404, 405 with Allow, or a redirect to a clean path), and the answer is
// given as JSON.
func notRouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	c := &captureWriter{header: http.Header{}}
	h.ServeHTTP(c, r)
	switch c.code {
	case http.StatusNotFound:
		writeError(w, http.StatusNotFound, "no such route")
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", c.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed here; allowed: %s", r.Method, c.header.Get("Allow")))
	default:
		for k, v := range c.header {
			w.Header()[k] = v
		}
		w.WriteHeader(c.code)
	}
}

// v1 requires the bearer token, when one is configured, before h.
func (s *server) v1(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Token != "" && !bearerOK(r.Header.Get("Authorization"), s.Token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="dunning"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h(w, r)
	}
}

// bearerOK reports whether header is "Bearer <token>", comparing the token in
// constant time.
func bearerOK(header, token string) bool {
	scheme, got, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) == 1
}

// ctx bounds a request's calls to Temporal and the database.
func (s *server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.Timeout)
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// captureWriter records what the mux's fallback handlers answer.
type captureWriter struct {
	header http.Header
	code   int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return io.Discard.Write(b)
}
