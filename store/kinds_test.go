package store_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"dunning/store"
)

// goLedgerKinds returns the values of the Kind* constants declared in
// ledger.go, read from the source so that a kind added in Go alone is seen.
// (KindNotice, in timeline.go, is a timeline kind, not a ledger one.)
func goLedgerKinds(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "ledger.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Kind") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, v)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}

var quotedKind = regexp.MustCompile(`'([^']*)'`)

// dbLedgerKinds returns the kinds the ledger table's CHECK constraint allows.
func dbLedgerKinds(t *testing.T, ctx context.Context, conn *pgx.Conn) []string {
	t.Helper()
	var def string
	if err := conn.QueryRow(ctx, `SELECT pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid = 'ledger'::regclass AND conname = 'ledger_kind_check'`).Scan(&def); err != nil {
		t.Fatalf("read ledger_kind_check: %v", err)
	}
	var kinds []string
	for _, m := range quotedKind.FindAllStringSubmatch(def, -1) {
		kinds = append(kinds, m[1])
	}
	slices.Sort(kinds)
	return kinds
}

// TestLedgerKindsMatchDatabase: the kinds Go declares are exactly those the
// migrated ledger table accepts, so a kind added on one side only fails here
// rather than in production.
func TestLedgerKindsMatchDatabase(t *testing.T) {
	t.Parallel()
	_, url := newStore(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	goKinds := goLedgerKinds(t)
	if !slices.Contains(goKinds, store.KindSignalRejected) || len(goKinds) < 15 {
		t.Fatalf("kinds parsed from ledger.go = %v, want all of them", goKinds)
	}
	if dbKinds := dbLedgerKinds(t, ctx, conn); !slices.Equal(goKinds, dbKinds) {
		t.Errorf("ledger kinds differ:\n Go (ledger.go):       %v\n SQL (ledger_kind_check): %v", goKinds, dbKinds)
	}
}

// TestMigration4DownAndUp: the signal_rejected migration goes down (a
// signal_rejected row already written stays, new ones are refused) and up
// again.
func TestMigration4DownAndUp(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	rejected := store.LedgerEntry{LoanID: "L-1", Kind: store.KindSignalRejected, OccurredAt: at,
		Detail: []byte(`{"signal":"resume","reason":"not paused"}`), DedupeKey: "L-1/signal_rejected/1"}
	if _, err := s.AppendLedger(ctx, rejected); err != nil {
		t.Fatalf("AppendLedger(signal_rejected) after migrating: %v", err)
	}

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, os.DirFS("migrations"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 3); err != nil {
		t.Fatalf("down to 3: %v", err)
	}
	again := rejected
	again.DedupeKey = "L-1/signal_rejected/2"
	if _, err := s.AppendLedger(ctx, again); !store.IsPermanent(err) {
		t.Errorf("AppendLedger(signal_rejected) at version 3 = %v, want a permanent CHECK violation", err)
	}
	if _, err := provider.UpTo(ctx, 4); err != nil {
		t.Fatalf("up to 4: %v", err)
	}
	if _, err := s.AppendLedger(ctx, again); err != nil {
		t.Errorf("AppendLedger(signal_rejected) back at version 4: %v", err)
	}
	rows, err := s.LedgerByLoan(ctx, "L-1")
	if err != nil || len(rows) != 2 {
		t.Errorf("LedgerByLoan = %d rows, %v; want both signal_rejected rows", len(rows), err)
	}
}
