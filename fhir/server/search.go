package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
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
// alone makes the type searchable (not readable or writable). It runs
// Query when set, else Search.
type Searcher struct {
	// Params are the accepted search parameters. A name outside them (a
	// :modifier aside, for a Query searcher) is answered 400 under
	// "Prefer: handling=strict"; otherwise (lenient, the default) it is
	// ignored and named in an OperationOutcome entry of the Bundle.
	Params []SearchParam
	// Search runs the search, all results in one Bundle.
	Search SearchFunc
	// Query runs the search one page at a time; the server then also
	// takes the result parameters _count, _sort (among Sorts),
	// _summary=count and _include (among Includes), and follows the next
	// links it gives with _cursor.
	Query QueryFunc
	// Sorts are the _sort values a Query accepts (each also with "-"
	// before it, descending).
	Sorts []string
	// Includes are the _include values a Query accepts, e.g.
	// "Appointment:patient".
	Includes []string
}

// serves reports whether s answers searches.
func (s Searcher) serves() bool { return s.Search != nil || s.Query != nil }

// Paging of a Query searcher.
const (
	// DefaultCount is the page size when _count is absent.
	DefaultCount = 50
	// MaxCount is the largest page; a larger _count gets MaxCount.
	MaxCount = 1000
	// maxQueryParams bounds the parameters of one search URL.
	maxQueryParams = 64
)

// SearchRequest is a search as the server checked it, for a QueryFunc.
type SearchRequest struct {
	// Params are the declared parameters as written (a name may carry a
	// :modifier, which the QueryFunc checks); result parameters and
	// ignored names are removed.
	Params url.Values
	// Count is the page size (1 to MaxCount), or 0 with SummaryCount.
	Count int
	// Cursor is the _cursor of a next link, "" for the first page.
	Cursor string
	// Sort is one of Searcher.Sorts, with "-" before it for descending,
	// or "" (the searcher's own order).
	Sort string
	// Include lists the _include values (among Searcher.Includes).
	Include []string
	// SummaryCount asks for the total only (_summary=count or _count=0).
	SummaryCount bool
}

// SearchPage is one page of a Query's results.
type SearchPage struct {
	// Matches are the resources of this page, in order.
	Matches []*fhir.Value
	// Included are the resources _include asked for.
	Included []*fhir.Value
	// Total is how many resources match in all pages.
	Total int
	// Next is the cursor of the next page, "" on the last one.
	Next string
}

// QueryFunc runs one page of a search; see SearchFunc for how its errors
// are answered. It is called concurrently and must honour ctx.
type QueryFunc func(ctx context.Context, req SearchRequest) (SearchPage, error)

// strictHandling reports whether the request asks for strict handling of
// search parameters (Prefer: handling=strict).
func strictHandling(r *http.Request) bool {
	for _, h := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(pref), "=")
			if strings.EqualFold(strings.TrimSpace(k), "handling") &&
				strings.EqualFold(strings.Trim(strings.TrimSpace(v), `"`), "strict") {
				return true
			}
		}
	}
	return false
}

// resultParams are the parameters the server itself takes for a Query
// searcher.
var resultParams = map[string]bool{"_count": true, "_sort": true, "_summary": true, "_include": true, "_cursor": true}

