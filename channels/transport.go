package channels

import (
	"context"
	"net/http"
)

// Exchange is what a provider adapter's transport saw of the answer: its
// status and headers. Providers' SDKs keep only the body of an error, while
// the status and Retry-After decide how it is classified.
type Exchange struct {
	Status int
	Header http.Header
}

// ContextTransport runs each request under Ctx (one Send's context: its
// deadline bounds the request, which SDKs without a context cannot do) and
// records the answer in Ex. Not being an *http.Transport, it also keeps an
// SDK from rewriting its TLS and proxy settings.
type ContextTransport struct {
	Ctx  context.Context
	Base http.RoundTripper
	Ex   *Exchange
}

// RoundTrip sends req under t.Ctx and records the answer's status and headers.
func (t *ContextTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.Base.RoundTrip(req.WithContext(t.Ctx))
	if resp != nil {
		t.Ex.Status, t.Ex.Header = resp.StatusCode, resp.Header
	}
	return resp, err
}
