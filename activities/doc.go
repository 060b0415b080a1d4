// Package activities holds everything the loan workflow does to the outside
// world: render and send a notice exactly once, record skipped notices, open
// a collections case and append to the loan ledger. Activities are methods on
// a struct that holds their dependencies, so the worker wires them once and
// tests swap them.
package activities
