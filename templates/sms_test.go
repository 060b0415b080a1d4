package templates

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	zh := func(n int) string { return strings.Repeat("中", n) }
	emoji := func(n int) string { return strings.Repeat("😀", n) }
	tests := []struct {
		name     string
		body     string
		segments int
		encoding string
	}{
		{"empty", "", 0, EncodingGSM7},
		{"one char", "a", 1, EncodingGSM7},
		{"gsm 160 fits one", a(160), 1, EncodingGSM7},
		{"gsm 161 needs two", a(161), 2, EncodingGSM7},
		{"gsm 306 fits two", a(306), 2, EncodingGSM7},
		{"gsm 307 needs three", a(307), 3, EncodingGSM7},
		{"gsm 459 fits three", a(459), 3, EncodingGSM7},
		{"gsm 460 needs four", a(460), 4, EncodingGSM7},
		{"gsm basic specials count one", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà\r\n", 1, EncodingGSM7},
		{"gsm 158 plus euro is 160", a(158) + "€", 1, EncodingGSM7},
		{"gsm 159 plus euro is 161", a(159) + "€", 2, EncodingGSM7},
		{"gsm 80 braces are 160", strings.Repeat("{", 80), 1, EncodingGSM7},
		{"gsm 81 brackets are 162", strings.Repeat("[", 81), 2, EncodingGSM7},
		{"every extension char counts two", strings.Repeat("^{}\\[~]|€\f", 8), 1, EncodingGSM7}, // 80 chars, 160 septets
		{"extension chars push 161 over", strings.Repeat("^{}\\[~]|€\f", 8) + "a", 2, EncodingGSM7},
		{"gsm 304 plus pipe is 306", a(304) + "|", 2, EncodingGSM7},
		{"gsm 305 plus pipe is 307", a(305) + "|", 3, EncodingGSM7},
		// 152 + 2 + 152 = 306 septets, but the escape pair cannot straddle
		// segments 1 and 2, so it needs a third.
		{"extension char never split", a(152) + "{" + a(152), 3, EncodingGSM7},
		{"ucs2 70 fits one", zh(70), 1, EncodingUCS2},
		{"ucs2 71 needs two", zh(71), 2, EncodingUCS2},
		{"ucs2 134 fits two", zh(134), 2, EncodingUCS2},
		{"ucs2 135 needs three", zh(135), 3, EncodingUCS2},
		{"ucs2 201 fits three", zh(201), 3, EncodingUCS2},
		{"ucs2 202 needs four", zh(202), 4, EncodingUCS2},
		{"one non-gsm char makes all ucs2", a(69) + "á", 1, EncodingUCS2},
		{"one non-gsm char makes 71 ucs2", a(70) + "á", 2, EncodingUCS2},
		{"chinese punctuation is ucs2", "【】", 1, EncodingUCS2},
		{"escape char itself is not gsm", "\x1b", 1, EncodingUCS2},
		{"emoji count two: 35 fit", emoji(35), 1, EncodingUCS2},
		{"emoji count two: 35 plus one", emoji(35) + "a", 2, EncodingUCS2},
		// A segment of 67 units holds 33 emoji (66 units): 66 emoji take two
		// segments, 67 emoji (134 units) take three.
		{"emoji 66 fit two", emoji(66), 2, EncodingUCS2},
		{"emoji 67 need three", emoji(67), 3, EncodingUCS2},
		// 66 + 2 + 66 = 134 units, but the surrogate pair cannot straddle.
		{"surrogate pair never split", zh(66) + "😀" + zh(66), 3, EncodingUCS2},
		{"invalid utf-8 counts one unit", "\xff", 1, EncodingUCS2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, enc := Segments(tt.body)
			if n != tt.segments || enc != tt.encoding {
				t.Errorf("Segments = %d, %s; want %d, %s", n, enc, tt.segments, tt.encoding)
			}
		})
	}
}

func TestGSMTables(t *testing.T) {
	// GSM 03.38: 128 basic positions, one of them the escape to the extension table.
	if n := len([]rune(gsmBasic)); n != 127 {
		t.Errorf("gsmBasic has %d characters, want 127", n)
	}
	if n := len([]rune(gsmExtension)); n != 10 {
		t.Errorf("gsmExtension has %d characters, want 10", n)
	}
	for _, r := range gsmExtension {
		if strings.ContainsRune(gsmBasic, r) {
			t.Errorf("%q is in both tables", r)
		}
	}
}
