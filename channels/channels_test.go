package channels

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestPermanent(t *testing.T) {
	cause := errors.New("twilio 21211: invalid 'To' number")
	tests := []struct {
		name          string
		err           error
		permanent     bool
		invalidRecip  bool
		wrapsOriginal error
	}{
		{"nil", nil, false, false, nil},
		{"plain", cause, false, false, cause},
		{"timeout", context.DeadlineExceeded, false, false, context.DeadlineExceeded},
		{"permanent", Permanent(cause), true, false, cause},
		{"permanent wrapped", fmt.Errorf("send sms: %w", Permanent(cause)), true, false, cause},
		{"sentinel", ErrPermanent, true, false, nil},
		{"invalid recipient", ErrInvalidRecipient, true, true, nil},
		{"invalid recipient wrapped", fmt.Errorf("aliyun isv.MOBILE_NUMBER_ILLEGAL: %w", ErrInvalidRecipient), true, true, nil},
		{"permanent of invalid recipient", Permanent(ErrInvalidRecipient), true, true, nil},
		{"unknown channel", fmt.Errorf("x: %w", ErrUnknownChannel), false, false, ErrUnknownChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tt.permanent)
			}
			if got := errors.Is(tt.err, ErrPermanent); got != tt.permanent {
				t.Errorf("errors.Is(ErrPermanent) = %v, want %v", got, tt.permanent)
			}
			if got := errors.Is(tt.err, ErrInvalidRecipient); got != tt.invalidRecip {
				t.Errorf("errors.Is(ErrInvalidRecipient) = %v, want %v", got, tt.invalidRecip)
			}
			if tt.wrapsOriginal != nil && !errors.Is(tt.err, tt.wrapsOriginal) {
				t.Errorf("%v does not wrap %v", tt.err, tt.wrapsOriginal)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if got := Permanent(cause).Error(); got != "permanent: "+cause.Error() {
		t.Errorf("Permanent(cause).Error() = %q", got)
	}
	if p := Permanent(cause); Permanent(p) != p {
		t.Error("Permanent of a permanent error wraps it again")
	}
}

func TestRegistry(t *testing.T) {
	sink := &DevSink{}
	r := DevRegistry(sink)
	for _, ch := range []string{SMS, Email, Push} {
		s, err := r.For(ch)
		if err != nil || s != Sender(sink) {
			t.Errorf("For(%s) = %v, %v; want the sink", ch, s, err)
		}
	}
	if _, err := r.For("fax"); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("For(fax) = %v, want ErrUnknownChannel", err)
	}
	if _, err := (Registry{SMS: nil}).For(SMS); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("For(nil sender) = %v, want ErrUnknownChannel", err)
	}
	var empty Registry
	if _, err := empty.For(SMS); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("nil Registry For = %v, want ErrUnknownChannel", err)
	}
}
