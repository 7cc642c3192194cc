package fhir

// MaxIDLen is the longest FHIR id, in bytes (R4 §2.24.0.1, type id).
const MaxIDLen = 64

// ValidID reports whether id is a FHIR id fhirbridge accepts: the R4 id
// rule, 1 to 64 of A-Z, a-z, 0-9, "-" and "." ([A-Za-z0-9\-\.]{1,64}),
// except "." and "..". The R4 rule admits those two, but in a URL path
// they mean "this folder" and "the parent folder"; they are refused so
// that no id can walk a URL of ours or of a vendor. It is the one id
// check of fhirbridge: Validate, the FHIR endpoint, inbound files and
// the config all use it.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen || dotSegment(id) {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// dotSegment reports whether id is "." or "..", which R4 admits as ids
// but ValidID refuses.
func dotSegment(id string) bool { return id == "." || id == ".." }
