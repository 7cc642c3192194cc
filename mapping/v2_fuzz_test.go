package mapping

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// fuzzMark is appended to every value of a fuzzed message: an error that
// shows it shows a value.
const fuzzMark = "QZXJ"

// markMessage rewrites m with fuzzMark appended to every non-empty piece
// of every field but MSH-1 and MSH-2, keeping the structure.
func markMessage(m *hl7v2.Message) []byte {
	d := m.Delimiters
	var b strings.Builder
	for _, s := range m.Segments() {
		b.WriteString(s.Name)
		for n := 1; n <= s.NumFields(); n++ {
			raw := s.Raw(n)
			if s.Name == "MSH" && n <= 2 {
				if n == 1 {
					b.WriteByte(d.Field)
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
					b.WriteString(fuzzMark)
				}
				if i < len(raw) {
					b.WriteByte(raw[i])
				}
				start = i + 1
			}
		}
		b.WriteByte('\r')
	}
	return []byte(b.String())
}

var fuzzMapping = sync.OnceValues(func() (*Mapping, error) {
	src := strings.Replace(dtmMapping, "fields:\n", "fields:\n  - target: identifier\n    each: \"v2reps('PID-3')\"\n    fields:\n      - {target: value, from: \"v2('1')\", required: true}\n      - {target: system, from: \"v2('4.2')\"}\n", 1)
	return Parse("fuzz.yaml", []byte(src), nil, ".", nil)
})

// FuzzReverseMessage: mapping any message never panics; an error is a
// *FieldError (or a located hl7v2 error inside one) that shows no value
// of the message.
func FuzzReverseMessage(f *testing.F) {
	for _, s := range []string{siuS12,
		er7(`MSH|^~\&|A|B|C|D|2026||ADT^A01|1|P|2.5.1`, `PID|1||X1^^^A&1.2&ISO~~X2||S^G||19900202`, "PV1"+strings.Repeat("|", 44)+"20260705103000+0100"),
		er7(`MSH|^~\&|A|B|C|D|2026||ADT^A01|1|P|2.5.1`, `PID|1||~^^^\Q\||||1990020`),
		er7(`MSH|^~\&|A`, `PID|1||\F\`), "MSH|"} {
		f.Add([]byte(s))
	}
	m, err := fuzzMapping()
	if err != nil {
		f.Fatal(err)
	}
	opt := hl7v2.Options{Limits: hl7v2.Limits{MaxMessageBytes: 1 << 13, MaxSegments: 100, MaxFields: 100}}
	f.Fuzz(func(t *testing.T, data []byte) {
		m0, err := opt.Parse(data)
		if err != nil || m0.Charset != hl7v2.UTF8 {
			return
		}
		msg, err := opt.Parse(markMessage(m0))
		if err != nil {
			return
		}
		_, err = m.ReverseMessage(msg)
		if err == nil {
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error is not a *FieldError: %v", err)
		}
		if strings.Contains(err.Error(), fuzzMark) {
			t.Fatalf("error shows a value: %v", err)
		}
		_ = V2Location(err)
	})
}
