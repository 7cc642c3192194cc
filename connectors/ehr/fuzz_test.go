package ehr

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// FuzzParseRead: a hostile answer to the read never panics; what is
// accepted is the resource read, with an If-Match value that cannot break
// the header.
func FuzzParseRead(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Appointment","id":"a1","meta":{"versionId":"3"},"status":"booked"}`), `W/"3"`)
	f.Add([]byte(`{"resourceType":"Appointment","id":"a1","meta":{"versionId":"3\"\r\nX: y"}}`), "")
	f.Add([]byte(`{"resourceType":"Patient","id":"a1"}`), `"abc"`)
	f.Fuzz(func(t *testing.T, body []byte, etag string) {
		v, version, err := ParseRead(body, etag, "Appointment", "a1")
		if err != nil {
			return
		}
		if v.ResourceType() != "Appointment" || v.GetString("id") != "a1" {
			t.Fatalf("accepted another resource")
		}
		for i := 0; i < len(version); i++ {
			if version[i] == '\r' || version[i] == '\n' {
				t.Fatalf("If-Match %q", version)
			}
		}
		// merging the flow's version onto any accepted copy never panics
		// and keeps the type and id
		ours, _ := fhir.DecodeString(`{"resourceType":"Appointment","id":"a1","status":"cancelled","extension":[{"url":"urn:fhirbridge:x"}]}`, fhir.DecodeOptions{})
		m := Merge(v, ours)
		if m.ResourceType() != "Appointment" || m.GetString("id") != "a1" || m.GetString("status") != "cancelled" {
			t.Fatalf("merged %s", m.JSON())
		}
		_ = Same(m, v)
	})
}
