package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"dunning/channels"
	"dunning/policy"
)

// plainSender is a provider without idempotency keys (Twilio, FCM, SMTP):
// it wraps the dev sink but does not deduplicate, and fails as told.
type plainSender struct {
	sink *channels.DevSink
	fail []error // one per call, nil: deliver
	took int     // deliveries (even when the answer is "lost")
}

func (p *plainSender) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	var err error
	if len(p.fail) > 0 {
		err, p.fail = p.fail[0], p.fail[1:]
	}
	if errors.Is(err, errTookIt) {
		p.took++
		return channels.Receipt{}, err
	}
	if err != nil {
		return channels.Receipt{}, err
	}
	p.took++
	return channels.Receipt{Provider: "plain", MessageID: "P-" + m.IdempotencyKey, AcceptedAt: time.Now()}, nil
}

// errTookIt: the provider took the message, then the connection dropped.
var errTookIt = errors.New("read: connection reset by peer")

// A provider that cannot deduplicate is never called twice for a notice it
// may already have: the outcome is "unknown" (the receipt settles it). After
// a sure refusal (429 with Retry-After, a 5xx answered as NotAccepted) it is
// called again, and a Retry-After is passed on as the next retry delay.
func TestSendNoticeToAProviderWithoutIdempotency(t *testing.T) {
	tests := []struct {
		name        string
		fail        []error
		wantFirst   string // "retry" or a status
		wantDelay   time.Duration
		wantFinal   string
		wantDeliver int
	}{
		{"answer lost after it took it: unknown, not sent twice", []error{errTookIt}, "retry", 0, StatusUnknown, 1},
		{"429 with Retry-After: sent on the retry", []error{channels.RetryAfter(errors.New("429 Too Many Requests"), 30*time.Second)}, "retry", 30 * time.Second, StatusSent, 1},
		{"503 not accepted: sent on the retry", []error{channels.NotAccepted(errors.New("503 Service Unavailable"))}, "retry", 0, StatusSent, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, modes()[0])
			ps := &plainSender{sink: f.sink, fail: tt.fail}
			f.acts.Senders = channels.Registry{"sms": ps}
			key := "L-2026-0001/0/1/7/sms"
			req := noticeRequest(key, policy.SMS, "en", testPhone)
			_, err := f.acts.SendNotice(context.Background(), req)
			if err == nil {
				t.Fatal("first attempt succeeded")
			}
			var app *temporal.ApplicationError
			delay := time.Duration(0)
			if errors.As(err, &app) {
				delay = app.NextRetryDelay()
			}
			if delay != tt.wantDelay {
				t.Errorf("next retry delay %s, want %s", delay, tt.wantDelay)
			}
			res, err := f.acts.SendNotice(context.Background(), req)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if res.Status != tt.wantFinal || ps.took != tt.wantDeliver {
				t.Errorf("retry: %s with %d deliveries, want %s with %d", res.Status, ps.took, tt.wantFinal, tt.wantDeliver)
			}
			if row := f.store.notice(t, key); row.Status != tt.wantFinal {
				t.Errorf("row %s, want %s", row.Status, tt.wantFinal)
			}
			// A third attempt (the activity retried once more) changes nothing.
			again, err := f.acts.SendNotice(context.Background(), req)
			if err != nil || again.Status != tt.wantFinal || ps.took != tt.wantDeliver {
				t.Errorf("third attempt: %+v, %v, %d deliveries", again, err, ps.took)
			}
		})
	}
}

// countingRecorder keeps what the activities counted.
type countingRecorder struct{ notices, optOuts []string }

func (c *countingRecorder) Notice(ch, tmpl, status string) {
	c.notices = append(c.notices, ch+"/"+tmpl+"/"+status)
}
func (c *countingRecorder) OptOut(ch, source string) { c.optOuts = append(c.optOuts, ch+"/"+source) }

func TestSendNoticeCounts(t *testing.T) {
	f := newFixture(t, modes()[0])
	rec := &countingRecorder{}
	f.acts.Metrics = rec
	if _, err := f.acts.SendNotice(context.Background(), noticeRequest("L-1/0/1/7/sms", policy.SMS, "en", testPhone)); err != nil {
		t.Fatal(err)
	}
	f.sink.Reject = func(channels.Message) error { return channels.ErrInvalidRecipient }
	if _, err := f.acts.SendNotice(context.Background(), noticeRequest("L-1/0/1/7/email", policy.Email, "en", testEmail)); err != nil {
		t.Fatal(err)
	}
	f.sink.Reject = func(channels.Message) error { return errors.New("timeout") }
	if _, err := f.acts.SendNotice(context.Background(), noticeRequest("L-1/0/1/7/push", policy.Push, "en", testToken)); err == nil {
		t.Fatal("want a retryable error")
	}
	want := []string{"sms/overdue_firm/sent", "email/overdue_firm/failed"}
	if len(rec.notices) != 2 || rec.notices[0] != want[0] || rec.notices[1] != want[1] {
		t.Errorf("notices counted %v, want %v (a retried attempt is not an outcome)", rec.notices, want)
	}
	if len(rec.optOuts) != 1 || rec.optOuts[0] != "email/invalid_recipient" {
		t.Errorf("opt-outs counted %v", rec.optOuts)
	}
}
