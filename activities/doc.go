// Package activities holds everything the loan workflow does to the outside
// world: render and send a notice exactly once, checking opt-out, contact
// window and caps again against the audit store just before it goes out
// (NoticeRequest.Check), record skipped notices, give a notice whose send
// never completed its final row, open a collections case and append to the
// loan ledger. A store error that retrying cannot fix is a
// non-retryable ErrTypeAuditRejected error (a rejected ledger row is listed in
// the result instead); any other is retried. Activities are methods on
// a struct that holds their dependencies, so the worker wires them once and
// tests swap them.
package activities
