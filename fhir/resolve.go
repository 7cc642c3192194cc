package fhir

// Resolver finds the resource a FHIR reference points to. Implementations
// include a Bundle's index (fullUrl, Type/id, absolute URL equal to a
// fullUrl) and, in later issues, the bridge's store.
type Resolver interface {
	// Resolve returns the resource that reference (the Reference.reference
	// string, e.g. "urn:uuid:…", "Patient/123", "https://ehr/fhir/Patient/1")
	// points to, or nil when it cannot be found. It never fails loudly: an
	// unresolvable reference is an empty result in FHIRPath.
	Resolve(reference string) *Value
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(reference string) *Value

// Resolve calls f.
func (f ResolverFunc) Resolve(reference string) *Value { return f(reference) }
