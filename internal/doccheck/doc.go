// Package doccheck holds tests that keep the documentation honest. Its test
// reads docs/COMPLIANCE.md, which maps each compliance rule to the code that
// enforces it and the tests that prove it, and fails when the file lists
// fewer than eight rules, when a rule cites no test, or when a cited test
// (written `TestName` (package)) does not exist as a func in a *_test.go
// file of that package. The package has no code of its own.
package doccheck
