// Package api is the lending system's HTTP API (DESIGN.md "HTTP API"): start
// a loan, report a repayment, read a loan's balance, steer it with operator
// actions (Temporal updates the workflow validates), and read its notices and
// audit timeline. Handlers are thin: decode, validate, call Temporal, encode.
// The Temporal operations themselves (StartLoan, Status, Repay, Update) are
// exported so the starter CLI behaves exactly as the API.
//
// Routes and answers (every error is {"error": "...", "fields": [{"field",
// "problem"}]}, fields only for bad input):
//
//	POST /v1/loans                     201 {loan_id, workflow_id, run_id}; 200 same if already running;
//	                                   400 naming the fields; 409 if the id belongs to a finished loan
//	GET  /v1/loans/{id}                200 the workflow's snapshot JSON as it sends it; 404
//	POST /v1/loans/{id}/repayments     {txn_id, amount, paid_at?, currency?}: 200 snapshot after allocation
//	                                   (applied: this repayment only); 400 invalid on its face; 422 refused
//	                                   by the workflow's validator; 404; 409 loan paid off or closed (200
//	                                   with the final balance when the txn_id was already applied), or
//	                                   txn_id already applied with another amount or paid_at
//	POST /v1/loans/{id}/pause          {actor, reason, until?}   200 snapshot; 400; 404; 409; 422
//	POST /v1/loans/{id}/resume         {actor, reason}           200; 400; 404; 409 (also: not paused)
//	POST /v1/loans/{id}/close          {actor, reason}           200; 400; 404; 409
//	PUT  /v1/loans/{id}/contact        workflows.ContactUpdate {actor, reason, name?, …}: 200; 400; 404; 409; 422
//	POST /v1/loans/{id}/reschedule     workflows.RescheduleSignal {actor, reason, installments}: 200; 400; 404; 409; 422
//	GET  /v1/loans/{id}/notices        200 list of notice attempts (empty for an unknown loan)
//	GET  /v1/loans/{id}/audit          200 audit export JSON (ledger, notices, history); ?format=csv as text/csv
//	POST /v1/preview[?policy=P&pay=D:A] a loan as POST /v1/loans takes it, or {loan, policy} with a policy
//	                                   of the caller's own as JSON, or {loan, policy_yaml} with a policy
//	                                   file's text (policy.ParseInline; not with ?policy=): 200 the
//	                                   preview's timeline (package preview: the real workflow in a
//	                                   time-skipping test environment, nothing sent or started); 400
//	                                   naming the fields; 503 all preview slots busy, or not done within
//	                                   the timeout
//	GET  /healthz                      200 {"status":"ok","checks":{"temporal":…,"database":…}}
//	GET  /readyz                       200 {"status":"ok"|"degraded" (database down),"checks":…};
//	                                   503 "unavailable" when Temporal does not answer
//	GET  /metrics                      200 Prometheus (promhttp): http_requests_total{method,path,code},
//	                                   loans_started_total, repayments_total, the business counters
//	                                   the webhooks record (dunning_*), go_*, process_*; see package metrics
//
// Choices where DESIGN.md is silent or the SDK shapes the answer:
//
//   - Starting uses conflict policy FAIL with WorkflowExecutionErrorWhenAlreadyStarted
//     rather than USE_EXISTING. The caller sees what DESIGN.md asks (a running
//     loan is answered with its existing run, nothing new starts), but SDK
//     v1.51 drops the server's "started" flag, so only FAIL lets the server say
//     which of the two happened, without a racy describe-then-start. See
//     StartOptions.
//   - A repayment's update id is "repay/<txn_id>/<hash of amount, paid_at,
//     currency>" (RepayUpdateID), so the server deduplicates a repeated report
//     and, after the loan completed, still answers it with the first outcome,
//     while the same txn_id with another content reaches the validator (409).
//     Failing that, the final snapshot's applied list says whether the txn_id
//     was applied (200), with other content (409), or not (409).
//   - Operator actions are updates with validators: the caller gets the
//     workflow's own verdict — 200 with the snapshot after the change, 422
//     (workflows.ErrTypeRejected) or 409 (ErrTypeLoanFinished,
//     ErrTypeConflict) with the fields — never a 202 for a request the
//     workflow then drops. Errors cross as typed application errors with the
//     fields as details; no message text is parsed. An Idempotency-Key header
//     makes a retried action one update ("<action>/<key>").
//   - Every operator action names who takes it and why: "actor" (an operator
//     id or work email, policy.ValidateActor) and "reason"; without either
//     the answer is 400 naming the field and nothing reaches Temporal. With
//     one shared API_TOKEN the API cannot know the operator itself, so the
//     actor is what the caller says; the Temporal update's identity is this
//     process's client identity, the same for every operator. The actor is
//     written to the ledger, never to a log line.
//   - The reschedule's installments are checked by the workflow against the
//     loan as it stands (currency, today, installments already paid): 422.
//   - Every /v1 route needs "Authorization: Bearer <token>" when Deps.Token is
//     set (compared in constant time); /healthz, /readyz and /metrics stay
//     open for probes and scrapers.
//   - Bodies are limited to 1 MiB (413) and must be sent as
//     "Content-Type: application/json" (parameters allowed, a charset only
//     utf-8): anything else, or a body with no Content-Type, is 415 naming
//     the header. An empty body is not checked: it is an empty object. Path ids
//     must be valid loan ids (policy.ValidateID: "." and ".." are not), 400.
//     Temporal or PostgreSQL not answering is 503 with Retry-After.
//   - Every body is decoded with policy.DecodeJSON: amounts must be strings
//     and are all required, text must be UTF-8 without control characters,
//     times must lie in policy.MinDate..MaxDate (an explicit paid_at of
//     "0001-01-01T00:00:00Z" is 400, not "now"). A loan whose first due
//     date is more than policy.MaxDebtAgeDays before now is 400.
//   - One log line per request: method, route pattern, status, duration —
//     never a body, a path value, a phone or an email.
package api
