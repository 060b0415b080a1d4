// Package api is the lending system's HTTP API (DESIGN.md "HTTP API"): start
// a loan, report a repayment, read a loan's balance, steer it with signals,
// and read its notices and audit timeline. Handlers are thin: decode, validate,
// call Temporal, encode. The Temporal operations themselves (StartLoan, Status,
// Repay, Signal) are exported so the starter CLI behaves exactly as the API.
//
// Routes and answers (every error is {"error": "...", "fields": [{"field",
// "problem"}]}, fields only for bad input):
//
//	POST /v1/loans                     201 {loan_id, workflow_id, run_id}; 200 same if already running;
//	                                   400 naming the fields; 409 if the id belongs to a finished loan
//	GET  /v1/loans/{id}                200 the workflow's snapshot JSON as it sends it; 404
//	POST /v1/loans/{id}/repayments     {txn_id, amount, paid_at?, currency?}: 200 snapshot after allocation;
//	                                   400 invalid on its face; 422 refused by the workflow's validator;
//	                                   404; 409 loan paid off or closed (200 with the final balance
//	                                   when the txn_id was already applied)
//	POST /v1/loans/{id}/pause          {reason?, until?}   202 {"status":"accepted"}; 400; 404; 409
//	POST /v1/loans/{id}/resume         {reason?}           202; 404; 409
//	POST /v1/loans/{id}/close          {reason}            202; 400; 404; 409
//	PUT  /v1/loans/{id}/contact        workflows.ContactUpdate: 202; 400; 404; 409
//	POST /v1/loans/{id}/reschedule     workflows.RescheduleSignal: 202; 400; 404; 409
//	GET  /v1/loans/{id}/notices        200 list of notice attempts (empty for an unknown loan)
//	GET  /v1/loans/{id}/audit          200 timeline JSON; ?format=csv as text/csv
//	GET  /healthz                      200 {"status":"ok","checks":{"temporal":…,"database":…}}
//	GET  /metrics                      200 Prometheus text: http_requests_total{method,path,code},
//	                                   loans_started_total, repayments_total
//
// Choices where DESIGN.md is silent or the SDK shapes the answer:
//
//   - Starting uses conflict policy FAIL with WorkflowExecutionErrorWhenAlreadyStarted
//     rather than USE_EXISTING. The caller sees what DESIGN.md asks (a running
//     loan is answered with its existing run, nothing new starts), but SDK
//     v1.51 drops the server's "started" flag, so only FAIL lets the server say
//     which of the two happened, without a racy describe-then-start. See
//     StartOptions.
//   - A repayment's update id is "repay/<txn_id>", so the server deduplicates a
//     repeated report too and, after the loan completed, still answers it with
//     the first outcome; failing that, the final snapshot's applied list says
//     whether the txn_id was applied (200) or not (409).
//   - Signals are sent only to a running workflow (describe first): a signal to
//     a finished loan would be accepted by nobody, so it answers 409, not 202.
//   - The reschedule signal is exposed over HTTP so restructuring needs no
//     Temporal access. Its installments are checked against the loan's current
//     snapshot (currency, today, installments already paid) with the workflow's
//     own rule, because the workflow can only ignore a bad reschedule.
//   - Every /v1 route needs "Authorization: Bearer <token>" when Deps.Token is
//     set (compared in constant time); /healthz and /metrics stay open for
//     probes and scrapers.
//   - Bodies are limited to 1 MiB (413) and must be sent as
//     "Content-Type: application/json" (parameters allowed, a charset only
//     utf-8): anything else, or a body with no Content-Type, is 415 naming
//     the header. An empty body is not checked (pause, resume). Path ids
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
