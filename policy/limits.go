package policy

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what a loan, a repayment, a contact update or an operator's
// signal may carry. Every one is enforced by the Validate functions (so the
// API, the starter's import and the workflow's validators refuse the same
// input) and, for what JSON alone can say, by DecodeJSON.
//
// Lengths of identifiers, phones, emails, push tokens, locales and time zones
// are in bytes: they are ASCII by their own rules, and bytes are what a
// database column, a workflow id or a provider's API limits. Names and
// reasons are human text and are counted in characters (runes).
const (
	// MaxLoanIDLen bounds loan_id: it becomes part of the workflow id
	// ("loan-<id>"), of every notice's idempotency key and of a URL path.
	MaxLoanIDLen = 64
	// MaxTxnIDLen bounds a repayment's txn_id: it becomes part of the repay
	// update id and of confirmation notices' idempotency keys. Bank and
	// payment-gateway references are 16–64 characters.
	MaxTxnIDLen = 128
	// MaxCustomerIDLen bounds customer.id, stored in the CustomerId search
	// attribute (a Keyword) and the collections case.
	MaxCustomerIDLen = 128
	// MaxPolicyNameLen bounds a policy name, in a loan and in a policy file.
	MaxPolicyNameLen = 64
	// MaxNameLen bounds customer.name, in characters. It is rendered into SMS
	// and email notices; 200 is several times the longest legal names that
	// identity documents hold (ICAO passports print 39 characters).
	MaxNameLen = 200
	// MaxPhoneLen bounds a phone number: E.164 allows at most 15 digits,
	// written after a "+".
	MaxPhoneLen = 16
	// MaxEmailLen bounds an email address: RFC 5321 limits a forward path to
	// 256 octets including the angle brackets, so an address has at most 254.
	MaxEmailLen = 254
	// MaxPushTokenLen bounds customer.push_token, in bytes. FCM registration
	// tokens are about 160–250 characters and APNs device tokens 64 hex
	// digits; 4096 leaves room for longer formats (a Web Push subscription
	// serialised as JSON is under 1 KiB) without letting a loan carry an
	// unbounded blob into every workflow history and notice row.
	MaxPushTokenLen = 4096
	// MaxLocaleLen bounds customer.locale: RFC 5646 §4.4.1 asks that language
	// tags of up to 35 characters be supported, and templates exist only for
	// short ones such as zh-CN.
	MaxLocaleLen = 35
	// MaxTimeZoneLen bounds customer.time_zone. The longest IANA zone name
	// is 32 characters (America/Argentina/ComodRivadavia).
	MaxTimeZoneLen = 64
	// MaxReasonLen bounds the free-text reason of an operator action (pause,
	// resume, close, contact update, reschedule), in characters: it goes into
	// the ledger and the Web UI.
	MaxReasonLen = 500
	// MaxActorLen bounds the actor of an operator action, in bytes: the
	// operator's id or work email as the lender's identity system knows it
	// ("li.wei", "ops.li@lender.cn", "svc-backoffice"). Staff emails and
	// directory ids are far shorter; 128 is the bound of the other ids.
	MaxActorLen = 128
	// MaxOptOuts bounds customer.opt_outs: each channel at most once, so no
	// more than there are channels (AllChannels).
	MaxOptOuts = 3
	// MaxInstallments bounds the installments of a loan and of a reschedule.
	// The longest schedules lenders write are 50-year monthly mortgages (600
	// installments; Japan's flat-35 and 50-year loans, 40-year UK ones fit
	// too), and a daily-repayment microloan of a year has 365. The bound keeps
	// a loan's workflow input (about 100 bytes an installment) far below
	// Temporal's 2 MB payload limit and bounds the balance replay.
	MaxInstallments = 600
	// MaxDebtAgeDays is how long before now (five years, 1826 days) a loan's
	// first installment may have fallen due when the loan is started
	// (ValidateLoanAt). A lender sends the schedule still to be collected,
	// not installments settled before dunning took over, so a first due date
	// that old is either a typo (2016 for 2026) or a debt unpaid for five
	// years: charged off the moment it starts, and time-barred in most
	// jurisdictions (three years in China, three to six in US states, six in
	// England). Either way it must not be dunned.
	MaxDebtAgeDays = 1826
	// MaxPaidBeforeFirstDueDays is how long before the loan's first due
	// date (five years, 1826 days) a repayment's paid_at may lie. The loan
	// has no origination date; a first installment falls due weeks or months
	// after disbursement, and even a student loan's deferment is under five
	// years, so money paid earlier than this cannot be for this loan.
	MaxPaidBeforeFirstDueDays = 1826
)

