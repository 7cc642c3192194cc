package hl7v2

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// batchFile is a file of one batch of three messages, the second with
// custom separators and Latin-1 text.
var batchFile = seg(
	`FHS|^~\&|REGADT|GOODHEALTH|FHIRBRIDGE|TELECARE|20260103000000||FILE0001`,
	`BHS|^~\&|REGADT|GOODHEALTH|FHIRBRIDGE|TELECARE|20260103000000||BATCH0001`,
) + adtA04 + seg(
	`MSH#!~\&#SCHED#GOODHEALTH#####SIU!S12!SIU_S12#MSG00003#P#2.5.1######8859/1`,
	"PID#1##TEST0003##M\xfcller!Zo\xeb",
) + siuS12 + seg(`BTS|3`, `FTS|1`)

func readAll(t *testing.T, r *Reader) ([]*Message, error) {
	t.Helper()
	var out []*Message
	for {
		m, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, m)
	}
}

func TestReaderBatch(t *testing.T) {
	for name, in := range map[string]string{
		"CR":   batchFile,
		"LF":   strings.ReplaceAll(batchFile, "\r", "\n"),
		"CRLF": strings.ReplaceAll(batchFile, "\r", "\r\n"),
	} {
		r := NewReader(strings.NewReader(in), Options{})
		msgs, err := readAll(t, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(msgs) != 3 || r.MessageNumber() != 3 {
			t.Fatalf("%s: %d messages, number %d", name, len(msgs), r.MessageNumber())
		}
		if r.FileHeader() == nil || r.FileHeader().Raw(9) != "FILE0001" || r.BatchHeader().Raw(9) != "BATCH0001" {
			t.Errorf("%s: headers not kept", name)
		}
		if v, _ := msgs[0].Get("ZPI-3[2].1"); v != "LANG" {
			t.Errorf("%s: message 1 ZPI-3[2].1 = %q", name, v)
		}
		if v, _ := msgs[1].Get("PID-5.2"); v != "Zoë" || msgs[1].Delimiters.Field != '#' {
			t.Errorf("%s: message 2 PID-5.2 = %q", name, v)
		}
		if v, _ := msgs[2].Get("AIP-3.1"); v != "0001" {
			t.Errorf("%s: message 3 AIP-3.1 = %q", name, v)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("%s: Next after end = %v", name, err)
		}
	}
}

func TestReaderPlainStream(t *testing.T) {
	r := NewReader(strings.NewReader(adtA04+"\n\n"+siuS12+adtA04), Options{})
	msgs, err := readAll(t, r)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if code, ev := msgs[1].Type(); code != "SIU" || ev != "S12" {
		t.Errorf("message 2 is %s^%s", code, ev)
	}
	r = NewReader(strings.NewReader(""), Options{})
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("empty input: %v", err)
	}
}

func TestReaderBadMessageThenGoodOne(t *testing.T) {
	bad := seg(`MSH|^~\&|A||||||ADT^A04|2|P|2.5||||||`+canary, `PID|1||`+canary)
	r := NewReader(strings.NewReader(adtA04+bad+siuS12), Options{})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	if !errors.Is(err, ErrCharset) || err.Error() != "hl7v2: message 2: MSH-18: unsupported character set (supported: UNICODE UTF-8, 8859/1, ASCII)" {
		t.Fatalf("message 2: %v", err)
	}
	m, err := r.Next()
	if err != nil || r.MessageNumber() != 3 {
		t.Fatalf("message 3: %v (number %d)", err, r.MessageNumber())
	}
	if v, _ := m.Get("SCH-1.1"); v != "APT0001" {
		t.Errorf("SCH-1.1 = %q", v)
	}
}

