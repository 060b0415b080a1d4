package store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"dunning/internal/pgtest"
	"dunning/store"
)

// newStore returns a Store on a fresh, migrated database and its URL.
func newStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s, url
}

func dec(t *testing.T, s string) *decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

func notice(key, channel string) store.Notice {
	return store.Notice{
		IdempotencyKey: key, LoanID: "L-1", CustomerID: "C-1", Channel: channel,
		Template: "overdue_firm", Locale: "zh-CN", Body: "您的还款已逾期", Recipient: "+8613800138000",
		WorkflowID: "loan-L-1", RunID: "run-1", Attempt: 1,
	}
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var applied int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) < 4 {
		t.Fatalf("migrations/*.sql = %v, %v", files, err)
	}
	if applied != len(files) {
		t.Errorf("goose_db_version has %d applied migrations, want %d (each once)", applied, len(files))
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = store.Migrate(context.Background(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate #%d: %v", i, err)
		}
	}
}

func TestEnsureDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	// The database pgtest made exists: nothing to do.
	if err := store.EnsureDatabase(ctx, url); err != nil {
		t.Fatalf("EnsureDatabase on existing: %v", err)
	}

	// A missing one is created, and a second call is a no-op.
	missing := strings.Replace(url, pgtest.NamePrefix, pgtest.NamePrefix+"ensure_", 1)
	cfg, err := pgx.ParseConfig(missing)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin := cfg.Copy()
		admin.Database = "postgres"
		conn, err := pgx.ConnectConfig(ctx, admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	for i := range 2 {
		if err := store.EnsureDatabase(ctx, missing); err != nil {
			t.Fatalf("EnsureDatabase #%d: %v", i+1, err)
		}
	}
	s, err := store.Open(ctx, missing)
	if err != nil {
		t.Fatalf("Open created database: %v", err)
	}
	s.Close()
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := store.Open(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"); err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
}

func TestReserveNotice(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	n := notice("L-1/1/1/7/sms", "sms")

	first, reserved, err := s.ReserveNotice(ctx, n)
	if err != nil {
		t.Fatalf("ReserveNotice: %v", err)
	}
	if !reserved || first.Status != store.NoticePending || first.ID == 0 || first.Recipient != n.Recipient {
		t.Fatalf("first reserve = %+v, reserved=%v; want a pending row, reserved", first, reserved)
	}

	retry := n
	retry.Attempt = 2
	retry.Body = "changed"
	second, reserved, err := s.ReserveNotice(ctx, retry)
	if err != nil {
		t.Fatalf("ReserveNotice again: %v", err)
	}
	if reserved {
		t.Error("second reserve of the same key reserved again")
	}
	if second.ID != first.ID || second.Attempt != 1 || second.Body != n.Body {
		t.Errorf("second reserve returned %+v, want the first row unchanged", second)
	}

	all, err := s.NoticesByLoan(ctx, "L-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Errorf("NoticesByLoan has %d rows, want 1", len(all))
	}
}

func TestReserveNoticeConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	const n = 8
	var wg sync.WaitGroup
	reserved := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, reserved[i], errs[i] = s.ReserveNotice(context.Background(), notice("race", "sms"))
		})
	}
	wg.Wait()
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("ReserveNotice #%d: %v", i, errs[i])
		}
		if reserved[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d concurrent reservations won, want exactly 1", winners)
	}
}

func TestReserveNoticeRejectsBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	tests := map[string]store.Notice{
		"empty key":       notice("", "sms"),
		"unknown channel": notice("k-fax", "fax"),
	}
	for name, n := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.ReserveNotice(ctx, n); err == nil {
				t.Error("ReserveNotice accepted it")
			}
		})
	}
}

