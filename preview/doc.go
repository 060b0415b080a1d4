// Package preview is the policy lab: it runs a loan's whole future with the
// real LoanWorkflow, the real activities and the real templates in the
// Temporal SDK's time-skipping test environment, with an in-memory audit
// store and a sender that sends nothing, and shows what would happen — every
// reminder point with its local time, offset, template, channels, rendered
// messages (SMS segments counted) and skipped channels, the actions, the
// repayments with their allocation, the balance at each point — as a table,
// JSON or a self-contained HTML page (Run, Timeline). Simulate does the same
// for a whole book under several policies, with borrowers repaying as a
// seeded model draws, in parallel, and sums what each policy costs and
// earns (SimReport). `starter preview`, `starter simulate` and POST
// /v1/preview are its front ends.
//
// A preview opens no connection: no Temporal server, no PostgreSQL, no
// provider, no network at all.
package preview
