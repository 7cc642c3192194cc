package flatfile

import "unicode/utf8"

// cp1252High maps the bytes 0x80–0x9F of Windows-1252 to Unicode. The five
// bytes Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to
// the C1 control of the same value, as the WHATWG Encoding Standard and
// golang.org/x/text/encoding/charmap do. Bytes below 0x80 are ASCII and
// bytes from 0xA0 are ISO 8859-1, that is the code point of the same value.
var cp1252High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

// cp1252Encode maps the runes of cp1252High back to their byte.
var cp1252Encode = func() map[rune]byte {
	m := make(map[rune]byte, len(cp1252High))
	for i, r := range cp1252High {
		m[r] = byte(0x80 + i)
	}
	return m
}()

// appendDecode1252 appends the UTF-8 text of the Windows-1252 bytes b.
func appendDecode1252(dst []byte, b []byte) []byte {
	for _, c := range b {
		switch {
		case c < 0x80:
			dst = append(dst, c)
		case c < 0xA0:
			dst = utf8.AppendRune(dst, cp1252High[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

// encodeRune1252 returns the Windows-1252 byte of r, or false when r has none.
func encodeRune1252(r rune) (byte, bool) {
	switch {
	case r < 0x80:
		return byte(r), true
	case r >= 0xA0 && r <= 0xFF:
		return byte(r), true
	}
	b, ok := cp1252Encode[r]
	return b, ok
}
