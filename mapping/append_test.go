package mapping

import (
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// appendMapping builds a transaction Bundle whose entries come from two
// each fields sharing the target entry, one per kind of record item.
const appendMapping = `name: t/append
version: 1
direction: reverse
source: x
resource: Bundle
fields:
  - target: type
    value: transaction
  - target: entry
    each: patients
    fields:
      - target: resource
        fields:
          - {target: resourceType, value: Patient}
          - {target: id, from: id}
  - target: entry
    each: doctors
    fields:
      - target: resource
        fields:
          - {target: resourceType, value: Practitioner}
          - {target: id, from: id}
`

// TestEachAppend: each fields sharing a target concatenate their elements
// in the order the fields are written, whichever of them gives nothing.
func TestEachAppend(t *testing.T) {
	m := mustParse(t, appendMapping, nil)
	for _, c := range []struct {
		name, rec, want string
	}{
		{"both", `{"patients":[{"id":"p1"}],"doctors":[{"id":"d1"},{"id":"d2"}]}`, "Patient/p1 Practitioner/d1 Practitioner/d2"},
		{"first empty", `{"doctors":[{"id":"d1"}]}`, "Practitioner/d1"},
		{"second empty", `{"patients":[{"id":"p1"},{"id":"p2"}]}`, "Patient/p1 Patient/p2"},
		{"none", `{}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := m.Reverse(mustJSON(t, c.rec))
			if err != nil {
				t.Fatal(err)
			}
			entries := out.Get("entry")
			if entries == nil || entries.Kind != fhir.Array {
				t.Fatalf("entry is %v, want an array", entries)
			}
			var got []string
			for _, e := range entries.Items {
				r := e.Get("resource")
				got = append(got, r.GetString("resourceType")+"/"+r.GetString("id"))
			}
			if s := strings.Join(got, " "); s != c.want {
				t.Errorf("entries %q, want %q", s, c.want)
			}
		})
	}
}

// TestEachAppendRefused: only each fields may share a target.
func TestEachAppendRefused(t *testing.T) {
	head := "name: t\nversion: 1\ndirection: reverse\nsource: x\nresource: Bundle\nfields:\n"
	for _, src := range []string{
		head + "  - {target: type, value: a}\n  - {target: type, value: b}\n",
		head + "  - {target: entry, each: a}\n  - {target: entry, from: b}\n",
		head + "  - {target: entry, from: b, type: array}\n  - {target: entry, each: a}\n",
	} {
		if _, err := Parse("m.yaml", []byte(src), nil, ".", nil); err == nil || !strings.Contains(err.Error(), "duplicate target") {
			t.Errorf("Parse = %v, want a duplicate target error, for\n%s", err, src)
		}
	}
}
