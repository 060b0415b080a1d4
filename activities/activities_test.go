package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"dunning/channels"
	"dunning/policy"
	"dunning/store"
	"dunning/templates"
)

// fakeStore is an in-memory audit store with the rules of the PostgreSQL one:
// unique notice idempotency keys, a pending notice completed once, ledger
// dedupe keys (same content a retry, other content a conflict), case dedupe
// keys, validation errors wrapping store.ErrInvalid. fail makes a method
// return an error until it is cleared; failLedger does it for one ledger
// dedupe key. optedOut holds the open opt-outs ("<channel> <address>") and
// clock the store's clock (time.Now when nil) for ReserveNoticeChecked.
type fakeStore struct {
	mu         sync.Mutex
	notices    []store.Notice
	ledger     []store.LedgerEntry
	cases      []store.Case
	nextID     int64
	calls      map[string]int
	fail       map[string]error
	failLedger map[string]error
	optedOut   map[string]bool
	clock      func() time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{calls: map[string]int{}, fail: map[string]error{}, failLedger: map[string]error{},
		optedOut: map[string]bool{}}
}

// setFailLedger makes appending the entry with this dedupe key fail with err;
// a nil err clears it.
func (f *fakeStore) setFailLedger(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failLedger, key)
		return
	}
	f.failLedger[key] = err
}

// setFail makes method fail with err; a nil err clears it.
func (f *fakeStore) setFail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, method)
		return
	}
	f.fail[method] = err
}

// enter counts a call and returns the injected failure, if any. f.mu is held.
func (f *fakeStore) enter(method string) error {
	f.calls[method]++
	return f.fail[method]
}

func (f *fakeStore) id() int64 {
	f.nextID++
	return f.nextID
}

func (f *fakeStore) find(key string) int {
	for i, n := range f.notices {
		if n.IdempotencyKey == key {
			return i
		}
	}
	return -1
}

func (f *fakeStore) insertOrGet(n store.Notice, status string) (store.Notice, bool, error) {
	if n.IdempotencyKey == "" {
		return store.Notice{}, false, fmt.Errorf("record notice: empty idempotency key: %w", store.ErrInvalid)
	}
	if i := f.find(n.IdempotencyKey); i >= 0 {
		return f.notices[i], false, nil
	}
	now := time.Now().UTC()
	n.ID, n.Status, n.CreatedAt, n.UpdatedAt, n.SentAt = f.id(), status, now, now, nil
	f.notices = append(f.notices, n)
	return n, true, nil
}

func (f *fakeStore) ReserveNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ReserveNotice"); err != nil {
		return store.Notice{}, false, err
	}
	return f.insertOrGet(n, store.NoticePending)
}

func (f *fakeStore) MarkProviderCalled(_ context.Context, key string, called bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("MarkProviderCalled"); err != nil {
		return err
	}
	if i := f.find(key); i >= 0 && f.notices[i].Status == store.NoticePending {
		now := time.Now()
		switch {
		case !called:
			f.notices[i].ProviderCalledAt = nil
		case f.notices[i].ProviderCalledAt == nil:
			f.notices[i].ProviderCalledAt = &now
		}
	}
	return nil
}

func (f *fakeStore) CompleteNotice(_ context.Context, key, status, reason, provider, msgID string, sentAt time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CompleteNotice"); err != nil {
		return err
	}
	switch status {
	case store.NoticeSent, store.NoticeFailed, store.NoticeSkipped, store.NoticeUnknown:
	default:
		return fmt.Errorf("complete notice %s: status %q is not final: %w", key, status, store.ErrInvalid)
	}
	i := f.find(key)
	if i < 0 {
		return fmt.Errorf("notice %s: %w", key, store.ErrNotFound)
	}
	n := &f.notices[i]
	if n.Status != store.NoticePending {
		if n.Status != status {
			return fmt.Errorf("complete notice %s as %s: is %s: %w", key, status, n.Status, store.ErrNoticeCompleted)
		}
		return nil
	}
	var at *time.Time
	switch {
	case !sentAt.IsZero():
		at = &sentAt
	case status == store.NoticeSent:
		now := time.Now().UTC()
		at = &now
	}
	n.Status, n.Reason, n.Provider, n.ProviderMessageID, n.SentAt = status, reason, provider, msgID, at
	n.UpdatedAt = time.Now().UTC()
	return nil
}

func (f *fakeStore) RecordSkipped(_ context.Context, n store.Notice) (store.Notice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("RecordSkipped"); err != nil {
		return store.Notice{}, err
	}
	stored, _, err := f.insertOrGet(n, store.NoticeSkipped)
	return stored, err
}

func (f *fakeStore) FinalizeNotice(_ context.Context, n store.Notice) (store.Notice, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("FinalizeNotice"); err != nil {
		return store.Notice{}, false, err
	}
	switch {
	case n.IdempotencyKey == "":
		return store.Notice{}, false, fmt.Errorf("finalize notice: empty idempotency key: %w", store.ErrInvalid)
	case n.Status != store.NoticeFailed && n.Status != store.NoticeSkipped:
		return store.Notice{}, false, fmt.Errorf("finalize notice %s: status %q: %w", n.IdempotencyKey, n.Status, store.ErrInvalid)
	}
	if i := f.find(n.IdempotencyKey); i >= 0 {
		row := &f.notices[i]
		if row.Status != store.NoticePending {
			return *row, false, nil
		}
		row.Status, row.Reason, row.UpdatedAt = n.Status, n.Reason, time.Now().UTC()
		if row.ProviderCalledAt != nil && n.Status == store.NoticeFailed {
			// As in PostgreSQL: the provider may have it; the receipt settles it.
			row.Status, row.Reason = store.NoticeUnknown, "outcome unknown: "+n.Reason
		}
		return *row, true, nil
	}
	now := time.Now().UTC()
	n.ID, n.CreatedAt, n.UpdatedAt, n.SentAt = f.id(), now, now, nil
	f.notices = append(f.notices, n)
	return n, true, nil
}

func (f *fakeStore) AppendLedger(_ context.Context, e store.LedgerEntry) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("AppendLedger"); err != nil {
		return false, err
	}
	if err := f.failLedger[e.DedupeKey]; err != nil {
		return false, err
	}
	switch {
	case e.OccurredAt.IsZero():
		return false, fmt.Errorf("append ledger %s %s: occurred_at is required: %w", e.LoanID, e.Kind, store.ErrInvalid)
	case e.Amount != nil && e.Currency == "":
		return false, fmt.Errorf("append ledger %s %s: amount without currency: %w", e.LoanID, e.Kind, store.ErrInvalid)
	case len(e.Detail) == 0 || !json.Valid(e.Detail):
		return false, fmt.Errorf("append ledger %s %s: detail is not valid JSON: %w", e.LoanID, e.Kind, store.ErrInvalid)
	}
	if e.DedupeKey != "" {
		for _, x := range f.ledger {
			if x.DedupeKey != e.DedupeKey {
				continue
			}
			if !sameLedgerContent(x, e) {
				return false, fmt.Errorf("append ledger %s %s: dedupe key %q holds another entry: %w",
					e.LoanID, e.Kind, e.DedupeKey, store.ErrLedgerConflict)
			}
			return false, nil
		}
	}
	e.ID, e.RecordedAt = f.id(), time.Now().UTC()
	f.ledger = append(f.ledger, e)
	return true, nil
}

