// Package replies reads what a borrower answers to an SMS: the opt-out
// keywords carriers and regulators require to be honoured (STOP, 退订…) and
// the ones that reverse them (START, UNSTOP), and words the confirmation
// that goes back, at most once per opt-out. It is pure: the API's inbound
// webhooks call it and act on the answer.
package replies

import (
	"strings"
	"unicode"
)

// Action is what a reply asks for.
type Action int

// Actions a reply can ask for.
const (
	None   Action = iota // not a keyword: a question or a note for the collector
	OptOut               // stop all SMS to this number
	OptIn                // reverse an opt-out made by keyword
)

func (a Action) String() string {
	switch a {
	case OptOut:
		return "opt_out"
	case OptIn:
		return "opt_in"
	}
	return "none"
}

// optOutWords are the opt-out keywords, upper-case, single-spaced: the
// industry's (CTIA: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT; OPT OUT,
// OPTOUT, REVOKE) and China's (T and TD as in "回T退订", and 退订).
var optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPT OUT", "OPTOUT", "REVOKE", "T", "TD", "退订"}

// optInWords reverse an opt-out made by keyword.
var optInWords = []string{"START", "UNSTOP"}

// Parse reads a reply: the whole body must be one keyword, in any case, with
// any spaces and punctuation around it ("Stop.", " 退订！", "opt-out"). A keyword inside a sentence ("please stop calling my
// mother") is not an opt-out: a person reads those. It returns the action and
// the keyword as matched.
func Parse(body string) (Action, string) {
	w := normalize(body)
	for _, k := range optOutWords {
		if w == k {
			return OptOut, k
		}
	}
	for _, k := range optInWords {
		if w == k {
			return OptIn, k
		}
	}
	return None, ""
}

// normalize reads punctuation and symbols as spaces ("opt-out" is "OPT
// OUT"), drops the spaces around s, collapses those inside to one and
// upper-cases it.
func normalize(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return ' '
		}
		return r
	}, s)
	return strings.ToUpper(strings.Join(strings.Fields(s), " "))
}

// chinese reports whether keyword is one of China's (T, TD, 退订), so the
// confirmation answers in Chinese.
func chinese(keyword string) bool { return keyword == "T" || keyword == "TD" || keyword == "退订" }

// Confirmation is the one SMS sent back after an opt-out or an opt-in made
// by keyword, signed with brand, in the language of the keyword. None has
// no confirmation.
func Confirmation(a Action, keyword, brand string) string {
	zh := chinese(keyword)
	switch {
	case a == OptOut && zh:
		return "【" + brand + "】您已退订还款提醒短信。如需恢复，请回复START。"
	case a == OptOut:
		return brand + ": you will receive no more SMS repayment reminders. Reply START to receive them again."
	case a == OptIn:
		return brand + ": SMS repayment reminders are on again. Reply STOP to stop them. / 已恢复还款提醒短信，回复T退订。"
	}
	return ""
}
