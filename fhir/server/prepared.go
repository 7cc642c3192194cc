package server

import (
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// PrepareTransaction checks a transaction Bundle built inside the bridge
// (an HL7 v2 message mapped to FHIR, say) exactly as POST /fhir checks a
// posted one — structure, validation of every resource, served types
// (DefaultTypes when types is empty), entry requests and conditions — and
// returns the Request a Backend commits: Key and BodyHash from
// Bundle.identifier (or the SHA-256 of the Bundle's JSON without one),
// Response rendering the transaction-response Bundle stored under Key. Any
// problem is returned as a value-free OperationOutcome and no Request.
// The caller may replace entries' resources before Commit (they are not
// re-checked), keeping Key and BodyHash those of the Bundle given here.
func PrepareTransaction(bundle *fhir.Value, types []string) (*Request, *fhir.OperationOutcome) {
	var oo *fhir.OperationOutcome
	if bundle == nil || bundle.Kind != fhir.Object || bundle.ResourceType() != "Bundle" {
		return nil, oo.Add(fhir.CodeStructure, "Bundle", "not a Bundle")
	}
	if bundle.GetString("type") != KindTransaction {
		return nil, oo.Add("not-supported", "Bundle.type", "only a transaction Bundle can be prepared")
	}
	if ev := bundle.Get("entry"); ev != nil && ev.Kind == fhir.Array && len(ev.Items) > DefaultMaxEntries {
		return nil, oo.Add("too-costly", "Bundle.entry", "the Bundle has more entries than the server accepts in one request")
	}
	b, err := fhir.ParseBundle(bundle)
	if err != nil {
		return nil, oo.Add(fhir.CodeStructure, "Bundle", "not a Bundle")
	}
	if len(types) == 0 {
		types = DefaultTypes
	}
	h := &handler{types: map[string]bool{}}
	for _, t := range types {
		h.types[t] = true
	}
	whole, per := fhir.Validate(bundle, "").ByEntry()
	oo = whole
	entries := make([]Entry, len(b.Entries))
	for i := range b.Entries {
		var eo *fhir.OperationOutcome
		entries[i], eo = h.checkEntry(&b.Entries[i])
		oo = oo.Merge(per[i]).Merge(eo)
	}
	if oo.HasErrors() {
		return nil, oo
	}
	key := bundleKey(bundle, bundle.JSON())
	req := &Request{Key: key, BodyHash: bundleBodyHash(key, bundle), Kind: KindTransaction, Entries: entries}
	req.Response = func(res *Result) (int, []byte) {
		return http.StatusOK, h.responseBundle("transaction-response", req.Entries, res, nil)
	}
	return req, nil
}

// Authorized reports whether r carries a bearer token whose hash is one
// of tokens (compared in constant time), or tokens is empty (no
// authentication configured), as the FHIR endpoint checks it. Routes that
// the bridge serves beside /fhir (POST /hl7v2) use it to require the same
// tokens.
func Authorized(tokens []TokenHash, r *http.Request) bool {
	if len(tokens) == 0 {
		return true
	}
	set, _ := newTokenSet(tokens)
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer") && token != "" && set.match(strings.TrimSpace(token))
}
