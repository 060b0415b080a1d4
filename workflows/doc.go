// Package workflows holds the loan workflow: one long-running Temporal
// workflow per loan that sleeps until the next reminder point, sends notices
// through activities, escalates with days past due and stops when the money
// arrives.
//
// Everything here is deterministic: time comes from workflow.Now, side effects
// go through activities, no map is iterated, and the money and schedule rules
// are the pure functions of package policy. Every change to the workflow's
// logic after release must be gated with workflow.GetVersion; the replay tests
// over the histories in testdata/ catch a change that is not.
package workflows
