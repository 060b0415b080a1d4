package policy

import (
	"github.com/shopspring/decimal"
)

// Policy is a named set of dunning rules, loaded from policies/<name>.yaml.
// The field comments give DESIGN.md's defaults (policies/default.yaml).
type Policy struct {
	Name string `yaml:"name"`
	// TimeZone is used for customers who do not state one [Asia/Shanghai].
	TimeZone string `yaml:"time_zone"`

	Penalty    PenaltyRules  `yaml:"penalty"`
	Allocation []Component   `yaml:"allocation"`
	Reminders  ReminderRules `yaml:"reminders"`
	Caps       Caps          `yaml:"caps"`
	// Fallback says where a point's notice goes when the provider reports
	// the customer's address on a channel permanently invalid [sms → push →
	// email]. A policy without it (and every loan started before it
	// existed) has no fallback.
	Fallback Fallback `yaml:"fallback"`
}

// Fallback lists, per channel, the channels to try in order when the
// channel's provider reports the customer's address invalid (unknown number,
// unsubscribed, unregistered device token): the point's notice goes out once
// on the first of them that reaches the customer and is not already part of
// the point.
type Fallback struct {
	SMS   []Channel `yaml:"sms"`   // [push, email]
	Email []Channel `yaml:"email"` // []
	Push  []Channel `yaml:"push"`  // [email]
}

// For is the fallback list of ch.
func (f Fallback) For(ch Channel) []Channel {
	switch ch {
	case SMS:
		return f.SMS
	case Email:
		return f.Email
	case Push:
		return f.Push
	}
	return nil
}

// PenaltyRules govern penalty interest and the late fee.
type PenaltyRules struct {
	DailyRate decimal.Decimal `yaml:"daily_rate"` // [0.0005]
	// Base is what the daily rate applies to: principal [principal] or
	// principal_and_interest.
	Base      string          `yaml:"base"`
	GraceDays int             `yaml:"grace_days"` // [3]
	LateFee   decimal.Decimal `yaml:"late_fee"`   // [20.00], rounded half-up to the currency's minor unit
	CapRatio  decimal.Decimal `yaml:"cap_ratio"`  // [0.24] of the installment's principal
	// FreezePenalty stops accrual (penalty and late fee) while paused [true].
	FreezePenalty bool `yaml:"freeze_penalty"`
}

// Penalty bases.
const (
	BasePrincipal            = "principal"
	BasePrincipalAndInterest = "principal_and_interest"
)

// Component is one part of what an installment owes, named as in the
// allocation order.
type Component string

// Components of an installment's balance.
const (
	CompPenalty   Component = "penalty"
	CompLateFee   Component = "late_fee"
	CompInterest  Component = "interest"
	CompFee       Component = "fee"
	CompPrincipal Component = "principal"
)

// ReminderRules decide when and how borrowers hear from us.
type ReminderRules struct {
	SendAt        ClockTime `yaml:"send_at"`        // ["10:00"] local
	SpreadMinutes int       `yaml:"spread_minutes"` // [60]
	ContactWindow Window    `yaml:"contact_window"` // [08:00–21:00]
	// LargeAmount escalates overdue points to the next stage's template and
	// always includes email once the overdue total reaches it [10000.00].
	LargeAmount decimal.Decimal `yaml:"large_amount"`
	Ladder      []Rung          `yaml:"ladder"`
}

// Rung is one row of the reminder ladder.
type Rung struct {
	Offset   int       `yaml:"offset"` // days from the driving installment's due date
	Channels []Channel `yaml:"channels"`
	Template string    `yaml:"template"`
	Action   Action    `yaml:"action,omitempty"`
}

// Window is a daily local time interval [Start, End).
type Window struct {
	Start ClockTime `yaml:"start"`
	End   ClockTime `yaml:"end"`
}

// ClockTime is a local wall-clock time of day, written "HH:MM".
type ClockTime struct {
	Hour, Minute int
}

// Minutes is the time of day in minutes after midnight.
func (c ClockTime) Minutes() int { return c.Hour*60 + c.Minute }

// Caps limit how often one channel reaches one customer.
type Caps struct {
	MaxPerChannelPerDay   int `yaml:"max_per_channel_per_day"`    // [1]
	MaxPerChannelPer7Days int `yaml:"max_per_channel_per_7_days"` // [7]
}
