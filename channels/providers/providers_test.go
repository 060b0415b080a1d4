package providers

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"dunning/channels"
	"dunning/channels/smtp"
	"dunning/channels/twilio"
)

func TestFromEnv(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name     string
		env      map[string]string
		wantErrs []string // substrings of the error, or none
		check    func(t *testing.T, r channels.Registry)
	}{
		{name: "nothing set names every variable", env: map[string]string{},
			wantErrs: []string{"SMS_PROVIDER is not set", "EMAIL_PROVIDER is not set", "PUSH_PROVIDER is not set"}},
		{name: "all dev", env: map[string]string{"SMS_PROVIDER": "dev", "EMAIL_PROVIDER": "DEV", "PUSH_PROVIDER": " dev "},
			check: func(t *testing.T, r channels.Registry) {
				for _, ch := range []string{channels.SMS, channels.Email, channels.Push} {
					if _, ok := r[ch].(*channels.DevSink); !ok {
						t.Errorf("%s: %T, want the dev sink", ch, r[ch])
					}
				}
			}},
		{name: "unknown provider", env: map[string]string{"SMS_PROVIDER": "nexmo", "EMAIL_PROVIDER": "fcm", "PUSH_PROVIDER": "dev"},
			wantErrs: []string{`SMS_PROVIDER="nexmo" is not a provider for sms`, `EMAIL_PROVIDER="fcm" is not a provider for email`}},
		{name: "twilio without its variables", env: map[string]string{"SMS_PROVIDER": "twilio", "EMAIL_PROVIDER": "dev", "PUSH_PROVIDER": "dev"},
			wantErrs: []string{"TWILIO_ACCOUNT_SID"}},
		{name: "twilio and smtp configured", env: map[string]string{
			"SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN": "secrettoken0123456789abcdef012345",
			"TWILIO_FROM": "+15005550006", "EMAIL_PROVIDER": "smtp", "SMTP_URL": "smtp://127.0.0.1:1025",
			"MAIL_FROM": "reminders@example.cn", "PUSH_PROVIDER": "dev"},
			check: func(t *testing.T, r channels.Registry) {
				if _, ok := r[channels.SMS].(*twilio.Sender); !ok {
					t.Errorf("sms: %T", r[channels.SMS])
				}
				if _, ok := r[channels.Email].(*smtp.Sender); !ok {
					t.Errorf("email: %T", r[channels.Email])
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := FromEnv(func(k string) string { return c.env[k] }, nil, quiet)
			if len(c.wantErrs) > 0 {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range c.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "secrettoken") {
					t.Errorf("error reveals a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, r)
		})
	}
}