// sameLedgerContent compares what two entries record as the database does:
// amounts as numbers, detail as JSON values, times as instants.
func sameLedgerContent(a, b store.LedgerEntry) bool {
	var da, db any
	_ = json.Unmarshal(a.Detail, &da)
	_ = json.Unmarshal(b.Detail, &db)
	sameAmount := (a.Amount == nil) == (b.Amount == nil) && (a.Amount == nil || a.Amount.Equal(*b.Amount))
	return a.LoanID == b.LoanID && a.Kind == b.Kind && sameAmount && a.Currency == b.Currency &&
		reflect.DeepEqual(da, db) && a.OccurredAt.Equal(b.OccurredAt)
}

func (f *fakeStore) OpenCase(_ context.Context, c store.Case) (store.Case, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("OpenCase"); err != nil {
		return store.Case{}, false, err
	}
	if c.DedupeKey == "" {
		return store.Case{}, false, fmt.Errorf("open case for loan %s: empty dedupe key: %w", c.LoanID, store.ErrInvalid)
	}
	if c.OverdueTotal != nil && c.Currency == "" {
		return store.Case{}, false, fmt.Errorf("open case for loan %s: overdue total without currency: %w", c.LoanID, store.ErrInvalid)
	}
	for _, x := range f.cases {
		if x.DedupeKey == c.DedupeKey {
			return x, false, nil
		}
	}
	if c.Status == "" {
		c.Status = store.CaseOpen
	}
	if c.OpenedAt.IsZero() {
		c.OpenedAt = time.Now().UTC()
	}
	c.ID = f.id()
	f.cases = append(f.cases, c)
	return c, true, nil
}

// notice returns the stored row of key.
func (f *fakeStore) notice(t *testing.T, key string) store.Notice {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	i := f.find(key)
	if i < 0 {
		t.Fatalf("no notice row for %q", key)
	}
	return f.notices[i]
}

func (f *fakeStore) counts() (notices, ledger, cases int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.notices), len(f.ledger), len(f.cases)
}

func (f *fakeStore) ledgerRows() []store.LedgerEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.LedgerEntry(nil), f.ledger...)
}

func (f *fakeStore) caseRows() []store.Case {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]store.Case(nil), f.cases...)
}

func (f *fakeStore) callCount(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// invoker runs the activities one way: called directly with a plain context,
// or through the SDK's test activity environment (activity.GetInfo set, the
// request and result through the data converter, errors through the failure
// converter).
type invoker interface {
	SendNotice(req NoticeRequest) (NoticeResult, error)
	RecordSkipped(req SkipRequest) error
	OpenCollectionsCase(req CaseRequest) (CaseResult, error)
	AppendLedger(entries []LedgerEntry) (LedgerResult, error)
	FinalizeNotice(o NoticeOutcome) (NoticeResult, error)
}

type direct struct{ a *Activities }

func (d direct) SendNotice(req NoticeRequest) (NoticeResult, error) {
	return d.a.SendNotice(context.Background(), req)
}

func (d direct) RecordSkipped(req SkipRequest) error {
	return d.a.RecordSkipped(context.Background(), req)
}

func (d direct) OpenCollectionsCase(req CaseRequest) (CaseResult, error) {
	return d.a.OpenCollectionsCase(context.Background(), req)
}

func (d direct) AppendLedger(entries []LedgerEntry) (LedgerResult, error) {
	return d.a.AppendLedger(context.Background(), entries)
}

func (d direct) FinalizeNotice(o NoticeOutcome) (NoticeResult, error) {
	return d.a.FinalizeNotice(context.Background(), o)
}

type viaTemporal struct {
	a   *Activities
	env *testsuite.TestActivityEnvironment
}

func (v viaTemporal) SendNotice(req NoticeRequest) (NoticeResult, error) {
	val, err := v.env.ExecuteActivity(v.a.SendNotice, req)
	if err != nil {
		return NoticeResult{}, err
	}
	var res NoticeResult
	if err := val.Get(&res); err != nil {
		return NoticeResult{}, fmt.Errorf("decode result: %w", err)
	}
	return res, nil
}

func (v viaTemporal) RecordSkipped(req SkipRequest) error {
	_, err := v.env.ExecuteActivity(v.a.RecordSkipped, req)
	return err
}

func (v viaTemporal) OpenCollectionsCase(req CaseRequest) (CaseResult, error) {
	val, err := v.env.ExecuteActivity(v.a.OpenCollectionsCase, req)
	if err != nil {
		return CaseResult{}, err
	}
	var res CaseResult
	if err := val.Get(&res); err != nil {
		return CaseResult{}, fmt.Errorf("decode result: %w", err)
	}
	return res, nil
}

func (v viaTemporal) AppendLedger(entries []LedgerEntry) (LedgerResult, error) {
	val, err := v.env.ExecuteActivity(v.a.AppendLedger, entries)
	if err != nil {
		return LedgerResult{}, err
	}
	var res LedgerResult
	if err := val.Get(&res); err != nil {
		return LedgerResult{}, fmt.Errorf("decode result: %w", err)
	}
	return res, nil
}

func (v viaTemporal) FinalizeNotice(o NoticeOutcome) (NoticeResult, error) {
	val, err := v.env.ExecuteActivity(v.a.FinalizeNotice, o)
	if err != nil {
		return NoticeResult{}, err
	}
	var res NoticeResult
	if err := val.Get(&res); err != nil {
		return NoticeResult{}, fmt.Errorf("decode result: %w", err)
	}
	return res, nil
}

// nopLogger silences the test environment's own logging.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

// mode is one way of running the activities. inActivity tells whether the
// activity sees activity.GetInfo (a workflow id, run id and attempt).
type mode struct {
	name       string
	inActivity bool
	invoker    func(a *Activities) invoker
}

func modes() []mode {
	return []mode{
		{name: "direct", invoker: func(a *Activities) invoker { return direct{a} }},
		{name: "temporal", inActivity: true, invoker: func(a *Activities) invoker {
			var suite testsuite.WorkflowTestSuite
			suite.SetLogger(nopLogger{})
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(a)
			return viaTemporal{a: a, env: env}
		}},
	}
}

// fixture is one Activities over a fake store and a dev sink, logging to logs.
type fixture struct {
	store *fakeStore
	sink  *channels.DevSink
	acts  *Activities
	logs  *bytes.Buffer
	run   invoker
	mode  mode
}

var testBrand = Brand{Name: "AnXin", Hotline: "400-820-1234", RepayURL: "https://m.anxinjie.cn/repay"}

func newFixture(t *testing.T, m mode) *fixture {
	t.Helper()
	tmpl, err := templates.New()
	if err != nil {
		t.Fatalf("templates.New: %v", err)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := &fixture{store: newFakeStore(), sink: &channels.DevSink{Logger: log}, logs: logs, mode: m}
	f.acts = &Activities{Store: f.store, Senders: channels.DevRegistry(f.sink), Templates: tmpl, Brand: testBrand, Log: log}
	f.run = m.invoker(f.acts)
	return f
}

// checkProvenance checks the row carries the workflow that wrote it when the
// activity ran inside Temporal, and nothing when called directly.
func (f *fixture) checkProvenance(t *testing.T, workflowID, runID string, attempt int) {
	t.Helper()
	f.checkWorkflow(t, workflowID, runID)
	if f.mode.inActivity != (attempt >= 1) {
		t.Errorf("row attempt = %d, want >= 1 inside an activity and 0 outside (in activity: %v)", attempt, f.mode.inActivity)
	}
}

// checkWorkflow is checkProvenance for rows with no attempt column.
func (f *fixture) checkWorkflow(t *testing.T, workflowID, runID string) {
	t.Helper()
	if f.mode.inActivity && (workflowID == "" || runID == "") {
		t.Errorf("row workflow = (%q, %q), want the test workflow's ids", workflowID, runID)
	}
	if !f.mode.inActivity && (workflowID != "" || runID != "") {
		t.Errorf("row workflow = (%q, %q) outside an activity, want empty", workflowID, runID)
	}
}

const (
	testPhone = "+8613800138000"
	testEmail = "zhang.wei@example.cn"
	testToken = "fcm-device-token-0123456789"
)

// overdueData is a realistic D+7 notice: one installment of 1000.00 + 45.00
// due 2026-12-01 with penalty and late fee, 1068.50 overdue. Brand is left to
// the activity, which signs every notice with its own Brand.
func overdueData() templates.Data {
	return templates.Data{
		CustomerName: "Zhang Wei", LoanRef: templates.MaskLoanID("L-2026-0001"), Currency: "CNY",
		DueDate: "2026-12-01", DaysOverdue: 7, AmountDue: "1068.50", Principal: "1000.00",
		Interest: "45.00", Fee: "0.00", Penalty: "3.50", LateFee: "20.00", Outstanding: "2108.50",
		Paid: "500.00", InstallmentCount: 1,
	}
}

func noticeRequest(key string, ch policy.Channel, locale, to string) NoticeRequest {
	return NoticeRequest{
		Key: key, LoanID: "L-2026-0001", CustomerID: "C-0001", Channel: ch,
		Template: templates.OverdueFirm, Locale: locale, Recipient: to, Data: overdueData(),
	}
}

// nonRetryable reports whether err is a Temporal ApplicationError that the
// retry policy will not retry, and its type.
func nonRetryable(err error) (bool, string) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return false, ""
	}
	return appErr.NonRetryable(), appErr.Type()
}

