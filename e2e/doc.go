// Package e2e runs dunning end to end against a real Temporal dev server and
// a real PostgreSQL: the worker's workflow and activities in this process,
// the HTTP API over httptest, and the audit tables in a fresh database per
// test. `make test` starts the server and exports DUNNING_TEST_TEMPORAL; with
// CI=true a missing server fails the tests instead of skipping them.
//
// With DUNNING_RECORD_HISTORIES=1 the tests write the histories of their runs
// to workflows/testdata/, where the replay test keeps replaying them.
package e2e
