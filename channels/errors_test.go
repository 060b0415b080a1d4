package channels

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"30", 30 * time.Second}, {" 5 ", 5 * time.Second}, {"-3", 0},
		{now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0}, {"soon", 0},
	} {
		h := http.Header{}
		if c.v != "" {
			h.Set("Retry-After", c.v)
		}
		if got := ParseRetryAfter(h, now); got != c.want {
			t.Errorf("Retry-After %q = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestScrubProviderMessage(t *testing.T) {
	got := ScrubProviderMessage("To +8613800138000 (13800138000) is not valid; also 8613900139000", "+8613800138000", "13800138000", "")
	for _, leak := range []string{"13800138000", "13900139000"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q leaks %s", got, leak)
		}
	}
	long := ScrubProviderMessage(strings.Repeat("x ", MaxProviderMessage))
	if len([]rune(long)) != MaxProviderMessage+1 || !strings.HasSuffix(long, "…") {
		t.Errorf("a long message is not cut: %d runes", len([]rune(long)))
	}
}

func TestErrorMarks(t *testing.T) {
	base := errors.New("503 Service Unavailable")
	for _, c := range []struct {
		name        string
		err         error
		notAccepted bool
		permanent   bool
		delay       time.Duration
	}{
		{"plain (a timeout)", base, false, false, 0},
		{"not accepted", NotAccepted(base), true, false, 0},
		{"retry after", RetryAfter(base, time.Minute), true, false, time.Minute},
		{"permanent", Permanent(base), true, true, 0},
		{"invalid recipient", ErrInvalidRecipient, true, true, 0},
	} {
		if IsNotAccepted(c.err) != c.notAccepted || IsPermanent(c.err) != c.permanent || RetryDelay(c.err) != c.delay {
			t.Errorf("%s: not accepted %v permanent %v delay %s", c.name, IsNotAccepted(c.err), IsPermanent(c.err), RetryDelay(c.err))
		}
		if c.err != ErrInvalidRecipient && !errors.Is(c.err, base) {
			t.Errorf("%s: the cause is lost", c.name)
		}
		if !strings.Contains(c.err.Error(), "503") && c.err != ErrInvalidRecipient {
			t.Errorf("%s: message %q", c.name, c.err)
		}
	}
	if NotAccepted(nil) != nil || RetryAfter(nil, time.Second) != nil {
		t.Error("marking nil is not nil")
	}
	if !Deduplicates(&DevSink{}) || Deduplicates(Registry{}.senderOrNil()) {
		t.Error("Deduplicates")
	}
}

// senderOrNil is a Sender that does not deduplicate, for TestErrorMarks.
func (Registry) senderOrNil() Sender { return plain{} }

type plain struct{}

func (plain) Send(context.Context, Message) (Receipt, error) { return Receipt{}, nil }