func TestCompleteNotice(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	sentAt := time.Date(2026, 12, 8, 2, 37, 0, 0, time.UTC)

	tests := []struct {
		name    string
		status  string
		sentAt  time.Time
		again   string // status of a second completion
		wantErr error  // of the second completion
	}{
		{name: "sent then same", status: store.NoticeSent, sentAt: sentAt, again: store.NoticeSent},
		{name: "failed then same", status: store.NoticeFailed, again: store.NoticeFailed},
		{name: "skipped then same", status: store.NoticeSkipped, again: store.NoticeSkipped},
		{name: "sent then failed", status: store.NoticeSent, sentAt: sentAt, again: store.NoticeFailed, wantErr: store.ErrNoticeCompleted},
		{name: "failed then sent", status: store.NoticeFailed, again: store.NoticeSent, wantErr: store.ErrNoticeCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "L-1/" + tt.name
			if _, _, err := s.ReserveNotice(ctx, notice(key, "email")); err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteNotice(ctx, key, tt.status, "r1", "devsink", "dev-1", tt.sentAt); err != nil {
				t.Fatalf("CompleteNotice: %v", err)
			}
			err := s.CompleteNotice(ctx, key, tt.again, "r2", "devsink", "dev-2", time.Time{})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("second CompleteNotice = %v, want %v", err, tt.wantErr)
			}
			got, reserved, err := s.ReserveNotice(ctx, notice(key, "email"))
			if err != nil || reserved {
				t.Fatalf("ReserveNotice after completion: reserved=%v err=%v", reserved, err)
			}
			if got.Status != tt.status || got.Reason != "r1" || got.ProviderMessageID != "dev-1" || got.Provider != "devsink" {
				t.Errorf("stored %+v, want the first completion", got)
			}
			switch {
			case !tt.sentAt.IsZero() && (got.SentAt == nil || !got.SentAt.Equal(tt.sentAt)):
				t.Errorf("sent_at = %v, want %v", got.SentAt, tt.sentAt)
			case tt.sentAt.IsZero() && got.SentAt != nil:
				t.Errorf("sent_at = %v, want NULL", got.SentAt)
			}
			if !got.UpdatedAt.After(got.CreatedAt) && !got.UpdatedAt.Equal(got.CreatedAt) {
				t.Errorf("updated_at %v before created_at %v", got.UpdatedAt, got.CreatedAt)
			}
		})
	}

	t.Run("sent without time defaults to now", func(t *testing.T) {
		if _, _, err := s.ReserveNotice(ctx, notice("now", "push")); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteNotice(ctx, "now", store.NoticeSent, "", "devsink", "dev-x", time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.ReserveNotice(ctx, notice("now", "push"))
		if got.SentAt == nil || time.Since(*got.SentAt) > time.Minute {
			t.Errorf("sent_at = %v, want about now", got.SentAt)
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		err := s.CompleteNotice(ctx, "nope", store.NoticeSent, "", "", "", time.Time{})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CompleteNotice(unknown) = %v, want ErrNotFound", err)
		}
	})
	t.Run("pending is not final", func(t *testing.T) {
		if err := s.CompleteNotice(ctx, "now", store.NoticePending, "", "", "", time.Time{}); err == nil {
			t.Error("CompleteNotice(pending) succeeded")
		}
	})
}

func TestRecordSkipped(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	n := notice("L-1/1/1/3/sms", "sms")
	n.Reason = "max_per_channel_per_day"
	got, err := s.RecordSkipped(ctx, n)
	if err != nil {
		t.Fatalf("RecordSkipped: %v", err)
	}
	if got.Status != store.NoticeSkipped || got.Reason != n.Reason || got.ID == 0 {
		t.Errorf("RecordSkipped = %+v", got)
	}
	again, err := s.RecordSkipped(ctx, n)
	if err != nil || again.ID != got.ID {
		t.Errorf("RecordSkipped again = %+v, %v; want the same row", again, err)
	}
	// A key already reserved keeps its row.
	if _, _, err := s.ReserveNotice(ctx, notice("reserved", "sms")); err != nil {
		t.Fatal(err)
	}
	kept, err := s.RecordSkipped(ctx, notice("reserved", "sms"))
	if err != nil || kept.Status != store.NoticePending {
		t.Errorf("RecordSkipped over a reserved key = %+v, %v; want the pending row", kept, err)
	}
}