func TestSendNoticeDelivers(t *testing.T) {
	tests := []struct {
		name   string
		ch     policy.Channel
		locale string
		to     string
		amount string // the amount as the locale's template shows it
	}{
		{"sms zh-CN", policy.SMS, "zh-CN", testPhone, "1068.50元"},
		{"email en", policy.Email, "en", testEmail, "CNY 1068.50"},
		{"push en", policy.Push, "en", testToken, "CNY 1068.50"},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				key := "L-2026-0001/1/1/7/" + string(tt.ch)
				req := noticeRequest(key, tt.ch, tt.locale, tt.to)
				req.Data.Brand = "NotTheLender" // the activity's Brand wins

				res, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("SendNotice: %v", err)
				}
				if res.Status != StatusSent || res.Provider != channels.DevProvider ||
					res.MessageID != channels.DevMessageID(key) || res.Reason != "" || res.OptOut {
					t.Errorf("result = %+v, want sent via %s as %s", res, channels.DevProvider, channels.DevMessageID(key))
				}
				if res.SentAt.IsZero() {
					t.Error("result SentAt is zero")
				}
				if got := f.sink.Sent(key); got != 1 {
					t.Errorf("Sent(%q) = %d, want 1", key, got)
				}

				row := f.store.notice(t, key)
				if row.Status != store.NoticeSent || row.Provider != channels.DevProvider ||
					row.ProviderMessageID != res.MessageID || row.Reason != "" {
					t.Errorf("row = status %q provider %q id %q reason %q, want sent by %s as %s",
						row.Status, row.Provider, row.ProviderMessageID, row.Reason, channels.DevProvider, res.MessageID)
				}
				if row.SentAt == nil || !row.SentAt.Equal(res.SentAt) {
					t.Errorf("row SentAt = %v, want %v", row.SentAt, res.SentAt)
				}
				if row.LoanID != req.LoanID || row.CustomerID != req.CustomerID || row.Channel != string(tt.ch) ||
					row.Template != req.Template || row.Locale != tt.locale || row.Recipient != tt.to {
					t.Errorf("row identity = %+v, want the request's loan, customer, channel, template, locale, recipient", row)
				}
				f.checkProvenance(t, row.WorkflowID, row.RunID, row.Attempt)

				// What was stored is what the renderer makes of the data signed
				// with the activity's brand.
				data := overdueData()
				data.Brand, data.Hotline, data.RepayURL = testBrand.Name, testBrand.Hotline, testBrand.RepayURL
				msg, err := f.acts.Templates.Render(tt.locale, string(tt.ch), templates.OverdueFirm, data)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				var wantSubject, wantBody, wantHTML string
				switch tt.ch {
				case policy.SMS:
					wantBody = msg.Body
				case policy.Email:
					wantSubject, wantBody, wantHTML = msg.Subject, msg.Text, msg.HTML
				case policy.Push:
					wantSubject, wantBody = msg.Title, msg.Body
				}
				if row.Subject != wantSubject || row.Body != wantBody || row.BodyHTML != wantHTML {
					t.Errorf("row message = subject %q body %q html %q,\nwant subject %q body %q html %q",
						row.Subject, row.Body, row.BodyHTML, wantSubject, wantBody, wantHTML)
				}
				if !strings.Contains(row.Body, tt.amount) {
					t.Errorf("row body %q does not show the amount %q", row.Body, tt.amount)
				}
				if tt.ch == policy.Email && !strings.Contains(row.BodyHTML, "1068.50") {
					t.Errorf("email HTML does not show the amount: %q", row.BodyHTML)
				}
				if tt.ch != policy.SMS && row.Subject == "" {
					t.Errorf("%s row has no subject/title", tt.ch)
				}
				if all := row.Subject + row.Body + row.BodyHTML; strings.Contains(all, "NotTheLender") ||
					!strings.Contains(all, testBrand.Name) {
					t.Errorf("notice not signed with the activity's brand %q: %q", testBrand.Name, all)
				}

				// The same key again: the stored outcome, no second delivery.
				again, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("second SendNotice: %v", err)
				}
				if again.Status != res.Status || again.Provider != res.Provider || again.MessageID != res.MessageID ||
					again.Reason != res.Reason || again.OptOut != res.OptOut || !again.SentAt.Equal(res.SentAt) {
					t.Errorf("second result = %+v, want the first %+v", again, res)
				}
				if got := f.sink.Sent(key); got != 1 {
					t.Errorf("after a repeated call Sent(%q) = %d, want 1", key, got)
				}
				if n, _, _ := f.store.counts(); n != 1 {
					t.Errorf("notice rows = %d, want 1", n)
				}
				if got := f.store.callCount("CompleteNotice"); got != 1 {
					t.Errorf("CompleteNotice called %d times, want 1", got)
				}
			})
		}
	}
}

