package policy

// Rules is the version of the money and schedule rules a loan runs under.
//
// A running loan's workflow turns what these rules compute (penalties, late
// fees, which reminder point is next) into ledger rows and notices. Changing a
// rule for a loan mid-flight would make a replay of its history decide
// differently from the original run, exactly like an ungated workflow change,
// and would change amounts a borrower was already told. So every rule change
// gets a new version here; a loan takes the newest version when it starts and
// keeps it for life (the workflow carries it in its state across
// continue-as-new), and the functions below keep every older behaviour.
type Rules int

// The rules versions, oldest first. Never change what an existing version
// computes: add a new one.
const (
	// RulesOriginal is the rules as first released. A loan whose state names
	// no version (started before versions existed) runs under it.
	RulesOriginal Rules = 1
	// RulesCatchUpByDay changes catch-up (NextPoint): the point caught up is
	// the latest rung whose local day has come, and when that rung's time
	// today is still ahead the loan waits for it instead of sending the
	// previous, stale rung at once.
	RulesCatchUpByDay Rules = 2

	// LatestRules is what a new loan starts under.
	LatestRules = RulesCatchUpByDay
)

// Known reports whether r is a rules version this code implements.
func (r Rules) Known() bool { return r >= RulesOriginal && r <= LatestRules }

// OrOriginal is r, or RulesOriginal when r is unset (zero): the state of a
// loan started before rules were versioned carries none.
func (r Rules) OrOriginal() Rules {
	if r == 0 {
		return RulesOriginal
	}
	return r
}
