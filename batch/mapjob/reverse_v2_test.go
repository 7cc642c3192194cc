package mapjob

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
	"github.com/google/go-cmp/cmp"
)

const v2Mapping = `name: t/adt
version: 1
source: ADT
direction: reverse
resource: Patient
input: hl7v2
when: "v2('MSH-9.2') != 'A99'"
fields:
  - target: identifier[0].value
    from: "v2('PID-3[1].1')"
    required: true
  - target: name[0].family
    from: "v2('PID-5[1].1')"
  - target: birthDate
    from: "v2('PID-7')"
    transform: [v2datetime]
`

// adt is a synthetic ADT^A04 with the given PID-3, PID-5 and PID-7.
func adt(n int, id, family, birth string) string {
	return fmt.Sprintf("MSH|^~\\&|A|B|C|D|20260102090000||ADT^A04|%d|P|2.5.1\rPID|1||%s||%s||%s\r", n, id, family, birth)
}

func TestReverseHL7v2(t *testing.T) {
	m := parse(t, v2Mapping)
	msgs := []string{
		adt(1, "ID1", "ONE", "19900101"),
		adt(2, "ID2", "TWO", "19901301"),                                       // bad month
		adt(3, "", "THREE", "19900103"),                                        // no identifier
		"MSH|^~\\&|A|B|C|D|2026||ADT^A04|4|P|2.5.1\rPID|1||ID4||FOUR \\Q\\|\r", // bad escape, read lazily: mapped
		"MSH|^~\\&|A|B|C|D|2026||ADT^A04|5|P|2.5.1\rpid|1\r",                   // bad segment name
		strings.Replace(adt(6, "ID6", "SIX", ""), "A04", "A99", 1),             // skipped by when
		adt(7, "ID7", "SEVEN", "19900107"),
	}
	plain := strings.Join(msgs, "")
	batch := "FHS|^~\\&|A\rBHS|^~\\&|A\r" + plain + "BTS|7\rFTS|1\r"
	for name, in := range map[string]string{"plain": plain, "batch": batch, "lf": strings.ReplaceAll(plain, "\r", "\n")} {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", name, workers), func(t *testing.T) {
				r := run(t, Options{Mapping: m, In: strings.NewReader(in), Workers: workers})
				var got []string
				for _, e := range r.errs {
					got = append(got, e.Error())
				}
				want := []string{
					`message 2 (PID-7): mapping t/adt: field birthDate (from "v2('PID-7')"): transform v2datetime: value is not an HL7 v2 date/time (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ])`,
					`message 3 (PID-3[1].1): mapping t/adt: field identifier[0].value (from "v2('PID-3[1].1')"): required field is empty`,
					`message 4 (PID-5[1].1): mapping t/adt: field name[0].family (from "v2('PID-5[1].1')"): evaluating expression: fhirpath: evaluation error: v2(): hl7v2: PID-5[1].1: unsupported escape sequence`,
					`hl7v2: message 5: segment 2: segment name must be three upper-case letters or digits starting with a letter`,
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
				recs := jsonLines(t, r.out)
				want2 := []map[string]any{
					{"resourceType": "Patient", "identifier": []any{map[string]any{"value": "ID1"}}, "name": []any{map[string]any{"family": "ONE"}}, "birthDate": "1990-01-01"},
					{"resourceType": "Patient", "identifier": []any{map[string]any{"value": "ID7"}}, "name": []any{map[string]any{"family": "SEVEN"}}, "birthDate": "1990-01-07"},
				}
				if diff := cmp.Diff(want2, recs); diff != "" {
					t.Errorf("output (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(Stats{Read: 7, Written: 2, Skipped: 1, Failed: 4}, r.st); diff != "" {
					t.Errorf("stats (-want +got):\n%s", diff)
				}
				checkStats(t, r)
				for _, e := range got {
					for _, v := range []string{"TWO", "19901301", "THREE", "FOUR"} {
						if strings.Contains(e, v) {
							t.Errorf("error %q shows the value %q", e, v)
						}
					}
				}
			})
		}
	}
}

// TestReverseHL7v2Envelope: a broken batch envelope ends the run (as a
// CSV read error does: the output is not committed) after mapping the
// messages before it.
func TestReverseHL7v2Envelope(t *testing.T) {
	m := parse(t, v2Mapping)
	in := "FHS|^~\\&|A\rBHS|^~\\&|A\r" + adt(1, "ID1", "ONE", "") + adt(2, "ID2", "TWO", "") + "BTS|3\rFTS|1\r"
	r := run(t, Options{Mapping: m, In: strings.NewReader(in), Workers: 2})
	if !errors.Is(r.err, hl7v2.ErrBatch) {
		t.Fatalf("Run error %v, want ErrBatch", r.err)
	}
	if r.st.Read != 2 || r.st.Written != 2 {
		t.Errorf("stats %+v, want the 2 messages before the bad trailer read and mapped", r.st)
	}
}

func TestReverseHL7v2Formats(t *testing.T) {
	m := parse(t, v2Mapping)
	in := adt(1, "ID1", "ONE", "") + adt(2, "ID2", "TWO", "")
	r := run(t, Options{Mapping: m, In: strings.NewReader(in), Format: JSON})
	if r.err != nil || !strings.HasPrefix(r.out, "[") || strings.Count(r.out, `"resourceType"`) != 2 {
		t.Errorf("json: %v %q", r.err, r.out)
	}
	r = run(t, Options{Mapping: m, In: strings.NewReader(in), Format: CSV})
	if r.err == nil {
		t.Error("csv output of a reverse mapping accepted")
	}
	r = run(t, Options{Mapping: m, In: strings.NewReader("")})
	if r.err != nil || r.out != "" || r.st != (Stats{}) {
		t.Errorf("empty input: %v %q %+v", r.err, r.out, r.st)
	}
}
