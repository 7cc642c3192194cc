package mail

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// foldAt is the line length RFC 5322 (2.1.1) asks headers to keep under.
const foldAt = 78

// compose renders a checked message as RFC 5322 text with CRLF line ends:
// Date, From, To, Subject (RFC 2047 Q-encoded when not ASCII),
// Message-ID, MIME-Version and a quoted-printable text/plain UTF-8 body.
func compose(from *mail.Address, to []*mail.Address, subject, body string, at time.Time, msgID string) []byte {
	var b strings.Builder
	header(&b, "Date", at.Format(time.RFC1123Z))
	header(&b, "From", from.String())
	rcpts := make([]string, len(to))
	for i, a := range to {
		rcpts[i] = a.String()
	}
	header(&b, "To", strings.Join(rcpts, ", "))
	header(&b, "Subject", encodeSubject(subject))
	header(&b, "Message-ID", msgID)
	header(&b, "MIME-Version", "1.0")
	header(&b, "Content-Type", "text/plain; charset=utf-8")
	header(&b, "Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(normalizeNewlines(body)))
	_ = qp.Close()
	if !strings.HasSuffix(b.String(), "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// header writes "Name: value" folded at spaces so lines stay near foldAt
// bytes (a fold never leaves a line of only white space).
func header(b *strings.Builder, name, value string) {
	line := len(name) + 1
	b.WriteString(name)
	b.WriteByte(':')
	for _, w := range strings.Split(value, " ") {
		if w != "" && line+1+len(w) > foldAt && line > len(name)+1 {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteByte(' ')
		b.WriteString(w)
		line += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// normalizeNewlines turns CRLF and lone CR into LF; the quoted-printable
// writer then emits CRLF line ends.
func normalizeNewlines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// newMessageID returns a unique RFC 5322 msg-id in the sender's domain.
func newMessageID(from *mail.Address, at time.Time) string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	return "<" + at.UTC().Format("20060102150405") + "." + hex.EncodeToString(r[:]) + "@" + domain + ">"
}

// maxWordText is what an RFC 2047 encoded-word ("=?utf-8?q?...?=", at most
// 75 bytes) leaves for the encoded text.
const maxWordText = 75 - len("=?utf-8?q??=")

// encodeSubject returns s as is when it is printable ASCII that a reader
// cannot mistake for encoded-words; otherwise it returns RFC 2047
// Q-encoded words, split on rune boundaries and joined by spaces (where
// header folds). mime.QEncoding is not used because it leaves an ASCII
// "=?...?=" as is, which readers would then decode.
func encodeSubject(s string) string {
	plain := !strings.Contains(s, "=?")
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] == '\t' || ' ' <= s[i] && s[i] <= '~'
	}
	if plain {
		return s
	}
	var words []string
	var w strings.Builder
	for _, r := range s {
		enc := qEncodeRune(r)
		if w.Len()+len(enc) > maxWordText {
			words = append(words, "=?utf-8?q?"+w.String()+"?=")
			w.Reset()
		}
		w.WriteString(enc)
	}
	if w.Len() > 0 || len(words) == 0 {
		words = append(words, "=?utf-8?q?"+w.String()+"?=")
	}
	return strings.Join(words, " ")
}

// qEncodeRune encodes one rune for an encoded-word's text (RFC 2047 4.2):
// letters and digits as is, space as "_", every other byte as =XX.
func qEncodeRune(r rune) string {
	if r == ' ' {
		return "_"
	}
	if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
		return string(r)
	}
	var b strings.Builder
	for _, c := range []byte(string(r)) {
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String()
}
