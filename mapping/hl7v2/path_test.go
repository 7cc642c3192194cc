package hl7v2

import (
	"errors"
	"testing"
)

func TestParsePath(t *testing.T) {
	valid := []struct {
		in   string
		want Path
	}{
		{"PID-3", Path{Segment: "PID", Field: 3}},
		{"PID-5[1].1", Path{Segment: "PID", Field: 5, Repetition: 1, Component: 1}},
		{"SCH-11.4", Path{Segment: "SCH", Field: 11, Component: 4}},
		{"AIP-3.1", Path{Segment: "AIP", Field: 3, Component: 1}},
		{"OBX[2]-5", Path{Segment: "OBX", Occurrence: 2, Field: 5}},
		{"PID-3[2].4.1", Path{Segment: "PID", Field: 3, Repetition: 2, Component: 4, Sub: 1}},
		{"ZS1-9999[9999].9999.9999", Path{Segment: "ZS1", Field: 9999, Repetition: 9999, Component: 9999, Sub: 9999}},
		{"MSH-1", Path{Segment: "MSH", Field: 1}},
		{"Z01[10]-12", Path{Segment: "Z01", Occurrence: 10, Field: 12}},
	}
	for _, tt := range valid {
		p, err := ParsePath(tt.in)
		if err != nil || p != tt.want {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tt.in, p, err, tt.want)
			continue
		}
		if p.String() != tt.in {
			t.Errorf("String() = %q, want %q", p.String(), tt.in)
		}
	}
	invalid := []string{
		"", "PID", "pid-3", "PI-3", "1ID-3", "PIDX-3", "PID3", "PID-", "PID-0", "PID-03",
		"PID-3[0]", "PID-3[]", "PID-3[1", "PID-3.0", "PID-3.", "PID-3..1", "PID-3.1.", "PID-3.1.1.1",
		"PID-10000", "PID-3[1][2]", "PID-3 ", " PID-3", "PID--3", "PID-+3", "PID-3.-1",
		"PID[0]-3", "PID[1]", "PID[1]3", "OBX-5[1]x", "PID-3[1].1[2]", "PÏD-3", "PID-٣",
		"PID-1" + string(make([]byte, 70)),
	}
	for _, in := range invalid {
		if p, err := ParsePath(in); err == nil || !errors.Is(err, ErrPath) {
			t.Errorf("ParsePath(%q) = %+v, %v; want ErrPath", in, p, err)
		}
	}
}

func TestPathErrorText(t *testing.T) {
	_, err := ParsePath("PID-3[x]")
	if err == nil || err.Error() != `hl7v2: path "PID-3[x]", column 7: expected a number: bad path` {
		t.Errorf("got %v", err)
	}
}

func TestMustParsePathPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	MustParsePath("bad")
}
