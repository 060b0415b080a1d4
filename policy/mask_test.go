package policy

import "testing"

func TestMaskPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+8613800138000", "+86138****8000"},
		{"+14155552671", "+141****2671"},
		{"+442071838750", "+4420****8750"},
		{"+6591234567", "+65****4567"},
		{"+12345678", "+12****78"},
		{"+1234567", "+1****67"},
		{"+123456", "****"},
		{"+123", "****"},
		{"", ""},
	} {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"zhang.wei@example.cn", "z***@example.cn"},
		{"z@example.cn", "***@example.cn"},
		{"张伟@例子.中国", "张***@例子.中国"},
		{`"a@b"@example.com`, `"***@example.com`},
		{"not-an-email", "n***"},
		{"", ""},
	} {
		if got := MaskEmail(tc.in); got != tc.want {
			t.Errorf("MaskEmail(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
