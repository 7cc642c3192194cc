package server

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Bounds of a condition's query (see ParseCondition).
const (
	// MaxConditionQuery is the longest query of a conditional update or
	// delete, in bytes.
	MaxConditionQuery = 4096
	// MaxConditionValues is how many comma-separated alternatives one
	// parameter of a condition may list.
	MaxConditionValues = 20
)

// Condition is the search of a conditional update or delete
// (PUT or DELETE /fhir/{type}?…). A resource of the type matches when it
// is not deleted and satisfies every set field.
type Condition struct {
	// IDs, when not empty, are the accepted resource ids (_id=a,b: any
	// of them).
	IDs []string
	// Identifiers, when not empty, are the accepted identifiers
	// (identifier=s1|v1,s2|v2: a resource holding any of them, as the
	// identifier index of conditional create records them).
	Identifiers []Identifier
}

// Identifier is one system|value alternative of a Condition.
type Identifier struct {
	System, Value string
}

// errCondition is the class of ParseCondition's errors.
var errCondition = errors.New("unsupported condition")

// paramName matches a parameter name safe to repeat in an error: a
// search parameter name, with an optional modifier.
var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}(:[A-Za-z-]{1,30})?$`)

// ParseCondition parses the query of a conditional update or delete. It
// supports identifier=system|value and _id=id, each at most once and each
// a comma-separated list of at most MaxConditionValues alternatives, with
// FHIR's escapes (\, \| \$ \\) inside a system or value. Both the system
// and the value of an identifier are required, as for If-None-Exist.
// _format and _pretty are left to the format negotiation: they select no
// resource.
// Errors wrap errCondition and name the parameter, never a value: a name
// that does not look like a parameter name is not repeated either.
func ParseCondition(rawQuery string) (*Condition, error) {
	fail := func(msg string) error { return errors.Join(errCondition, errors.New(msg)) }
	if len(rawQuery) > MaxConditionQuery {
		return nil, fail("the query of a conditional update or delete is longer than " +
			strconv.Itoa(MaxConditionQuery) + " bytes")
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fail("the query string is malformed")
	}
	delete(q, "_format") // the format parameters select no resource
	delete(q, "_pretty")
	if len(q) == 0 {
		return nil, fail("a conditional update or delete needs a condition: identifier=system|value or _id=id")
	}
	c := &Condition{}
	for name, vals := range q {
		if name != "identifier" && name != "_id" {
			shown := "a parameter"
			if paramName.MatchString(name) {
				shown = "parameter " + name
			}
			return nil, fail(shown + " is not supported in a conditional update or delete; use identifier=system|value or _id=id")
		}
		if len(vals) != 1 {
			return nil, fail("parameter " + name + " may appear once; list alternatives with commas")
		}
		alts := fhir.SplitSearchValue(vals[0], ',')
		if len(alts) > MaxConditionValues {
			return nil, fail("parameter " + name + " lists more than " + strconv.Itoa(MaxConditionValues) + " values")
		}
		for _, a := range alts {
			if name == "_id" {
				id := fhir.UnescapeSearchValue(a)
				if !fhir.ValidID(id) {
					return nil, fail("parameter _id holds a value that is not a valid FHIR id")
				}
				c.IDs = append(c.IDs, id)
				continue
			}
			parts := fhir.SplitSearchValue(a, '|')
			if len(parts) < 2 {
				return nil, fail("parameter identifier must be system|value (both parts)")
			}
			sys, val := fhir.UnescapeSearchValue(parts[0]), fhir.UnescapeSearchValue(strings.Join(parts[1:], "|"))
			if sys == "" || val == "" {
				return nil, fail("parameter identifier must be system|value (both parts)")
			}
			c.Identifiers = append(c.Identifiers, Identifier{System: sys, Value: val})
		}
	}
	return c, nil
}

// conditional serves PUT and DELETE /fhir/{type}?…: a conditional update
// or delete.
func (h *handler) conditional(w http.ResponseWriter, r *http.Request, typ string) {
	cond, err := ParseCondition(r.URL.RawQuery)
	if err != nil {
		h.writeError(w, newError(http.StatusBadRequest, "", "not-supported", "", conditionMessage(err)))
		return
	}
	im, e := ifMatchHeader(r)
	if e != nil {
		h.writeError(w, e)
		return
	}
	if r.Method == "DELETE" {
		h.remove(w, r, routeType, Entry{Method: "DELETE", Type: typ, Condition: cond, IfMatch: im})
		return
	}
	v, e := h.resourceBody(w, r, typ)
	if e != nil {
		h.writeError(w, e)
		return
	}
	if id := v.GetString("id"); id != "" && len(cond.IDs) > 0 && !containsString(cond.IDs, id) {
		h.writeError(w, conditionalError("id_mismatch"))
		return
	}
	h.single(w, r, routeType, "", Entry{Method: "PUT", Type: typ, Condition: cond, Resource: v, IfMatch: im})
}

// conditionMessage is the text of a ParseCondition error: its own
// value-free message without the class.
func conditionMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	return msg
}

// resourceBody reads, decodes and validates the resource body of a write
// of type typ, holding a decoding slot meanwhile.
func (h *handler) resourceBody(w http.ResponseWriter, r *http.Request, typ string) (*fhir.Value, *apiError) {
	data, e := h.readBody(w, r)
	if e != nil {
		return nil, e
	}
	release, e := h.slot(r)
	if e != nil {
		return nil, e
	}
	defer release()
	v, e := h.decode(data, typ)
	if e != nil {
		return nil, e
	}
	if e := validate(v); e != nil {
		return nil, e
	}
	return v, nil
}

// conditionalError answers the backend classes of deletion and
// conditional writes.
func conditionalError(class string) *apiError {
	switch class {
	case "gone":
		return newError(http.StatusGone, "", "deleted", "", "the resource was deleted")
	case "multiple_matches":
		return newError(http.StatusPreconditionFailed, "", "multiple-matches", "",
			"the condition matched more than one resource; nothing was changed")
	}
	return newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
		"the resource id differs from the id of the resource the condition matched; nothing was stored")
}

// containsString reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// checkConditionalEntry completes e, the Bundle entry be of a conditional
// update (PUT Type?query), and reports what is wrong with it.
func checkConditionalEntry(be *fhir.BundleEntry, e Entry) (Entry, *fhir.OperationOutcome) {
	p := be.Path()
	var oo *fhir.OperationOutcome
	path, query, _ := strings.Cut(be.URL, "?")
	if path != e.Type {
		oo = oo.Add(fhir.CodeInvalid, p+".request.url",
			"the request.url of a conditional update must be the resource type and a condition")
	}
	cond, err := ParseCondition(query)
	if err != nil {
		return e, oo.Add("not-supported", p+".request.url", conditionMessage(err))
	}
	e.Condition = cond
	if id := be.Resource.GetString("id"); id != "" && len(cond.IDs) > 0 && !containsString(cond.IDs, id) {
		oo = oo.Add(fhir.CodeInvalid, p+".resource.id",
			"the resource id differs from the ids the condition accepts")
	}
	return e, oo
}
