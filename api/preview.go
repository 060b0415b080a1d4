package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"dunning/activities"
	"dunning/policy"
	"dunning/preview"
	"dunning/templates"
	"dunning/workflows"
)

// previews bounds POST /v1/preview: a preview runs the whole loan workflow
// in this process (CPU, no I/O), so at most GOMAXPROCS run at once, each
// within the request timeout. A request that finds every slot taken waits
// for one until its timeout, then gets 503.
type previews struct {
	slots     chan struct{}
	templates *templates.Renderer
	brand     activities.Brand
	err       error // why previews are unavailable (no templates)
}

func newPreviews(d Deps) *previews {
	p := &previews{slots: make(chan struct{}, runtime.GOMAXPROCS(0)), templates: d.Templates, brand: d.Brand}
	if p.brand.Name == "" {
		p.brand.Name = d.BrandName
	}
	if p.templates == nil {
		p.templates, p.err = templates.New()
	}
	return p
}

// preview: POST /v1/preview[?policy=NAME][&pay=DATE:AMOUNT ...] with a loan
// body as POST /v1/loans takes it. 200 the preview's timeline (preview.Timeline):
// the real workflow run to payoff, charge-off or close in a time-skipping test
// environment, nothing sent and nothing started; 400 naming the fields
// (the loan is checked as POST /v1/loans checks it, less the age of the
// debt: a preview starts nothing); 503 when previews are all busy or this
// one did not finish within the request timeout.
func (s *server) preview(w http.ResponseWriter, r *http.Request) {
	if s.previews.err != nil {
		writeError(w, http.StatusServiceUnavailable, "previews unavailable: "+s.previews.err.Error())
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	l, err := policy.DecodeLoan(bytes.NewReader(body))
	if err != nil {
		writeInvalid(w, "loan", err)
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "policy" && k != "pay" {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("unknown query parameter %q: want policy and pay", k),
				Fields: []policy.FieldError{{Field: k, Problem: "unknown query parameter"}}})
			return
		}
	}
	if name := q.Get("policy"); name != "" {
		l.Policy = name
	}
	pol, err := CheckLoan(l, s.Policies, s.HasLocale)
	if err != nil {
		writeInvalid(w, "loan", err)
		return
	}
	loc, err := l.Location(pol)
	if err != nil {
		writeInvalid(w, "loan", err)
		return
	}
	if n := len(q["pay"]); n > workflows.MaxRepayments {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("%d payments: at most %d", n, workflows.MaxRepayments),
			Fields: []policy.FieldError{{Field: "pay", Problem: "too many payments"}}})
		return
	}
	var pays []preview.Payment
	var v policy.ValidationError
	for i, p := range q["pay"] {
		pay, err := preview.ParsePayment(p, l.Currency, loc)
		if err != nil {
			v = append(v, policy.FieldError{Field: fmt.Sprintf("pay[%d]", i), Problem: err.Error()})
			continue
		}
		pays = append(pays, pay)
	}
	if err := v.Err(); err != nil {
		writeInvalid(w, "payments", err)
		return
	}

	ctx, cancel := s.ctx(r)
	defer cancel()
	select {
	case s.previews.slots <- struct{}{}:
		defer func() { <-s.previews.slots }()
	case <-ctx.Done():
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "every preview slot is busy; try again")
		return
	}
	t, err := preview.Run(ctx, l, preview.Options{Policy: pol, Templates: s.previews.templates, Brand: s.previews.brand,
		Payments: pays, Stuck: s.Timeout})
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("the preview took longer than %s", s.Timeout.Round(time.Second)))
		return
	case err != nil:
		s.Logger.Error("preview failed", "error", err)
		writeError(w, http.StatusInternalServerError, "preview failed")
		return
	}
	writeJSON(w, http.StatusOK, t)
}
