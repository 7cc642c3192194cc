package mail

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Notice is the text of a digest: a Message's subject and body without
// its recipients. The digest builders return one Notice per file or run.
type Notice struct {
	Subject string
	Body    string
}

// Message addresses n to the recipients.
func (n Notice) Message(to ...string) Message {
	return Message{To: to, Subject: n.Subject, Body: n.Body}
}

// MaxListed caps the ids or lines a digest lists; the rest are counted
// ("and 12 more").
const MaxListed = 500

// Rendering limits for the free-text fields of the summaries.
const (
	maxNameLen = 80 // site, file and job names, in runes
	maxIDLen   = 64 // appointment ids and reason codes, in bytes
)

// subjectPrefix starts every digest's subject, for mail filters.
const subjectPrefix = "FHIR bridge"

// invalidCode stands in for a reason code that does not look like one.
const invalidCode = "invalid-reason-code"

// invalidID stands in for an appointment id that does not look like one.
const invalidID = "[invalid id]"

// cleanName makes a site, file or job name safe for a subject and a body
// line: control characters become '?', invalid UTF-8 U+FFFD, and more than
// maxNameLen runes are cut with "...".
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxNameLen {
		s = string([]rune(s)[:maxNameLen-3]) + "..."
	}
	if s == "" {
		return "(unnamed)"
	}
	return s
}

// cleanID returns an appointment id as given when it is 1 to maxIDLen
// bytes of printable ASCII without spaces or '@'; anything else (a name,
// a phone number with spaces, an e-mail address) becomes invalidID.
func cleanID(s string) string {
	if s == "" || len(s) > maxIDLen {
		return invalidID
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c > '~' || c == '@' {
			return invalidID
		}
	}
	return s
}

// cleanCode returns a reason code as given when it looks like a machine
// code: 1 to maxIDLen bytes of lower-case ASCII letters, digits and
// "_.:-", starting with a letter, with no run of more than 5 digits (a
// phone number). Anything else, free text above all, becomes invalidCode:
// reasons are codes from the caller's vocabulary, never messages that
// might quote a patient's data.
func cleanCode(s string) string {
	if s == "" || len(s) > maxIDLen || s[0] < 'a' || s[0] > 'z' {
		return invalidCode
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
			if digits > 5 {
				return invalidCode
			}
			continue
		case 'a' <= c && c <= 'z', c == '_', c == '.', c == ':', c == '-':
		default:
			return invalidCode
		}
		digits = 0
	}
	return s
}

// stamp formats a time for a digest, in the zone it carries.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "(unknown)"
	}
	return t.Format("2006-01-02 15:04:05 -0700")
}

// field writes one aligned "Label: value" body line.
func field(b *strings.Builder, label string, value any) {
	fmt.Fprintf(b, "%-12s %v\n", label+":", value)
}

// more writes the "and N more" line of a capped list.
func more(b *strings.Builder, total int) {
	if total > MaxListed {
		fmt.Fprintf(b, "  ... and %d more\n", total-MaxListed)
	}
}

// lineList writes line numbers comma-separated, wrapped near 72 columns,
// at most MaxListed of them.
func lineList(b *strings.Builder, lines []int) {
	col := 0
	for i, n := range lines {
		if i == MaxListed {
			break
		}
		s := strconv.Itoa(n)
		if i > 0 {
			b.WriteString(",")
			col++
		}
		if col > 0 && col+1+len(s) > 72 {
			b.WriteString("\n")
			col = 0
		}
		b.WriteString("  ")
		b.WriteString(s)
		col += 2 + len(s)
	}
	if len(lines) > 0 {
		b.WriteString("\n")
	}
	more(b, len(lines))
}

// plural returns "1 row" or "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
