package hl7v2

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{adtA04, siuS12, batchFile,
		translate(adtA04, Delimiters{Field: '*', Component: ':', Repetition: '@', Escape: '%', Subcomponent: '$'}),
		seg(`MSH|^~\&#|A||||||ADT^A01|1|P|2.7`, `NTE|1||50\P\ \X41\ \.sp 2\ \H\x\N\`),
		seg(`MSH|^~\&|A||||||ADT^A01|1|P|2.5||||||8859/1`, "PID|1||||M\xfcller"),
		"MSH|^~\\&\nPID|\r\nZZZ", "MSH", "MSH|", "FHS|^~\\&\rFTS|0", ""} {
		f.Add([]byte(s))
	}
}

// FuzzParse: Parse never panics; a parsed message encodes, and the
// encoding parses to a message that encodes the same (round trip stable).
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	paths := []Path{{Segment: "PID", Field: 5}, {Segment: "MSH", Field: 9, Component: 2},
		{Segment: "NTE", Field: 3, Repetition: 2, Component: 1, Sub: 2}}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			return
		}
		for _, s := range m.Segments() {
			for n := 1; n <= s.NumFields() && n < 20; n++ {
				_, _, _ = m.Value(s, Path{Field: n, Repetition: 1, Component: 2})
				_ = m.Repetitions(s, n)
			}
		}
		for _, p := range paths {
			_, _, _ = m.Lookup(p)
		}
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode of a parsed message: %v", err)
		}
		m2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-Parse: %v\n%q", err, out)
		}
		out2, err := m2.Encode()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip unstable: %v\n%q\n%q", err, out, out2)
		}
		if len(m.Segments()) != len(m2.Segments()) || m.Delimiters != m2.Delimiters || m.Charset != m2.Charset {
			t.Fatalf("round trip changed the structure")
		}
		for i, s := range m.Segments() {
			s2 := m2.Segments()[i]
			if s.Name != s2.Name || s.Occurrence != s2.Occurrence || s.NumFields() != s2.NumFields() {
				t.Fatalf("segment %d changed", i+1)
			}
			for n := 1; n <= s.NumFields(); n++ {
				if s.Raw(n) != s2.Raw(n) {
					t.Fatalf("segment %d field %d changed", i+1, n)
				}
			}
		}
	})
}

// FuzzReader: the batch Reader never panics, always ends, and every
// message it returns encodes.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), Options{Limits: Limits{MaxMessageBytes: 1 << 12, MaxSegments: 50, MaxFields: 50}})
		for i := 0; i <= len(data)+1; i++ {
			m, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if r.err != nil {
					return
				}
				continue
			}
			if _, err := m.Encode(); err != nil {
				t.Fatalf("Encode: %v", err)
			}
		}
		t.Fatalf("Reader did not end")
	})
}

// FuzzPath: ParsePath never panics; what it accepts prints back as the
// input and is a valid path.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"PID-3", "PID-5[1].1", "OBX[2]-5", "SCH-11.4", "PID-3[2].4.1", "ZS1-9999", "PID-03", "PID-3[0]", "", "P"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if !errors.Is(err, ErrPath) {
				t.Fatalf("error not ErrPath: %v", err)
			}
			return
		}
		if p.String() != s || !p.valid() {
			t.Fatalf("ParsePath(%q) = %+v, String %q", s, p, p.String())
		}
		if strings.ContainsAny(s, " \t\r\n") {
			t.Fatalf("accepted white space: %q", s)
		}
	})
}