// TestSendNoticeInterrupted covers an attempt that dies after the provider
// accepted the message: the row stays pending, the error is retryable, and the
// retry completes the row without a second delivery.
func TestSendNoticeInterrupted(t *testing.T) {
	tests := []struct {
		name      string
		interrupt func(f *fixture, key string)
		resume    func(f *fixture)
	}{
		{
			name: "provider response lost",
			interrupt: func(f *fixture, key string) {
				f.sink.FailAfterAccept = func(k string) bool { return k == key }
			},
			resume: func(*fixture) {}, // the sink dedupes the key on retry
		},
		{
			name:      "store fails to complete",
			interrupt: func(f *fixture, _ string) { f.store.setFail("CompleteNotice", errors.New("connection reset")) },
			resume:    func(f *fixture) { f.store.setFail("CompleteNotice", nil) },
		},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				key := "L-2026-0001/1/1/7/sms"
				req := noticeRequest(key, policy.SMS, "en", testPhone)
				tt.interrupt(f, key)

				_, err := f.run.SendNotice(req)
				if err == nil {
					t.Fatal("first attempt succeeded, want a retryable error")
				}
				if nr, typ := nonRetryable(err); nr {
					t.Fatalf("first attempt error %v is non-retryable (type %q), want retryable", err, typ)
				}
				if row := f.store.notice(t, key); row.Status != store.NoticePending || row.SentAt != nil {
					t.Errorf("after the lost attempt row = status %q sent_at %v, want pending", row.Status, row.SentAt)
				}
				if got := f.sink.Sent(key); got != 1 {
					t.Errorf("after the lost attempt Sent = %d, want 1 (the provider took it)", got)
				}

				tt.resume(f)
				res, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("retry: %v", err)
				}
				if res.Status != StatusSent || res.Provider != channels.DevProvider || res.MessageID != channels.DevMessageID(key) {
					t.Errorf("retry result = %+v, want sent as %s", res, channels.DevMessageID(key))
				}
				row := f.store.notice(t, key)
				if row.Status != store.NoticeSent || row.ProviderMessageID != channels.DevMessageID(key) || row.SentAt == nil {
					t.Errorf("after retry row = status %q id %q sent_at %v, want sent", row.Status, row.ProviderMessageID, row.SentAt)
				}
				if got := f.sink.Sent(key); got != 1 {
					t.Errorf("after retry Sent = %d, want 1", got)
				}
				if n, _, _ := f.store.counts(); n != 1 {
					t.Errorf("notice rows = %d, want 1", n)
				}
			})
		}
	}
}

func TestSendNoticePermanentFailure(t *testing.T) {
	tests := []struct {
		name       string
		ch         policy.Channel
		to         string
		reject     error
		wantReason func(string) bool
		wantOptOut bool
	}{
		{
			name: "invalid phone opts out", ch: policy.SMS, to: testPhone, reject: channels.ErrInvalidRecipient,
			wantReason: func(r string) bool { return r == "invalid_recipient" }, wantOptOut: true,
		},
		{
			name: "bounced mailbox opts out", ch: policy.Email, to: testEmail,
			reject:     fmt.Errorf("mailbox gone: %w", channels.ErrInvalidRecipient),
			wantReason: func(r string) bool { return r == "invalid_recipient" }, wantOptOut: true,
		},
		{
			name: "blocked content", ch: policy.SMS, to: testPhone, reject: channels.Permanent(errors.New("blocked")),
			wantReason: func(r string) bool { return strings.HasPrefix(r, "permanent: ") && strings.Contains(r, "blocked") },
		},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				rejects := 0
				f.sink.Reject = func(channels.Message) error { rejects++; return tt.reject }
				key := "L-2026-0001/1/1/7/" + string(tt.ch)
				req := noticeRequest(key, tt.ch, "en", tt.to)

				res, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("SendNotice: %v", err)
				}
				if res.Status != StatusFailed || !tt.wantReason(res.Reason) || res.OptOut != tt.wantOptOut ||
					res.Provider != "" || res.MessageID != "" {
					t.Errorf("result = %+v, want failed with opt-out %v", res, tt.wantOptOut)
				}
				row := f.store.notice(t, key)
				if row.Status != store.NoticeFailed || row.Reason != res.Reason || row.Provider != "" || row.ProviderMessageID != "" {
					t.Errorf("row = status %q reason %q provider %q id %q, want failed with reason %q",
						row.Status, row.Reason, row.Provider, row.ProviderMessageID, res.Reason)
				}
				if strings.Contains(row.Reason, tt.to) {
					t.Errorf("stored reason %q holds the full recipient", row.Reason)
				}
				if got := f.sink.Sent(key); got != 0 || rejects != 1 {
					t.Errorf("Sent = %d, provider calls = %d, want 0 and 1", got, rejects)
				}

				// The stored outcome comes back without asking the provider.
				again, err := f.run.SendNotice(req)
				if err != nil {
					t.Fatalf("second SendNotice: %v", err)
				}
				if again.Status != StatusFailed || again.Reason != res.Reason || again.OptOut != tt.wantOptOut {
					t.Errorf("second result = %+v, want the stored failure %+v", again, res)
				}
				if rejects != 1 {
					t.Errorf("provider called %d times, want once", rejects)
				}
				if n, _, _ := f.store.counts(); n != 1 {
					t.Errorf("notice rows = %d, want 1", n)
				}
			})
		}
	}
}