func TestReaderEnvelopeErrors(t *testing.T) {
	fhs := `FHS|^~\&|A`
	bhs := `BHS|^~\&|A`
	tests := []struct {
		name, in, want string
		kind           error
		good           int // messages returned before the error
	}{
		{"BTS count", seg(bhs) + adtA04 + seg(`BTS|2`), "hl7v2: BTS-1: line 8: count does not match the 1 messages in the batch", ErrBatch, 1},
		{"BTS not a number", seg(bhs) + adtA04 + seg(`BTS|x`+canary), "hl7v2: BTS-1: line 8: count is not a number", ErrBatch, 1},
		{"FTS count", seg(fhs, bhs) + adtA04 + seg(`BTS|1`, `FTS|2`), "hl7v2: FTS-1: line 10: count does not match the 1 batches in the file", ErrBatch, 1},
		{"missing BTS", seg(bhs) + adtA04, "hl7v2: BHS: line 7: end of input inside a batch (BTS missing)", ErrBatch, 1},
		{"missing FTS", seg(fhs, bhs) + adtA04 + seg(`BTS`), "hl7v2: FHS: line 9: end of input before FTS", ErrBatch, 1},
		{"FTS without FHS", adtA04 + seg(`FTS|0`), "hl7v2: FTS: line 7: FTS without FHS", ErrBatch, 1},
		{"BTS without BHS", adtA04 + seg(`BTS|1`), "hl7v2: BTS: line 7: BTS without BHS", ErrBatch, 1},
		{"BHS in batch", seg(bhs) + adtA04 + seg(bhs), "hl7v2: BHS: line 8: BHS inside a batch (BTS missing)", ErrBatch, 1},
		{"FTS in batch", seg(fhs, bhs) + adtA04 + seg(`FTS`), "hl7v2: FTS: line 9: FTS inside a batch (BTS missing)", ErrBatch, 1},
		{"late FHS", adtA04 + seg(fhs), "hl7v2: FHS: line 7: FHS not at the start of the file", ErrBatch, 1},
		{"after FTS", seg(fhs, `FTS|0`) + adtA04, "hl7v2: line 3: data after FTS", ErrBatch, 0},
		{"junk line", seg(canary + `|1`), "hl7v2: line 1: expected MSH, FHS, BHS, BTS or FTS", ErrBatch, 0},
		{"bad FHS", seg(`FHS|^^\&|` + canary), "hl7v2: FHS: line 1: delimiters in fields 1 and 2 must be distinct printable ASCII characters other than letters, digits and space", ErrDelimiters, 0},
	}
	for _, tt := range tests {
		r := NewReader(strings.NewReader(tt.in), Options{})
		msgs, err := readAll(t, r)
		if err == nil || err.Error() != tt.want || !errors.Is(err, tt.kind) || len(msgs) != tt.good {
			t.Errorf("%s: got %d messages, %v; want %d, %q", tt.name, len(msgs), err, tt.good, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error leaks a value", tt.name)
		}
		if _, again := r.Next(); again != err {
			t.Errorf("%s: envelope error not final: %v", tt.name, again)
		}
	}
}

func TestReaderLimits(t *testing.T) {
	long := seg(`MSH|^~\&|A||||||ADT^A04|2|P|2.5`, `NTE|1||`+strings.Repeat("x", 300))
	tests := []struct {
		name string
		in   string
		lim  Limits
		want string
	}{
		{"line", long, Limits{MaxMessageBytes: 100}, "hl7v2: message 1: line 2: line longer than the message size limit"},
		{"line without end", strings.Repeat("y", 500), Limits{MaxMessageBytes: 100}, "hl7v2: line 1: line longer than the message size limit"},
		{"message bytes", adtA04, Limits{MaxMessageBytes: 300}, "hl7v2: message 1: segment 3: message larger than the size limit"},
		{"segments", adtA04, Limits{MaxSegments: 4}, "hl7v2: message 1: segment 5: more segments than the limit"},
		{"fields", adtA04, Limits{MaxFields: 15}, "hl7v2: message 1: MSH: more fields than the limit"},
	}
	for _, tt := range tests {
		r := NewReader(strings.NewReader(tt.in), Options{Limits: tt.lim})
		_, err := readAll(t, r)
		if !errors.Is(err, ErrLimit) || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// errReader fails after its data.
type errReader struct {
	data string
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(&errReader{data: adtA04 + `MSH|^~\&|A`, err: boom}, Options{})
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}
