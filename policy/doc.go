// Package policy holds dunning's money and schedule rules as pure functions:
// loan validation, named policies, penalty accrual, the allocation waterfall,
// the balance snapshot and the reminder ladder.
//
// Nothing here does I/O or reads a clock: every function that depends on time
// takes as_of as a parameter, so the loan workflow can call it from
// deterministic code and a test can check any instant. The rules follow
// DESIGN.md "Policy semantics"; where DESIGN.md is silent the decision is
// written on the function that makes it.
package policy