// TestSendNoticeRenderErrors: a notice that cannot be rendered is recorded as
// failed with the render error as its reason, returned as that outcome (not an
// activity error: retrying cannot render it), and never reaches a provider.
func TestSendNoticeRenderErrors(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(r *NoticeRequest, a *Activities)
		wantErr error // its text is in the reason
	}{
		{"unknown template", func(r *NoticeRequest, _ *Activities) { r.Template = "overdue_polite" }, templates.ErrNoTemplate},
		{"unknown locale", func(r *NoticeRequest, _ *Activities) { r.Locale = "fr" }, templates.ErrNoTemplate},
		{"unknown channel", func(r *NoticeRequest, _ *Activities) { r.Channel = "fax" }, templates.ErrNoTemplate},
		{"missing amount", func(r *NoticeRequest, _ *Activities) { r.Data.AmountDue = "" }, templates.ErrMissingData},
		{"blank customer name", func(r *NoticeRequest, _ *Activities) { r.Data.CustomerName = "  " }, templates.ErrMissingData},
		{"no days overdue", func(r *NoticeRequest, _ *Activities) { r.Data.DaysOverdue = 0 }, templates.ErrMissingData},
		{"no brand configured", func(_ *NoticeRequest, a *Activities) { a.Brand = Brand{} }, templates.ErrMissingData},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				key := "L-2026-0001/1/1/7/sms"
				req := noticeRequest(key, policy.SMS, "en", testPhone)
				tt.edit(&req, f.acts)

				for call := 1; call <= 2; call++ {
					res, err := f.run.SendNotice(req)
					if err != nil {
						t.Fatalf("call %d: SendNotice = %v, want a failed outcome", call, err)
					}
					if res.Status != StatusFailed || !strings.HasPrefix(res.Reason, "render: ") ||
						!strings.Contains(res.Reason, tt.wantErr.Error()) || res.OptOut || res.Provider != "" {
						t.Errorf("call %d: result = %+v, want failed with reason render: …%v…", call, res, tt.wantErr)
					}
				}
				row := f.store.notice(t, key)
				if row.Status != store.NoticeFailed || !strings.HasPrefix(row.Reason, "render: ") ||
					row.Channel != string(req.Channel) || row.Template != req.Template || row.Locale != req.Locale ||
					row.Recipient != req.Recipient || row.LoanID != req.LoanID || row.CustomerID != req.CustomerID ||
					row.Body != "" || row.SentAt != nil {
					t.Errorf("row = %+v, want failed with the render reason, the request's identity and no message", row)
				}
				f.checkProvenance(t, row.WorkflowID, row.RunID, row.Attempt)
				if got := f.store.callCount("ReserveNotice"); got != 0 {
					t.Errorf("ReserveNotice called %d times, want 0", got)
				}
				if n, _, _ := f.store.counts(); n != 1 {
					t.Errorf("notice rows = %d, want 1", n)
				}
				if got := f.sink.Sent(key); got != 0 {
					t.Errorf("Sent = %d, want 0", got)
				}
				if !strings.Contains(f.logs.String(), "notice not rendered") {
					t.Errorf("log lacks the render failure:\n%s", f.logs)
				}
			})
		}
	}
}

// TestSendNoticeRenderErrorOverExistingRow: a render error (a template broken
// by a deploy between attempts) completes a pending row (as unknown when an
// attempt had reached the provider) and leaves
// a final row, and the outcome it records, as it is.
func TestSendNoticeRenderErrorOverExistingRow(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name+"/pending", func(t *testing.T) {
			f := newFixture(t, m)
			key := "L-2026-0001/1/1/7/sms"
			req := noticeRequest(key, policy.SMS, "en", testPhone)
			f.sink.FailAfterAccept = func(string) bool { return true }
			if _, err := f.run.SendNotice(req); err == nil {
				t.Fatal("first attempt succeeded, want the lost answer")
			}
			f.acts.Brand = Brand{} // the next deploy cannot render it
			// The first attempt reached the provider: the outcome is unknown,
			// not failed (the receipt settles it).
			res, err := f.run.SendNotice(req)
			if err != nil || res.Status != StatusUnknown || !strings.HasPrefix(res.Reason, "outcome unknown: render: ") {
				t.Fatalf("SendNotice = %+v, %v; want unknown: render…", res, err)
			}
			if row := f.store.notice(t, key); row.Status != store.NoticeUnknown || row.Reason != res.Reason || row.Body == "" {
				t.Errorf("row = %+v, want the reserved row completed as unknown", row)
			}
		})
		t.Run(m.name+"/sent", func(t *testing.T) {
			f := newFixture(t, m)
			key := "L-2026-0001/1/1/7/sms"
			req := noticeRequest(key, policy.SMS, "en", testPhone)
			sent, err := f.run.SendNotice(req)
			if err != nil {
				t.Fatal(err)
			}
			f.acts.Brand = Brand{}
			res, err := f.run.SendNotice(req)
			if err != nil || res.Status != StatusSent || res.MessageID != sent.MessageID || !res.SentAt.Equal(sent.SentAt) {
				t.Fatalf("SendNotice = %+v, %v; want the stored sent outcome %+v", res, err, sent)
			}
			if row := f.store.notice(t, key); row.Status != store.NoticeSent || row.Reason != "" {
				t.Errorf("row = %+v, want still sent", row)
			}
			if got := f.sink.Sent(key); got != 1 {
				t.Errorf("Sent = %d, want 1", got)
			}
		})
	}
}

func TestSendNoticeStoreAndWiringErrors(t *testing.T) {
	tests := []struct {
		name             string
		ch               policy.Channel
		setup            func(f *fixture)
		wantNonRetryable string // the error type, or "" for a retryable error
		wantRow          string // the row's status, or "" for no row
		wantSent         int
	}{
		{
			name:  "reserve fails",
			ch:    policy.SMS,
			setup: func(f *fixture) { f.store.setFail("ReserveNotice", errors.New("database is down")) },
		},
		{
			name: "complete of a permanent failure fails",
			ch:   policy.SMS,
			setup: func(f *fixture) {
				f.sink.Reject = func(channels.Message) error { return channels.ErrInvalidRecipient }
				f.store.setFail("CompleteNotice", errors.New("database is down"))
			},
			wantRow: store.NoticePending,
		},
		{
			name:    "marking the provider call fails",
			ch:      policy.SMS,
			setup:   func(f *fixture) { f.store.setFail("MarkProviderCalled", errors.New("database is down")) },
			wantRow: store.NoticePending,
		},
		{
			name: "clearing the mark after a sure refusal fails",
			ch:   policy.SMS,
			setup: func(f *fixture) {
				f.sink.Reject = func(channels.Message) error {
					f.store.setFail("MarkProviderCalled", errors.New("database is down"))
					return channels.NotAccepted(errors.New("503 Service Unavailable"))
				}
			},
			wantRow: store.NoticePending,
		},
		{
			name: "recording an unknown outcome fails",
			ch:   policy.SMS,
			setup: func(f *fixture) {
				key := "L-2026-0001/1/1/7/sms"
				if _, _, err := f.store.ReserveNotice(context.Background(), store.Notice{IdempotencyKey: key, Channel: "sms"}); err != nil {
					panic(err)
				}
				_ = f.store.MarkProviderCalled(context.Background(), key, true)
				f.acts.Senders = channels.Registry{channels.SMS: &plainSender{sink: f.sink}}
				f.store.setFail("CompleteNotice", errors.New("database is down"))
			},
			wantRow: store.NoticePending,
		},
		{
			// A missing sender is a configuration error: retried (a redeployed
			// worker succeeds) and nothing reserved, so no row is stuck pending.
			name:  "no sender for the channel",
			ch:    policy.Push,
			setup: func(f *fixture) { f.acts.Senders = channels.Registry{channels.SMS: f.sink} },
		},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				tt.setup(f)
				key := "L-2026-0001/1/1/7/" + string(tt.ch)

				to := map[policy.Channel]string{policy.SMS: testPhone, policy.Email: testEmail, policy.Push: testToken}[tt.ch]
				_, err := f.run.SendNotice(noticeRequest(key, tt.ch, "en", to))
				if err == nil {
					t.Fatal("SendNotice succeeded, want an error")
				}
				nr, typ := nonRetryable(err)
				switch {
				case tt.wantNonRetryable == "" && nr:
					t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
				case tt.wantNonRetryable != "" && (!nr || typ != tt.wantNonRetryable):
					t.Errorf("error %v: non-retryable %v type %q, want non-retryable %q", err, nr, typ, tt.wantNonRetryable)
				}
				if got := f.sink.Sent(key); got != tt.wantSent {
					t.Errorf("Sent = %d, want %d", got, tt.wantSent)
				}
				n, _, _ := f.store.counts()
				switch {
				case tt.wantRow == "" && n != 0:
					t.Errorf("notice rows = %d, want none", n)
				case tt.wantRow != "":
					if row := f.store.notice(t, key); row.Status != tt.wantRow {
						t.Errorf("row status = %q, want %q", row.Status, tt.wantRow)
					}
				}
			})
		}
	}
}

