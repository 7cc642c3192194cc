// Package search answers the FHIR endpoint's searches on the resources
// in the store: Patient, Appointment, Encounter, Practitioner, Location
// and Organization, with the parameters that batch/searchindex indexes
// plus _id and _lastUpdated. It parses a search's parameters into
// conditions on the store's search index ([store.IndexQuery]), pages
// through the results with an opaque keyset cursor, and adds the
// Patients of Appointments for _include=Appointment:patient.
//
// Parameter values are patient data: errors name the parameter and the
// rule broken, never the value.
package search

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/searchindex"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// Index is what a search needs of the store.
type Index interface {
	SearchIndex(ctx context.Context, q store.IndexQuery, fn func(id string, version int, body []byte, key int64) error) (int, error)
	CountIndex(ctx context.Context, q store.IndexQuery) (int, error)
}

// includePatient is the one _include supported.
const includePatient = "Appointment:patient"

// maxRepeat is how often one parameter may appear (each occurrence is
// ANDed with the others).
const maxRepeat = 4

// Searchers returns the server.Searcher of every indexed type, answering
// from idx; put them in server.Options.Searches.
func Searchers(idx Index) map[string]server.Searcher {
	out := map[string]server.Searcher{}
	for _, typ := range searchindex.Types() {
		s := &searcher{idx: idx, typ: typ}
		sv := server.Searcher{
			Params: []server.SearchParam{
				{Name: "_id", Type: "token", Repeat: 1, Documentation: "the resource id; several separated by commas"},
				{Name: searchindex.LastUpdated, Type: "date", Repeat: maxRepeat, Documentation: "meta.lastUpdated; prefixes eq, ne, gt, lt, ge, le, sa, eb, ap (10% of the gap to now)"},
			},
			Query: s.query,
			Sorts: []string{searchindex.LastUpdated},
		}
		for _, p := range searchindex.Params(typ) {
			sv.Params = append(sv.Params, server.SearchParam{Name: p.Name, Type: string(p.Kind), Repeat: maxRepeat, Documentation: p.Doc})
			if p.Kind == searchindex.Date && p.Name == "date" {
				sv.Sorts = []string{"date", searchindex.LastUpdated}
			}
		}
		if typ == "Appointment" {
			sv.Includes = []string{includePatient}
		}
		out[typ] = sv
	}
	return out
}

// searcher answers the searches of one type.
type searcher struct {
	idx Index
	typ string
	// now is the clock of the ap prefix (time.Now when nil).
	now func() time.Time
}

// invalid is a 400 whose OperationOutcome carries the fixed text diag
// about parameter name (no value).
func invalid(name, diag string) error {
	return fmt.Errorf("%w: %w", server.ErrInvalidSearch,
		(*fhir.OperationOutcome)(nil).Add(fhir.CodeValue, "", "search parameter "+name+": "+diag))
}

// query is the server.QueryFunc of s.
func (s *searcher) query(ctx context.Context, req server.SearchRequest) (server.SearchPage, error) {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	q, err := ParseAt(s.typ, req.Params, now())
	if err != nil {
		return server.SearchPage{}, err
	}
	if req.Sort != "" {
		q.Sort, q.Desc = strings.TrimPrefix(req.Sort, "-"), strings.HasPrefix(req.Sort, "-")
	}
	var page server.SearchPage
	switch {
	case req.Cursor != "":
		// A next page reports the total counted for the first one.
		c, total, err := DecodeCursor(req.Cursor, req.Sort)
		if err != nil {
			return page, err
		}
		q.After, page.Total = &c, total
	case req.SummaryCount:
		page.Total, err = s.idx.CountIndex(ctx, q)
		return page, err
	default:
		q.Total = true // counted with the first page
	}
	q.Limit = req.Count + 1
	var last store.IndexCursor
	var more bool
	total, err := s.idx.SearchIndex(ctx, q, func(id string, _ int, body []byte, key int64) error {
		if len(page.Matches) == req.Count {
			more = true
			return nil
		}
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("reading stored %s/%s: %w", s.typ, id, err)
		}
		page.Matches = append(page.Matches, v)
		last = store.IndexCursor{Key: key, ID: id}
		return nil
	})
	if err != nil {
		return page, err
	}
	if q.Total {
		page.Total = total
	}
	if more {
		page.Next = EncodeCursor(req.Sort, last, page.Total)
	}
	if slices.Contains(req.Include, includePatient) && s.typ == "Appointment" {
		if page.Included, err = s.patients(ctx, page.Matches); err != nil {
			return page, err
		}
	}
	return page, nil
}

