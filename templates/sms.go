package templates

import (
	"strings"
	"unicode/utf16"
)

// The encodings Segments reports.
const (
	// EncodingGSM7 is the GSM 03.38 7-bit default alphabet: 160 septets in one
	// segment, 153 per segment of a multi-part message.
	EncodingGSM7 = "GSM-7"
	// EncodingUCS2 is UCS-2 (UTF-16): 70 code units in one segment, 67 per
	// segment of a multi-part message. Any Chinese character forces it.
	EncodingUCS2 = "UCS-2"
)

// gsmBasic is the GSM 03.38 basic character set, less the escape character
// (0x1B), which is not a character of its own.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension is the GSM 03.38 extension table: each is sent as escape plus
// one septet, so it counts two.
const gsmExtension = "\f^{}\\[~]|€"

// Segments counts the SMS segments body is billed and delivered as, and the
// encoding used, so templates can be held to a length budget. A body is GSM-7
// when every character is in the GSM 03.38 basic set (1 septet) or its
// extension table (2 septets); it fits one segment up to 160 septets, and is
// otherwise cut into segments of 153. Any other character makes the whole body
// UCS-2: one segment up to 70 UTF-16 code units (an emoji counts 2), else
// segments of 67. As a real encoder does, an extension character or a
// surrogate pair is never split across two segments. An empty body is 0
// segments.
func Segments(body string) (segments int, encoding string) {
	if body == "" {
		return 0, EncodingGSM7
	}
	widths := make([]int, 0, len(body))
	gsm := true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			widths = append(widths, 1)
		case strings.ContainsRune(gsmExtension, r):
			widths = append(widths, 2)
		default:
			gsm = false
		}
		if !gsm {
			break
		}
	}
	if gsm {
		return pack(widths, 160, 153), EncodingGSM7
	}
	widths = widths[:0]
	for _, r := range body {
		// Invalid UTF-8 ranges as U+FFFD, one code unit, as it is sent.
		widths = append(widths, utf16.RuneLen(r))
	}
	return pack(widths, 70, 67), EncodingUCS2
}

// pack returns how many segments characters of the given widths take: one if
// they all fit in single units, else as many segments of multi units as
// filling them in order, without splitting a character, needs.
func pack(widths []int, single, multi int) int {
	total := 0
	for _, w := range widths {
		total += w
	}
	if total <= single {
		return 1
	}
	n, used := 1, 0
	for _, w := range widths {
		if used+w > multi {
			n++
			used = 0
		}
		used += w
	}
	return n
}
