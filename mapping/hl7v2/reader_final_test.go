package hl7v2

import (
	"io"
	"strings"
	"testing"
)

// TestReaderFinal: an error of one message lets Next go on; an envelope
// error is final.
func TestReaderFinal(t *testing.T) {
	msg := "MSH|^~\\&|A|B|C|D|2026||ADT^A04|1|P|2.5.1\rPID|1\r"
	bad := "MSH|^~\\&|A|B|C|D|2026||ADT^A04|2|P|2.5.1\rpid|1\r"
	r := NewReader(strings.NewReader(msg+bad+msg+"BTS|1\r"), Options{})
	if _, err := r.Next(); err != nil || r.Final() {
		t.Fatalf("message 1: %v, final %v", err, r.Final())
	}
	if _, err := r.Next(); err == nil || r.Final() {
		t.Fatalf("message 2: %v, final %v; want a non-final error", err, r.Final())
	}
	if _, err := r.Next(); err != nil || r.Final() || r.MessageNumber() != 3 {
		t.Fatalf("message 3: %v, final %v", err, r.Final())
	}
	_, err := r.Next()
	if err == nil || err == io.EOF || !r.Final() {
		t.Fatalf("BTS without BHS: %v, final %v; want a final error", err, r.Final())
	}
	if _, err2 := r.Next(); err2 != err {
		t.Errorf("Next after a final error: %v", err2)
	}
}
