package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"dunning/internal/pgtest"
)

// TestMigrate: `starter migrate` brings a fresh database to the newest
// migration, a second run changes nothing, and a bad or unreachable
// DATABASE_URL fails with exit code 1.
func TestMigrate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	run := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		c := &cli{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return env[k] }}
		return c.run(context.Background(), append([]string{"migrate"}, args...)), stdout.String(), stderr.String()
	}
	for range 2 {
		code, out, errOut := run(map[string]string{"DATABASE_URL": url})
		if code != exitOK || !strings.Contains(out, "is up to date") {
			t.Fatalf("migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var version int64
	if err := conn.QueryRow(context.Background(), "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 1 {
		t.Errorf("goose version %d after migrate", version)
	}

	if code, _, errOut := run(map[string]string{"DATABASE_URL": "postgres://%zz"}); code != exitFail || !strings.Contains(errOut, "DATABASE_URL") {
		t.Errorf("bad DATABASE_URL: exit %d, stderr %q", code, errOut)
	}
	// Nothing listens on port 1.
	if code, _, errOut := run(map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?sslmode=disable"}, "-timeout", "2s"); code != exitFail {
		t.Errorf("unreachable database: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := run(nil, "extra"); code != exitUsage {
		t.Errorf("positional argument: exit %d, want %d", code, exitUsage)
	}
}
