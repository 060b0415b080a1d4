// Package logmask keeps personal data out of logs: Handler wraps any
// slog.Handler and passes every message and every value through
// channels.MaskText before it is written. Code that logs a recipient still
// masks it itself (channels.MaskRecipient); this is the net under everything
// else — an error that quotes an address, a provider's reply, a panic value
// with its stack, the Temporal SDK's own log lines about a failed activity.
package logmask

import (
	"context"
	"fmt"
	"log/slog"

	"dunning/channels"
)

// Handler masks what it hands to the handler it wraps.
type Handler struct{ next slog.Handler }

// New wraps next.
func New(next slog.Handler) *Handler { return &Handler{next: next} }

// Logger is slog.New(New(next)).
func Logger(next slog.Handler) *slog.Logger { return slog.New(New(next)) }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler: a copy of r with its message and attributes
// masked.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, channels.MaskText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	masked := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		masked[i] = maskAttr(a)
	}
	return &Handler{next: h.next.WithAttrs(masked)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler { return &Handler{next: h.next.WithGroup(name)} }

// maskAttr masks a's value: strings, errors and anything printed with %v
// (structs, maps, byte slices, panics) become masked strings; numbers, bools,
// times and durations cannot hold an address and pass as they are; groups
// are masked member by member.
func maskAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, channels.MaskText(v.String()))
	case slog.KindGroup:
		g := v.Group()
		masked := make([]any, len(g))
		for i, m := range g {
			masked[i] = maskAttr(m)
		}
		return slog.Group(a.Key, masked...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case nil:
			return a
		case error:
			return slog.String(a.Key, channels.MaskText(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, channels.MaskText(x.String()))
		default:
			return slog.String(a.Key, channels.MaskText(fmt.Sprintf("%+v", x)))
		}
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}
