package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dunning/store"
)

func TestApplyReceipt(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 2, 40, 0, 0, time.UTC)
	sent := func(t *testing.T, key, msgID string) {
		t.Helper()
		if _, _, err := s.ReserveNotice(ctx, notice(key, "sms")); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteNotice(ctx, key, store.NoticeSent, "", "twilio", msgID, at); err != nil {
			t.Fatal(err)
		}
	}
	sent(t, "L-R/1", "SM1")
	sent(t, "L-R/2", "SM2")
	// An unknown outcome: the provider's id was never learnt; the key finds it.
	if _, _, err := s.ReserveNotice(ctx, notice("L-R/3", "sms")); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteNotice(ctx, "L-R/3", store.NoticeUnknown, "outcome unknown", "twilio", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ReserveNotice(ctx, notice("L-R/4", "sms")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		r           store.Receipt
		wantStatus  string
		wantChanged bool
		wantErr     error
	}{
		{"delivered by message id", store.Receipt{Provider: "twilio", MessageID: "SM1", Status: store.NoticeDelivered, At: at}, store.NoticeDelivered, true, nil},
		{"the same report again", store.Receipt{Provider: "twilio", MessageID: "SM1", Status: store.NoticeDelivered}, store.NoticeDelivered, false, nil},
		{"a late undelivered after delivered changes nothing", store.Receipt{Provider: "twilio", MessageID: "SM1", Status: store.NoticeUndelivered}, store.NoticeDelivered, false, nil},
		{"undelivered by key", store.Receipt{Key: "L-R/2", Provider: "twilio", MessageID: "SM2", Status: store.NoticeUndelivered, Error: "30003"}, store.NoticeUndelivered, true, nil},
		{"unknown settled by key", store.Receipt{Key: "L-R/3", Provider: "twilio", MessageID: "SM3", Status: store.NoticeDelivered}, store.NoticeDelivered, true, nil},
		{"pending is not moved", store.Receipt{Key: "L-R/4", Provider: "twilio", MessageID: "SM4", Status: store.NoticeDelivered}, store.NoticePending, false, nil},
		{"no such notice", store.Receipt{Provider: "twilio", MessageID: "SM-nope", Status: store.NoticeDelivered}, "", false, store.ErrNotFound},
		{"bad status", store.Receipt{Key: "L-R/1", Status: "sent"}, "", false, store.ErrInvalid},
		{"nothing to find it by", store.Receipt{Status: store.NoticeDelivered}, "", false, store.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, changed, err := s.ApplyReceipt(ctx, c.r)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || n.Status != c.wantStatus || changed != c.wantChanged {
				t.Fatalf("status %s changed %v err %v; want %s %v", n.Status, changed, err, c.wantStatus, c.wantChanged)
			}
		})
	}
	n, _, _ := s.ApplyReceipt(ctx, store.Receipt{Key: "L-R/2", Status: store.NoticeDelivered})
	if n.ProviderError != "30003" || n.DeliveredAt == nil {
		t.Errorf("undelivered row: error %q delivered_at %v", n.ProviderError, n.DeliveredAt)
	}
	n, _, _ = s.ApplyReceipt(ctx, store.Receipt{Key: "L-R/3", Status: store.NoticeDelivered})
	if n.ProviderMessageID != "SM3" {
		t.Errorf("the unknown row did not learn its provider id: %q", n.ProviderMessageID)
	}
}

func TestMarkProviderCalled(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := s.ReserveNotice(ctx, notice("L-C/1", "sms")); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkProviderCalled(ctx, "L-C/1", true); err != nil {
		t.Fatal(err)
	}
	first, _, _ := s.ReserveNotice(ctx, notice("L-C/1", "sms"))
	if first.ProviderCalledAt == nil {
		t.Fatal("provider_called_at not set")
	}
	time.Sleep(10 * time.Millisecond)
	if err := s.MarkProviderCalled(ctx, "L-C/1", true); err != nil {
		t.Fatal(err)
	}
	again, _, _ := s.ReserveNotice(ctx, notice("L-C/1", "sms"))
	if !again.ProviderCalledAt.Equal(*first.ProviderCalledAt) {
		t.Errorf("a second call moved provider_called_at")
	}
	if err := s.MarkProviderCalled(ctx, "L-C/1", false); err != nil {
		t.Fatal(err)
	}
	if cleared, _, _ := s.ReserveNotice(ctx, notice("L-C/1", "sms")); cleared.ProviderCalledAt != nil {
		t.Errorf("provider_called_at not cleared after a refusal")
	}
}

