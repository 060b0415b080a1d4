package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var embeddedMigrations embed.FS

// maintenanceDB is the database every PostgreSQL server has, used to create
// the target database when it does not exist yet.
const maintenanceDB = "postgres"

// PostgreSQL SQLSTATE codes the store branches on.
const (
	codeInvalidCatalogName = "3D000" // database does not exist
	codeDuplicateDatabase  = "42P04"
	codeUniqueViolation    = "23505"
	// Raised by the ledger trigger on UPDATE, DELETE and TRUNCATE.
	codeInsufficientPrivilege = "42501"
)

// Migrate applies every pending migration in store/migrations to the database
// at databaseURL. It is safe to call at every start: a database already up to
// date is left alone, and concurrent callers (worker and API starting at once)
// are serialised by a PostgreSQL advisory lock.
func Migrate(ctx context.Context, databaseURL string) error {
	cfg, err := connConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("migrate: parse database url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()

	migrations, err := fs.Sub(embeddedMigrations, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrate: session locker: %w", err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("migrate: new provider: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", cfg.Database, err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "migration applied", "database", cfg.Database,
			"migration", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// EnsureDatabase creates the database named in databaseURL when it does not
// exist, by connecting to the "postgres" maintenance database of the same
// server, so that a fresh server (make run, CI) needs no manual step. When the
// target database already exists it only connects to it, so production needs
// no access to the maintenance database.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := connConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("ensure database: parse database url: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return errors.New("ensure database: database url names no database")
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	if !hasCode(err, codeInvalidCatalogName) {
		return fmt.Errorf("ensure database %s: connect: %w", name, err)
	}

	admin := cfg.Copy()
	admin.Database = maintenanceDB
	conn, err = pgx.ConnectConfig(ctx, admin)
	if err != nil {
		return fmt.Errorf("ensure database %s: connect to %s: %w", name, maintenanceDB, err)
	}
	defer conn.Close(ctx)

	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	// Another process may have created it between our two connections.
	if err != nil && !hasCode(err, codeDuplicateDatabase, codeUniqueViolation) {
		return fmt.Errorf("ensure database %s: create: %w", name, err)
	}
	if err == nil {
		slog.InfoContext(ctx, "database created", "database", name)
	}
	return nil
}

// hasCode reports whether err carries one of the PostgreSQL SQLSTATE codes.
func hasCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}

// connConfig is the single-connection config of databaseURL, which may carry
// the pool's settings (pool_max_conns and the other pool_* parameters, read by
// Open): parsed as a pool's URL, they are taken out rather than sent to the
// server as unknown run-time parameters, which it would refuse.
func connConfig(databaseURL string) (*pgx.ConnConfig, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	return cfg.ConnConfig, nil
}
