package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned when a row the caller names does not exist, so
// callers can tell a missing notice from a database failure.
var ErrNotFound = errors.New("not found")

// Store is the audit store: a pgx connection pool and the queries over the
// notices, ledger and collection_cases tables. It is safe for concurrent use;
// the worker and the API each open one and share it between goroutines.
type Store struct {
	pool *pgxpool.Pool
}

// querier is what both the pool and a transaction offer, so read queries can
// run alone or inside the snapshot of a timeline export.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Open connects a pool to databaseURL and checks the server answers, so a
// misconfigured worker fails at start rather than at its first notice. It does
// not migrate: call Migrate first.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open store: parse database url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

// Close releases every connection of the pool; the Store is unusable after.
func (s *Store) Close() {
	s.pool.Close()
}

// Ping checks that the database answers, for health checks and start-up.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}
