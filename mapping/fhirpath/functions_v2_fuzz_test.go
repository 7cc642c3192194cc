package fhirpath

import (
	"errors"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// marker is appended to every value of a fuzzed message: an error that
// shows it shows a value.
const marker = "QZXJ"

// markValues rewrites m with marker appended to every non-empty piece
// (repetition, component, subcomponent) of every field but MSH-1/MSH-2,
// keeping escape sequences and structure as they were.
func markValues(m *hl7v2.Message) string {
	d := m.Delimiters
	var b strings.Builder
	for _, s := range m.Segments() {
		b.WriteString(s.Name)
		header := s.Name == "MSH"
		for n := 1; n <= s.NumFields(); n++ {
			raw := s.Raw(n)
			if header && n <= 2 {
				if n == 1 {
					b.WriteByte(d.Field) // MSH-1 is the separator itself
				} else {
					b.WriteString(raw)
				}
				continue
			}
			b.WriteByte(d.Field)
			start := 0
			for i := 0; i <= len(raw); i++ {
				if i < len(raw) && raw[i] != d.Repetition && raw[i] != d.Component && raw[i] != d.Subcomponent {
					continue
				}
				b.WriteString(raw[start:i])
				if i > start {
					b.WriteString(marker)
				}
				if i < len(raw) {
					b.WriteByte(raw[i])
				}
				start = i + 1
			}
		}
		b.WriteByte('\r')
	}
	return b.String()
}

// TestMarkValues: the fuzz oracle marks every value and keeps the rest.
func TestMarkValues(t *testing.T) {
	m0, err := hl7v2.Parse([]byte(v2Msg))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7v2.Parse([]byte(markValues(m0)))
	if err != nil {
		t.Fatalf("marked message: %v\n%q", err, markValues(m0))
	}
	for p, want := range map[string]string{"PID-3[1].4.2": "1.2.3" + marker, "MSH-2": `^~\&`, "MSH-9.2": "S12" + marker,
		"NTE-3": "A | B ^ C & D ~ E \\ F" + marker, "PID-3[2]": "", "PID-3[4]": `""` + marker} {
		if got, _ := m.Get(p); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
}

// v2Shapes place the fuzzed path in v2 function calls.
var v2Shapes = []string{
	"v2('%')", "v2segments('%').count()", "v2groups('%').v2('PID-3')", "v2reps('%').v2('1')",
	"v2reps('PID-3').v2('%')", "v2groups('RGS').v2segments('AIP').v2('%')",
	"v2segments('%').v2('AIP-3.1')", "v2segments('AIP').v2reps('%').v2('1.2')",
	"v2('%').select(v2('MSH-9'))", "v2groups('%').v2groups('AIS').v2segments('%').v2('%')",
}

// FuzzV2Path: the v2 functions never panic on any message and path; a
// path that compiles evaluates to strings or v2 items, or to an
// evaluation error that shows no value of the message.
func FuzzV2Path(f *testing.F) {
	for _, s := range []string{v2Msg, strings.ReplaceAll(v2Msg, "\r", "\n"),
		"MSH|^~\\&|A\rPID|1||A~B~~C^^^D&E&F||\\X41\\^\\F\\\r", "MSH|^~\\&\rRGS\rRGS|1\rAIP|1|A|X", "MSH|"} {
		for i, p := range []string{"PID-3", "PID-5[1].1", "AIP[2]-3", "RGS", "AIP", "4.1", "1", "PID-3[2].4.2", "NTE-3", "MSH-2"} {
			f.Add([]byte(s), p, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, path string, shape uint8) {
		if len(data) > 1<<12 || len(path) > 80 || strings.ContainsAny(path, "'\\`\r\n") || strings.Contains(path, marker) {
			return
		}
		opt := hl7v2.Options{Limits: hl7v2.Limits{MaxMessageBytes: 1 << 13, MaxSegments: 100, MaxFields: 100}}
		m0, err := opt.Parse(data)
		if err != nil || m0.Charset != hl7v2.UTF8 {
			return
		}
		m, err := opt.Parse([]byte(markValues(m0)))
		if err != nil {
			return
		}
		expr := strings.ReplaceAll(v2Shapes[int(shape)%len(v2Shapes)], "%", path)
		e, err := Compile(expr, Options{})
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("compile error is not an *Error: %v", err)
			}
			return
		}
		got, err := e.Eval(&Env{Message: m}, Collection{MessageItem()})
		if err != nil {
			if !errors.Is(err, ErrEval) {
				t.Fatalf("%s: error does not wrap ErrEval: %v", expr, err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Fatalf("%s: error shows a value: %v", expr, err)
			}
			return
		}
		for _, it := range got {
			if s, ok := it.AsString(); ok && s == "" && it.k == kStr {
				t.Fatalf("%s: an empty string in the result", expr)
			}
		}
	})
}