// checkQuery enforces the Searcher's declared parameters on q. Under
// strict handling an undeclared name is an error; otherwise it is
// removed from q and returned among ignored. Errors name the declared
// parameters only, never a name or value from the request.
func (s *Searcher) checkQuery(typ string, q url.Values, strict bool) (ignored []string, e *apiError) {
	declared := make(map[string]SearchParam, len(s.Params))
	names := make([]string, 0, len(s.Params))
	for _, p := range s.Params {
		declared[p.Name] = p
		names = append(names, p.Name)
	}
	sort.Strings(names)
	if len(q) > maxQueryParams {
		return nil, newError(http.StatusBadRequest, "", fhir.CodeTooCostly, "",
			"more than "+strconv.Itoa(maxQueryParams)+" search parameters")
	}
	counts := map[string]int{}
	for name, vals := range q {
		base := name
		if s.Query != nil {
			if resultParams[name] {
				continue
			}
			base, _, _ = strings.Cut(name, ":")
		}
		p, ok := declared[base]
		if !ok {
			if strict {
				return nil, newError(http.StatusBadRequest, "", "not-supported", "",
					"unknown search parameter; "+typ+" supports: "+strings.Join(names, ", "))
			}
			ignored = append(ignored, name)
			delete(q, name)
			continue
		}
		counts[base] += len(vals)
		if counts[base] > max(p.Repeat, 1) {
			return nil, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
				"search parameter "+p.Name+" may appear at most "+strconv.Itoa(max(p.Repeat, 1))+" time(s)")
		}
		for _, v := range vals {
			if strings.TrimSpace(v) == "" {
				return nil, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
					"search parameter "+p.Name+" has an empty value")
			}
		}
	}
	for _, p := range s.Params {
		if p.Required && counts[p.Name] == 0 {
			return nil, newError(http.StatusBadRequest, "", fhir.CodeRequired, "",
				"search parameter "+p.Name+" is required")
		}
	}
	sort.Strings(ignored)
	return ignored, nil
}

// searchRequest takes the result parameters out of q into a
// SearchRequest for s.
func (s *Searcher) searchRequest(q url.Values) (SearchRequest, *apiError) {
	bad := func(msg string) (SearchRequest, *apiError) {
		return SearchRequest{}, newError(http.StatusBadRequest, "", fhir.CodeValue, "", msg)
	}
	req := SearchRequest{Count: DefaultCount}
	for name := range resultParams {
		if len(q[name]) > 1 && name != "_include" {
			return bad("search parameter " + name + " may appear at most once")
		}
	}
	if v := q.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return bad("_count must be a whole number")
		}
		req.Count = min(n, MaxCount)
		if n == 0 {
			req.SummaryCount = true
		}
	}
	switch v := q.Get("_summary"); v {
	case "", "false":
	case "count":
		req.SummaryCount = true
	default:
		return bad("_summary supports count and false only")
	}
	if req.SummaryCount {
		req.Count = 0
	}
	if v := q.Get("_sort"); v != "" {
		if !slices.Contains(s.Sorts, strings.TrimPrefix(v, "-")) {
			return bad("_sort supports: " + strings.Join(sortValues(s.Sorts), ", "))
		}
		req.Sort = v
	}
	for _, v := range q["_include"] {
		if !slices.Contains(s.Includes, v) {
			if len(s.Includes) == 0 {
				return bad("_include is not supported on this type")
			}
			return bad("_include supports: " + strings.Join(s.Includes, ", "))
		}
		req.Include = append(req.Include, v)
	}
	req.Cursor = q.Get("_cursor")
	req.Params = url.Values{}
	for name, vals := range q {
		if !resultParams[name] {
			req.Params[name] = vals
		}
	}
	return req, nil
}

// generalParams checks and removes from q the parameters R4 defines for
// every interaction: _format, which the format negotiation of every route
// under /fhir has already accepted (JSON only; see negotiate), and
// _pretty (true or false; answers are compact either way).
func generalParams(q url.Values) *apiError {
	for _, p := range q["_pretty"] {
		if p != "true" && p != "false" {
			return newError(http.StatusBadRequest, "", fhir.CodeValue, "", "_pretty is true or false")
		}
	}
	delete(q, "_format")
	delete(q, "_pretty")
	return nil
}

// sortValues lists the _sort values of sorts, ascending and descending.
func sortValues(sorts []string) []string {
	out := make([]string, 0, 2*len(sorts))
	for _, s := range sorts {
		out = append(out, s, "-"+s)
	}
	return out
}

