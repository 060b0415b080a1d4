package channels

import "testing"

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
