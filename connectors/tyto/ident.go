package tyto

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// MaxVisitIdentifier is the longest visit identifier the portal takes
// (spec: "exceeding max length of 140 characters").
const MaxVisitIdentifier = 140

// AllowedSpecial are the characters besides ASCII letters and digits that
// an identifier may hold. The spec refuses "unsupported special
// characters" without listing them; this conservative set (what a FHIR id
// may hold, plus '_') is an assumption to confirm with the vendor.
const AllowedSpecial = "-_."

// Identifier faults (errors.Is); their text names the rule, never the value.
var (
	ErrEmptyIdentifier   = errors.New("identifier is empty")
	ErrIdentifierLength  = fmt.Errorf("identifier is longer than %d characters", MaxVisitIdentifier)
	ErrNonASCII          = errors.New("identifier has non-ASCII characters")
	ErrSpecialCharacters = errors.New("identifier has unsupported special characters (allowed: ASCII letters, digits, " + strings.Join(strings.Split(AllowedSpecial, ""), " ") + ")")
)

// CharClass names the class of a character an identifier may not hold:
// "space", "control", "non-ASCII" or "punctuation"; "" when allowed.
func CharClass(r rune) string {
	switch {
	case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
		return ""
	case strings.ContainsRune(AllowedSpecial, r):
		return ""
	case r >= utf8.RuneSelf:
		return "non-ASCII"
	case unicode.IsSpace(r):
		return "space"
	case unicode.IsControl(r):
		return "control"
	default:
		return "punctuation"
	}
}

// CheckIdentifier applies the portal's rules to an identifier: not empty,
// ASCII letters, digits and AllowedSpecial only, and at most max
// characters when max > 0. The error names the rule and the class of the
// first bad character, never the value.
func CheckIdentifier(s string, max int) error {
	if s == "" {
		return ErrEmptyIdentifier
	}
	for _, r := range s {
		switch c := CharClass(r); c {
		case "":
		case "non-ASCII":
			return ErrNonASCII
		default:
			return fmt.Errorf("%w: a %s character", ErrSpecialCharacters, c)
		}
	}
	if max > 0 && len(s) > max {
		return fmt.Errorf("%w (%d)", ErrIdentifierLength, len(s))
	}
	return nil
}

// IdentifierOf derives the Tyto identifier of res: its FHIR id when system
// is "", else the value of its first identifier with that system. path is
// the element it came from (or would have), for an OperationOutcome.
func IdentifierOf(res *fhir.Value, system string) (value, path string) {
	typ := res.GetString("resourceType")
	if system == "" {
		return res.GetString("id"), typ + ".id"
	}
	if ids := res.Get("identifier"); ids != nil && ids.Kind == fhir.Array {
		for i, it := range ids.Items {
			if it.GetString("system") == system {
				return it.GetString("value"), fmt.Sprintf("%s.identifier[%d].value", typ, i)
			}
		}
	}
	return "", typ + ".identifier"
}

// The flows (mapping names) the connector serves.
const (
	FlowClinician = "tyto/clinician"
	FlowStation   = "tyto/station"
	FlowDevice    = "tyto/device"
	FlowVisit     = "tyto/visit"
)

// flowSource is the FHIR type each flow maps.
var flowSource = map[string]string{
	FlowClinician: "Practitioner", FlowStation: "Location", FlowDevice: "Device", FlowVisit: "Encounter",
}

// Parents returns the FHIR types a flow's resources wait for (the
// delivery Flow.Parents): a pairing for its Location, a visit for its
// Practitioner and Location.
func Parents(flow string) []string {
	switch flow {
	case FlowDevice:
		return []string{"Location"}
	case FlowVisit:
		return []string{"Practitioner", "Location"}
	}
	return nil
}

// RouteCheck returns the intake check of a route feeding flow whose
// identifiers come from system ("" = FHIR ids), for delivery.Route.Check:
// a resource whose identifier the portal would refuse, or a visit or
// device without the references it needs, gets an *fhir.OperationOutcome
// (code value or required) naming the element and the rule. It returns
// nil for a flow the connector does not serve.
func RouteCheck(flow, system string) func(*fhir.Value) error {
	if _, ok := flowSource[flow]; !ok {
		return nil
	}
	return func(res *fhir.Value) error {
		oo := checkResource(flow, system, res)
		if oo == nil {
			return nil // not a typed nil inside the error interface
		}
		return oo
	}
}

func checkResource(flow, system string, res *fhir.Value) *fhir.OperationOutcome {
	var oo *fhir.OperationOutcome
	max := 0
	if flow == FlowVisit {
		max = MaxVisitIdentifier
	}
	val, path := IdentifierOf(res, system)
	if err := CheckIdentifier(val, max); err != nil {
		what := "the Tyto identifier"
		if errors.Is(err, ErrEmptyIdentifier) && system != "" {
			err = fmt.Errorf("no identifier with the configured system (%s)", system)
		}
		oo = oo.Add(fhir.CodeValue, path, what+": "+err.Error())
	}
	for _, parent := range Parents(flow) {
		id, where := referenceTo(res, parent)
		if id == "" {
			oo = oo.Add(fhir.CodeRequired, where, fmt.Sprintf("a Tyto %s needs a reference to its %s", strings.TrimPrefix(flow, "tyto/"), parent))
			continue
		}
		if system == "" { // the parent's identifier is its id: check it now
			if err := CheckIdentifier(id, 0); err != nil {
				oo = oo.Add(fhir.CodeValue, where, "the referenced "+parent+"'s Tyto identifier: "+err.Error())
			}
		}
	}
	return oo
}

// referenceTo finds the first reference to a resource of type typ where a
// Tyto record keeps it: Encounter.participant[i].individual,
// Encounter.location[i].location, Device.location. where is that element
// (or the one that should hold it).
func referenceTo(res *fhir.Value, typ string) (id, where string) {
	rt := res.GetString("resourceType")
	var refs []struct {
		v    *fhir.Value
		path string
	}
	add := func(v *fhir.Value, p string) {
		refs = append(refs, struct {
			v    *fhir.Value
			path string
		}{v, p})
	}
	where = rt + ".location"
	if typ == "Practitioner" {
		where = rt + ".participant"
		if p := res.Get("participant"); p != nil && p.Kind == fhir.Array {
			for i, it := range p.Items {
				add(it.Get("individual"), fmt.Sprintf("%s.participant[%d].individual", rt, i))
			}
		}
	} else if l := res.Get("location"); l != nil && l.Kind == fhir.Array {
		for i, it := range l.Items {
			add(it.Get("location"), fmt.Sprintf("%s.location[%d].location", rt, i))
		}
	} else if l != nil {
		add(l, rt+".location")
	}
	for _, r := range refs {
		ref := r.v.GetString("reference")
		if i := strings.Index(ref, "/_history/"); i >= 0 {
			ref = ref[:i]
		}
		parts := strings.Split(ref, "/")
		if len(parts) >= 2 && parts[len(parts)-2] == typ {
			return parts[len(parts)-1], r.path
		}
	}
	return "", where
}
