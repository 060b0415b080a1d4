package channels

import (
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
