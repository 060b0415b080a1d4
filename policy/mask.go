package policy

import "strings"

// MaskPhone hides the middle of a phone number for logs, keeping enough to
// tell numbers apart when debugging: "+8613800138000" → "+86138****8000".
// At least four characters are always hidden and the mask is always four
// stars, so the log does not reveal the number's length either. The audit
// table keeps the full recipient; logs never should.
func MaskPhone(phone string) string {
	r := []rune(phone)
	n := len(r)
	switch {
	case n == 0:
		return ""
	case n < 8: // too short to show any of it safely
		return "****"
	}
	tail := 4
	if n < 10 {
		tail = 2
	}
	head := min(6, n-tail-4)
	return string(r[:head]) + "****" + string(r[n-tail:])
}

// MaskEmail hides an email address's local part but its first character for
// logs: "zhang.wei@example.cn" → "z***@example.cn". The domain stays, since
// it is what tells a bounce from a provider outage. A one-character local
// part is hidden completely; a string with no @ is masked the same way as a
// local part.
func MaskEmail(email string) string {
	if email == "" {
		return ""
	}
	local, domain := email, ""
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		local, domain = email[:i], email[i:]
	}
	r := []rune(local)
	if len(r) <= 1 {
		return "***" + domain
	}
	return string(r[:1]) + "***" + domain
}
