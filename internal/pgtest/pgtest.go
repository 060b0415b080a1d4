// Package pgtest gives integration tests a fresh, empty PostgreSQL database of
// their own on the real server, dropped when the test ends, so tests of
// different packages never see each other's rows and can run in parallel.
//
// The server is DATABASE_URL (only its database name is replaced) or, when
// unset, DefaultServerURL. When it cannot be reached the test is skipped, except
// when CI=true: in CI a missing server is a failure, not a skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultServerURL is the local development server (trust auth) used when
// DATABASE_URL is not set.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// NamePrefix starts the name of every database NewDatabase creates, so a
// leftover from a killed test run is easy to find and drop.
const NamePrefix = "dunning_test_"

// connectTimeout bounds how long an unreachable server delays a test.
const connectTimeout = 5 * time.Second

// NewDatabase creates an empty database named NamePrefix plus random hex on the
// test server and returns its URL. The database is dropped WITH (FORCE) when
// the test and its subtests finish, closing any connection still open.
// Migrating it is up to the caller (store.Migrate).
func NewDatabase(t testing.TB) (databaseURL string) {
	t.Helper()
	// DUNNING_TEST_DATABASE_URL names the server for throwaway test
	// databases; DATABASE_URL is the fallback (only its server is used).
	server := os.Getenv("DUNNING_TEST_DATABASE_URL")
	if server == "" {
		server = os.Getenv("DATABASE_URL")
	}
	if server == "" {
		server = DefaultServerURL
	}
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		t.Fatalf("pgtest: parse DATABASE_URL: %v", err)
	}
	// Create from the maintenance database: the one in DATABASE_URL may not exist yet.
	cfg.Database = "postgres"
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		if inCI() {
			t.Fatalf("pgtest: PostgreSQL unreachable (CI=true): %v", err)
		}
		t.Skipf("pgtest: PostgreSQL unreachable, skipping (set CI=true to fail instead): %v", err)
	}
	defer admin.Close(context.Background())

	name := NamePrefix + randomHex(t)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() { dropDatabase(t, cfg, name) })

	databaseURL, err = withDatabase(server, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return databaseURL
}

func dropDatabase(t testing.TB, cfg *pgx.ConnConfig, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Errorf("pgtest: drop database %s: connect: %v", name, err)
		return
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase returns server with its database name replaced by name; server
// is a postgres:// URL or a keyword/value connection string.
func withDatabase(server, name string) (string, error) {
	if strings.HasPrefix(server, "postgres://") || strings.HasPrefix(server, "postgresql://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In a keyword/value string the last dbname wins.
	return server + " dbname=" + name, nil
}

func inCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pgtest: random name: %v", err)
	}
	return hex.EncodeToString(b)
}