// patients returns the stored Patients that the Appointments in appts
// reference as participants, each once.
func (s *searcher) patients(ctx context.Context, appts []*fhir.Value) ([]*fhir.Value, error) {
	seen := map[string]bool{}
	var ids []string
	for _, a := range appts {
		for _, e := range searchindex.Entries("Appointment", a, time.Time{}) {
			if e.Param == "patient" && !seen[e.Text] {
				seen[e.Text] = true
				ids = append(ids, strings.TrimPrefix(e.Text, "Patient/"))
			}
		}
	}
	var out []*fhir.Value
	for chunk := range slices.Chunk(ids, 100) {
		q := store.IndexQuery{Type: "Patient", IDs: chunk, Limit: len(chunk)}
		_, err := s.idx.SearchIndex(ctx, q, func(id string, _ int, body []byte, _ int64) error {
			v, err := fhir.Decode(body, fhir.DecodeOptions{})
			if err != nil {
				return fmt.Errorf("reading stored Patient/%s: %w", id, err)
			}
			out = append(out, v)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Bounds on one search value.
const (
	maxValues = 100 // comma-separated alternatives of one parameter
)

// Parse turns the search parameters q of a search on typ (names as
// declared, possibly with a :modifier; result parameters such as _count
// removed) into an index query without sort, position or limit. Errors
// wrap server.ErrInvalidSearch and name the parameter, never its value.
// The ap prefix of dates is measured from the current time (see
// ParseAt).
func Parse(typ string, q url.Values) (store.IndexQuery, error) {
	return ParseAt(typ, q, time.Now())
}

// ParseAt is Parse with now as the current time, from which the ap
// (approximately) prefix of a date measures its margin (see Approx).
func ParseAt(typ string, q url.Values, now time.Time) (store.IndexQuery, error) {
	out := store.IndexQuery{Type: typ}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		base, mod, _ := strings.Cut(name, ":")
		for _, raw := range q[name] {
			vals := fhir.SplitSearchValue(raw, ',')
			if len(vals) > maxValues {
				return out, invalid(base, fmt.Sprintf("more than %d values", maxValues))
			}
			for _, v := range vals {
				if len(v) > searchindex.MaxValue {
					return out, invalid(base, fmt.Sprintf("a value longer than %d bytes", searchindex.MaxValue))
				}
				if v == "" {
					return out, invalid(base, "an empty value")
				}
				if !searchindex.Indexable(v) {
					return out, invalid(base, "a value that is not UTF-8 text or holds a NUL")
				}
			}
			if base == "_id" {
				if mod != "" {
					return out, invalid(base, "takes no modifier")
				}
				if len(out.IDs) > 0 {
					return out, invalid(base, "may appear once")
				}
				for _, v := range vals {
					if !fhir.ValidID(v) {
						return out, invalid(base, "not a FHIR id ([A-Za-z0-9.-], 1 to 64 characters)")
					}
				}
				out.IDs = vals
				continue
			}
			p, ok := searchindex.Lookup(typ, base)
			if base == searchindex.LastUpdated {
				p, ok = searchindex.Param{Name: base, Kind: searchindex.Date}, true
			}
			if !ok {
				return out, invalid(base, "not a search parameter of "+typ)
			}
			c, err := condition(p, mod, vals, now)
			if err != nil {
				return out, err
			}
			out.Conds = append(out.Conds, c)
		}
	}
	return out, nil
}

// condition parses the values of one occurrence of parameter p with
// modifier mod; now is the current time of the ap prefix.
func condition(p searchindex.Param, mod string, vals []string, now time.Time) (store.IndexCond, error) {
	c := store.IndexCond{Param: p.Name}
	if mod == "missing" {
		if len(vals) != 1 || (vals[0] != "true" && vals[0] != "false") {
			return c, invalid(p.Name, ":missing takes true or false")
		}
		c.Negate = vals[0] == "true"
		return c, nil
	}
	for _, v := range vals {
		m, err := match(p, mod, v, now)
		if err != nil {
			return c, err
		}
		c.Any = append(c.Any, m)
	}
	if p.Kind == searchindex.Token && mod == "not" {
		c.Negate = true
	}
	return c, nil
}

// modifiers lists the modifiers accepted per kind (":missing" for all).
var modifiers = map[searchindex.Kind][]string{
	searchindex.String:    {"", "exact", "contains"},
	searchindex.Token:     {"", "not"},
	searchindex.Reference: {""},
	searchindex.Date:      {""},
}

// modifierHelp names the modifiers of each kind, for errors.
var modifierHelp = map[searchindex.Kind]string{
	searchindex.String:    "string parameters take :exact, :contains and :missing",
	searchindex.Token:     "token parameters take :not and :missing",
	searchindex.Reference: "reference parameters take :missing and :<target type>",
	searchindex.Date:      "date parameters take :missing",
}

// match parses one value v of parameter p with modifier mod; now is the
// current time of the ap prefix.
func match(p searchindex.Param, mod, v string, now time.Time) (store.IndexMatch, error) {
	if !slices.Contains(modifiers[p.Kind], mod) && !(p.Kind == searchindex.Reference && mod == p.Target) {
		return store.IndexMatch{}, invalid(p.Name, "unsupported modifier; "+modifierHelp[p.Kind])
	}
	switch p.Kind {
	case searchindex.String:
		switch mod {
		case "exact":
			return store.IndexMatch{Kind: store.MatchExact, Text: fhir.UnescapeSearchValue(v)}, nil
		case "contains":
			return store.IndexMatch{Kind: store.MatchContains, Text: searchindex.Normalize(fhir.UnescapeSearchValue(v))}, nil
		}
		return store.IndexMatch{Kind: store.MatchPrefix, Text: searchindex.Normalize(fhir.UnescapeSearchValue(v))}, nil
	case searchindex.Token:
		parts := fhir.SplitSearchValue(v, '|')
		switch {
		case len(parts) == 1:
			return store.IndexMatch{Kind: store.MatchText, Text: fhir.UnescapeSearchValue(parts[0])}, nil
		case len(parts) == 2 && parts[1] == "" && parts[0] != "":
			return store.IndexMatch{Kind: store.MatchSystem, System: fhir.UnescapeSearchValue(parts[0])}, nil
		case len(parts) == 2 && parts[1] != "":
			return store.IndexMatch{Kind: store.MatchToken, System: fhir.UnescapeSearchValue(parts[0]), Text: fhir.UnescapeSearchValue(parts[1])}, nil
		}
		return store.IndexMatch{}, invalid(p.Name, "a token is code, system|code, |code or system|")
	case searchindex.Reference:
		ref := fhir.UnescapeSearchValue(v)
		id := ref
		if strings.Contains(ref, "/") {
			var typ string
			typ, id = fhir.SplitReference(ref)
			if typ != p.Target {
				return store.IndexMatch{}, invalid(p.Name, "must reference a "+p.Target+" ("+p.Target+"/<id> or <id>)")
			}
		}
		if !fhir.ValidID(id) {
			return store.IndexMatch{}, invalid(p.Name, "not a FHIR id ([A-Za-z0-9.-], 1 to 64 characters)")
		}
		return store.IndexMatch{Kind: store.MatchText, Text: p.Target + "/" + id}, nil
	case searchindex.Date:
		prefix := "eq"
		if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
			prefix, v = v[:2], v[2:]
		}
		switch prefix {
		case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap":
		default:
			return store.IndexMatch{}, invalid(p.Name, "unknown prefix; use eq, ne, gt, lt, ge, le, sa, eb or ap")
		}
		lo, hi, ok := searchindex.DateRange(v)
		if !ok {
			return store.IndexMatch{}, invalid(p.Name, "a date is YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] with a zone (Z or ±hh:mm)")
		}
		if prefix == "ap" {
			lo, hi = Approx(lo, hi, !strings.Contains(v, "T"), now)
		}
		return store.IndexMatch{Kind: store.MatchDate, Prefix: prefix, Low: lo, High: hi}, nil
	}
	return store.IndexMatch{}, invalid(p.Name, "unsupported parameter type")
}

// ApproxFloor is the least margin of the ap prefix on a value without a
// time (a year, month or day).
const ApproxFloor = 24 * time.Hour

// Approx widens the range [lo, hi) (Unix microseconds) of an ap date
// value on each side by 10% of the gap between now and the range (R4's
// recommended approximation): the gap is from now to the nearer end, 0
// when now falls inside. A value without a time (dateOnly) is widened by
// at least ApproxFloor, so that ap of today or yesterday still reaches
// the neighbouring days; a value with a time by exactly the 10%.
func Approx(lo, hi int64, dateOnly bool, now time.Time) (int64, int64) {
	n := now.UnixMicro()
	var gap int64
	switch {
	case n < lo:
		gap = lo - n
	case n >= hi:
		gap = n - hi
	}
	margin := gap / 10
	if dateOnly {
		margin = max(margin, ApproxFloor.Microseconds())
	}
	return lo - margin, hi + margin
}

// cursor is the JSON of a next-page cursor: the sort it belongs to, the
// sort key and id of the last resource of the page before, and the total
// counted for the first page (later pages report it instead of counting
// again).
type cursor struct {
	Sort  string `json:"s"`
	Key   int64  `json:"k"`
	ID    string `json:"i"`
	Total int    `json:"t"`
}

// maxCursor bounds the length of a _cursor value.
const maxCursor = 256

// EncodeCursor returns the _cursor that resumes a search sorted by sort
// after c, whose first page counted total matches.
func EncodeCursor(sort string, c store.IndexCursor, total int) string {
	b, _ := json.Marshal(cursor{Sort: sort, Key: c.Key, ID: c.ID, Total: total}) // cannot fail: strings and numbers
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a _cursor made by EncodeCursor for a search sorted
// by sort, and the total it carries. A cursor that is malformed, or from
// a search with another sort, is an error wrapping
// server.ErrInvalidSearch.
func DecodeCursor(s, sort string) (store.IndexCursor, int, error) {
	bad := invalid("_cursor", "not a cursor of this search; follow the next link as given")
	if len(s) > maxCursor {
		return store.IndexCursor{}, 0, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.IndexCursor{}, 0, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Sort != sort || !fhir.ValidID(c.ID) || c.Total < 0 {
		return store.IndexCursor{}, 0, bad
	}
	return store.IndexCursor{Key: c.Key, ID: c.ID}, c.Total, nil
}