// TestSendNoticeAfterSkip: a key recorded as skipped is never sent.
func TestSendNoticeAfterSkip(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, m)
			key := "L-2026-0001/1/1/7/sms"
			if err := f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{
				Key: key, LoanID: "L-2026-0001", CustomerID: "C-0001", Channel: policy.SMS,
				Template: templates.OverdueFirm, Locale: "en", Recipient: testPhone, Reason: "cap_day",
			}}}); err != nil {
				t.Fatalf("RecordSkipped: %v", err)
			}
			res, err := f.run.SendNotice(noticeRequest(key, policy.SMS, "en", testPhone))
			if err != nil {
				t.Fatalf("SendNotice: %v", err)
			}
			if res.Status != StatusSkipped || res.Reason != "cap_day" || res.OptOut || !res.SentAt.IsZero() {
				t.Errorf("result = %+v, want the stored skip (cap_day, no sent_at)", res)
			}
			if got := f.sink.Sent(key); got != 0 {
				t.Errorf("Sent = %d, want 0", got)
			}
		})
	}
}

func TestRecordSkipped(t *testing.T) {
	skipped := []SkippedNotice{
		{Key: "L-2026-0001/1/1/7/sms", LoanID: "L-2026-0001", CustomerID: "C-0001", Channel: policy.SMS,
			Template: templates.OverdueFirm, Locale: "en", Recipient: testPhone, Reason: "opted_out"},
		{Key: "L-2026-0001/1/1/7/email", LoanID: "L-2026-0001", CustomerID: "C-0001", Channel: policy.Email,
			Template: templates.OverdueFirm, Locale: "en", Reason: "no_address"},
		{Key: "L-2026-0001/1/1/7/push", LoanID: "L-2026-0001", CustomerID: "C-0001", Channel: policy.Push,
			Template: templates.OverdueFirm, Locale: "en", Recipient: testToken, Reason: "cap_7_days"},
	}
	tests := []struct {
		name    string
		notices []SkippedNotice
	}{
		{"none", nil},
		{"one", skipped[:1]},
		{"three", skipped},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				req := SkipRequest{Notices: tt.notices}
				for call := 1; call <= 2; call++ {
					if err := f.run.RecordSkipped(req); err != nil {
						t.Fatalf("call %d: RecordSkipped: %v", call, err)
					}
					if n, _, _ := f.store.counts(); n != len(tt.notices) {
						t.Errorf("call %d: notice rows = %d, want %d", call, n, len(tt.notices))
					}
				}
				for _, s := range tt.notices {
					row := f.store.notice(t, s.Key)
					if row.Status != store.NoticeSkipped || row.Reason != s.Reason || row.Channel != string(s.Channel) ||
						row.LoanID != s.LoanID || row.CustomerID != s.CustomerID || row.Template != s.Template ||
						row.Locale != s.Locale || row.Recipient != s.Recipient || row.SentAt != nil || row.Provider != "" {
						t.Errorf("row %s = %+v, want skipped with reason %q", s.Key, row, s.Reason)
					}
					f.checkProvenance(t, row.WorkflowID, row.RunID, row.Attempt)
					if got := f.sink.Sent(s.Key); got != 0 {
						t.Errorf("Sent(%s) = %d, want 0", s.Key, got)
					}
				}
				if len(tt.notices) > 0 && !strings.Contains(f.logs.String(), "reason="+tt.notices[0].Reason) {
					t.Errorf("log does not record the skip reason:\n%s", f.logs)
				}
			})
		}
	}
}

func TestRecordSkippedStoreError(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, m)
			f.store.setFail("RecordSkipped", errors.New("database is down"))
			err := f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{
				Key: "L-2026-0001/1/1/7/sms", LoanID: "L-2026-0001", Channel: policy.SMS, Reason: "opted_out",
			}}})
			if err == nil {
				t.Fatal("RecordSkipped succeeded, want the store's error")
			}
			if nr, typ := nonRetryable(err); nr {
				t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
			}
			if !strings.Contains(err.Error(), "L-2026-0001/1/1/7/sms") {
				t.Errorf("error %q does not name the notice key", err)
			}
		})
	}
}

func TestOpenCollectionsCase(t *testing.T) {
	opened := time.Date(2026, 12, 16, 9, 0, 0, 0, time.UTC)
	req := CaseRequest{
		LoanID: "L-2026-0001", CustomerID: "C-0001", Reason: "D+15 overdue_urgent",
		DedupeKey: "L-2026-0001/1/1/15/case", DaysPastDue: 15,
		OverdueTotal: decimal.RequireFromString("1088.50"), Currency: "CNY", OpenedAt: opened,
	}
	other := req
	other.DedupeKey, other.Reason = "L-2026-0001/unreachable", "no reachable channel left"

	tests := []struct {
		name      string
		reqs      []CaseRequest
		wantNew   []bool
		sameAs    []int // index of the call whose CaseID this one must have, or -1 for a new one
		wantCases int
	}{
		{"once", []CaseRequest{req}, []bool{true}, []int{-1}, 1},
		{"retried", []CaseRequest{req, req, req}, []bool{true, false, false}, []int{-1, 0, 0}, 1},
		{"two reasons", []CaseRequest{req, other, req}, []bool{true, true, false}, []int{-1, -1, 0}, 2},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				var ids []int64
				for i, r := range tt.reqs {
					res, err := f.run.OpenCollectionsCase(r)
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					if res.Opened != tt.wantNew[i] || res.CaseID == 0 {
						t.Errorf("call %d = %+v, want Opened %v and a case id", i, res, tt.wantNew[i])
					}
					if j := tt.sameAs[i]; j >= 0 && res.CaseID != ids[j] {
						t.Errorf("call %d case id = %d, want %d of call %d", i, res.CaseID, ids[j], j)
					}
					if tt.sameAs[i] < 0 && len(ids) > 0 && res.CaseID == ids[len(ids)-1] {
						t.Errorf("call %d reused case id %d for a new dedupe key", i, res.CaseID)
					}
					ids = append(ids, res.CaseID)
				}
				cases := f.store.caseRows()
				if len(cases) != tt.wantCases {
					t.Fatalf("cases = %d, want %d", len(cases), tt.wantCases)
				}
				c := cases[0]
				if c.LoanID != req.LoanID || c.CustomerID != req.CustomerID || c.Reason != req.Reason ||
					c.DaysPastDue != 15 || c.Currency != "CNY" || c.DedupeKey != req.DedupeKey ||
					!c.OpenedAt.Equal(opened) || c.OverdueTotal == nil || !c.OverdueTotal.Equal(req.OverdueTotal) {
					t.Errorf("case = %+v, want the request's loan, reason, 15 days, CNY 1088.50 opened %v", c, opened)
				}
				f.checkWorkflow(t, c.WorkflowID, c.RunID)
			})
		}
	}
}