func TestOptOutsAndContacts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	const phone = "+8613800138000"
	steps := []struct {
		name string
		do   func() (bool, error)
		want bool
	}{
		{"STOP opens an opt-out", func() (bool, error) { return s.OptOut(ctx, "sms", phone, store.OptOutKeyword, "STOP") }, true},
		{"a second STOP opens none (one confirmation)", func() (bool, error) { return s.OptOut(ctx, "sms", phone, store.OptOutKeyword, "退订") }, false},
		{"START of a carrier opt-out does nothing", func() (bool, error) { return s.OptIn(ctx, "sms", phone, store.OptOutCarrier) }, false},
		{"START ends the keyword opt-out", func() (bool, error) { return s.OptIn(ctx, "sms", phone, store.OptOutKeyword) }, true},
		{"START again does nothing", func() (bool, error) { return s.OptIn(ctx, "sms", phone, store.OptOutKeyword) }, false},
		{"STOP again opens a new one", func() (bool, error) { return s.OptOut(ctx, "sms", phone, store.OptOutKeyword, "STOP") }, true},
	}
	for _, st := range steps {
		got, err := st.do()
		if err != nil || got != st.want {
			t.Fatalf("%s: %v, %v; want %v", st.name, got, err, st.want)
		}
	}
	if src, err := s.OptedOut(ctx, "sms", phone); err != nil || src != store.OptOutKeyword {
		t.Errorf("OptedOut = %q, %v", src, err)
	}
	if src, err := s.OptedOut(ctx, "sms", "+8613900139000"); err != nil || src != "" {
		t.Errorf("OptedOut of another number = %q, %v", src, err)
	}
	if _, err := s.OptOut(ctx, "fax", phone, store.OptOutKeyword, ""); !store.IsPermanent(err) {
		t.Errorf("an unknown channel: %v, want a permanent error", err)
	}

	// Loans at the number: started with it, or notified there.
	if err := s.AddLoanContacts(ctx, "L-B", []store.Contact{{Channel: "sms", Address: phone}, {Channel: "email", Address: ""}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLoanContacts(ctx, "L-B", []store.Contact{{Channel: "sms", Address: phone}}); err != nil {
		t.Fatal(err)
	}
	n := notice("L-A/0/1/3/sms", "sms")
	n.LoanID, n.Recipient = "L-A", phone
	if _, _, err := s.ReserveNotice(ctx, n); err != nil {
		t.Fatal(err)
	}
	loans, err := s.LoansByAddress(ctx, "sms", phone)
	if err != nil || !slices.Equal(loans, []string{"L-A", "L-B"}) {
		t.Errorf("LoansByAddress = %v, %v", loans, err)
	}
}

// A notice whose send gave up after handing it to the provider ends
// unknown, not failed: the receipt may still say it was delivered.
func TestFinalizeAfterTheProviderWasCalled(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()
	if _, _, err := s.ReserveNotice(ctx, notice("L-F/1", "sms")); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkProviderCalled(ctx, "L-F/1", true); err != nil {
		t.Fatal(err)
	}
	n := notice("L-F/1", "sms")
	n.Status, n.Reason = store.NoticeFailed, "send gave up"
	got, finalized, err := s.FinalizeNotice(ctx, n)
	if err != nil || !finalized || got.Status != store.NoticeUnknown || got.Reason != "outcome unknown: send gave up" {
		t.Fatalf("finalize = %s %q %v %v, want unknown", got.Status, got.Reason, finalized, err)
	}
	r, changed, err := s.ApplyReceipt(ctx, store.Receipt{Key: "L-F/1", Provider: "twilio", MessageID: "SM9", Status: store.NoticeDelivered})
	if err != nil || !changed || r.Status != store.NoticeDelivered {
		t.Errorf("receipt after: %s %v %v", r.Status, changed, err)
	}
}

// The database itself keeps notices final-only: an outcome never changes
// (but a receipt after sent or unknown), and nothing is deleted.
func TestNoticesAreFinalOnlyInTheDatabase(t *testing.T) {
	t.Parallel()
	s, url := newStore(t)
	ctx := context.Background()
	for _, key := range []string{"L-DB/sent", "L-DB/failed", "L-DB/pending"} {
		if _, _, err := s.ReserveNotice(ctx, notice(key, "sms")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CompleteNotice(ctx, "L-DB/sent", store.NoticeSent, "", "twilio", "SM1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteNotice(ctx, "L-DB/failed", store.NoticeFailed, "permanent", "", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range []struct {
		name, sql string
		ok        bool
	}{
		{"change a sent notice's text", `UPDATE notices SET body = 'edited' WHERE idempotency_key = 'L-DB/sent'`, false},
		{"turn a failure into a success", `UPDATE notices SET status = 'sent' WHERE idempotency_key = 'L-DB/failed'`, false},
		{"delete a notice", `DELETE FROM notices WHERE idempotency_key = 'L-DB/failed'`, false},
		{"delete a pending notice", `DELETE FROM notices WHERE idempotency_key = 'L-DB/pending'`, false},
		{"truncate", `TRUNCATE notices`, false},
		{"a receipt after sent", `UPDATE notices SET status = 'delivered' WHERE idempotency_key = 'L-DB/sent'`, true},
		{"complete a pending notice", `UPDATE notices SET status = 'failed', reason = 'x' WHERE idempotency_key = 'L-DB/pending'`, true},
		{"a receipt after delivered", `UPDATE notices SET status = 'undelivered' WHERE idempotency_key = 'L-DB/sent'`, false},
	} {
		_, err := conn.Exec(ctx, c.sql)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok %v", c.name, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "final-only") {
			t.Errorf("%s: %v, want the final-only refusal", c.name, err)
		}
	}
}
