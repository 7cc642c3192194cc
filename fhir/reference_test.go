package fhir

import "testing"

func TestSplitReference(t *testing.T) {
	for _, c := range []struct{ ref, typ, id string }{
		{"Patient/1", "Patient", "1"},
		{"https://x/fhir/Patient/1/_history/2", "Patient", "1"},
		{"Patient/1/_history/2", "Patient", "1"},
		{"#contained", "", ""},
		{"urn:uuid:1a2b", "", ""},
		{"patient/1", "", ""},
		{"Patient/", "", ""},
		{"/1", "", ""},
		{"Patient", "", ""},
		{"", "", ""},
	} {
		typ, id := SplitReference(c.ref)
		if typ != c.typ || id != c.id {
			t.Errorf("SplitReference(%q) = %q, %q; want %q, %q", c.ref, typ, id, c.typ, c.id)
		}
	}
}

func FuzzSplitReference(f *testing.F) {
	for _, s := range []string{"Patient/1", "https://x/fhir/Patient/1/_history/2", "#a", "urn:x", "/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		typ, id := SplitReference(ref)
		if (typ == "") != (id == "") {
			t.Fatalf("SplitReference(%q) = %q, %q: one part empty", ref, typ, id)
		}
		if typ != "" && (typ[0] < 'A' || typ[0] > 'Z') {
			t.Fatalf("SplitReference(%q) type %q", ref, typ)
		}
	})
}