func TestOpenCollectionsCaseStoreError(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, m)
			f.store.setFail("OpenCase", errors.New("database is down"))
			_, err := f.run.OpenCollectionsCase(CaseRequest{LoanID: "L-2026-0001", DedupeKey: "k",
				OverdueTotal: decimal.RequireFromString("10.00"), Currency: "CNY"})
			if err == nil {
				t.Fatal("OpenCollectionsCase succeeded, want the store's error")
			}
			if nr, typ := nonRetryable(err); nr {
				t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
			}
			if _, _, n := f.store.counts(); n != 0 {
				t.Errorf("cases = %d, want none", n)
			}
		})
	}
}

func TestAppendLedger(t *testing.T) {
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	amount := decimal.RequireFromString("3.50")
	penalty := LedgerEntry{LoanID: "L-2026-0001", Kind: store.KindPenaltyPosted, Amount: &amount, Currency: "CNY",
		Detail: map[string]any{"days_past_due": 7, "seq": 1}, OccurredAt: at, DedupeKey: "L-2026-0001/ledger/3"}
	paused := LedgerEntry{LoanID: "L-2026-0001", Kind: store.KindPaused, OccurredAt: at.Add(time.Hour),
		DedupeKey: "L-2026-0001/ledger/4"}
	empty := LedgerEntry{LoanID: "L-2026-0001", Kind: store.KindResumed, Detail: map[string]any{},
		OccurredAt: at.Add(2 * time.Hour), DedupeKey: "L-2026-0001/ledger/5"}
	nested := LedgerEntry{LoanID: "L-2026-0001", Kind: store.KindContactUpdated, OccurredAt: at.Add(3 * time.Hour),
		Detail:    map[string]any{"fields": []string{"phone"}, "opt_outs": []policy.Channel{policy.Email}},
		DedupeKey: "L-2026-0001/ledger/6"}

	type want struct {
		kind   string
		amount string // "" for none
		detail string
	}
	tests := []struct {
		name    string
		batches [][]LedgerEntry
		want    []want
	}{
		{
			name:    "amount and detail",
			batches: [][]LedgerEntry{{penalty}},
			want:    []want{{store.KindPenaltyPosted, "3.5", `{"days_past_due":7,"seq":1}`}},
		},
		{
			name:    "nil detail is an empty object",
			batches: [][]LedgerEntry{{paused}},
			want:    []want{{store.KindPaused, "", `{}`}},
		},
		{
			name:    "empty detail is an empty object",
			batches: [][]LedgerEntry{{empty}},
			want:    []want{{store.KindResumed, "", `{}`}},
		},
		{
			name:    "nested detail",
			batches: [][]LedgerEntry{{nested}},
			want:    []want{{store.KindContactUpdated, "", `{"fields":["phone"],"opt_outs":["email"]}`}},
		},
		{
			name:    "batch retried",
			batches: [][]LedgerEntry{{penalty, paused}, {penalty, paused}},
			want:    []want{{store.KindPenaltyPosted, "3.5", `{"days_past_due":7,"seq":1}`}, {store.KindPaused, "", `{}`}},
		},
		{
			name:    "retry after a partial batch",
			batches: [][]LedgerEntry{{penalty}, {penalty, paused, empty}},
			want: []want{{store.KindPenaltyPosted, "3.5", `{"days_past_due":7,"seq":1}`}, {store.KindPaused, "", `{}`},
				{store.KindResumed, "", `{}`}},
		},
		{
			name:    "empty batch",
			batches: [][]LedgerEntry{nil},
		},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				for i, b := range tt.batches {
					res, err := f.run.AppendLedger(b)
					if err != nil {
						t.Fatalf("batch %d: AppendLedger: %v", i, err)
					}
					if len(res.Rejected) != 0 {
						t.Errorf("batch %d: rejected %+v, want none", i, res.Rejected)
					}
				}
				rows := f.store.ledgerRows()
				if len(rows) != len(tt.want) {
					t.Fatalf("ledger rows = %d, want %d", len(rows), len(tt.want))
				}
				for i, w := range tt.want {
					r := rows[i]
					gotAmount := ""
					if r.Amount != nil {
						gotAmount = r.Amount.String()
					}
					if r.Kind != w.kind || gotAmount != w.amount || string(r.Detail) != w.detail || r.LoanID != "L-2026-0001" {
						t.Errorf("row %d = kind %q amount %q detail %s, want %q %q %s", i, r.Kind, gotAmount, r.Detail,
							w.kind, w.amount, w.detail)
					}
					if w.amount != "" && r.Currency != "CNY" {
						t.Errorf("row %d currency = %q, want CNY", i, r.Currency)
					}
					var obj map[string]any
					if err := json.Unmarshal(r.Detail, &obj); err != nil || obj == nil {
						t.Errorf("row %d detail %s is not a JSON object: %v", i, r.Detail, err)
					}
					f.checkWorkflow(t, r.WorkflowID, r.RunID)
				}
			})
		}
	}
}

