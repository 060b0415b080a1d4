// Package store is the PostgreSQL audit store of dunning, reached through
// pgx/v5: the schema migrations, the notices table (every notice attempt,
// unique by idempotency key so a retried activity never sends twice, and
// reserved after a second check of opt-out, contact window and caps across
// every loan of the address, in the same transaction), the append-only loan
// ledger that the database refuses to change, the
// collections cases, and the audit timeline that joins notices and ledger.
//
// Money is numeric in the database and decimal.Decimal in Go, never float.
package store
