package fhir

import "strings"

// SplitReference returns the type and id of a relative or absolute literal
// reference ("Patient/1", "https://x/fhir/Patient/1/_history/2"), and ""
// for anything else: a contained ("#id") or urn: reference, a type that
// does not start with a capital letter, an empty part.
func SplitReference(ref string) (typ, id string) {
	if strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "urn:") {
		return "", ""
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(ref, "/")
	if len(parts) < 2 {
		return "", ""
	}
	typ, id = parts[len(parts)-2], parts[len(parts)-1]
	if typ == "" || id == "" || typ[0] < 'A' || typ[0] > 'Z' {
		return "", ""
	}
	return typ, id
}
