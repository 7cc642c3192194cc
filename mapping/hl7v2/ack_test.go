package hl7v2

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fixedAcker has a fixed clock and control id so ACKs can be compared.
var fixedAcker = Acker{
	Now:       func() time.Time { return time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600)) },
	ControlID: func() string { return "ACK0001" },
}

func TestAck(t *testing.T) {
	custom := translate(adtA04, Delimiters{Field: '*', Component: ':', Repetition: '@', Escape: '%', Subcomponent: '$'})
	latin := seg(`MSH|^~\&|LAB|SITE&1.2&ISO|FB|TC|20260101||ORU^R01|C\F\9|T|2.3||||||8859/1`, "PID|1||||M\xfcller")
	tests := []struct {
		name string
		in   string
		code string
		e    *AckError
		want string
	}{
		{"accept", adtA04, AckAccept, nil, seg(
			`MSH|^~\&|FHIRBRIDGE|TELECARE|REGADT|GOODHEALTH|20260304050607+0100||ACK^A04^ACK|ACK0001|P|2.5.1||||||UNICODE UTF-8`,
			`MSA|AA|MSG00001`)},
		{"error with location", siuS12, AckErr, &AckError{Loc: MustParsePath("PID-3[2].4.1"), Code: CodeRequiredMissing, Text: "patient identifier missing"}, seg(
			`MSH|^~\&|FHIRBRIDGE|TELECARE|SCHED|GOODHEALTH|20260304050607+0100||ACK^S12^ACK|ACK0001|P|2.5.1||||||UNICODE UTF-8`,
			`MSA|AE|MSG00002`,
			`ERR||PID^1^3^2^4^1|101^Required field missing^HL70357|E||||patient identifier missing`)},
		{"reject segment only", adtA04, AckReject, &AckError{Loc: Path{Segment: "OBX", Occurrence: 2}, Code: CodeSegmentSequence, Text: "OBX out of place"}, seg(
			`MSH|^~\&|FHIRBRIDGE|TELECARE|REGADT|GOODHEALTH|20260304050607+0100||ACK^A04^ACK|ACK0001|P|2.5.1||||||UNICODE UTF-8`,
			`MSA|AR|MSG00001`,
			`ERR||OBX^2|100^Segment sequence error^HL70357|E||||OBX out of place`)},
		{"internal error no location, text escaped", adtA04, AckErr, &AckError{Code: CodeInternal, Text: "store down | retry"}, seg(
			`MSH|^~\&|FHIRBRIDGE|TELECARE|REGADT|GOODHEALTH|20260304050607+0100||ACK^A04^ACK|ACK0001|P|2.5.1||||||UNICODE UTF-8`,
			`MSA|AE|MSG00001`,
			`ERR|||207^Application internal error^HL70357|E||||store down \F\ retry`)},
		{"custom delimiters", custom, AckErr, &AckError{Loc: MustParsePath("PID-5.2"), Code: CodeDataType, Text: "a:b"}, seg(
			`MSH*:@%$*FHIRBRIDGE*TELECARE*REGADT*GOODHEALTH*20260304050607+0100**ACK:A04:ACK*ACK0001*P*2.5.1******UNICODE UTF-8`,
			`MSA*AE*MSG00001`,
			`ERR**PID:1:5:1:2*102:Data type error:HL70357*E****a%S%b`)},
		{"latin1 and escaped control id kept", latin, AckReject, &AckError{Loc: MustParsePath("MSH-12"), Code: CodeUnsupportedVersion, Text: "version"}, seg(
			`MSH|^~\&|FB|TC|LAB|SITE&1.2&ISO|20260304050607+0100||ACK^R01^ACK|ACK0001|T|2.3||||||8859/1`,
			`MSA|AR|C\F\9`,
			`ERR||MSH^1^12^1|203^Unsupported version id^HL70357|E||||version`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack, err := fixedAcker.Ack(mustParse(t, tc.in), tc.code, tc.e)
			if err != nil {
				t.Fatal(err)
			}
			out, err := ack.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("ACK:\n got %q\nwant %q", out, tc.want)
			}
		})
	}
}

