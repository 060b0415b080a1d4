package workflows

import (
	"go.temporal.io/sdk/workflow"

	"dunning/policy"
)

// complianceVersion gates the second compliance check: from it on every
// notice the loan sends carries a policy.SendCheck (its customer's time
// zone, the policy's contact window and caps), and SendNotice checks
// opt-out, window and caps again against the audit store, in the transaction
// that reserves the notice (store.ReserveNoticeChecked). What that check
// stops comes back as a skipped result with its reason, which the loan keeps
// like any other outcome: the point is handled, nothing is counted as sent,
// nothing is left to finalize.
//
// The version is asked for when a run builds its first notice, not when the
// run starts: a run whose recorded history sent notices without the check
// replays without it (GetVersion answers DefaultVersion in replay when no
// marker was recorded), and a run that has sent nothing yet takes it at its
// next notice.
const complianceVersion = "compliance-1"

// sendCheck is what a notice of this loan is checked against at the moment
// it is sent, or nil for a run from before complianceVersion.
func (l *loan) sendCheck(ctx workflow.Context) *policy.SendCheck {
	if !l.points() && workflow.GetVersion(ctx, complianceVersion, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	return &policy.SendCheck{TimeZone: l.loc.String(), Window: l.pol.Reminders.ContactWindow, Caps: l.pol.Caps}
}
