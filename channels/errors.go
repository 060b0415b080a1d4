package channels

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ParseRetryAfter reads an HTTP Retry-After header, in seconds or as an HTTP
// date, as of now; 0 when it is absent, unreadable or in the past. Provider
// adapters turn it into RetryAfter.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return max(0, time.Duration(secs)*time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now).Round(time.Second))
	}
	return 0
}

// phoneLike matches what may be a phone number in a provider's message: a
// run of seven or more digits, with its "+".
var phoneLike = regexp.MustCompile(`\+?[0-9]{7,}`)

// MaxProviderMessage bounds how much of a provider's message goes into an
// error (and from there into the notices table and logs).
const MaxProviderMessage = 300

// ScrubProviderMessage makes a provider's error message safe to keep: it
// masks every form of the recipient given (the E.164 number and, for
// providers that echo it, the national form) and anything else that looks
// like a phone number, and bounds the length.
func ScrubProviderMessage(s string, recipients ...string) string {
	for _, to := range recipients {
		if to != "" {
			s = strings.ReplaceAll(s, to, MaskPhone(to))
		}
	}
	s = phoneLike.ReplaceAllStringFunc(MaskText(s), MaskPhone)
	if r := []rune(s); len(r) > MaxProviderMessage {
		s = string(r[:MaxProviderMessage]) + "…"
	}
	return s
}