func TestLedgerAppendAndDedupe(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 2, 16, 0, 0, 0, time.UTC)

	tests := []struct {
		name         string
		entry        store.LedgerEntry
		wantInserted bool
	}{
		{"no dedupe key", store.LedgerEntry{LoanID: "L-1", Kind: store.KindLoanStarted, Currency: "CNY", OccurredAt: at}, true},
		{"no dedupe key again", store.LedgerEntry{LoanID: "L-1", Kind: store.KindStageChanged, OccurredAt: at}, true},
		{"penalty", store.LedgerEntry{LoanID: "L-1", Kind: store.KindPenaltyPosted, Amount: dec(t, "0.50"), Currency: "CNY",
			Detail: json.RawMessage(`{"seq":1,"day":"2026-12-03"}`), OccurredAt: at.Add(24 * time.Hour), DedupeKey: "L-1/penalty/1/2026-12-03"}, true},
		{"penalty retried", store.LedgerEntry{LoanID: "L-1", Kind: store.KindPenaltyPosted, Amount: dec(t, "0.50"), Currency: "CNY",
			Detail: json.RawMessage(`{"day":"2026-12-03","seq":1}`), OccurredAt: at.Add(24 * time.Hour), DedupeKey: "L-1/penalty/1/2026-12-03"}, false},
		{"late fee", store.LedgerEntry{LoanID: "L-1", Kind: store.KindLateFeeAssessed, Amount: dec(t, "20.00"), Currency: "CNY",
			OccurredAt: at.Add(48 * time.Hour), DedupeKey: "L-1/late_fee/1"}, true},
		{"zero penalty", store.LedgerEntry{LoanID: "L-1", Kind: store.KindPenaltyPosted, Amount: dec(t, "0.00"), Currency: "CNY",
			OccurredAt: at.Add(72 * time.Hour), DedupeKey: "L-1/penalty/1/2026-12-05"}, true},
		{"repayment", store.LedgerEntry{LoanID: "L-1", Kind: store.KindRepaymentApplied, Amount: dec(t, "1068.50"), Currency: "CNY",
			OccurredAt: at.Add(-time.Hour), DedupeKey: "L-1/txn/T-9"}, true},
	}
	for _, tt := range tests {
		inserted, err := s.AppendLedger(ctx, tt.entry)
		if err != nil {
			t.Fatalf("%s: AppendLedger: %v", tt.name, err)
		}
		if inserted != tt.wantInserted {
			t.Errorf("%s: inserted = %v, want %v", tt.name, inserted, tt.wantInserted)
		}
	}

	got, err := s.LedgerByLoan(ctx, "L-1")
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := []string{store.KindRepaymentApplied, store.KindLoanStarted, store.KindStageChanged,
		store.KindPenaltyPosted, store.KindLateFeeAssessed, store.KindPenaltyPosted}
	if len(got) != len(wantKinds) {
		t.Fatalf("LedgerByLoan has %d entries, want %d: %+v", len(got), len(wantKinds), got)
	}
	for i, k := range wantKinds {
		if got[i].Kind != k {
			t.Errorf("entry %d kind %s, want %s", i, got[i].Kind, k)
		}
	}
	if got[0].Amount == nil || money(got[0].Amount) != "1068.50" || !got[0].Amount.Equal(decimal.RequireFromString("1068.50")) {
		t.Errorf("repayment amount = %v, want 1068.50", got[0].Amount)
	}
	if got[1].Amount != nil || got[1].Currency != "CNY" || string(got[1].Detail) != "{}" {
		t.Errorf("loan_started = %+v, want no amount, CNY, {}", got[1])
	}
	for i, want := range map[int]string{0: "1068.50", 3: "0.50", 4: "20.00", 5: "0.00"} {
		if got := money(got[i].Amount); got != want {
			t.Errorf("entry %d amount = %s, want %s (scale kept)", i, got, want)
		}
	}
	var detail map[string]any
	if err := json.Unmarshal(got[3].Detail, &detail); err != nil || detail["day"] != "2026-12-03" {
		t.Errorf("penalty detail = %s (%v)", got[3].Detail, err)
	}
	if !got[3].OccurredAt.Equal(at.Add(24*time.Hour)) || got[3].RecordedAt.IsZero() {
		t.Errorf("penalty times occurred=%v recorded=%v", got[3].OccurredAt, got[3].RecordedAt)
	}
	b, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"amount":"1068.50"`) {
		t.Errorf("JSON %s does not carry the amount as a string", b)
	}
}

func TestLedgerRejectsBadEntries(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	at := time.Now()
	tests := map[string]store.LedgerEntry{
		"unknown kind":        {LoanID: "L-1", Kind: "forgiven", OccurredAt: at},
		"no occurred_at":      {LoanID: "L-1", Kind: store.KindPaused},
		"amount no currency":  {LoanID: "L-1", Kind: store.KindPenaltyPosted, Amount: dec(t, "1.00"), OccurredAt: at},
		"detail not object":   {LoanID: "L-1", Kind: store.KindPaused, Detail: json.RawMessage(`[1]`), OccurredAt: at},
		"detail invalid json": {LoanID: "L-1", Kind: store.KindPaused, Detail: json.RawMessage(`{`), OccurredAt: at},
		"empty loan":          {Kind: store.KindPaused, OccurredAt: at},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := s.AppendLedger(ctx, e); err == nil {
				t.Error("AppendLedger accepted it")
			}
		})
	}
}

func TestLedgerIsAppendOnly(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := context.Background()
	if _, err := s.AppendLedger(ctx, store.LedgerEntry{LoanID: "L-1", Kind: store.KindPaused, OccurredAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	tests := []struct{ name, sql string }{
		{"update", `UPDATE ledger SET kind = 'resumed'`},
		{"update no rows", `UPDATE ledger SET kind = 'resumed' WHERE false`},
		{"delete", `DELETE FROM ledger`},
		{"truncate", `TRUNCATE ledger`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tt.sql)
			if err == nil {
				t.Fatal("the database accepted it")
			}
			if !strings.Contains(err.Error(), "ledger is append-only") || !store.IsAppendOnlyViolation(err) {
				t.Errorf("error %q is not the append-only refusal", err)
			}
		})
	}
	got, err := s.LedgerByLoan(ctx, "L-1")
	if err != nil || len(got) != 1 || got[0].Kind != store.KindPaused {
		t.Errorf("ledger after refused changes = %+v, %v", got, err)
	}
	if store.IsAppendOnlyViolation(errors.New("ledger is append-only")) {
		t.Error("IsAppendOnlyViolation matched a plain error")
	}
}

func TestOpenCaseIdempotent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	opened := time.Date(2025, 12, 16, 2, 0, 0, 0, time.UTC) // before the case opened now
	c := store.Case{
		LoanID: "L-1", CustomerID: "C-1", Reason: "D+15 overdue_urgent", DaysPastDue: 15,
		OverdueTotal: dec(t, "1068.50"), Currency: "CNY", DedupeKey: "L-1/1/case/15", OpenedAt: opened,
		WorkflowID: "loan-L-1", RunID: "run-1",
	}
	first, created, err := s.OpenCase(ctx, c)
	if err != nil || !created {
		t.Fatalf("OpenCase = %+v, %v, %v", first, created, err)
	}
	if first.Status != store.CaseOpen || first.AssignedTo != "" || !first.OpenedAt.Equal(opened) ||
		first.OverdueTotal == nil || !first.OverdueTotal.Equal(*c.OverdueTotal) {
		t.Errorf("opened case = %+v", first)
	}
	c.Reason = "retried"
	second, created, err := s.OpenCase(ctx, c)
	if err != nil || created || second.ID != first.ID || second.Reason != first.Reason {
		t.Errorf("OpenCase again = %+v, %v, %v; want the first case", second, created, err)
	}

	other := store.Case{LoanID: "L-1", Reason: "no reachable channel", DedupeKey: "L-1/case/no-channel"}
	third, created, err := s.OpenCase(ctx, other)
	if err != nil || !created || third.OpenedAt.IsZero() || third.OverdueTotal != nil {
		t.Errorf("OpenCase without time or total = %+v, %v, %v", third, created, err)
	}
	if _, _, err := s.OpenCase(ctx, store.Case{LoanID: "L-1", Reason: "x"}); err == nil {
		t.Error("OpenCase without dedupe key succeeded")
	}

	cases, err := s.CasesByLoan(ctx, "L-1")
	if err != nil || len(cases) != 2 || cases[0].ID != first.ID {
		t.Errorf("CasesByLoan = %+v, %v", cases, err)
	}
}

func TestTimelineAndCSV(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 12, 8, 2, 0, 0, 0, time.UTC) // before the skipped notice recorded now

	mustAppend := func(e store.LedgerEntry) {
		t.Helper()
		if _, err := s.AppendLedger(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(store.LedgerEntry{LoanID: "L-1", Kind: store.KindStageChanged, OccurredAt: t0,
		Detail: json.RawMessage(`{"stage":"overdue_firm"}`)})
	mustAppend(store.LedgerEntry{LoanID: "L-1", Kind: store.KindRepaymentApplied, OccurredAt: t0.Add(2 * time.Hour),
		Amount: dec(t, "1068.50"), Currency: "CNY", DedupeKey: "L-1/txn/T-1"})
	mustAppend(store.LedgerEntry{LoanID: "L-2", Kind: store.KindPaused, OccurredAt: t0})

	n := notice("L-1/1/1/7/sms", "sms")
	if _, _, err := s.ReserveNotice(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteNotice(ctx, n.IdempotencyKey, store.NoticeSent, "", "devsink", "dev-abc", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	skipped := notice("L-1/1/1/7/push", "push")
	skipped.Reason = "opted_out"
	skipped.Recipient = "=HYPERLINK(\"http://evil\")"
	if _, err := s.RecordSkipped(ctx, skipped); err != nil {
		t.Fatal(err)
	}

	entries, err := s.Timeline(ctx, "L-1")
	if err != nil {
		t.Fatalf("Timeline: %v", err)
	}
	type line struct{ source, kind, status string }
	want := []line{
		{store.SourceLedger, store.KindStageChanged, ""},
		{store.SourceNotice, store.KindNotice, store.NoticeSent},    // sent_at t0+1h
		{store.SourceLedger, store.KindRepaymentApplied, ""},        // t0+2h
		{store.SourceNotice, store.KindNotice, store.NoticeSkipped}, // recorded now
	}
	if len(entries) != len(want) {
		t.Fatalf("Timeline has %d entries, want %d: %+v", len(entries), len(want), entries)
	}
	for i, w := range want {
		e := entries[i]
		if (line{e.Source, e.Kind, e.Status}) != w || e.LoanID != "L-1" {
			t.Errorf("entry %d = %s/%s/%s loan %s, want %v", i, e.Source, e.Kind, e.Status, e.LoanID, w)
		}
		if i > 0 && e.At.Before(entries[i-1].At) {
			t.Errorf("entry %d at %v is before entry %d at %v", i, e.At, i-1, entries[i-1].At)
		}
	}
	if !entries[1].At.Equal(t0.Add(time.Hour)) || entries[1].Key != n.IdempotencyKey || entries[1].Recipient != n.Recipient {
		t.Errorf("notice entry = %+v", entries[1])
	}

	var buf bytes.Buffer
	if err := store.WriteTimelineCSV(&buf, entries); err != nil {
		t.Fatalf("WriteTimelineCSV: %v", err)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("read back CSV: %v\n%s", err, buf.String())
	}
	if len(records) != 1+len(entries) {
		t.Fatalf("CSV has %d records, want header + %d", len(records), len(entries))
	}
	header := strings.Join(records[0], ",")
	if !strings.HasPrefix(header, "at,source,id,loan_id,kind,channel,template,locale,status,reason,recipient") {
		t.Errorf("CSV header = %s", header)
	}
	col := map[string]int{}
	for i, h := range records[0] {
		col[h] = i
	}
	repay := records[3]
	for name, want := range map[string]string{
		"at": "2025-12-08T04:00:00Z", "source": "ledger", "kind": "repayment_applied",
		"amount": "1068.50", "currency": "CNY", "key": "L-1/txn/T-1", "detail": "{}",
	} {
		if got := repay[col[name]]; got != want {
			t.Errorf("CSV repayment %s = %q, want %q", name, got, want)
		}
	}
	sent := records[2]
	if got := sent[col["recipient"]]; got != "'+8613800138000" {
		t.Errorf("CSV recipient = %q, want the phone defused against formulas", got)
	}
	if got := records[4][col["recipient"]]; !strings.HasPrefix(got, "'=") {
		t.Errorf("CSV formula recipient = %q, want it quoted", got)
	}
	if got := sent[col["body"]]; got != n.Body {
		t.Errorf("CSV body = %q, want %q", got, n.Body)
	}

	empty, err := s.Timeline(ctx, "L-none")
	if err != nil || len(empty) != 0 {
		t.Errorf("Timeline(unknown) = %v, %v; want empty", empty, err)
	}
}

func money(d *decimal.Decimal) string {
	if d == nil {
		return "<nil>"
	}
	return d.StringFixed(-d.Exponent())
}

// TestMigrateWithPoolSettings: a DATABASE_URL that sizes the pool
// (pool_max_conns) works for EnsureDatabase and Migrate too, which connect
// without a pool.
func TestMigrateWithPoolSettings(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	url += sep + "pool_max_conns=4&pool_min_conns=1"
	ctx := context.Background()
	if err := store.EnsureDatabase(ctx, url); err != nil {
		t.Fatalf("EnsureDatabase: %v", err)
	}
	if err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
}
