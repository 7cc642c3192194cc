package mllp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func frame(s string) string { return "\x0b" + s + "\x1c\r" }

func TestReadFrame(t *testing.T) {
	msg := "MSH|^~\\&|A\rPID|1\r"
	tests := []struct {
		name   string
		in     string
		max    int
		want   []string
		err    error
		offset int64
	}{
		{"one", frame(msg), 0, []string{msg}, io.EOF, -1},
		{"two and empty", frame(msg) + frame("") + frame("x"), 0, []string{msg, "", "x"}, io.EOF, -1},
		{"empty stream", "", 0, nil, io.EOF, -1},
		{"garbage first", "x" + frame(msg), 0, nil, ErrOutsideFrame, 0},
		{"newline between frames", frame("a") + "\n" + frame("b"), 0, []string{"a"}, ErrOutsideFrame, 4},
		{"no CR after end", "\x0babc\x1cX", 0, nil, ErrBadEnd, 5},
		{"start inside frame", "\x0bab\x0bc\x1c\r", 0, nil, ErrBadEnd, 3},
		{"truncated in body", "\x0babc", 0, nil, ErrTruncated, 4},
		{"truncated before CR", "\x0babc\x1c", 0, nil, ErrTruncated, 5},
		{"at max", frame("abcd"), 4, []string{"abcd"}, io.EOF, -1},
		{"over max", frame("abcde"), 4, nil, ErrTooLarge, 5},
		{"over max unterminated", "\x0b" + strings.Repeat("z", 10000), 100, nil, ErrTooLarge, 101},
		{"large", frame(strings.Repeat("y", 70000)), 0, []string{strings.Repeat("y", 70000)}, io.EOF, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.in), tc.max)
			var got []string
			var err error
			for {
				var m []byte
				if m, err = r.ReadFrame(); err != nil {
					break
				}
				got = append(got, string(m))
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d frames, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("frame %d differs", i)
				}
			}
			if tc.offset >= 0 {
				var fe *FrameError
				if !errors.As(err, &fe) || fe.Offset != tc.offset {
					t.Errorf("error %v: want offset %d", err, tc.offset)
				}
			}
		})
	}
}

func TestWriteFrame(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFrame(&b, []byte("MSA|AA|1\r")); err != nil {
		t.Fatal(err)
	}
	if b.String() != frame("MSA|AA|1\r") {
		t.Errorf("got %q", b.String())
	}
	if err := WriteFrame(&b, []byte("a\x1cb")); !errors.Is(err, ErrBadEnd) {
		t.Errorf("block character accepted: %v", err)
	}
}

// FuzzFrame checks that the reader never panics nor returns more than
// the bound, and that what it reads writes back to the same bytes.
func FuzzFrame(f *testing.F) {
	f.Add([]byte(frame("MSH|^~\\&|A\r") + frame("")))
	f.Add([]byte("\x0babc\x1c"))
	f.Add([]byte("x\x0b\x1c\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 64)
		var out bytes.Buffer
		for {
			m, err := r.ReadFrame()
			if err != nil {
				var fe *FrameError
				if err != io.EOF && !errors.As(err, &fe) {
					t.Fatalf("unexpected error type %T", err)
				}
				if fe != nil && (fe.Offset < 0 || fe.Offset > int64(len(in))) {
					t.Fatalf("offset %d outside input of %d bytes", fe.Offset, len(in))
				}
				break
			}
			if len(m) > 64 {
				t.Fatalf("frame of %d bytes over bound", len(m))
			}
			if err := WriteFrame(&out, m); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("frames read do not write back as the input")
		}
	})
}
