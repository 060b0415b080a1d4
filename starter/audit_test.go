package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"dunning/api"
	"dunning/internal/pgtest"
	"dunning/store"
)

// `starter audit` is the API's export (api.ExportAudit): with Temporal
// unreachable it still prints the loan's ledger rows, says on stderr that
// the workflow history is missing, and exits 0.
func TestAuditCommandWithoutTemporal(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-CLI-1", Kind: store.KindLoanStarted,
		OccurredAt: time.Now().Add(-time.Hour), WorkflowID: "loan-L-CLI-1", RunID: "run-1", DedupeKey: "L-CLI-1/loan_started/run-1/1"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1") // nothing listens there
	t.Setenv("TEMPORAL_NAMESPACE", "default")

	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}}
	if code := c.run(ctx, []string{"audit", "L-CLI-1"}); code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, stderr.String())
	}
	var a api.Audit
	if err := json.Unmarshal(stdout.Bytes(), &a); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if a.History != api.HistoryUnavailable || len(a.Entries) != 1 || a.Entries[0].Kind != store.KindLoanStarted {
		t.Errorf("audit %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "workflow history unavailable") {
		t.Errorf("stderr %q", stderr.String())
	}

	stdout.Reset()
	if code := c.run(ctx, []string{"audit", "-format", "csv", "L-CLI-1"}); code != exitOK {
		t.Fatalf("csv: exit %d; stderr %s", code, stderr.String())
	}
	if lines := strings.Split(strings.TrimSpace(stdout.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[1], "history_unavailable") {
		t.Errorf("csv:\n%s", stdout.String())
	}
}
