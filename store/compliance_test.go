package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"dunning/policy"
	"dunning/store"
)

// zoneAtNoon is a fixed-offset IANA zone in which it is now between 12:00 and
// 13:59, so a test against the database's clock is well inside 08:00–21:00
// and far from a local midnight.
func zoneAtNoon() string {
	switch o := 12 - time.Now().UTC().Hour(); {
	case o > 0:
		return fmt.Sprintf("Etc/GMT-%d", o)
	case o < 0:
		return fmt.Sprintf("Etc/GMT+%d", -o)
	default:
		return "Etc/GMT"
	}
}

// checkAtNoon is the default policy's check in zoneAtNoon.
func checkAtNoon() policy.SendCheck {
	p := policy.Default()
	return policy.SendCheck{TimeZone: zoneAtNoon(), Window: p.Reminders.ContactWindow, Caps: p.Caps}
}

// addressed is a ladder notice of loan to addr on channel.
func addressed(key, loan, channel, addr string) store.Notice {
	n := notice(key, channel)
	n.LoanID, n.Recipient = loan, addr
	return n
}

// insertPrior writes a notice row as it would stand after its send: status,
// with created_at and (unless pending) sent_at at.
func insertPrior(t *testing.T, conn *pgx.Conn, key, channel, addr, template, status string, at time.Time) {
	t.Helper()
	var sentAt *time.Time
	if status != store.NoticePending {
		sentAt = &at
	}
	if _, err := conn.Exec(context.Background(), `INSERT INTO notices
(idempotency_key, loan_id, customer_id, channel, template, locale, recipient, status, created_at, sent_at)
VALUES ($1, 'L-OTHER', 'C-1', $2, $3, 'zh-CN', $4, $5, $6, $7)`, key, channel, template, addr, status, at, sentAt); err != nil {
		t.Fatalf("insert prior %s: %v", key, err)
	}
}

