package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"
	"unicode/utf8"

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

// previewRequest is the body of POST /v1/preview that carries a policy
// beside the loan: {"loan": {...}, "policy": {...}} with the policy as JSON
// (a policy file's keys), or {"loan": {...}, "policy_yaml": "..."} with the
// text of a policy file, as `starter preview -policy-file` reads one.
type previewRequest struct {
	Loan       *policy.Loan    `json:"loan"`
	Policy     json.RawMessage `json:"policy,omitempty"`
	PolicyYAML json.RawMessage `json:"policy_yaml,omitempty"`
}

// isPreviewRequest reports whether body is a previewRequest rather than a
// loan: a JSON object with a "loan" key, which no loan has.
func isPreviewRequest(body []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	_, ok := top["loan"]
	return ok
}

// inlinePolicy is the policy a previewRequest carries, or nil. Problems name
// the body's key: "policy.penalty.daily_rate", "policy_yaml".
func (req previewRequest) inlinePolicy() (*policy.Policy, error) {
	given := func(raw json.RawMessage) bool { return len(raw) > 0 && string(bytes.TrimSpace(raw)) != "null" }
	var key string
	var text []byte
	switch {
	case given(req.Policy) && given(req.PolicyYAML):
		return nil, policy.ValidationError{{Field: "policy_yaml",
			Problem: "give the policy once: as policy (JSON) or as policy_yaml (the text of a policy file), not both"}}
	case given(req.Policy):
		key, text = "policy", bytes.TrimSpace(req.Policy)
		if text[0] != '{' {
			return nil, policy.ValidationError{{Field: key,
				Problem: "want an object: the policy as JSON, with a policy file's keys (a shipped policy is named with ?policy=)"}}
		}
	case given(req.PolicyYAML):
		key = "policy_yaml"
		var s string
		if raw := bytes.TrimSpace(req.PolicyYAML); raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, policy.ValidationError{{Field: key, Problem: "want a string: the text of a policy file"}}
		} else if !utf8.Valid(raw) {
			return nil, policy.ValidationError{{Field: key, Problem: "must be valid UTF-8"}}
		}
		text = []byte(s)
	default:
		return nil, nil
	}
	p, err := policy.ParseInline(text)
	if err != nil {
		return nil, prefixFields(key, err)
	}
	return &p, nil
}

// prefixFields names every field of err inside key ("policy" and
// "penalty.daily_rate" make "policy.penalty.daily_rate"; a problem that
// names no field names key).
func prefixFields(key string, err error) policy.ValidationError {
	v := fieldErrors(err)
	for i := range v {
		if v[i].Field == "" {
			v[i].Field = key
		} else {
			v[i].Field = key + "." + v[i].Field
		}
	}
	return v
}

// preview: POST /v1/preview[?policy=NAME][&pay=DATE:AMOUNT ...]. The body
// is a loan as POST /v1/loans takes it, or a previewRequest: the loan and a
// policy of the caller's own, inline (JSON or a policy file's text). 200 the
// preview's timeline (preview.Timeline): the real workflow run to payoff,
// charge-off or close in a time-skipping test environment, nothing sent and
// nothing started; 400 naming the fields (the loan is checked as POST
// /v1/loans checks it, less the age of the debt: a preview starts nothing;
// with an inline policy it is checked under the default policy, as
// `starter preview -policy-file` checks it, and its own policy is not
// used); 400 naming policy when the policy is given both by name and
// inline; 503 when previews are all busy or this one did not finish within
// the request timeout.
func (s *server) preview(w http.ResponseWriter, r *http.Request) {
	if s.previews.err != nil {
		writeError(w, http.StatusServiceUnavailable, "previews unavailable: "+s.previews.err.Error())
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var (
		l      policy.Loan
		inline *policy.Policy
		err    error
		loanAt string // where the loan is in the body: "" or "loan"
	)
	if isPreviewRequest(body) {
		var req previewRequest
		if err := policy.DecodeJSON(bytes.NewReader(body), &req); err != nil {
			writeInvalid(w, "preview request", err)
			return
		}
		if req.Loan == nil {
			writeInvalid(w, "preview request", policy.ValidationError{{Field: "loan",
				Problem: "is required: the loan to preview, as POST /v1/loans takes it"}})
			return
		}
		if inline, err = req.inlinePolicy(); err != nil {
			writeInvalid(w, "policy", err)
			return
		}
		l, loanAt = *req.Loan, "loan"
	} else if l, err = policy.DecodeLoan(bytes.NewReader(body)); err != nil {
		writeInvalid(w, "loan", err)
		return
	}
	invalidLoan := func(err error) {
		if loanAt != "" {
			err = prefixFields(loanAt, err)
		}
		writeInvalid(w, "loan", err)
	}
	q := r.URL.Query()
	for k := range q {
		if k != "policy" && k != "pay" {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("unknown query parameter %q: want policy and pay", k),
				Fields: []policy.FieldError{{Field: k, Problem: "unknown query parameter"}}})
			return
		}
	}
	var pol policy.Policy
	switch name := q.Get("policy"); {
	case inline != nil && name != "":
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "the policy is given twice: by name (?policy=) and inline in the body; give one",
			Fields: []policy.FieldError{{Field: "policy", Problem: "given both by name and inline"}}})
		return
	case inline != nil:
		// Checked under the default policy (the loan's own need not be
		// shipped, nor exist), previewed under the inline one.
		check := l
		check.Policy = policy.DefaultPolicyName
		if _, err := CheckLoan(check, s.Policies, s.HasLocale); err != nil {
			invalidLoan(err)
			return
		}
		pol, l.Policy = *inline, inline.Name
	default:
		if name != "" {
			l.Policy = name
		}
		if pol, err = CheckLoan(l, s.Policies, s.HasLocale); err != nil {
			invalidLoan(err)
			return
		}
	}
	loc, err := l.Location(pol)
	if err != nil {
		invalidLoan(err)
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