// Limits on a policy: its ladder, checked by Policy.Validate whatever the
// policy's source, and the text of a policy sent with a request rather than
// shipped (ParseInline: POST /v1/preview).
const (
	// MaxLadderRungs bounds a policy's reminder ladder. DESIGN.md's has 10;
	// the workflow walks the ladder at every wake-up of every loan.
	MaxLadderRungs = 64
	// MinRungOffset and MaxRungOffset bound a rung's offset from the due
	// date of the installment that drives it, in days: from a year before
	// it to ten years after (DESIGN.md's charge-off is at +90).
	MinRungOffset = -365
	MaxRungOffset = 3650
	// MaxPolicyBytes bounds the text of an inline policy, YAML or JSON:
	// policies/default.yaml is under 3 KiB.
	MaxPolicyBytes = 64 << 10
)

// MinDate and MaxDate bound every date and time dunning accepts: installment
// due dates (ValidateInstallments), a repayment's paid_at
// (ValidateRepayment) and every time in a JSON body (DecodeJSON). A time is
// compared by its calendar date in its own offset. Nothing dunned today fell
// due before 2000, and a 50-year mortgage starting now ends well before 2100;
// outside the window a date is a typo, an epoch default (1970-01-01) or an
// unset value (Go's 0001-01-01T00:00:00Z, which the API would otherwise take
// for "no paid_at, use now"). They are variables only because a Date cannot
// be a constant: do not change them.
var (
	MinDate = Date{2000, time.January, 1}
	MaxDate = Date{2100, time.December, 31}
)

// dateProblem returns why d is outside [MinDate, MaxDate], or "".
func dateProblem(d Date) string {
	if d.Before(MinDate) || d.After(MaxDate) {
		return fmt.Sprintf("%s is out of range: want a date from %s to %s", d, MinDate, MaxDate)
	}
	return ""
}

// timeProblem returns why t cannot be taken as a time, or "": its calendar
// date is outside [MinDate, MaxDate], or its UTC offset is 24 hours or more.
// time.Parse reads "+24:00" (and "+23:60") as an offset of a whole day, but
// encoding/json cannot write such a time back, so Temporal's data converter
// could not carry it to a workflow: the API would fail after validating it.
func timeProblem(t time.Time) string {
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		return fmt.Sprintf("%s has a UTC offset of 24 hours or more: want an offset from -23:59 to +23:59", t.Format(time.RFC3339))
	}
	if d := DateOf(t); d.Before(MinDate) || d.After(MaxDate) {
		return fmt.Sprintf("%s is out of range: want a time from %s to %s", t.Format(time.RFC3339), MinDate, MaxDate)
	}
	return ""
}

// textProblem returns why s is not acceptable as text in any field, or "".
// Text must be valid UTF-8 and hold no control characters (unicode.IsControl:
// NUL, tab, newline, DEL, C1), no line or paragraph separators (U+2028,
// U+2029: newlines by another name), no bidirectional embedding, override or
// isolate controls (U+202A–U+202E, U+2066–U+2069: they can make a notice
// show an amount or a name reversed; right-to-left text needs none of them)
// and no U+FFFD, the replacement character that decoding leaves for bytes
// that were not text (encoding/json also turns an unpaired surrogate escape
// such as "\ud800" into it). A field's value reaches notices, logs, the
// ledger, CSV exports and the Web UI, where any of these can break a line or
// hide text.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("must not contain control characters (found %U)", r)
		case r == '\u2028' || r == '\u2029':
			return fmt.Sprintf("must not contain line or paragraph separators (found %U)", r)
		case r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069':
			return fmt.Sprintf("must not contain bidirectional formatting characters (found %U)", r)
		case r == utf8.RuneError:
			return "must not contain U+FFFD (a replacement character: the text was mis-encoded, or had an unpaired surrogate)"
		}
	}
	return ""
}

