package channels

import (
	"strings"
	"testing"
)

func TestMaskPhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+8613800138000", "+86138****8000"},
		{"13800138000", "138****8000"},
		{"+14155550123", "+141****0123"},
		{"+86 138-0013-8000", "+86138****8000"},
		{"+4930123456", "+49****3456"},
		{"12345678", "****5678"},
		{"1234567", "****"},
		{"+1", "+****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskPhone(tt.in); got != tt.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"zhang.wei@example.cn", "z***@example.cn"},
		{"z@example.cn", "z***@example.cn"},
		{"张伟@example.cn", "张***@example.cn"},
		{"@example.cn", "***@example.cn"},
		{"a@b@example.cn", "a***@example.cn"},
		{"not-an-email", "n***"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := MaskEmail(tt.in); got != tt.want {
			t.Errorf("MaskEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMaskRecipient(t *testing.T) {
	tests := []struct{ channel, in, want string }{
		{SMS, "+8613800138000", "+86138****8000"},
		{Email, "zhang.wei@example.cn", "z***@example.cn"},
		{Push, "fcm-token-0123456789abcdef", "fcm-****"},
		{Push, "short", "****"},
		{"fax", "+8613800138000", "****"},
		{"fax", "", ""},
	}
	for _, tt := range tests {
		if got := MaskRecipient(tt.channel, tt.in); got != tt.want {
			t.Errorf("MaskRecipient(%s, %q) = %q, want %q", tt.channel, tt.in, got, tt.want)
		}
	}
}

func TestMaskText(t *testing.T) {
	token := strings.Repeat("dGVzdC10b2tlbg_", 10)
	for _, tt := range []struct{ in, want string }{
		{"to +8613800138000.", "to +86138****8000."},
		{"to +86 138-0013-8000 now", "to +86138****8000 now"},
		{"call 13912345678", "call 139****5678"},
		{"mail zhang.wei@example.cn>", "mail z***@example.cn>"},
		{"<a.b+tag@mail.example.com>: rejected", "<a***@mail.example.com>: rejected"},
		{"token=" + token, "token=dGVz****"},
		// What is not personal data stays.
		{"loan L-2026-0001 seq 12 total 1068.50", "loan L-2026-0001 seq 12 total 1068.50"},
		{"at 2026-11-30T13:05:25Z error 21211", "at 2026-11-30T13:05:25Z error 21211"},
		{"key L-1/1/3/7/sms", "key L-1/1/3/7/sms"},
		{"", ""},
	} {
		if got := MaskText(tt.in); got != tt.want {
			t.Errorf("MaskText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
