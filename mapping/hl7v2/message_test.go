package hl7v2

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestGetADT(t *testing.T) {
	m := mustParse(t, adtA04)
	tests := []struct{ path, want string }{
		{"MSH-1", "|"},
		{"MSH-2", `^~\&`},
		{"MSH-3", "REGADT"},
		{"MSH-9", "ADT"}, // omitted component reads the first
		{"MSH-9.2", "A04"},
		{"MSH-9.3", "ADT_A01"},
		{"MSH-12", "2.5.1"},
		{"MSH-18", "UNICODE UTF-8"},
		{"PID-3", "TEST0001"},
		{"PID-3[1].4", "GOODHEALTH"},
		{"PID-3[1].4.2", "2.16.840.1.113883.3.999"},
		{"PID-3[1].4.3", "ISO"},
		{"PID-3[2].1", "T9999"},
		{"PID-3[2].5", "DL"},
		{"PID-3[3].1", ""},
		{"PID-5[1].1", "TESTPATIENT"},
		{"PID-5.2", "ALPHA"},
		{"PID-5[2].2", "BETA"},
		{"PID-5[2].7", "A"},
		{"PID-11.1", "1 Example St&Unit 2"},
		{"PID-13.6", "555"},
		{"PID-99", ""},
		{"PV1-7.9", "NPI"},
		{"NK1-3.2", "Mother"},
		{"ZPI-2", "Preferred clinic & note\nsecond line"},
		{"ZPI-3[1].2", "Very important ^ flag"},
		{"ZPI-3[2].1", "LANG"},
		{"OBX-5", ""},
		{"PID[2]-3", ""},
	}
	for _, tt := range tests {
		got, err := m.Get(tt.path)
		if err != nil {
			t.Errorf("Get(%s): %v", tt.path, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Get(%s) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if v := m.Version(); v != "2.5.1" {
		t.Errorf("Version = %q", v)
	}
	if code, ev := m.Type(); code != "ADT" || ev != "A04" {
		t.Errorf("Type = %s %s", code, ev)
	}
}

func TestSegmentsSIU(t *testing.T) {
	m := mustParse(t, siuS12)
	var names []string
	for i, s := range m.Segments() {
		if s.Index != i {
			t.Errorf("segment %s Index %d, want %d", s.Name, s.Index, i)
		}
		names = append(names, s.Name)
	}
	if got := strings.Join(names, " "); got != "MSH SCH NTE PID PV1 RGS AIS NTE AIG AIL AIP ZSC" {
		t.Errorf("segments %s", got)
	}
	ntes := m.All("NTE")
	if len(ntes) != 2 || ntes[0].Occurrence != 1 || ntes[1].Occurrence != 2 || ntes[1].Index != 7 {
		t.Fatalf("NTE occurrences wrong: %+v", ntes)
	}
	tests := []struct{ path, want string }{
		{"SCH-1.1", "APT0001"},
		{"SCH-11.3", "30"},
		{"SCH-11.4", "20260105100000"},
		{"SCH-11.5", "20260105103000"},
		{"SCH-25.1", "Booked"},
		{"NTE-3", "Video visit; patient to test camera beforehand"},
		{"NTE[1]-3", "Video visit; patient to test camera beforehand"},
		{"NTE[2]-3", `Second note \ with escape`},
		{"NTE[3]-3", ""},
		{"AIS-3.2", "Video visit"},
		{"AIL-3.4", "GOODHEALTH"},
		{"AIP-3.1", "0001"},
		{"AIP-4.1", "PHY"},
		{"ZSC-2", "https://video.example/room/0001"},
	}
	for _, tt := range tests {
		if got, err := m.Get(tt.path); err != nil || got != tt.want {
			t.Errorf("Get(%s) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	if s := m.Segment("ZSC", 0); s == nil || s.Raw(3) != "TOKEN0001" || s.NumFields() != 3 {
		t.Errorf("ZSC not addressable: %+v", s)
	}
	pid := m.Segment("PID", 1)
	if n := m.Repetitions(pid, 3); n != 1 {
		t.Errorf("PID-3 repetitions %d", n)
	}
	if n := m.Repetitions(pid, 4); n != 0 {
		t.Errorf("PID-4 repetitions %d", n)
	}
}

func TestLookupPresence(t *testing.T) {
	m := mustParse(t, seg(`MSH|^~\&|A||||||ADT^A01|1|P|2.5`, `PID|1||X~||""`))
	tests := []struct {
		path string
		want string
		ok   bool
	}{
		{"PID-1", "1", true},
		{"PID-2", "", true},
		{"PID-3[2]", "", true},
		{"PID-3[3]", "", false},
		{"PID-3.2", "", false},
		{"PID-5", `""`, true}, // explicit null kept as written
		{"PID-6", "", false},
		{"MSH-1.2", "", false},
		{"ZZZ-1", "", false},
	}
	for _, tt := range tests {
		v, ok, err := m.Lookup(MustParsePath(tt.path))
		if err != nil || v != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%s) = %q %v %v; want %q %v", tt.path, v, ok, err, tt.want, tt.ok)
		}
	}
}

// translate rewrites a "|^~\&" message with other delimiters (the
// samples use none of them in data).
func translate(s string, d Delimiters) string {
	r := strings.NewReplacer("|", string(d.Field), "^", string(d.Component), "~", string(d.Repetition), `\`, string(d.Escape), "&", string(d.Subcomponent))
	return r.Replace(s)
}

func TestCustomSeparators(t *testing.T) {
	base := mustParse(t, adtA04)
	sets := []Delimiters{
		{Field: '#', Component: '!', Repetition: '~', Escape: '\\', Subcomponent: '&'},
		{Field: '*', Component: ':', Repetition: '@', Escape: '%', Subcomponent: '$'},
		{Field: '|', Component: '&', Repetition: '^', Escape: '/', Subcomponent: '~'},
	}
	paths := []string{"MSH-3", "MSH-9.2", "PID-3[1].4.2", "PID-3[2].1", "PID-5[2].2", "PID-11.1", "ZPI-2", "ZPI-3[1].2", "ZPI-3[2].1"}
	for _, d := range sets {
		m := mustParse(t, translate(adtA04, d))
		if m.Delimiters != d {
			t.Errorf("delimiters %+v, want %+v", m.Delimiters, d)
		}
		if got, _ := m.Get("MSH-1"); got != string(d.Field) {
			t.Errorf("MSH-1 = %q", got)
		}
		if got, _ := m.Get("MSH-2"); got != d.EncodingCharacters() {
			t.Errorf("MSH-2 = %q", got)
		}
		for _, p := range paths {
			want, _ := base.Get(p)
			want = translate(want, d) // an escaped delimiter reads as this set's one
			if got, err := m.Get(p); err != nil || got != want {
				t.Errorf("%c%s: Get(%s) = %q, %v; want %q", d.Field, d.EncodingCharacters(), p, got, err, want)
			}
		}
	}
}

func TestTruncationCharacter(t *testing.T) {
	m := mustParse(t, seg(`MSH|^~\&#|A||||||ADT^A01|1|P|2.7`, `NTE|1||50\P\ off`))
	if m.Delimiters.Truncation != '#' {
		t.Fatalf("truncation %q", m.Delimiters.Truncation)
	}
	if v, err := m.Get("NTE-3"); err != nil || v != "50# off" {
		t.Errorf("NTE-3 = %q, %v", v, err)
	}
	if v, _ := m.Get("MSH-2"); v != `^~\&#` {
		t.Errorf("MSH-2 = %q", v)
	}
}

func TestLineEndings(t *testing.T) {
	lines := []string{`MSH|^~\&|A||||||ADT^A01|1|P|2.5`, `PID|1||ID1`, `ZXX|z`}
	for name, in := range map[string]string{
		"CR":         strings.Join(lines, "\r") + "\r",
		"LF":         strings.Join(lines, "\n") + "\n",
		"CRLF":       strings.Join(lines, "\r\n") + "\r\n",
		"mixed":      lines[0] + "\r\n" + lines[1] + "\n" + lines[2],
		"no final":   strings.Join(lines, "\r"),
		"blank runs": "\r\n" + strings.Join(lines, "\r\r\n\n") + "\r\r",
	} {
		m, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(m.Segments()) != 3 {
			t.Errorf("%s: %d segments", name, len(m.Segments()))
		}
		if v, _ := m.Get("PID-3"); v != "ID1" {
			t.Errorf("%s: PID-3 = %q", name, v)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const msh = `MSH|^~\&|A||||||ADT^A01|1|P|2.5`
	tests := []struct {
		name, in string
		kind     error
		want     string
	}{
		{"empty", "\r\n", ErrSyntax, "hl7v2: empty message"},
		{"no MSH", seg(`PID|1`), ErrSyntax, "hl7v2: segment 1: message does not start with MSH"},
		{"short MSH", "MSH", ErrDelimiters, "hl7v2: MSH-1: field separator missing"},
		{"3 encoding chars", seg(`MSH|^~\|A`), ErrDelimiters, "hl7v2: MSH-2: encoding characters must be 4"},
		{"6 encoding chars", seg(`MSH|^~\&#!|A`), ErrDelimiters, "hl7v2: MSH-2: encoding characters must be 4"},
		{"duplicate delimiter", seg(`MSH|^^\&|A`), ErrDelimiters, "hl7v2: MSH: delimiters in fields 1 and 2 must be distinct"},
		{"letter delimiter", seg(`MSHA^~\&A`), ErrDelimiters, "hl7v2: MSH: delimiters"},
		{"bad segment name", seg(msh, `pid|1`), ErrSyntax, "hl7v2: segment 2: segment name must be"},
		{"name too long", seg(msh, `PIDX|1`), ErrSyntax, "hl7v2: segment 2: segment name not followed by the field separator"},
		{"short line", seg(msh, `PI`), ErrSyntax, "hl7v2: segment 2: segment name must be"},
		{"second MSH", seg(msh, msh), ErrSyntax, "hl7v2: MSH: segment not allowed inside a message"},
		{"BHS inside", seg(msh, `BHS`), ErrSyntax, "hl7v2: BHS: segment not allowed inside a message"},
		{"unknown charset", seg(msh + `||||||UNICODE`), ErrCharset, "hl7v2: MSH-18: unsupported character set"},
		{"non-ascii charset", seg(msh + "||||||\xff"), ErrCharset, "hl7v2: MSH-18: unsupported character set"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !errors.Is(err, tt.kind) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got %q (kind %v), want prefix %q kind %v", tt.name, err, errors.Unwrap(err), tt.want, tt.kind)
		}
	}
}

func TestLimits(t *testing.T) {
	big := seg(`MSH|^~\&|A||||||ADT^A01|1|P|2.5`, `PID|1|2|3|4|5|6|7|8|9|10|11|12|13`, `NTE|1`, `NTE|2`)
	tests := []struct {
		name string
		lim  Limits
		want string
	}{
		{"bytes", Limits{MaxMessageBytes: 20}, "hl7v2: message larger than the size limit"},
		{"segments", Limits{MaxSegments: 3}, "hl7v2: segment 4: more segments than the limit"},
		{"fields", Limits{MaxFields: 4}, "hl7v2: MSH: more fields than the limit"},
		{"fields PID", Limits{MaxFields: 12}, "hl7v2: PID: more fields than the limit"},
	}
	for _, tt := range tests {
		_, err := Options{Limits: tt.lim}.Parse([]byte(big))
		if !errors.Is(err, ErrLimit) || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := (Options{Limits: Limits{MaxFields: 5}}).Parse([]byte(seg(`MSH|^~\&|A||||||ADT^A01|1|P|2.5`, `PID|1|2|3|4|5`))); err == nil {
		t.Error("MSH with 11 separators passed MaxFields 5")
	}
}
