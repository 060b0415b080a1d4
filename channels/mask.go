package channels

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// stars hides the middle of an address; always four, so the mask does not
// leak the length.
const stars = "****"

// MaskPhone hides the middle of a phone number for logs, keeping enough to
// tell numbers apart in support: the leading "+", up to five leading digits
// (country code and prefix) and the last four, with at least four digits
// hidden: "+8613800138000" becomes "+86138****8000". Separators are dropped.
// Numbers too short to mask safely show only stars.
func MaskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	plus := ""
	if strings.HasPrefix(strings.TrimSpace(phone), "+") {
		plus = "+"
	}
	var digits []byte
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	const tail, hidden, maxHead = 4, 4, 5
	n := len(digits)
	if n < tail+hidden {
		return plus + stars
	}
	head := min(maxHead, n-tail-hidden)
	return plus + string(digits[:head]) + stars + string(digits[n-tail:])
}

// MaskEmail hides the local part of an email address for logs, keeping its
// first character and the domain: "zhang.wei@example.cn" becomes
// "z***@example.cn". A string without "@" shows only its first character.
func MaskEmail(email string) string {
	if email == "" {
		return ""
	}
	local, domain := email, ""
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local, domain = email[:at], email[at:]
	}
	first := ""
	if r, size := utf8.DecodeRuneInString(local); size > 0 && r != utf8.RuneError {
		first = string(r)
	}
	return first + "***" + domain
}

// MaskToken hides a push device token for logs, keeping its first four
// characters so a support engineer can match it against the app's.
func MaskToken(token string) string {
	if token == "" {
		return ""
	}
	if len(token) <= 8 {
		return stars
	}
	return token[:4] + stars
}

// MaskRecipient masks an address for logs by the rule of its channel; an
// unknown channel masks everything.
func MaskRecipient(channel, to string) string {
	switch channel {
	case SMS:
		return MaskPhone(to)
	case Email:
		return MaskEmail(to)
	case Push:
		return MaskToken(to)
	default:
		if to == "" {
			return ""
		}
		return stars
	}
}

// Patterns MaskText looks for in free text. Phones: an E.164 number (a "+"
// and 8 to 15 digits, spaces or dashes allowed between them) or a mainland
// China mobile number written nationally (11 digits from 13… to 19…).
// Emails: anything@domain.tld. Push tokens: a run of 100 or more token
// characters (FCM registration tokens are 140 and more; nothing else we log
// is that long without a space).
var (
	textPhoneRE = regexp.MustCompile(`\+[0-9](?:[ \-]?[0-9]){7,14}|\b1[3-9][0-9]{9}\b`)
	textEmailRE = regexp.MustCompile(`[^\s<>()\[\]\\,;:"'@=]+@[^\s<>()\[\]\\,;:"'@]+\.[A-Za-z]{2,}`)
	textTokenRE = regexp.MustCompile(`[A-Za-z0-9_:\-]{100,}`)
)

// MaskText masks every phone number, email address and push token it finds
// in free text — an error, a provider's reply, a panic value — with the same
// rules as MaskRecipient. It is the one masking function behind every log
// line (internal/logmask wraps the loggers of the worker, the API and the
// CLI with it) and behind provider messages kept in the notices table.
func MaskText(s string) string {
	s = textTokenRE.ReplaceAllStringFunc(s, MaskToken)
	s = textEmailRE.ReplaceAllStringFunc(s, MaskEmail)
	return textPhoneRE.ReplaceAllStringFunc(s, MaskPhone)
}
