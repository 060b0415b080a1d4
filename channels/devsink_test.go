package channels

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func newSink(buf *bytes.Buffer) *DevSink {
	return &DevSink{Logger: slog.New(slog.NewTextHandler(buf, nil))}
}

func sms(key string) Message {
	return Message{IdempotencyKey: key, Channel: SMS, To: "+8613800138000", Template: "overdue_firm",
		Locale: "zh-CN", Text: "您的还款已逾期 7 天"}
}

func TestDevSinkSend(t *testing.T) {
	var buf bytes.Buffer
	sink := newSink(&buf)
	ctx := context.Background()
	key := "L-2026-0001/1/1/7/sms"

	before := time.Now().UTC()
	r, err := sink.Send(ctx, sms(key))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Provider != DevProvider || r.MessageID != DevMessageID(key) || r.AcceptedAt.Before(before) {
		t.Errorf("receipt = %+v", r)
	}
	if !strings.HasPrefix(r.MessageID, "dev-") || len(r.MessageID) != len("dev-")+16 {
		t.Errorf("message id %q is not dev- and 16 hex digits", r.MessageID)
	}
	again, err := sink.Send(ctx, sms(key))
	if err != nil || again.MessageID != r.MessageID {
		t.Errorf("second Send = %+v, %v; want the same message id", again, err)
	}
	if other, _ := sink.Send(ctx, sms(key+"x")); other.MessageID == r.MessageID {
		t.Error("two keys share a message id")
	}
	if got := sink.Sent(key); got != 1 {
		t.Errorf("Sent(key) = %d, want 1: a repeated key is not delivered again", got)
	}
	if got := sink.Sent("never"); got != 0 {
		t.Errorf("Sent(never) = %d, want 0", got)
	}

	logged := buf.String()
	for _, want := range []string{`msg="sms to +86138****8000"`, "template=overdue_firm", "key=" + key, "message_id=" + r.MessageID} {
		if !strings.Contains(logged, want) {
			t.Errorf("log lacks %q:\n%s", want, logged)
		}
	}
	for _, secret := range []string{"+8613800138000", "13800138000", "逾期"} {
		if strings.Contains(logged, secret) {
			t.Errorf("log leaks %q:\n%s", secret, logged)
		}
	}
}

func TestDevSinkMasksEveryChannel(t *testing.T) {
	tests := []struct {
		m      Message
		want   string
		secret string
	}{
		{Message{IdempotencyKey: "k1", Channel: Email, To: "zhang.wei@example.cn", Subject: "逾期提醒"}, "email to z***@example.cn", "zhang.wei"},
		{Message{IdempotencyKey: "k2", Channel: Push, To: "fcm-token-0123456789", Title: "提醒"}, "push to fcm-****", "token-0123456789"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if _, err := newSink(&buf).Send(context.Background(), tt.m); err != nil {
			t.Fatalf("Send(%s): %v", tt.m.Channel, err)
		}
		if !strings.Contains(buf.String(), tt.want) || strings.Contains(buf.String(), tt.secret) {
			t.Errorf("%s log = %s; want %q and not %q", tt.m.Channel, buf.String(), tt.want, tt.secret)
		}
	}
}

func TestDevSinkRejectsBadMessages(t *testing.T) {
	tests := map[string]Message{
		"no key":          {Channel: SMS, To: "+8613800138000"},
		"unknown channel": {IdempotencyKey: "k", Channel: "fax", To: "+8613800138000"},
		"no recipient":    {IdempotencyKey: "k", Channel: SMS},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			sink := newSink(&buf)
			if _, err := sink.Send(context.Background(), m); !IsPermanent(err) {
				t.Errorf("Send = %v, want a permanent error", err)
			}
			if sink.Sent(m.IdempotencyKey) != 0 || buf.Len() != 0 {
				t.Error("a rejected message was counted or logged")
			}
		})
	}
}

func TestDevSinkCanceledContext(t *testing.T) {
	sink := newSink(new(bytes.Buffer))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sink.Send(ctx, sms("k"))
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Errorf("Send on canceled ctx = %v, want a retryable context.Canceled", err)
	}
	if sink.Sent("k") != 0 {
		t.Error("a canceled send was counted")
	}
}

func TestDevSinkFailAfterAccept(t *testing.T) {
	sink := newSink(new(bytes.Buffer))
	sink.FailAfterAccept = func(key string) bool { return key == "lost" }
	ctx := context.Background()

	_, err := sink.Send(ctx, sms("lost"))
	if err == nil || IsPermanent(err) {
		t.Fatalf("Send = %v, want a retryable error", err)
	}
	if got := sink.Sent("lost"); got != 1 {
		t.Errorf("Sent(lost) = %d, want 1: the provider accepted it", got)
	}
	if _, err := sink.Send(ctx, sms("fine")); err != nil {
		t.Errorf("Send(fine) = %v", err)
	}
	// The retry after the lost response gets the receipt, not a second delivery.
	sink.FailAfterAccept = nil
	if r, err := sink.Send(ctx, sms("lost")); err != nil || r.MessageID != DevMessageID("lost") {
		t.Errorf("retry = %+v, %v; want the first receipt", r, err)
	}
	if got := sink.Sent("lost"); got != 1 {
		t.Errorf("Sent(lost) after retry = %d, want 1", got)
	}
}

func TestDevSinkReject(t *testing.T) {
	sink := newSink(new(bytes.Buffer))
	sink.Reject = func(m Message) error {
		if m.To == "+8613800000000" {
			return ErrInvalidRecipient
		}
		return nil
	}
	m := sms("dead")
	m.To = "+8613800000000"
	_, err := sink.Send(context.Background(), m)
	if !errors.Is(err, ErrInvalidRecipient) || !IsPermanent(err) {
		t.Errorf("Send = %v, want ErrInvalidRecipient", err)
	}
	if strings.Contains(err.Error(), m.To) {
		t.Errorf("error %q leaks the number", err)
	}
	if sink.Sent("dead") != 0 {
		t.Error("a rejected message was counted")
	}
}

func TestDevSinkConcurrent(t *testing.T) {
	var sink DevSink
	sink.Logger = slog.New(slog.DiscardHandler)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := sink.Send(context.Background(), sms("same")); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got := sink.Sent("same"); got != 1 {
		t.Errorf("Sent = %d, want 1 out of %d calls", got, workers*each)
	}
}

func TestDevMessageIDStable(t *testing.T) {
	// sha256("k") = 8254c329a92850f6...
	if got := DevMessageID("k"); got != "dev-8254c329a92850f6" {
		t.Errorf("DevMessageID(k) = %s", got)
	}
}
