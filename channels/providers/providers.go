// Package providers builds the worker's channels.Registry from the
// environment: which provider delivers each channel (SMS_PROVIDER,
// EMAIL_PROVIDER, PUSH_PROVIDER) and that provider's settings. A channel
// whose provider is not chosen is a configuration error: the worker refuses
// to start, naming the variables, rather than run loans whose notices would
// fail for hours.
package providers

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"dunning/channels"
	"dunning/channels/aliyun"
	"dunning/channels/fcm"
	"dunning/channels/smtp"
	"dunning/channels/twilio"
)

// Provider names, as the …_PROVIDER variables take them.
const (
	Dev    = "dev"
	Twilio = "twilio"
	Aliyun = "aliyun"
	SMTP   = "smtp"
	FCM    = "fcm"
)

// choices are the providers each channel can use, in the order listed in
// errors.
var choices = []struct {
	channel, variable string
	providers         []string
}{
	{channels.SMS, "SMS_PROVIDER", []string{Twilio, Aliyun, Dev}},
	{channels.Email, "EMAIL_PROVIDER", []string{SMTP, Dev}},
	{channels.Push, "PUSH_PROVIDER", []string{FCM, Dev}},
}

// FromEnv returns the registry of senders the environment configures, and
// every problem at once: a channel with no provider, an unknown provider, a
// provider whose variables are missing. sink is the dev sink for channels
// set to "dev" (nil: a new one logging to log).
func FromEnv(getenv func(string) string, sink *channels.DevSink, log *slog.Logger) (channels.Registry, error) {
	if sink == nil {
		sink = &channels.DevSink{Logger: log}
	}
	reg := channels.Registry{}
	var errs []error
	for _, c := range choices {
		name := strings.ToLower(strings.TrimSpace(getenv(c.variable)))
		var (
			s   channels.Sender
			err error
		)
		switch {
		case name == "":
			err = fmt.Errorf("%s is not set: choose %s for %s", c.variable, strings.Join(c.providers, ", "), c.channel)
		case !contains(c.providers, name):
			err = fmt.Errorf("%s=%q is not a provider for %s: choose %s", c.variable, name, c.channel, strings.Join(c.providers, ", "))
		default:
			s, err = build(name, getenv, sink)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reg[c.channel] = s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("delivery providers: %w", err)
	}
	return reg, nil
}

// build makes the sender of provider name.
func build(name string, getenv func(string) string, sink *channels.DevSink) (channels.Sender, error) {
	switch name {
	case Twilio:
		c, err := twilio.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return twilio.New(c)
	case Aliyun:
		c, err := aliyun.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return aliyun.New(c)
	case SMTP:
		c, err := smtp.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return smtp.New(c)
	case FCM:
		c, err := fcm.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return fcm.New(c)
	}
	return sink, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
