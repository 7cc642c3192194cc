package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// ErrInvalidSearch is wrapped (with %w) by a SearchFunc whose parameters
// are well-formed names but unusable values (an unparsable date, a range
// too wide, a reference of the wrong type). The server answers 400. When
// the chain holds a *fhir.OperationOutcome (value-free by contract) it is
// the response body; otherwise a fixed text is.
var ErrInvalidSearch = errors.New("invalid search parameters")

// SearchParam declares one search parameter of a Searcher. The
// CapabilityStatement lists it (rest.resource.searchParam) exactly as
// declared.
type SearchParam struct {
	// Name is the parameter as written in the URL, e.g. "start".
	Name string
	// Type is the FHIR SearchParamType: number, date, string, token,
	// reference, composite, quantity, uri or special.
	Type string
	// Documentation says how the parameter is used (prefixes accepted,
	// what it maps to); it is published in the CapabilityStatement.
	Documentation string
	// Required makes the server answer 400 when the parameter is absent.
	Required bool
	// Repeat is how many times the parameter may appear (1 when 0), e.g.
	// 2 for start=ge…&start=lt….
	Repeat int
}

// SearchFunc runs one search. The server calls it only after the request
// was authenticated (as every other /fhir read) and after checking q:
// every name is a declared SearchParam, present no more often than its
// Repeat, no value is empty, and every Required parameter is present.
// It returns the matching resources in the order to present them; each
// must be a valid FHIR resource with resourceType and id. It is called
// concurrently and must honour ctx.
//
// Errors tell the server how to answer, and their messages are never sent
// nor logged (only a class is): wrap ErrInvalidSearch for 400,
// ErrUnavailable for 503 with Retry-After (a vendor that could not be
// reached or asked to retry); a context deadline is also 503, a
// cancellation 499, anything else 500. All are OperationOutcomes.
type SearchFunc func(ctx context.Context, q url.Values) ([]*fhir.Value, error)

// Searcher answers GET /fhir/{type}?… for one resource type with a
// searchset Bundle. The type need not be one of Options.Types: a Searcher
// alone makes the type searchable (not readable or writable).
type Searcher struct {
	// Params are the accepted search parameters; any other name in the
	// query is answered 400.
	Params []SearchParam
	// Search runs the search.
	Search SearchFunc
}

// checkQuery enforces the Searcher's declared parameters on q. Errors name
// the declared parameters only, never a name or value from the request.
func (s *Searcher) checkQuery(typ string, q url.Values) *apiError {
	declared := make(map[string]SearchParam, len(s.Params))
	names := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		declared[p.Name] = p
		names = append(names, p.Name)
	}
	sort.Strings(names)
	for name, vals := range q {
		p, ok := declared[name]
		if !ok {
			return newError(http.StatusBadRequest, "", "not-supported", "",
				"unknown search parameter; "+typ+" supports: "+strings.Join(names, ", "))
		}
		if len(vals) > max(p.Repeat, 1) {
			return newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
				"search parameter "+p.Name+" may appear at most "+strconv.Itoa(max(p.Repeat, 1))+" time(s)")
		}
		for _, v := range vals {
			if strings.TrimSpace(v) == "" {
				return newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
					"search parameter "+p.Name+" has an empty value")
			}
		}
	}
	for _, p := range s.Params {
		if p.Required && len(q[p.Name]) == 0 {
			return newError(http.StatusBadRequest, "", fhir.CodeRequired, "",
				"search parameter "+p.Name+" is required")
		}
	}
	return nil
}

// search serves GET /fhir/{type}?… from the type's Searcher.
func (h *handler) search(w http.ResponseWriter, r *http.Request, typ string, s *Searcher) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, newError(http.StatusBadRequest, "", fhir.CodeStructure, "", "the query string is malformed"))
		return
	}
	q.Del("_format") // negotiated already (see negotiate); not a search parameter
	if e := s.checkQuery(typ, q); e != nil {
		h.writeError(w, e)
		return
	}
	found, err := s.Search(r.Context(), q)
	if err != nil {
		h.writeError(w, h.searchError(err))
		return
	}
	base := requestBase(r)
	entries := make([]*fhir.Value, 0, len(found))
	for _, res := range found {
		e := fhir.NewObject()
		if id := res.GetString("id"); id != "" {
			e.Set("fullUrl", fhir.NewString(base+"/"+res.ResourceType()+"/"+id))
		}
		e.Set("resource", res)
		sm := fhir.NewObject()
		sm.Set("mode", fhir.NewString("match"))
		e.Set("search", sm)
		entries = append(entries, e)
	}
	self := fhir.NewObject()
	self.Set("relation", fhir.NewString("self"))
	self.Set("url", fhir.NewString(base+"/"+typ+"?"+q.Encode()))
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("searchset"))
	b.Set("total", fhir.NewNumber(strconv.Itoa(len(found))))
	b.Set("link", fhir.NewArray(self))
	if len(entries) > 0 {
		b.Set("entry", fhir.NewArray(entries...))
	}
	writeJSON(w, http.StatusOK, b.JSON())
}

// searchError maps a SearchFunc error to the response by its class only.
func (h *handler) searchError(err error) *apiError {
	class := errClass(err)
	if errors.Is(err, ErrInvalidSearch) {
		class = "invalid"
	}
	h.log.Warn("search failed", "route", routeSearch, "class", class)
	switch class {
	case "invalid":
		var oo *fhir.OperationOutcome
		if errors.As(err, &oo) && oo.HasErrors() {
			return &apiError{status: http.StatusBadRequest, oo: oo}
		}
		return newError(http.StatusBadRequest, "", fhir.CodeInvalid, "", "the search parameters cannot be used")
	case "unavailable", "deadline":
		return newError(http.StatusServiceUnavailable, "", "transient", "",
			"the search could not be answered now; retry later")
	case "canceled":
		return newError(499, "", "timeout", "", "the request was canceled")
	}
	return newError(http.StatusInternalServerError, "", fhir.CodeException, "", "internal error while searching")
}

// requestBase is the FHIR base URL as the client addressed it
// (scheme://host/fhir), for Bundle.entry.fullUrl and the self link.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/fhir"
}
