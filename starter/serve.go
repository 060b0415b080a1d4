package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"

	"dunning/api"
	"dunning/codec"
	"dunning/internal/config"
	"dunning/internal/temporalutil"
	"dunning/policies"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// shutdownGrace is how long serve lets requests in flight finish after
// SIGINT or SIGTERM.
const shutdownGrace = 20 * time.Second

// cmdServe: serve [-addr :8080]. It starts even when Temporal or PostgreSQL
// is down — the API answers 503 for what needs them and /healthz says which —
// so a restart order of containers does not matter.
func (c *cli) cmdServe(ctx context.Context, args []string) error {
	fs := c.flags("serve")
	addr := fs.String("addr", ":8080", "address to listen on")
	timeout := fs.Duration("timeout", api.DefaultTimeout, "bound on each request's calls to Temporal and PostgreSQL")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	logger := config.Logger()
	if err := temporalutil.RequireEncryption(c.getenv); err != nil {
		return err
	}

	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}
	tr, err := templates.New()
	if err != nil {
		return fmt.Errorf("load templates: %w", err)
	}
	opts, err := temporalutil.Options(c.sdkLogger())
	if err != nil {
		return err
	}
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		return fmt.Errorf("temporal client for %s: %w", opts.HostPort, err)
	}
	defer tc.Close()
	st, err := newLazyStore(c.databaseURL())
	if err != nil {
		return err
	}
	defer st.close()

	// With DUNNING_ENCRYPTION_KEYS the API also serves the codec server the
	// Web UI decrypts loans through (CODEC_TOKEN, CODEC_ALLOW_ORIGINS).
	cdc, err := temporalutil.Codec(c.getenv)
	if err != nil {
		return err
	}
	codecServer := codecHandler(cdc, c.getenv)
	token := c.getenv("API_TOKEN")
	if err := checkExposure(*addr, token, c.getenv("API_INSECURE")); err != nil {
		return err
	}
	if token == "" {
		logger.Warn("API_TOKEN is not set: /v1 answers anyone who can reach " + *addr)
	}
	srv := &http.Server{
		Addr: *addr,
		Handler: api.New(api.Deps{
			Temporal: tc, Store: st, Policies: reg, HasLocale: tr.Has,
			Token: token, Logger: logger, Timeout: *timeout,
			Delivery: st, InboundToken: c.getenv("INBOUND_TOKEN"), BrandName: config.Brand().Name,
			Twilio: twilioWebhooks(c.getenv), Codec: codecServer, Reports: st,
			Templates: tr, Brand: config.Brand(),
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      *timeout + 30*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("serving the dunning API", "addr", ln.Addr().String(), "temporal", opts.HostPort,
		"namespace", opts.Namespace, "auth", token != "")

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// lazyStore opens the audit store on first use and again after a failure,
// at most every retryEvery, so serve starts without PostgreSQL and recovers
// when it comes up. Errors while it is down wrap api.ErrUnavailable.
type lazyStore struct {
	url string

	mu      sync.Mutex
	st      *store.Store
	lastErr error
	lastTry time.Time
}

// retryEvery spaces attempts to open the store while it is down.
const retryEvery = 2 * time.Second

// newLazyStore checks that url is a valid database URL; it does not connect.
func newLazyStore(url string) (*lazyStore, error) {
	if _, err := pgxpool.ParseConfig(url); err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return &lazyStore{url: url}, nil
}

func (l *lazyStore) get(ctx context.Context) (*store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st != nil {
		return l.st, nil
	}
	if l.lastErr != nil && time.Since(l.lastTry) < retryEvery {
		return nil, l.lastErr
	}
	l.lastTry = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := store.Open(ctx, l.url)
	if err != nil {
		l.lastErr = fmt.Errorf("database %w: %w", api.ErrUnavailable, err)
		return nil, l.lastErr
	}
	l.st, l.lastErr = st, nil
	return st, nil
}

// NoticesByLoan implements api.Store.
func (l *lazyStore) NoticesByLoan(ctx context.Context, loanID string) ([]store.Notice, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.NoticesByLoan(ctx, loanID)
}

// Timeline implements api.Store.
func (l *lazyStore) Timeline(ctx context.Context, loanID string) ([]store.TimelineEntry, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.Timeline(ctx, loanID)
}

// Ping implements api.Store.
func (l *lazyStore) Ping(ctx context.Context) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	return st.Ping(ctx)
}

// OptOut implements api.DeliveryStore.
func (l *lazyStore) OptOut(ctx context.Context, channel, address, source, keyword string) (bool, error) {
	st, err := l.get(ctx)
	if err != nil {
		return false, err
	}
	return st.OptOut(ctx, channel, address, source, keyword)
}

// OptIn implements api.DeliveryStore.
func (l *lazyStore) OptIn(ctx context.Context, channel, address, source string) (bool, error) {
	st, err := l.get(ctx)
	if err != nil {
		return false, err
	}
	return st.OptIn(ctx, channel, address, source)
}

// OptedOut implements api.DeliveryStore.
func (l *lazyStore) OptedOut(ctx context.Context, channel, address string) (string, error) {
	st, err := l.get(ctx)
	if err != nil {
		return "", err
	}
	return st.OptedOut(ctx, channel, address)
}

// LoansByAddress implements api.DeliveryStore.
func (l *lazyStore) LoansByAddress(ctx context.Context, channel, address string) ([]string, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.LoansByAddress(ctx, channel, address)
}

// AddLoanContacts implements api.DeliveryStore.
func (l *lazyStore) AddLoanContacts(ctx context.Context, loanID string, contacts []store.Contact) error {
	st, err := l.get(ctx)
	if err != nil {
		return err
	}
	return st.AddLoanContacts(ctx, loanID, contacts)
}

// ApplyReceipt implements api.DeliveryStore.
func (l *lazyStore) ApplyReceipt(ctx context.Context, r store.Receipt) (store.Notice, bool, error) {
	st, err := l.get(ctx)
	if err != nil {
		return store.Notice{}, false, err
	}
	return st.ApplyReceipt(ctx, r)
}

var _ api.DeliveryStore = (*lazyStore)(nil)

// Notices implements api.ReportStore.
func (l *lazyStore) Notices(ctx context.Context, f store.NoticeFilter) ([]store.Notice, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.Notices(ctx, f)
}

// OpenOptOuts implements api.ReportStore.
func (l *lazyStore) OpenOptOuts(ctx context.Context, f store.OptOutFilter) ([]store.OptOutRow, error) {
	st, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return st.OpenOptOuts(ctx, f)
}

var _ api.ReportStore = (*lazyStore)(nil)

func (l *lazyStore) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.st != nil {
		l.st.Close()
	}
}

// twilioWebhooks are the Twilio webhook settings, or nil when
// TWILIO_AUTH_TOKEN or PUBLIC_BASE_URL is unset (the routes answer 503).
func twilioWebhooks(getenv func(string) string) *api.TwilioWebhooks {
	token, base := getenv("TWILIO_AUTH_TOKEN"), getenv("PUBLIC_BASE_URL")
	if token == "" || base == "" {
		return nil
	}
	return &api.TwilioWebhooks{AuthToken: token, PublicBaseURL: base}
}

// checkExposure refuses to serve loans without a token on an address other
// machines can reach: anyone there could start loans, move money and read
// notices. API_INSECURE=1 says it is meant (a container whose port is
// published on 127.0.0.1 only, a private network behind a proxy that
// authenticates).
func checkExposure(addr, token, insecure string) error {
	if token != "" || insecure == "1" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve on %s without API_TOKEN: anyone who reaches it could start loans and read notices; "+
		"set API_TOKEN, listen on 127.0.0.1, or set API_INSECURE=1 if something else guards it", addr)
}

// codecHandler is the codec server the API serves on /codec/ (nil without
// keys). Its bearer token is CODEC_TOKEN or, when that is unset, API_TOKEN:
// an API that asks callers for a token never decrypts payloads for anyone
// who can reach it. A Web UI in front of a token passes it as the user's
// access token (the UI's codec "pass access token" setting) or reaches the
// codec through a proxy that adds it (docs/PRODUCTION.md).
func codecHandler(cdc *codec.Codec, getenv func(string) string) http.Handler {
	if cdc == nil {
		return nil
	}
	origins := strings.Split(cmp.Or(getenv("CODEC_ALLOW_ORIGINS"), "http://localhost:8233,http://127.0.0.1:8233"), ",")
	return codec.Handler(cdc, codec.HandlerOptions{Token: cmp.Or(getenv("CODEC_TOKEN"), getenv("API_TOKEN")), AllowOrigins: origins})
}
