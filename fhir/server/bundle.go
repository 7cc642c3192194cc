package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// postBundle serves POST /fhir: a transaction or batch Bundle.
func (h *handler) postBundle(w http.ResponseWriter, r *http.Request) {
	data, e := h.readBody(w, r)
	if e != nil {
		h.writeError(w, e)
		return
	}
	release, e := h.slot(r)
	if e != nil {
		h.writeError(w, e)
		return
	}
	defer release()
	v, e := h.decode(data, "Bundle")
	if e != nil {
		h.writeError(w, e)
		return
	}
	if tag := bundleTag(v); tag != "" {
		r = r.WithContext(withBundle(r.Context(), tag))
		if rec, ok := w.(*recorder); ok {
			rec.bundle = tag
		}
	}
	typ := v.GetString("type")
	if typ != KindTransaction && typ != KindBatch {
		h.writeError(w, newError(http.StatusBadRequest, reasonInvalid, "not-supported", "Bundle.type",
			"only transaction and batch Bundles can be posted to the base URL"))
		return
	}
	if ev := v.Get("entry"); ev != nil && ev.Kind == fhir.Array && len(ev.Items) > h.opt.MaxEntries {
		h.writeError(w, newError(http.StatusRequestEntityTooLarge, reasonTooManyEntries, "too-costly",
			"Bundle.entry", "the Bundle has more entries than the server accepts in one request"))
		return
	}
	b, err := fhir.ParseBundle(v)
	if err != nil {
		h.writeError(w, newError(http.StatusBadRequest, reasonInvalid, fhir.CodeStructure, "Bundle",
			"not a Bundle"))
		return
	}
	_, span := otel.Tracer(tracerName).Start(r.Context(), "validate Bundle",
		trace.WithAttributes(attribute.String("fhirbridge.bundle_type", typ), attribute.Int("fhirbridge.entries", len(b.Entries))))
	whole, per := fhir.Validate(v, "").ByEntry()
	entries := make([]Entry, len(b.Entries))
	for i := range b.Entries {
		var oo *fhir.OperationOutcome
		entries[i], oo = h.checkEntry(&b.Entries[i])
		per[i] = per[i].Merge(oo)
	}
	valid := !whole.HasErrors()
	for _, oo := range per {
		valid = valid && !oo.HasErrors()
	}
	span.SetAttributes(attribute.Bool("fhirbridge.valid", valid))
	span.End()
	key := bundleKey(v, data)
	release() // the costly part is done; the Backend is not bounded here
	if typ == KindTransaction {
		h.transaction(w, r, key, v, entries, whole, per)
		return
	}
	if whole.HasErrors() {
		h.writeError(w, &apiError{status: http.StatusBadRequest, reason: reasonInvalid, oo: whole})
		return
	}
	h.batch(w, r, key, v, entries, per)
}

// tracerName is the instrumentation scope of the server's spans (the
// global provider's: a no-op one unless the application installs one).
const tracerName = "github.com/fhirbridge/fhirbridge"

// bundleKey is the idempotency key of a Bundle: its identifier when it
// has one (system|value), else the SHA-256 of the body.
func bundleKey(v *fhir.Value, body []byte) string {
	if id := v.Get("identifier"); id != nil {
		if val := id.GetString("value"); val != "" {
			return identifierKeyPrefix + id.GetString("system") + "|" + val
		}
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkEntry turns a Bundle entry into an Entry and reports what this
// server cannot do with it: methods other than POST, PUT and DELETE,
// unserved types, a request.url that does not match the resource, an
// unsupported condition.
func (h *handler) checkEntry(be *fhir.BundleEntry) (Entry, *fhir.OperationOutcome) {
	p := be.Path()
	e := Entry{Method: be.Method, FullURL: be.FullURL, Resource: be.Resource, Index: be.Index}
	if be.Value != nil {
		e.IfNoneExist = be.Value.Get("request").GetString("ifNoneExist")
	}
	var oo *fhir.OperationOutcome
	if im, bad := entryIfMatch(be); bad != nil {
		return e, bad
	} else if be.Method == "PUT" || be.Method == "DELETE" {
		e.IfMatch = im
	}
	if be.Method == "DELETE" {
		return h.checkDeleteEntry(be, e)
	}
	if be.Method != "POST" && be.Method != "PUT" {
		return e, oo.Add("not-supported", p+".request.method",
			"only POST (create), PUT (update) and DELETE entries are supported")
	}
	if be.Resource == nil {
		return e, oo.Add(fhir.CodeRequired, p+".resource", "this Bundle entry needs a resource")
	}
	e.Type = be.Resource.ResourceType()
	if !h.types[e.Type] {
		return e, oo.Add("not-supported", p+".resource", "resource type not supported by this server")
	}
	url, _, _ := strings.Cut(be.URL, "?")
	if strings.Contains(be.URL, "?") && be.Method == "PUT" {
		return checkConditionalEntry(be, e)
	}
	switch be.Method {
	case "POST":
		if url != e.Type {
			oo = oo.Add(fhir.CodeInvalid, p+".request.url", "request.url must be the resource type")
		}
	case "PUT":
		e.ID = be.Resource.GetString("id")
		if url != e.Type+"/"+e.ID || !fhir.ValidID(e.ID) {
			oo = oo.Add(fhir.CodeInvalid, p+".request.url",
				"request.url must be the resource type and the resource id")
		}
	}
	return e, oo
}