// TestAppendLedgerErrors: an entry refused for good is listed in Rejected
// while the others are written; any other error stops the batch, retryable.
func TestAppendLedgerErrors(t *testing.T) {
	at := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	entry := func(n int, detail map[string]any) LedgerEntry {
		return LedgerEntry{LoanID: "L-2026-0001", Kind: store.KindStageChanged, Detail: detail,
			OccurredAt: at.Add(time.Duration(n) * time.Minute), DedupeKey: fmt.Sprintf("L-2026-0001/ledger/%d", n)}
	}
	first, second, third := entry(7, map[string]any{"stage": "firm"}), entry(8, nil), entry(9, map[string]any{"stage": "urgent"})
	unencodable := entry(10, map[string]any{"ch": make(chan int)})
	changed := first
	changed.Detail = map[string]any{"stage": "urgent"}
	checkViolation := &pgconn.PgError{Severity: "ERROR", Code: "23514",
		Message: `new row for relation "ledger" violates check constraint "ledger_kind_check"`}

	tests := []struct {
		name         string
		before       []LedgerEntry // appended first
		entries      []LedgerEntry
		failKey      map[string]error // an error for one dedupe key
		storeErr     error            // every append fails
		wantRejected map[string]string
		wantRetry    bool // a retryable error, not a result
		wantRows     int
		// directOnly: Temporal's data converter cannot encode the request, so
		// a workflow can never deliver it; only a direct call reaches the check.
		directOnly bool
	}{
		{name: "unencodable detail between good ones", entries: []LedgerEntry{first, unencodable, second},
			wantRejected: map[string]string{unencodable.DedupeKey: "unsupported type"}, wantRows: 2, directOnly: true},
		{name: "check violation between good ones", entries: []LedgerEntry{first, second, third},
			failKey:      map[string]error{second.DedupeKey: fmt.Errorf("append ledger: %w", checkViolation)},
			wantRejected: map[string]string{second.DedupeKey: "ledger_kind_check"}, wantRows: 2},
		{name: "invalid input", entries: []LedgerEntry{first, second},
			failKey:      map[string]error{first.DedupeKey: fmt.Errorf("append ledger: amount without currency: %w", store.ErrInvalid)},
			wantRejected: map[string]string{first.DedupeKey: "amount without currency"}, wantRows: 1},
		{name: "dedupe key holding other content", before: []LedgerEntry{first}, entries: []LedgerEntry{changed, second},
			wantRejected: map[string]string{first.DedupeKey: "holds another entry"}, wantRows: 2},
		{name: "every row refused", entries: []LedgerEntry{first, second},
			storeErr:     fmt.Errorf("append ledger: %w", checkViolation),
			wantRejected: map[string]string{first.DedupeKey: "check constraint", second.DedupeKey: "check constraint"}},
		{name: "store down", entries: []LedgerEntry{first}, storeErr: errors.New("database is down"), wantRetry: true},
		{name: "connection lost mid-batch", entries: []LedgerEntry{first, second, third},
			failKey: map[string]error{second.DedupeKey: errors.New("connection reset")}, wantRetry: true, wantRows: 1},
		{name: "serialization failure", entries: []LedgerEntry{first},
			storeErr: &pgconn.PgError{Code: "40001", Message: "could not serialize access"}, wantRetry: true},
	}
	for _, m := range modes() {
		for _, tt := range tests {
			if tt.directOnly && m.inActivity {
				continue
			}
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, m)
				if len(tt.before) > 0 {
					if _, err := f.run.AppendLedger(tt.before); err != nil {
						t.Fatal(err)
					}
				}
				f.store.setFail("AppendLedger", tt.storeErr)
				for k, err := range tt.failKey {
					f.store.setFailLedger(k, err)
				}
				res, err := f.run.AppendLedger(tt.entries)
				if tt.wantRetry {
					if err == nil {
						t.Fatalf("AppendLedger = %+v, want a retryable error", res)
					}
					if nr, typ := nonRetryable(err); nr {
						t.Errorf("error %v is non-retryable (type %q), want retryable", err, typ)
					}
				} else if err != nil {
					t.Fatalf("AppendLedger: %v, want a result", err)
				}
				if len(res.Rejected) != len(tt.wantRejected) {
					t.Errorf("rejected %+v, want %v", res.Rejected, tt.wantRejected)
				}
				for _, r := range res.Rejected {
					if want, ok := tt.wantRejected[r.DedupeKey]; !ok || !strings.Contains(r.Reason, want) {
						t.Errorf("rejected %s: %q, want a reason with %q", r.DedupeKey, r.Reason, want)
					}
				}
				if _, n, _ := f.store.counts(); n != tt.wantRows {
					t.Errorf("ledger rows = %d, want %d", n, tt.wantRows)
				}
				if len(tt.wantRejected) > 0 && !strings.Contains(f.logs.String(), "ledger entry rejected") {
					t.Errorf("log lacks the rejection:\n%s", f.logs)
				}
				if !tt.wantRetry {
					return
				}
				// Once the store is back, the retry writes the rest and
				// skips what the first attempt wrote.
				f.store.setFail("AppendLedger", nil)
				for k := range tt.failKey {
					f.store.setFailLedger(k, nil)
				}
				res, err = f.run.AppendLedger(tt.entries)
				if err != nil || len(res.Rejected) != 0 {
					t.Fatalf("retry = %+v, %v; want every row written", res, err)
				}
				if _, n, _ := f.store.counts(); n != len(tt.entries) {
					t.Errorf("ledger rows after the retry = %d, want %d", n, len(tt.entries))
				}
			})
		}
	}
}

// TestLogsMaskRecipients sends, fails and re-sends notices and checks that
// neither the activities' log nor the dev sink's ever holds a full phone
// number or email address, while the masked forms are there for support.
func TestLogsMaskRecipients(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			f := newFixture(t, m)
			sms := noticeRequest("L-2026-0001/1/1/7/sms", policy.SMS, "zh-CN", testPhone)
			email := noticeRequest("L-2026-0001/1/1/7/email", policy.Email, "en", testEmail)
			push := noticeRequest("L-2026-0001/1/1/7/push", policy.Push, "en", testToken)
			deadSMS := noticeRequest("L-2026-0001/1/1/15/sms", policy.SMS, "en", testPhone)
			deadEmail := noticeRequest("L-2026-0001/1/1/15/email", policy.Email, "en", testEmail)
			f.sink.Reject = func(msg channels.Message) error {
				if strings.Contains(msg.IdempotencyKey, "/15/") {
					return channels.ErrInvalidRecipient
				}
				return nil
			}
			for _, req := range []NoticeRequest{sms, email, push, deadSMS, deadEmail, sms, deadEmail} {
				if _, err := f.run.SendNotice(req); err != nil {
					t.Fatalf("SendNotice %s: %v", req.Key, err)
				}
			}
			if err := f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{Key: "L-2026-0001/1/1/30/sms",
				LoanID: "L-2026-0001", Channel: policy.SMS, Recipient: testPhone, Reason: "cap_day"}}}); err != nil {
				t.Fatalf("RecordSkipped: %v", err)
			}

			logs := f.logs.String()
			for _, full := range []string{testPhone, "8613800138000", "13800138000", testEmail, "zhang.wei", testToken} {
				if strings.Contains(logs, full) {
					t.Errorf("log holds %q:\n%s", full, logs)
				}
			}
			for _, masked := range []string{channels.MaskPhone(testPhone), channels.MaskEmail(testEmail), "+86138****8000",
				"z***@example.cn", "notice sent", "notice failed permanently", "notice already recorded"} {
				if !strings.Contains(logs, masked) {
					t.Errorf("log lacks %q:\n%s", masked, logs)
				}
			}
			if got := strings.Contains(logs, "workflow_id="); got != m.inActivity {
				t.Errorf("log has workflow_id: %v, want %v", got, m.inActivity)
			}
		})
	}
}

// TestDefaultLogger: with no Log the activities log to slog.Default.
func TestDefaultLogger(t *testing.T) {
	var buf bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	f := newFixture(t, modes()[0])
	f.acts.Log = nil
	if err := f.run.RecordSkipped(SkipRequest{Notices: []SkippedNotice{{Key: "k1", LoanID: "L-2026-0001",
		Channel: policy.SMS, Reason: "opted_out"}}}); err != nil {
		t.Fatalf("RecordSkipped: %v", err)
	}
	if !strings.Contains(buf.String(), "notice skipped") {
		t.Errorf("default logger got %q, want the skip", buf.String())
	}
	if f.logs.Len() != 0 {
		t.Errorf("fixture logger got %q, want nothing", f.logs)
	}
}
