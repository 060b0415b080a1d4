// Package policies carries dunning's shipped policy files (*.yaml) inside
// every binary, so a worker or API server needs no policy directory on disk.
// Load them with policy.LoadDir(policies.FS).
package policies

import "embed"

// FS holds every *.yaml policy file of this directory, named by file name
// (default.yaml is the policy "default").
//
//go:embed *.yaml
var FS embed.FS
