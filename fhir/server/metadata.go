package server

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// capabilityStatement renders the CapabilityStatement of the server: the
// served types with exactly the interactions implemented (read, create,
// conditional create, update with If-Match, conditional update, delete,
// conditional delete of a single match; with a versioned backend also
// vread, history-instance, history-type and conditional reads; search-type
// with its declared parameters only where a Searcher is given; no patch),
// and the transaction and batch system interactions, and the $validate
// operation.
func capabilityStatement(types []string, searches map[string]Searcher, auth, versioned bool, now time.Time) []byte {
	str := fhir.NewString
	obj := func(kv ...any) *fhir.Value {
		o := fhir.NewObject()
		for i := 0; i < len(kv); i += 2 {
			o.Set(kv[i].(string), kv[i+1].(*fhir.Value))
		}
		return o
	}
	codes := func(cs ...string) *fhir.Value {
		items := make([]*fhir.Value, len(cs))
		for i, c := range cs {
			items[i] = obj("code", str(c))
		}
		return fhir.NewArray(items...)
	}
	res := make([]*fhir.Value, len(types))
	for i, t := range types {
		interactions := []string{"read", "update", "delete", "create"}
		conditionalRead := "not-match"
		if versioned {
			interactions = []string{"read", "vread", "update", "delete", "create", "history-instance", "history-type"}
			conditionalRead = "full-support"
		}
		res[i] = obj(
			"type", str(t),
			"interaction", codes(interactions...),
			"versioning", str("versioned-update"),
			"readHistory", fhir.NewBool(versioned),
			"updateCreate", fhir.NewBool(true),
			"conditionalCreate", fhir.NewBool(true),
			"conditionalRead", str(conditionalRead),
			"conditionalUpdate", fhir.NewBool(true),
			"conditionalDelete", str("single"),
		)
		if s, ok := searches[t]; ok && s.serves() {
			addSearch(res[i], s)
		}
	}
	served := map[string]bool{}
	for _, t := range types {
		served[t] = true
	}
	var searchOnly []string
	for t, s := range searches {
		if !served[t] && s.serves() {
			searchOnly = append(searchOnly, t)
		}
	}
	sort.Strings(searchOnly)
	for _, t := range searchOnly {
		r := obj("type", str(t), "interaction", fhir.NewArray())
		addSearch(r, searches[t])
		res = append(res, r)
	}
	rest := obj("mode", str("server"))
	if auth {
		rest.Set("security", obj("description",
			str("Every request except metadata needs an OAuth 2.0 bearer token (RFC 6750) issued by the operator.")))
	} else {
		rest.Set("security", obj("description",
			str("No authentication is configured: the server must only listen on loopback.")))
	}
	rest.Set("resource", fhir.NewArray(res...))
	rest.Set("interaction", codes("transaction", "batch"))
	addValidate(rest, served)
	cs := obj(
		"resourceType", str("CapabilityStatement"),
		"status", str("active"),
		"date", str(now.UTC().Format(time.RFC3339)),
		"kind", str("instance"),
		"software", obj("name", str("fhirbridge")),
		"implementation", obj("description", str("fhirbridge FHIR endpoint"), "url", str("/fhir")),
		"fhirVersion", str("4.0.1"),
		"format", fhir.NewArray(str("application/fhir+json"), str("json")),
		"rest", fhir.NewArray(rest),
	)
	return cs.JSON()
}

// addSearch adds the search-type interaction and the declared parameters
// of s to a rest.resource entry.
func addSearch(res *fhir.Value, s Searcher) {
	in := res.Get("interaction")
	code := fhir.NewObject()
	code.Set("code", fhir.NewString("search-type"))
	in.Items = append(in.Items, code)
	params := make([]*fhir.Value, 0, len(s.Params))
	for _, p := range s.Params {
		sp := fhir.NewObject()
		sp.Set("name", fhir.NewString(p.Name))
		sp.Set("type", fhir.NewString(p.Type))
		if p.Documentation != "" {
			sp.Set("documentation", fhir.NewString(p.Documentation))
		}
		params = append(params, sp)
	}
	if len(params) > 0 {
		res.Set("searchParam", fhir.NewArray(params...))
	}
	if s.Query == nil {
		return
	}
	if len(s.Includes) > 0 {
		inc := make([]*fhir.Value, len(s.Includes))
		for i, v := range s.Includes {
			inc[i] = fhir.NewString(v)
		}
		res.Set("searchInclude", fhir.NewArray(inc...))
	}
	doc := "Pages of _count resources (default " + strconv.Itoa(DefaultCount) + ", at most " + strconv.Itoa(MaxCount) +
		") with a next link; _summary=count (or _count=0) gives the total only."
	if len(s.Sorts) > 0 {
		doc += " _sort: " + strings.Join(sortValues(s.Sorts), ", ") + "."
	}
	doc += " Unknown parameters are ignored and named in an OperationOutcome entry, or answered 400 with Prefer: handling=strict."
	res.Set("documentation", fhir.NewString(doc))
}

// metadata serves GET /fhir/metadata.
func (h *handler) metadata(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, h.capStmt)
}
