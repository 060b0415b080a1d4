package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"time"

	"dunning/policy"
	"dunning/store"
	"dunning/workflows"
)

// startLoan: POST /v1/loans. 201 when started, 200 when already running,
// 400 naming the fields, 409 when the id belongs to a finished loan.
func (s *server) startLoan(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	l, err := policy.DecodeLoan(bytes.NewReader(body))
	if err != nil {
		writeInvalid(w, "loan", err)
		return
	}
	p, err := CheckLoanAt(l, s.Policies, s.HasLocale, s.Now())
	if err != nil {
		writeInvalid(w, "loan", err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := StartChecked(ctx, s.Temporal, s.Delivery, l, p, s.TaskQueue)
	switch {
	case errors.Is(err, ErrNotOpen):
		writeError(w, http.StatusConflict, fmt.Sprintf("loan %s already finished (paid off or closed): its id cannot be started again", l.LoanID))
		return
	case err != nil:
		s.fail(w, l.LoanID, err)
		return
	}
	w.Header().Set("Location", "/v1/loans/"+l.LoanID)
	if !res.Started {
		writeJSON(w, http.StatusOK, res)
		return
	}
	s.metrics.loanStarted()
	writeJSON(w, http.StatusCreated, res)
}

// status: GET /v1/loans/{id}, the workflow's snapshot as it sends it.
func (s *server) status(w http.ResponseWriter, r *http.Request) {
	id, ok := loanID(w, r)
	if !ok {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	snap, err := Status(ctx, s.Temporal, id)
	if err != nil {
		s.fail(w, id, err)
		return
	}
	writeRawJSON(w, http.StatusOK, snap)
}

// repay: POST /v1/loans/{id}/repayments {txn_id, amount, paid_at?}. paid_at
// defaults to when the workflow takes it. 200 with the snapshot after
// allocation (its applied list holds this repayment only); 400 for what is
// wrong on its face, 422 for what the workflow refuses, 409 for a loan no
// longer open or a txn_id repeated with another amount or paid_at.
func (s *server) repay(w http.ResponseWriter, r *http.Request) {
	id, ok := loanID(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	rp, err := policy.DecodeRepayment(bytes.NewReader(body))
	if err != nil {
		writeInvalid(w, "repayment", err)
		return
	}
	// Without paid_at the repayment was paid when the workflow takes it; it
	// is checked here as paid now.
	check := rp
	if check.PaidAt.IsZero() {
		check.PaidAt = s.Now()
	}
	if err := CheckRepayment(check, s.Now()); err != nil {
		writeInvalid(w, "repayment", err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	snap, err := Repay(ctx, s.Temporal, id, rp)
	if err != nil {
		s.fail(w, id, err)
		return
	}
	s.metrics.repayment()
	s.metrics.RepaymentApplied()
	writeRawJSON(w, http.StatusOK, snap)
}

// pause: POST /v1/loans/{id}/pause {actor, reason, until?}.
func (s *server) pause(w http.ResponseWriter, r *http.Request) {
	var p workflows.PauseSignal
	s.action(w, r, workflows.UpdatePause, &p, func() error { return CheckPause(p, s.Now()) })
}

// resume: POST /v1/loans/{id}/resume {actor, reason}.
func (s *server) resume(w http.ResponseWriter, r *http.Request) {
	var rs workflows.ResumeSignal
	s.action(w, r, workflows.UpdateResume, &rs, func() error { return CheckResume(rs) })
}

// closeLoan: POST /v1/loans/{id}/close {actor, reason}.
func (s *server) closeLoan(w http.ResponseWriter, r *http.Request) {
	var c workflows.CloseSignal
	s.action(w, r, workflows.UpdateClose, &c, func() error { return CheckClose(c) })
}

// contact: PUT /v1/loans/{id}/contact, a workflows.ContactUpdate {actor,
// reason, name?, phone?, …}.
//
// A new phone number that opted out by reply before is opted out on this
// loan too (and recorded, so a later reply from it reaches this loan).
func (s *server) contact(w http.ResponseWriter, r *http.Request) {
	var u workflows.ContactUpdate
	s.actionThen(w, r, workflows.UpdateContact, &u, func() error { return checkContact(u, s.HasLocale) },
		func(ctx context.Context, id string) error {
			if u.Phone == "" || s.Delivery == nil {
				return nil
			}
			if err := s.Delivery.AddLoanContacts(ctx, id, []store.Contact{{Channel: string(policy.SMS), Address: u.Phone}}); err != nil {
				return fmt.Errorf("contacts of loan %s: %w: %w", id, ErrUnavailable, err)
			}
			source, err := s.Delivery.OptedOut(ctx, string(policy.SMS), u.Phone)
			if err != nil {
				return fmt.Errorf("opt-outs of loan %s: %w: %w", id, ErrUnavailable, err)
			}
			if source == "" {
				return nil
			}
			err = s.Temporal.SignalWorkflow(ctx, workflows.WorkflowID(id), "", workflows.SignalOptOut,
				workflows.OptSignal{Channel: policy.SMS, Source: source})
			if isNotFound(err) {
				return nil // finished just after the update: nothing more to stop
			}
			return err
		})
}

// reschedule: POST /v1/loans/{id}/reschedule, a workflows.RescheduleSignal
// {actor, reason, installments}. The actor and reason are checked here; the
// installments only the workflow can check, against the loan as it stands
// (its currency, today, what is paid): it answers 422 naming them.
func (s *server) reschedule(w http.ResponseWriter, r *http.Request) {
	var rs workflows.RescheduleSignal
	s.action(w, r, workflows.UpdateReschedule, &rs, func() error { return checkReschedule(rs) })
}

// action decodes the body into arg (an empty body is an empty object),
// checks it with check (400 naming the field) and sends it as update name to
// the loan's workflow, which validates it again against the loan and
// answers: 200 with the snapshot after the change, 422 (invalid for this
// loan) or 409 (finished, or in conflict with its state) with the reason, 404
// unknown. An Idempotency-Key header makes a retried request one update: the
// server answers a repeat with the first outcome.
func (s *server) action(w http.ResponseWriter, r *http.Request, name string, arg any, check func() error) {
	s.actionThen(w, r, name, arg, check, nil)
}

// actionThen is action with then run after the workflow accepted the
// update, before the answer (nil: nothing).
func (s *server) actionThen(w http.ResponseWriter, r *http.Request, name string, arg any, check func() error,
	then func(ctx context.Context, id string) error) {
	id, ok := loanID(w, r)
	if !ok {
		return
	}
	if !decodeBody(w, r, name, arg) {
		return
	}
	if err := check(); err != nil {
		writeInvalid(w, name, err)
		return
	}
	updateID := ""
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if err := policy.ValidateID("Idempotency-Key", key, policy.MaxTxnIDLen); err != nil {
			writeInvalid(w, name, err)
			return
		}
		updateID = name + "/" + key
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	snap, err := Update(ctx, s.Temporal, id, name, updateID, reflect.ValueOf(arg).Elem().Interface())
	if err == nil && then != nil {
		err = then(ctx, id)
	}
	if err != nil {
		s.fail(w, id, err)
		return
	}
	writeRawJSON(w, http.StatusOK, snap)
}

// notices: GET /v1/loans/{id}/notices, every notice attempt from the audit
// table, oldest first. A loan with none (or unknown) answers an empty list:
// the audit outlives the workflow.
func (s *server) notices(w http.ResponseWriter, r *http.Request) {
	id, ok := loanID(w, r)
	if !ok || !s.haveStore(w) {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ns, err := s.Store.NoticesByLoan(ctx, id)
	if err != nil {
		s.failStore(w, id, err)
		return
	}
	if ns == nil {
		ns = []store.Notice{}
	}
	writeJSON(w, http.StatusOK, ns)
}

// healthCheck is one dependency's state in /healthz.
type healthCheck struct {
	Status    string `json:"status"` // ok, error or not configured
	Error     string `json:"error,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
}

// healthTimeout bounds the dependency checks of /healthz, so a probe
// answers quickly even when Temporal or the database hangs.
const healthTimeout = 3 * time.Second

// health: GET /healthz. Liveness: always 200 while the process serves, with
// Temporal's and the database's state reported beside it for readiness.
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	tc, dc := s.dependencies(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "ok",
		"checks": map[string]healthCheck{"temporal": tc, "database": dc},
	})
}

// ready: GET /readyz. Readiness: 503 when Temporal does not answer, since
// then no loan can be started, repaid, read or steered; 200 otherwise, with
// status "degraded" when only the database is down. A database outage is
// reported but keeps the API in service: loans and repayments need Temporal
// only, and taking every replica out of its Service would refuse them too
// (notices, audit and webhooks answer 503 with Retry-After meanwhile). A
// wrong DATABASE_URL is caught before a rollout by the migration Job.
func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	tc, dc := s.dependencies(r.Context())
	status, code := "ok", http.StatusOK
	switch {
	case tc.Status != "ok":
		status, code = "unavailable", http.StatusServiceUnavailable
	case dc.Status == "error":
		status = "degraded"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, code, map[string]any{
		"status": status,
		"checks": map[string]healthCheck{"temporal": tc, "database": dc},
	})
}

// dependencies checks Temporal and the database at once, within
// healthTimeout.
func (s *server) dependencies(ctx context.Context) (temporal, database healthCheck) {
	ctx, cancel := context.WithTimeout(ctx, min(s.Timeout, healthTimeout))
	defer cancel()
	check := func(f func() error) healthCheck {
		start := time.Now()
		err := f()
		c := healthCheck{Status: "ok", LatencyMS: time.Since(start).Milliseconds()}
		if err != nil {
			c.Status, c.Error = "error", err.Error()
		}
		return c
	}
	var (
		wg       sync.WaitGroup
		tc, dc   healthCheck
		hasStore = s.Store != nil
	)
	wg.Go(func() {
		tc = check(func() error { _, err := s.Temporal.CheckHealth(ctx, nil); return err })
	})
	if hasStore {
		wg.Go(func() { dc = check(func() error { return s.Store.Ping(ctx) }) })
	} else {
		dc = healthCheck{Status: "not configured"}
	}
	wg.Wait()
	return tc, dc
}

// fail answers an error from a Temporal operation: 422 rejected, 404 unknown
// loan, 409 finished loan, 503 unavailable, else 500 (logged).
func (s *server) fail(w http.ResponseWriter, id string, err error) {
	var (
		rej *RejectedError
		con *ConflictError
	)
	switch {
	case errors.As(err, &rej):
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Error: rej.Message, Fields: rej.Fields})
	case errors.As(err, &con):
		writeJSON(w, http.StatusConflict, errorBody{Error: con.Message, Fields: con.Fields})
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("loan %s not found", id))
	case errors.Is(err, ErrNotOpen):
		writeError(w, http.StatusConflict, fmt.Sprintf("%s (loan %s)", ErrNotOpen, id))
	case isUnavailable(err):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporal unavailable, try again later: "+err.Error())
	default:
		s.Logger.Error("request failed", "loan_id", id, "error", err)
		writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
	}
}

// failStore answers an error from the audit store: 503 when the database does
// not answer, else 500 (logged).
func (s *server) failStore(w http.ResponseWriter, id string, err error) {
	if isUnavailable(err) {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "database unavailable, try again later: "+err.Error())
		return
	}
	s.Logger.Error("store request failed", "loan_id", id, "error", err)
	writeError(w, http.StatusInternalServerError, "internal error reading the audit store")
}

// haveStore answers 503 when no database is configured.
func (s *server) haveStore(w http.ResponseWriter) bool {
	if s.Store == nil {
		writeError(w, http.StatusServiceUnavailable, "no database configured for notices and audit (set DATABASE_URL)")
		return false
	}
	return true
}

// loanID is the path's {id}, answered 400 unless it can be a loan id.
func loanID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if msg := loanIDProblem(id); msg != "" {
		writeJSON(w, http.StatusBadRequest, errorBody{
			Error:  fmt.Sprintf("invalid loan id %q: %s", id, msg),
			Fields: []policy.FieldError{{Field: "id", Problem: msg}},
		})
		return "", false
	}
	return id, true
}

// decodeBody reads the body strictly into v (a pointer); an empty body leaves
// v zero. It answers 400 or 413 itself and reports whether to go on.
func decodeBody(w http.ResponseWriter, r *http.Request, what string, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err := policy.DecodeJSON(bytes.NewReader(body), v); err != nil {
		writeInvalid(w, what, err)
		return false
	}
	return true
}