// textLenProblem returns why s is not text of at most max characters, or "".
func textLenProblem(s string, max int) string {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, n)
	}
	return textProblem(s)
}

// idProblem returns why s is not a usable identifier, or "". An identifier
// is 1 to max bytes of ASCII letters, digits, '.', '_' and '-' that starts
// with a letter or a digit: it is safe in a workflow id, an idempotency key,
// a file name and a URL path segment, and "." and ".." (which a URL path
// cannot name) and "-x" (which a command line takes for a flag) are not ids.
func idProblem(s string, max int) string {
	if s == "" {
		return "must not be empty"
	}
	if len(s) > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, len(s))
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i == 0 && !alnum {
			return fmt.Sprintf("%q: must start with a letter or a digit", s)
		}
		if !alnum && r != '.' && r != '_' && r != '-' {
			return fmt.Sprintf("%q: use only letters A-Z a-z, digits, '.', '_' and '-'", s)
		}
	}
	return ""
}

// ValidateID checks that s is a usable identifier of at most maxLen bytes:
// ASCII letters, digits, '.', '_' and '-', starting with a letter or a digit
// (so "." , ".." and "-x" are refused). Loan ids (MaxLoanIDLen), customer
// ids (MaxCustomerIDLen), txn_ids (MaxTxnIDLen) and policy names follow this
// rule. It returns nil or a ValidationError naming field.
func ValidateID(field, s string, maxLen int) error {
	if msg := idProblem(s, maxLen); msg != "" {
		return ValidationError{{Field: field, Problem: msg}}
	}
	return nil
}

// ValidateReason checks the free-text reason of an operator action (pause,
// resume, close, contact update, reschedule): at most MaxReasonLen characters of text (see DecodeJSON for
// what text may not contain: no control characters, not even a newline), and
// not blank when required (every operator action needs one; runs recorded
// before that required it only for a close). It returns nil or a
// ValidationError naming field.
func ValidateReason(field, s string, required bool) error {
	msg := textLenProblem(s, MaxReasonLen)
	if msg == "" && required && strings.TrimSpace(s) == "" {
		msg = "must not be empty"
	}
	if msg != "" {
		return ValidationError{{Field: field, Problem: msg}}
	}
	return nil
}

// ValidateActor checks who took an operator action: required, 1 to
// MaxActorLen bytes of ASCII letters, digits and '.', '_', '-', '@', '+',
// starting with a letter or a digit. That admits operator ids and email
// addresses (local part and domain) and keeps out spaces, quotes, control
// characters and anything a CSV cell, a log line or the Web UI could take
// for markup. The actor is the lender's staff identity, not the borrower's
// personal data: the ledger keeps it in full, and it goes nowhere else (no
// log line, metric label, search attribute or current details). It returns
// nil or a ValidationError naming field.
func ValidateActor(field, s string) error {
	if msg := actorProblem(s); msg != "" {
		return ValidationError{{Field: field, Problem: msg}}
	}
	return nil
}

// actorProblem returns why s cannot name an operator, or "".
func actorProblem(s string) string {
	if s == "" {
		return "must not be empty: say who takes the action (an operator id or email)"
	}
	if len(s) > MaxActorLen {
		return fmt.Sprintf("must be at most %d characters, got %d", MaxActorLen, len(s))
	}
	for i, r := range s {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i == 0 && !alnum {
			return fmt.Sprintf("%q: must start with a letter or a digit", s)
		}
		if !alnum && !strings.ContainsRune("._-@+", r) {
			return fmt.Sprintf("%q: use only letters A-Z a-z, digits, '.', '_', '-', '@' and '+'", s)
		}
	}
	return ""
}

// ClockSkew is how far in the future a repayment's paid_at may lie: the
// lending system's clock, the API's and the workflow's task time are never
// exactly equal. The API and the workflow's validator allow the same.
const ClockSkew = 2 * time.Minute