// The send-time check in the store, one reason at a time, each on an address
// of its own: what it reserves, what it records skipped and why.
func TestReserveNoticeChecked(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	now := time.Now()
	tests := []struct {
		name     string
		channel  string
		template string
		check    func(c *policy.SendCheck)
		setup    func(t *testing.T, addr string)
		// want: the status stored afterwards and its reason; reserved.
		status   string
		reason   string
		reserved bool
	}{
		{name: "nothing stops it", status: store.NoticePending, reserved: true},
		{name: "opted out", setup: func(t *testing.T, addr string) {
			if _, err := s.OptOut(ctx, "sms", addr, store.OptOutKeyword, "STOP"); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticeSkipped, reason: policy.SkipOptedOut},
		{name: "opt-out revoked", setup: func(t *testing.T, addr string) {
			if _, err := s.OptOut(ctx, "sms", addr, store.OptOutKeyword, "STOP"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.OptIn(ctx, "sms", addr, store.OptOutKeyword); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticePending, reserved: true},
		{name: "opt-out of another channel", setup: func(t *testing.T, addr string) {
			if _, err := s.OptOut(ctx, "email", addr, store.OptOutCarrier, ""); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticePending, reserved: true},
		{name: "outside the contact window", check: func(c *policy.SendCheck) {
			c.Window = policy.Window{Start: policy.ClockTime{Hour: 15}, End: policy.ClockTime{Hour: 21}}
		}, status: store.NoticeSkipped, reason: policy.SkipWindow},
		{name: "sent today by another loan", setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/other-loan", "sms", addr, "overdue_gentle", store.NoticeSent, now.Add(-time.Hour))
		}, status: store.NoticeSkipped, reason: policy.SkipCapDay},
		{name: "delivered today counts", setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/other-loan", "sms", addr, "overdue_gentle", store.NoticeDelivered, now.Add(-time.Hour))
		}, status: store.NoticeSkipped, reason: policy.SkipCapDay},
		{name: "unknown today counts", setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/other-loan", "sms", addr, "overdue_gentle", store.NoticeUnknown, now.Add(-time.Hour))
		}, status: store.NoticeSkipped, reason: policy.SkipCapDay},
		{name: "another key in flight counts", setup: func(t *testing.T, addr string) {
			if _, _, err := s.ReserveNotice(ctx, addressed(addr+"/in-flight", "L-OTHER", "sms", addr)); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticeSkipped, reason: policy.SkipCapDay},
		{name: "failed and skipped do not count", setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/failed", "sms", addr, "overdue_gentle", store.NoticeFailed, now.Add(-time.Hour))
			insertPrior(t, conn, addr+"/skipped", "sms", addr, "overdue_gentle", store.NoticeSkipped, now.Add(-time.Hour))
		}, status: store.NoticePending, reserved: true},
		{name: "confirmations do not count", setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/confirmation", "sms", addr, policy.TemplatePaymentReceived, store.NoticeSent, now.Add(-time.Hour))
		}, status: store.NoticePending, reserved: true},
		{name: "another channel or address does not count", setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/push", "push", addr, "overdue_gentle", store.NoticeSent, now.Add(-time.Hour))
			insertPrior(t, conn, addr+"/other", "sms", addr+"0", "overdue_gentle", store.NoticeSent, now.Add(-time.Hour))
		}, status: store.NoticePending, reserved: true},
		{name: "seven local days", check: func(c *policy.SendCheck) { c.Caps.MaxPerChannelPer7Days = 6 }, setup: func(t *testing.T, addr string) {
			for d := 1; d <= 6; d++ {
				insertPrior(t, conn, fmt.Sprintf("%s/d-%d", addr, d), "sms", addr, "overdue_gentle", store.NoticeSent, now.AddDate(0, 0, -d))
			}
		}, status: store.NoticeSkipped, reason: policy.SkipCap7Days},
		{name: "the seventh day back is out", check: func(c *policy.SendCheck) { c.Caps.MaxPerChannelPer7Days = 6 }, setup: func(t *testing.T, addr string) {
			for d := 2; d <= 7; d++ {
				insertPrior(t, conn, fmt.Sprintf("%s/d-%d", addr, d), "sms", addr, "overdue_gentle", store.NoticeSent, now.AddDate(0, 0, -d))
			}
		}, status: store.NoticePending, reserved: true},
		{name: "a confirmation outside the window and over the cap", template: policy.TemplatePaidOff, check: func(c *policy.SendCheck) {
			c.Window = policy.Window{Start: policy.ClockTime{Hour: 15}, End: policy.ClockTime{Hour: 21}}
		}, setup: func(t *testing.T, addr string) {
			insertPrior(t, conn, addr+"/other-loan", "sms", addr, "overdue_gentle", store.NoticeSent, now.Add(-time.Hour))
		}, status: store.NoticePending, reserved: true},
		{name: "a confirmation opted out", template: policy.TemplatePaymentReceived, setup: func(t *testing.T, addr string) {
			if _, err := s.OptOut(ctx, "sms", addr, store.OptOutCarrier, "21610"); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticeSkipped, reason: policy.SkipOptedOut},
		{name: "a final key comes back unchanged", setup: func(t *testing.T, addr string) {
			if _, _, err := s.ReserveNotice(ctx, addressed(addr+"/key", "L-1", "sms", addr)); err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteNotice(ctx, addr+"/key", store.NoticeSent, "", "devsink", "m-1", time.Time{}); err != nil {
				t.Fatal(err)
			}
			insertPrior(t, conn, addr+"/other-loan", "sms", addr, "overdue_gentle", store.NoticeSent, now.Add(-time.Hour))
		}, status: store.NoticeSent},
		{name: "a pending key that still passes", setup: func(t *testing.T, addr string) {
			if _, _, err := s.ReserveNotice(ctx, addressed(addr+"/key", "L-1", "sms", addr)); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticePending},
		{name: "a pending key retried past the window", check: func(c *policy.SendCheck) {
			c.Window = policy.Window{Start: policy.ClockTime{Hour: 15}, End: policy.ClockTime{Hour: 21}}
		}, setup: func(t *testing.T, addr string) {
			if _, _, err := s.ReserveNotice(ctx, addressed(addr+"/key", "L-1", "sms", addr)); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticeSkipped, reason: policy.SkipWindow},
		{name: "a pending key the provider may have", check: func(c *policy.SendCheck) {
			c.Window = policy.Window{Start: policy.ClockTime{Hour: 15}, End: policy.ClockTime{Hour: 21}}
		}, setup: func(t *testing.T, addr string) {
			if _, _, err := s.ReserveNotice(ctx, addressed(addr+"/key", "L-1", "sms", addr)); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkProviderCalled(ctx, addr+"/key", true); err != nil {
				t.Fatal(err)
			}
		}, status: store.NoticeUnknown, reason: "outcome unknown: an earlier attempt reached the provider and its answer was lost; not sent again: window"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fmt.Sprintf("+86138%08d", i)
			if tc.setup != nil {
				tc.setup(t, addr)
			}
			c := checkAtNoon()
			if tc.check != nil {
				tc.check(&c)
			}
			n := addressed(addr+"/key", "L-1", "sms", addr)
			if tc.template != "" {
				n.Template = tc.template
			}
			got, reserved, err := s.ReserveNoticeChecked(ctx, n, c)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tc.status || got.Reason != tc.reason || reserved != tc.reserved {
				t.Fatalf("ReserveNoticeChecked = %s %q reserved %v, want %s %q reserved %v",
					got.Status, got.Reason, reserved, tc.status, tc.reason, tc.reserved)
			}
			if got.IdempotencyKey != n.IdempotencyKey || got.Recipient != addr || got.ID == 0 {
				t.Errorf("row %+v, want the notice's own", got)
			}
			if got.Status == store.NoticeSkipped && tc.setup == nil && got.Body != "" {
				t.Errorf("skipped row keeps a body %q: nothing was said", got.Body)
			}
			rows, err := s.NoticesByLoan(ctx, "L-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				if r.IdempotencyKey == n.IdempotencyKey && (r.Status != got.Status || r.Reason != got.Reason) {
					t.Errorf("stored %s %q, returned %s %q", r.Status, r.Reason, got.Status, got.Reason)
				}
			}
		})
	}
}

func TestReserveNoticeCheckedRejectsBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	bad := checkAtNoon()
	bad.TimeZone = "Mars/Olympus"
	for name, tc := range map[string]struct {
		n store.Notice
		c policy.SendCheck
	}{
		"empty key":          {notice("", "sms"), checkAtNoon()},
		"unknown time zone":  {notice("L-1/tz", "sms"), bad},
		"unknown channel":    {notice("L-1/fax", "fax"), checkAtNoon()},
		"no time zone given": {notice("L-1/none", "sms"), policy.SendCheck{}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.ReserveNoticeChecked(ctx, tc.n, tc.c); !store.IsPermanent(err) {
				t.Errorf("ReserveNoticeChecked = %v, want a permanent error", err)
			}
		})
	}
	rows, err := s.NoticesByLoan(ctx, "L-1")
	if err != nil || len(rows) != 0 {
		t.Errorf("%d rows written (%v), want none", len(rows), err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.ReserveNoticeChecked(cancelled, notice("L-1/ctx", "sms"), checkAtNoon()); err == nil || store.IsPermanent(err) {
		t.Errorf("ReserveNoticeChecked with a cancelled context = %v, want a retryable error", err)
	}
}

// Two loans of one borrower send to the same number at the same moment with
// a cap of one a day: the advisory lock serialises them, so exactly one is
// reserved and the other is skipped cap_day, every time.
func TestReserveNoticeCheckedConcurrent(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	c := checkAtNoon()
	for round := range 10 {
		addr := fmt.Sprintf("+86139%08d", round)
		start := make(chan struct{})
		var wg sync.WaitGroup
		got := make([]store.Notice, 2)
		reserved := make([]bool, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				<-start
				n := addressed(fmt.Sprintf("L-%d/0/%d/1/sms", i, round), fmt.Sprintf("L-%d", i), "sms", addr)
				got[i], reserved[i], errs[i] = s.ReserveNoticeChecked(ctx, n, c)
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		statuses := got[0].Status + "," + got[1].Status
		if reserved[0] == reserved[1] || (statuses != "pending,skipped" && statuses != "skipped,pending") {
			t.Fatalf("round %d: %s reserved %v, want one pending and one skipped", round, statuses, reserved)
		}
		for _, n := range got {
			if n.Status == store.NoticeSkipped && n.Reason != policy.SkipCapDay {
				t.Errorf("round %d: skipped %q, want cap_day", round, n.Reason)
			}
		}
	}
}

// Migration 00007 swaps the (channel, recipient) index for (channel,
// recipient, created_at), and goes down and up again.
func TestMigration7DownAndUp(t *testing.T) {
	t.Parallel()
	_, url := newStore(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	indexes := func() string {
		t.Helper()
		var names []string
		rows, err := conn.Query(ctx, `SELECT indexname FROM pg_indexes
WHERE tablename = 'notices' AND indexname IN ('notices_recipient_idx', 'notices_address_created_idx') ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, ",")
	}
	if got := indexes(); got != "notices_address_created_idx" {
		t.Errorf("indexes after migrating: %s", got)
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
	if _, err := provider.DownTo(ctx, 6); err != nil {
		t.Fatalf("down to 6: %v", err)
	}
	if got := indexes(); got != "notices_recipient_idx" {
		t.Errorf("indexes at version 6: %s", got)
	}
	if _, err := provider.UpTo(ctx, 7); err != nil {
		t.Fatalf("up to 7: %v", err)
	}
	if got := indexes(); got != "notices_address_created_idx" {
		t.Errorf("indexes back at version 7: %s", got)
	}
}
