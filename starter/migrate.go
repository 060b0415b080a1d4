package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"dunning/store"
)

// cmdMigrate: migrate [-timeout 5m]. It creates the audit database when it
// does not exist (store.EnsureDatabase) and applies the pending migrations of
// store/migrations (store.Migrate), then exits: what a deployment runs before
// new workers and APIs start (the Helm chart's pre-install and pre-upgrade
// Job). Running it again changes nothing; concurrent runs and workers
// starting at the same time are serialised by PostgreSQL's advisory lock.
// The worker still migrates at start, so a deployment without the Job works.
func (c *cli) cmdMigrate(ctx context.Context, args []string) error {
	fs := c.flags("migrate")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long (database unreachable, lock held)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	url := c.databaseURL()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := store.EnsureDatabase(ctx, url); err != nil {
		return err
	}
	if err := store.Migrate(ctx, url); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "database %s on %s is up to date\n", cfg.Database, cfg.Host)
	return nil
}
