package channels

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestContextTransportRecordsTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	ex := &Exchange{}
	c := &http.Client{Transport: &ContextTransport{Ctx: context.Background(), Base: http.DefaultTransport, Ex: ex}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ex.Status != http.StatusTooManyRequests || ex.Header.Get("Retry-After") != "7" {
		t.Errorf("exchange %+v", ex)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Transport = &ContextTransport{Ctx: ctx, Base: http.DefaultTransport, Ex: &Exchange{}}
	if _, err := c.Get(srv.URL); err == nil {
		t.Error("a cancelled Send context did not stop the request")
	}
}
