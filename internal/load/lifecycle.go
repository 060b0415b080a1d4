package load

import (
	"context"
	"fmt"

	"dunning/internal/lifecycle"
	"dunning/policies"
	"dunning/policy"
	"dunning/templates"
)

// measureLifecycles measures issue 9's history figures on whole lifecycles
// under the default policy: a loan's life takes months of wall-clock time on
// a server, so they run in the time-skipping environment with the events
// counted by internal/lifecycle's rules (checked there against the dev
// server's histories, TestCalibrateAgainstServer).
func measureLifecycles(ctx context.Context) (lifecycle.Summary, error) {
	tr, err := templates.New()
	if err != nil {
		return lifecycle.Summary{}, fmt.Errorf("load templates: %w", err)
	}
	reg, err := policy.LoadDir(policies.FS)
	if err != nil {
		return lifecycle.Summary{}, fmt.Errorf("load policies: %w", err)
	}
	p, ok := reg.Get("default")
	if !ok {
		return lifecycle.Summary{}, fmt.Errorf("no default policy")
	}
	lcs, err := lifecycle.Standard(p, 360, 12, 0)
	if err != nil {
		return lifecycle.Summary{}, err
	}
	var rs []*lifecycle.Result
	for _, lc := range lcs {
		r, err := lifecycle.Measure(ctx, lc, p, tr)
		if err != nil {
			return lifecycle.Summary{}, err
		}
		rs = append(rs, r)
	}
	return lifecycle.Summarize(rs[0], rs[1], rs[2:]...), nil
}