// search serves GET /fhir/{type}?… from the type's Searcher.
func (h *handler) search(w http.ResponseWriter, r *http.Request, typ string, s *Searcher) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, newError(http.StatusBadRequest, "", fhir.CodeStructure, "", "the query string is malformed"))
		return
	}
	if e := generalParams(q); e != nil {
		h.writeError(w, e)
		return
	}
	ignored, e := s.checkQuery(typ, q, strictHandling(r))
	if e != nil {
		h.writeError(w, e)
		return
	}
	var page SearchPage
	if s.Query != nil {
		req, e := s.searchRequest(q)
		if e != nil {
			h.writeError(w, e)
			return
		}
		if page, err = s.Query(r.Context(), req); err != nil {
			h.writeError(w, h.searchError(r.Context(), err))
			return
		}
	} else {
		if page.Matches, err = s.Search(r.Context(), q); err != nil {
			h.writeError(w, h.searchError(r.Context(), err))
			return
		}
		page.Total = len(page.Matches)
	}
	base := requestBase(r)
	entries := make([]*fhir.Value, 0, len(page.Matches)+len(page.Included)+1)
	entries = appendEntries(entries, base, "match", page.Matches)
	entries = appendEntries(entries, base, "include", page.Included)
	if len(ignored) > 0 {
		entries = append(entries, ignoredOutcome(ignored))
	}
	self := fhir.NewObject()
	self.Set("relation", fhir.NewString("self"))
	self.Set("url", fhir.NewString(base+"/"+typ+"?"+q.Encode()))
	links := []*fhir.Value{self}
	if page.Next != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("_cursor", page.Next)
		next := fhir.NewObject()
		next.Set("relation", fhir.NewString("next"))
		next.Set("url", fhir.NewString(base+"/"+typ+"?"+nq.Encode()))
		links = append(links, next)
	}
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("searchset"))
	b.Set("total", fhir.NewNumber(strconv.Itoa(page.Total)))
	b.Set("link", fhir.NewArray(links...))
	if len(entries) > 0 {
		b.Set("entry", fhir.NewArray(entries...))
	}
	writeJSON(w, http.StatusOK, b.JSON())
}

// appendEntries appends to entries one Bundle entry per resource with
// search.mode mode.
func appendEntries(entries []*fhir.Value, base, mode string, list []*fhir.Value) []*fhir.Value {
	for _, res := range list {
		e := fhir.NewObject()
		if id := res.GetString("id"); id != "" {
			e.Set("fullUrl", fhir.NewString(base+"/"+res.ResourceType()+"/"+id))
		}
		e.Set("resource", res)
		sm := fhir.NewObject()
		sm.Set("mode", fhir.NewString(mode))
		e.Set("search", sm)
		entries = append(entries, e)
	}
	return entries
}

// maxNameEcho bounds an ignored parameter name echoed in the outcome.
const maxNameEcho = 64

// ignoredOutcome is the Bundle entry (search.mode outcome) telling the
// caller which parameter names were ignored. Only names are echoed, and
// only those of at most maxNameEcho printable ASCII characters; never a
// value.
func ignoredOutcome(names []string) *fhir.Value {
	issues := make([]*fhir.Value, 0, len(names))
	for _, n := range names {
		shown := "a parameter whose name is not shown (too long or not printable ASCII)"
		if len(n) <= maxNameEcho && !strings.ContainsFunc(n, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			shown = n
		}
		is := fhir.NewObject()
		is.Set("severity", fhir.NewString(fhir.SeverityWarning))
		is.Set("code", fhir.NewString("not-supported"))
		is.Set("diagnostics", fhir.NewString("unknown search parameter ignored: "+shown))
		issues = append(issues, is)
	}
	oo := fhir.NewObject()
	oo.Set("resourceType", fhir.NewString("OperationOutcome"))
	oo.Set("issue", fhir.NewArray(issues...))
	e := fhir.NewObject()
	e.Set("resource", oo)
	sm := fhir.NewObject()
	sm.Set("mode", fhir.NewString("outcome"))
	e.Set("search", sm)
	return e
}

// searchError maps a SearchFunc error to the response by its class only.
func (h *handler) searchError(ctx context.Context, err error) *apiError {
	class := errClass(err)
	if errors.Is(err, ErrInvalidSearch) {
		class = "invalid"
	}
	h.logger(ctx).WarnContext(ctx, "search failed", "route", routeSearch, "class", class)
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