// TestAckParsesBack parses an ACK and reads its fields by path.
func TestAckParsesBack(t *testing.T) {
	ack, err := Ack(mustParse(t, siuS12), AckErr, &AckError{Loc: MustParsePath("SCH-11.4"), Code: CodeDataType, Text: "bad start time"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := ack.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back := mustParse(t, string(out))
	want := map[string]string{
		"MSH-3": "FHIRBRIDGE", "MSH-4": "TELECARE", "MSH-5": "SCHED", "MSH-6": "GOODHEALTH",
		"MSH-9.1": "ACK", "MSH-9.2": "S12", "MSH-9.3": "ACK", "MSH-11": "P", "MSH-12": "2.5.1",
		"MSH-18": "UNICODE UTF-8", "MSA-1": "AE", "MSA-2": "MSG00002",
		"ERR-2.1": "SCH", "ERR-2.2": "1", "ERR-2.3": "11", "ERR-2.4": "1", "ERR-2.5": "4",
		"ERR-3.1": "102", "ERR-3.3": "HL70357", "ERR-4": "E", "ERR-8": "bad start time",
	}
	for p, w := range want {
		if got, err := back.Get(p); err != nil || got != w {
			t.Errorf("%s = %q (%v), want %q", p, got, err, w)
		}
	}
	id, _ := back.Get("MSH-10")
	if len(id) != 20 || id == "MSG00002" {
		t.Errorf("MSH-10 %q: want a new 20-digit control id", id)
	}
	ts, _ := back.Get("MSH-7")
	if _, err := time.Parse("20060102150405-0700", ts); err != nil {
		t.Errorf("MSH-7 %q: %v", ts, err)
	}
	id2, _ := mustAck(t, siuS12).Get("MSH-10")
	if id2 == id {
		t.Errorf("two ACKs share control id %q", id)
	}
}

func mustAck(t *testing.T, in string) *Message {
	t.Helper()
	a, err := Ack(mustParse(t, in), AckAccept, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAckBadRequests(t *testing.T) {
	m := mustParse(t, adtA04)
	tests := []struct {
		name string
		orig *Message
		code string
		e    *AckError
	}{
		{"nil message", nil, AckAccept, nil},
		{"unknown code", m, "CA", nil},
		{"AA with error", m, AckAccept, &AckError{Code: CodeInternal}},
		{"AE without error", m, AckErr, nil},
		{"AR without error", m, AckReject, nil},
		{"unknown table code", m, AckErr, &AckError{Code: 999}},
		{"bad location", m, AckErr, &AckError{Code: CodeDataType, Loc: Path{Segment: "pid", Field: 1}}},
		{"text too long", m, AckErr, &AckError{Code: CodeInternal, Text: strings.Repeat("x", MaxAckText+1)}},
	}
	for _, tc := range tests {
		if _, err := fixedAcker.Ack(tc.orig, tc.code, tc.e); !errors.Is(err, ErrAck) {
			t.Errorf("%s: error %v, want ErrAck", tc.name, err)
		}
	}
}

func TestAckForUnparsable(t *testing.T) {
	bad := &AckError{Code: CodeDataType, Text: "message could not be parsed"}
	rejected := seg(`MSH|^~\&|||||20260304050607+0100||ACK^^ACK|ACK0001|P|2.5`,
		`MSA|AR|`, `ERR|||102^Data type error^HL70357|E||||message could not be parsed`)
	tests := []struct {
		name string
		raw  string
		code string
		want string
	}{
		{"broken body after a good MSH", "\n" + seg(`MSH|^~\&|LAB|SITE|FB|TC|20260101||ORU^R01^ORU_R01|C9|P|2.5.1`, `PID|1||\Zbad`), AckErr, seg(
			`MSH|^~\&|FB|TC|LAB|SITE|20260304050607+0100||ACK^R01^ACK|ACK0001|P|2.5.1`,
			`MSA|AE|C9`, `ERR|||102^Data type error^HL70357|E||||message could not be parsed`)},
		{"unsafe fields dropped, charset kept", seg(`MSH#:@%$#L%XA%#S` + "\xff" + `#F#T#x##:R01#C%F%9#D#2.4######8859/1`), AckErr, seg(
			`MSH#:@%$#F#T###20260304050607+0100##ACK:R01:ACK#ACK0001#D#2.4######8859/1`,
			`MSA#AE#`, `ERR###102:Data type error:HL70357#E####message could not be parsed`)},
		{"unsupported charset dropped", seg(`MSH|^~\&|A|B|C|D||||X|P|2.5||||||UTF-16`), AckErr, seg(
			`MSH|^~\&|C|D|A|B|20260304050607+0100||ACK^^ACK|ACK0001|P|2.5`,
			`MSA|AE|X`, `ERR|||102^Data type error^HL70357|E||||message could not be parsed`)},
		{"bad delimiters", "MSH|^^\\&|A|B\r", AckErr, rejected},
		{"no MSH", "PID|1\r", AckErr, rejected},
		{"empty", "", AckErr, rejected},
		{"binary", "\x00\x01\x02MSH|^~\\&", AckAccept, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := bad
			if tc.code == AckAccept {
				e = nil
			}
			ack, err := fixedAcker.AckForUnparsable([]byte(tc.raw), tc.code, e)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("want an error for AR without detail")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := ack.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("ACK:\n got %q\nwant %q", out, tc.want)
			}
			if _, err := Parse(out); err != nil {
				t.Errorf("ACK does not parse: %v", err)
			}
		})
	}
}

// FuzzAckForUnparsable checks that whatever the input, the ACK encodes
// and parses back.
func FuzzAckForUnparsable(f *testing.F) {
	f.Add([]byte(adtA04))
	f.Add([]byte(`MSH#:@%$#A#B#C#D###X:Y#1#P#2.5`))
	f.Add([]byte("MSH|^~\\&|\xff"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ack, err := AckForUnparsable(raw, AckErr, &AckError{Code: CodeInternal, Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ack.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("ACK %q does not parse: %v", out, err)
		}
		if code, _ := back.Get("MSA-1"); code != AckErr && code != AckReject {
			t.Fatalf("MSA-1 %q", code)
		}
	})
}
