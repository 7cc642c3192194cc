package fhir

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func parseFixtureBundle(t *testing.T, name string) *Bundle {
	t.Helper()
	v, err := Decode(fixture(t, name), DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestResolveBundleReferences follows the cases documented in the spec's
// bundle-references example (FHIR R4 §2.36.4).
func TestResolveBundleReferences(t *testing.T) {
	b := parseFixtureBundle(t, "Bundle-bundle-references.json")
	tests := []struct {
		name string
		from int    // entry making the reference; -1 for Bundle.Resolve
		ref  string // the reference
		want int    // entry index expected, -1 for none
	}{
		{"relative against absolute base", 2, "Patient/23", 0},
		{"absolute URL equal to a fullUrl", 3, "http://example.org/fhir/Patient/23", 0},
		{"urn:uuid", 4, "urn:uuid:04121321-4af5-424c-a0e1-ed3aab1c349d", 1},
		{"absolute URL not in the Bundle", 5, "http://example.org/fhir-2/Patient/1", -1},
		{"relative against another base", 6, "Patient/23", -1},
		{"version specific", 9, "Patient/45/_history/2", 8},
		{"version specific, other version", 9, "Patient/45/_history/1", 7},
		{"unknown version falls back", 9, "Patient/45/_history/9", 8},
		{"no version picks the last", 9, "Patient/45", 8},
		{"no base: Type/id", -1, "Patient/23", 0},
		{"no base: Type/id via fullUrl tail", -1, "Observation/47", 9},
		{"contained is not resolved here", 2, "#p1", -1},
		{"conditional is not resolved", 2, "Patient?identifier=1", -1},
		{"unknown urn", 2, "urn:uuid:00000000-0000-0000-0000-000000000000", -1},
		{"empty", 2, "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *Value
			if tc.from < 0 {
				got = b.Resolve(tc.ref)
			} else {
				got = b.ResolverFor(tc.from).Resolve(tc.ref)
			}
			var want *Value
			if tc.want >= 0 {
				want = b.Entries[tc.want].Resource
			}
			if got != want {
				t.Errorf("got %s, want entry %d", got.JSON(), tc.want)
			}
		})
	}
}

func TestResolveTransaction(t *testing.T) {
	b := parseFixtureBundle(t, "Bundle-bundle-transaction.json")
	tests := []struct {
		ref  string
		want int
	}{
		{"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", 0},
		{"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059", 1},
		{"Patient/123", 2},
		{"http://example.org/fhir/Patient/123a", 4},
		{"Patient/234", -1}, // a DELETE entry has no resource
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			got := b.ResolverFor(0).Resolve(tc.ref)
			var want *Value
			if tc.want >= 0 {
				want = b.Entries[tc.want].Resource
			}
			if got != want {
				t.Errorf("got %s, want entry %d", got.JSON(), tc.want)
			}
		})
	}
}

func TestBundleStructure(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Issue
	}{
		{
			name: "dangling urn:uuid, missing request, duplicate fullUrl",
			in: `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:1e5b5fb4-0f6c-4a39-9f37-3c8f1b4f0b11","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
{"fullUrl":"urn:uuid:1e5b5fb4-0f6c-4a39-9f37-3c8f1b4f0b11","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
{"resource":{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"urn:uuid:9c1d7a4e-8b5f-4a52-a0a9-7f2e6c3b1d00"},"status":"accepted"}]}}]}`,
			want: []Issue{
				{Severity: "error", Code: "invalid", Expression: []string{"Bundle.entry[1].fullUrl"}, Diagnostics: "fullUrl is not unique in the Bundle"},
				{Severity: "error", Code: "required", Expression: []string{"Bundle.entry[2].request.method"}, Diagnostics: "transaction and batch entries need a valid request.method"},
				{Severity: "error", Code: "required", Expression: []string{"Bundle.entry[2].request.url"}, Diagnostics: "transaction and batch entries need request.url"},
				{Severity: "error", Code: "not-found", Expression: []string{"Bundle.entry[2].resource.participant[0].actor.reference"}, Diagnostics: "unresolved reference"},
			},
		},
		{
			name: "missing type, entry without resource, invalid entry resource",
			in:   `{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:x"},{"resource":{"resourceType":"Appointment","participant":[{"status":"accepted"}]}}]}`,
			want: []Issue{
				{Severity: "error", Code: "required", Expression: []string{"Bundle.type"}, Diagnostics: "required element is missing"},
				{Severity: "error", Code: "required", Expression: []string{"Bundle.entry[1].resource.Appointment.status"}, Diagnostics: "required element is missing"},
			},
		},
		{
			name: "bad type",
			in:   `{"resourceType":"Bundle","type":"pile"}`,
			want: []Issue{
				{Severity: "error", Code: "value", Expression: []string{"Bundle.type"}, Diagnostics: "code not in the required value set"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeString(tc.in, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			oo := Validate(v, "")
			if oo == nil {
				t.Fatal("no issues")
			}
			if diff := cmp.Diff(tc.want, oo.Issues); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}
