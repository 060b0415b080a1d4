// Package templates owns the words dunning sends to borrowers: one message
// template per locale, channel and template name, embedded in the binary, and
// the renderer that turns them into SMS, email and app-push messages.
//
// # File layout
//
// Templates live at
//
//	templates/<locale>/<channel>/<name>.tmpl
//
// for example templates/zh-CN/sms/overdue_firm.tmpl. <locale> is a BCP 47 tag
// matched exactly ("zh-CN", "en"); <channel> is sms, email or push; <name> is
// the template name the reminder ladder uses (upcoming, due_today,
// overdue_gentle, overdue_firm, overdue_urgent, final_notice, charged_off,
// payment_received, paid_off). Every locale must provide the same set of
// channel/name pairs: New refuses a locale that lacks one, so Has(locale)
// means "every notice can be sent in this language".
//
// # File format
//
// A .tmpl file is a Go text/template source that holds nothing but named
// blocks (comments aside); any other text outside {{define}} is an error. The
// blocks each channel needs:
//
//	sms    {{define "body"}}     the whole text message
//	push   {{define "title"}}    notification title
//	       {{define "body"}}     notification body
//	email  {{define "subject"}}  subject line
//	       {{define "text"}}     text/plain part
//	       {{define "html"}}     text/html part, a complete HTML document
//
// Every block is executed with text/template except "html", which is
// executed from the same file parsed by html/template, so values are escaped
// for their HTML context (a customer named "<b>Bob & Co</b>" stays text, a
// "javascript:" repay URL is neutralised). Subject, title, SMS body and push
// body are folded onto one line (runs of white space become one space, which
// also defeats header injection); email text and HTML are trimmed. A block that
// renders empty is an error.
//
// The dot in a block is the Data passed to Render, as a map of its set fields:
// a field counts as set when it is a non-blank string or a positive number.
// Render refuses (ErrMissingData) when a field the template references anywhere
// is not set, so a notice never goes out with a hole in it ("您的借款已逾期0天",
// "amount due: CNY "). Renderer.Fields tells which fields a template needs.
//
// Functions available in templates:
//
//	money CUR AMOUNT   the amount as the locale shows it: "1068.50元" for CNY in
//	                   zh-CN, "CNY 1068.50" otherwise (see FormatMoney)
//	nonzero AMOUNT     true unless AMOUNT is a zero amount like "0.00", to hide
//	                   e.g. a penalty of nothing
//	plural N ONE MANY  "1 day", "7 days"
//
// Opt-out: every email ends with a footer saying it is a service message, not
// marketing, and how to stop email notices (call the hotline); the upcoming
// SMS, the one courtesy reminder, ends with "回T退订" / "Reply STOP to opt out".
// Acting on those replies is the channels' job, not this package's.
//
// Tone rises with the ladder, from a friendly reminder to a factual final
// notice; templates state consequences (penalty interest, credit record,
// hand-over to the collections team, charge-off) and never threaten or shame.
package templates
