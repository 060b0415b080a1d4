package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"dunning/store"
)

// TestLedgerDedupeComparesContent appends an entry and then another under the
// same dedupe key: the same content is a retry (nothing written, no error),
// other content is an ErrLedgerConflict naming the columns that differ.
func TestLedgerDedupeComparesContent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 16, 0, 0, 123456789, time.UTC)
	shanghai := time.FixedZone("CST", 8*3600)
	first := store.LedgerEntry{LoanID: "L-1", Kind: store.KindPenaltyPosted, Amount: dec(t, "3.50"), Currency: "CNY",
		Detail: json.RawMessage(`{"seq":1,"day":"2026-12-05","split":{"a":1,"b":[1,2]}}`), OccurredAt: at,
		WorkflowID: "loan-L-1", RunID: "run-1"}

	tests := []struct {
		name   string
		edit   func(e *store.LedgerEntry)
		differ []string // the columns the conflict names; none for a retry
	}{
		{name: "same entry", edit: func(*store.LedgerEntry) {}},
		{name: "detail keys in another order", edit: func(e *store.LedgerEntry) {
			e.Detail = json.RawMessage(`{"split":{"b":[1,2],"a":1},"day":"2026-12-05","seq":1}`)
		}},
		{name: "detail spaced differently", edit: func(e *store.LedgerEntry) {
			e.Detail = json.RawMessage("{ \"seq\": 1,\n \"day\": \"2026-12-05\", \"split\": {\"a\": 1, \"b\": [1, 2]} }")
		}},
		{name: "same amount at another scale", edit: func(e *store.LedgerEntry) { e.Amount = dec(t, "3.5") }},
		{name: "same instant in another zone", edit: func(e *store.LedgerEntry) { e.OccurredAt = at.In(shanghai) }},
		{name: "another workflow run", edit: func(e *store.LedgerEntry) { e.WorkflowID, e.RunID = "loan-L-1", "run-2" }},
		{name: "another amount", edit: func(e *store.LedgerEntry) { e.Amount = dec(t, "4.00") }, differ: []string{"amount"}},
		{name: "no amount", edit: func(e *store.LedgerEntry) { e.Amount, e.Currency = nil, "" },
			differ: []string{"amount", "currency"}},
		{name: "another currency", edit: func(e *store.LedgerEntry) { e.Currency = "USD" }, differ: []string{"currency"}},
		{name: "another detail value", edit: func(e *store.LedgerEntry) {
			e.Detail = json.RawMessage(`{"seq":2,"day":"2026-12-05","split":{"a":1,"b":[1,2]}}`)
		}, differ: []string{"detail"}},
		{name: "detail array in another order", edit: func(e *store.LedgerEntry) {
			e.Detail = json.RawMessage(`{"seq":1,"day":"2026-12-05","split":{"a":1,"b":[2,1]}}`)
		}, differ: []string{"detail"}},
		{name: "empty detail", edit: func(e *store.LedgerEntry) { e.Detail = nil }, differ: []string{"detail"}},
		{name: "another time", edit: func(e *store.LedgerEntry) { e.OccurredAt = at.Add(time.Second) },
			differ: []string{"occurred_at"}},
		{name: "another kind", edit: func(e *store.LedgerEntry) { e.Kind = store.KindLateFeeAssessed }, differ: []string{"kind"}},
		{name: "another loan", edit: func(e *store.LedgerEntry) { e.LoanID = "L-2" }, differ: []string{"loan_id"}},
		{name: "everything else", edit: func(e *store.LedgerEntry) {
			*e = store.LedgerEntry{LoanID: "L-9", Kind: store.KindPaused, OccurredAt: at.Add(time.Hour)}
		}, differ: []string{"loan_id", "kind", "amount", "currency", "detail", "occurred_at"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("L-1/ledger/%d", i)
			e := first
			e.DedupeKey = key
			if inserted, err := s.AppendLedger(ctx, e); err != nil || !inserted {
				t.Fatalf("first AppendLedger = %v, %v; want inserted", inserted, err)
			}
			again := e
			tt.edit(&again)
			again.DedupeKey = key
			inserted, err := s.AppendLedger(ctx, again)
			if inserted {
				t.Error("second AppendLedger inserted a row")
			}
			switch {
			case len(tt.differ) == 0 && err != nil:
				t.Errorf("second AppendLedger = %v, want a retry (no error)", err)
			case len(tt.differ) > 0:
				if !errors.Is(err, store.ErrLedgerConflict) || !store.IsPermanent(err) {
					t.Fatalf("second AppendLedger = %v, want a permanent ErrLedgerConflict", err)
				}
				want := fmt.Sprintf("dedupe key %q holds an entry with another %s", key, strings.Join(tt.differ, ", "))
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// Either way the first entry stands, alone.
			var rows []store.LedgerEntry
			for _, loan := range []string{"L-1", "L-2", "L-9"} {
				got, err := s.LedgerByLoan(ctx, loan)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range got {
					if r.DedupeKey == key {
						rows = append(rows, r)
					}
				}
			}
			if len(rows) != 1 {
				t.Fatalf("%d rows with key %s, want 1", len(rows), key)
			}
			if r := rows[0]; r.LoanID != "L-1" || money(r.Amount) != "3.50" || r.RunID != "run-1" ||
				!r.OccurredAt.Equal(at.Truncate(time.Microsecond)) {
				t.Errorf("stored %+v, want the first entry", r)
			}
		})
	}
}

// TestLedgerDedupeConcurrent appends one entry from several goroutines at
// once: one inserts it, the others find it and report a retry; an entry with
// other content under the same key is a conflict however the race goes.
func TestLedgerDedupeConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	at := time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)
	e := store.LedgerEntry{LoanID: "L-1", Kind: store.KindLateFeeAssessed, Amount: dec(t, "20.00"), Currency: "CNY",
		Detail: json.RawMessage(`{"seq":1}`), OccurredAt: at, DedupeKey: "L-1/late_fee/1"}
	other := e
	other.Amount = dec(t, "25.00")

	const n = 8
	var wg sync.WaitGroup
	inserted := make([]bool, n+1)
	errs := make([]error, n+1)
	for i := range n {
		wg.Go(func() { inserted[i], errs[i] = s.AppendLedger(context.Background(), e) })
	}
	wg.Go(func() { inserted[n], errs[n] = s.AppendLedger(context.Background(), other) })
	wg.Wait()

	winners := 0
	for i := range n + 1 {
		if inserted[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Fatalf("%d appends inserted, want exactly 1", winners)
	}
	rows, err := s.LedgerByLoan(context.Background(), "L-1")
	if err != nil || len(rows) != 1 {
		t.Fatalf("LedgerByLoan = %d rows, %v; want 1", len(rows), err)
	}
	// Whichever content won, every append of the other content conflicts and
	// every append of the same content is a retry.
	winner := money(rows[0].Amount)
	for i := range n + 1 {
		mine := "20.00"
		if i == n {
			mine = "25.00"
		}
		switch {
		case inserted[i]:
		case mine == winner && errs[i] != nil:
			t.Errorf("append %d (%s) = %v, want a retry", i, mine, errs[i])
		case mine != winner && !errors.Is(errs[i], store.ErrLedgerConflict):
			t.Errorf("append %d (%s over %s) = %v, want ErrLedgerConflict", i, mine, winner, errs[i])
		}
	}
}
