package logmask

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
)

type contact struct{ Phone, Email string }

type stringer string

func (s stringer) String() string { return string(s) }

const (
	phone    = "+8613800138000"
	national = "13912345678"
	email    = "zhang.wei@example.cn"
)

var token = strings.Repeat("fcmTOKEN_", 16)

// TestHandlerMasksEverything logs personal data every way code does — in
// the message, as strings, errors, stringers, structs, groups, pre-set
// attributes, a wrapped activity error, a panic with its stack — and finds
// none of it in the output.
func TestHandlerMasksEverything(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			var next slog.Handler = slog.NewTextHandler(&buf, nil)
			if format == "json" {
				next = slog.NewJSONHandler(&buf, nil)
			}
			log := Logger(next).With("preset", "to "+phone).WithGroup("g")
			log.Info("sending to "+phone+" and "+email, "to", national, "token", token)
			log.Error("failed", "error", fmt.Errorf("send: %w", errors.New("invalid number "+phone)))
			log.Warn("stringer", "who", stringer("mail "+email))
			log.Warn("struct", "contact", contact{Phone: phone, Email: email}, "bytes", []byte(national))
			log.Warn("group", slog.Group("customer", "phone", phone, slog.Group("inner", "email", email)))
			log.Error("activity failed", "error", temporal.NewApplicationError("provider refused "+phone, "Refused"))
			func() {
				defer func() {
					if p := recover(); p != nil {
						log.Error("panic", "panic", p, "stack", fmt.Sprintf("goroutine 1 [running]: send(%q)", email))
					}
				}()
				panic("cannot reach " + phone)
			}()
			out := buf.String()
			for _, secret := range []string{phone, national, email, token, "13800138000", "zhang.wei"} {
				if strings.Contains(out, secret) {
					t.Errorf("log holds %q:\n%s", secret, out)
				}
			}
			for _, masked := range []string{"+86138****8000", "z***@example.cn", "fcmT****", "139****5678"} {
				if !strings.Contains(out, masked) {
					t.Errorf("log lacks the mask %q:\n%s", masked, out)
				}
			}
			// What holds no personal data passes unchanged.
			buf.Reset()
			Logger(next).Info("loan L-2026-0001 overdue", "days", 7, "amount", "1068.50", "key", "L-2026-0001/1/1/7/sms")
			if !strings.Contains(buf.String(), "L-2026-0001/1/1/7/sms") || !strings.Contains(buf.String(), "1068.50") {
				t.Errorf("harmless values changed: %s", buf.String())
			}
		})
	}
}
