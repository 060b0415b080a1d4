// Package chartcheck checks the Helm chart in deploy/helm/dunning the way the
// Kubernetes API server would read it. Its tests render the chart with
// .bin/helm (scripts/helm.sh builds it; HELM overrides the path) with the
// default values, values-cloud.yaml and every option on, decode each object
// strictly into its k8s.io/api type (an unknown field fails), and check what
// the code needs of a deployment: secrets only by reference, probes and
// resources on every container, a grace period longer than the worker's stop
// timeout, the migration hook, pinned images, and every variable the code
// reads settable.
//
// It is a module of its own so that k8s.io/api stays out of dunning's go.mod.
package chartcheck
