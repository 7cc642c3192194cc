// Package searchindex defines the FHIR search parameters that fhirbridge
// indexes per resource type and extracts their index entries from a
// resource. The store keeps the entries of the current version of every
// resource in its resource_index table (see batch/store), and the search
// package turns a query into conditions on them.
//
// Values are indexed by the parameter's type:
//
//   - string: Text holds the value lower-cased with accents removed (R4
//     string search is case- and accent-insensitive and matches a prefix),
//     Exact the value as written (the :exact modifier);
//   - token: System and Text hold the coding system (or Identifier.system)
//     and the code (or Identifier.value), "" when absent;
//   - reference: Text holds "Type/id" of a literal reference;
//   - date: Low and High bound the instants the value covers, [Low, High)
//     in Unix microseconds (a birth date covers its whole day, an instant
//     one microsecond, an Encounter.period its start to its end; an open
//     end is MinDate or MaxDate).
//
// Index values are patient data: nothing in this package logs them or
// puts them in an error.
package searchindex

import (
	"math"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Kind is a FHIR SearchParamType that fhirbridge indexes.
type Kind string

// The indexed parameter types.
const (
	String    Kind = "string"
	Token     Kind = "token"
	Reference Kind = "reference"
	Date      Kind = "date"
)

// Bounds of an open date range, in Unix microseconds.
const (
	MinDate int64 = math.MinInt64
	MaxDate int64 = math.MaxInt64
)

// LastUpdated is the parameter holding meta.lastUpdated (the store's
// update instant of the current version), indexed for every type.
const LastUpdated = "_lastUpdated"

// Param is one indexed search parameter of a resource type.
type Param struct {
	// Name is the parameter as written in a search URL.
	Name string
	// Kind is its FHIR type.
	Kind Kind
	// Paths are the element paths it indexes, dot-separated from the
	// resource (e.g. "name.family"); arrays along a path are walked.
	Paths []string
	// Target is the resource type a reference parameter points to; other
	// references at the same paths are not indexed under it.
	Target string
	// System is the code system of a token parameter on a plain code
	// element (which carries none itself), indexed as its system.
	System string
	// Doc is the CapabilityStatement documentation of the parameter.
	Doc string
}

// nameParts are the HumanName elements R4's name parameter searches.
var nameParts = []string{"name.family", "name.given", "name.text", "name.prefix", "name.suffix"}

// identifier is the identifier parameter every indexed type has.
var identifier = Param{Name: "identifier", Kind: Token, Paths: []string{"identifier"},
	Doc: "Identifier: system|value, |value (no system) or value; system| any value of that system"}

// byType lists the indexed parameters per resource type (_id and
// _lastUpdated come on top of these for every type).
var byType = map[string][]Param{
	"Patient": {
		identifier,
		{Name: "birthdate", Kind: Date, Paths: []string{"birthDate"}, Doc: "Patient.birthDate; prefixes eq, ne, gt, lt, ge, le, sa, eb, ap (10% of the gap to now)"},
		{Name: "gender", Kind: Token, Paths: []string{"gender"}, System: "http://hl7.org/fhir/administrative-gender", Doc: "Patient.gender code"},
		{Name: "name", Kind: String, Paths: nameParts, Doc: "any part of Patient.name: case- and accent-insensitive prefix; :exact, :contains"},
		{Name: "family", Kind: String, Paths: []string{"name.family"}, Doc: "Patient.name.family: case- and accent-insensitive prefix; :exact, :contains"},
	},
	"Appointment": {
		identifier,
		{Name: "date", Kind: Date, Paths: []string{"start"}, Doc: "Appointment.start; prefixes eq, ne, gt, lt, ge, le, sa, eb, ap (10% of the gap to now)"},
		{Name: "status", Kind: Token, Paths: []string{"status"}, System: "http://hl7.org/fhir/appointmentstatus", Doc: "Appointment.status code"},
		{Name: "patient", Kind: Reference, Paths: []string{"participant.actor"}, Target: "Patient", Doc: "Appointment.participant.actor: Patient/<id> or <id>"},
		{Name: "practitioner", Kind: Reference, Paths: []string{"participant.actor"}, Target: "Practitioner", Doc: "Appointment.participant.actor: Practitioner/<id> or <id>"},
		{Name: "location", Kind: Reference, Paths: []string{"participant.actor"}, Target: "Location", Doc: "Appointment.participant.actor: Location/<id> or <id>"},
	},
	"Encounter": {
		identifier,
		{Name: "date", Kind: Date, Paths: []string{"period"}, Doc: "Encounter.period (an open end is unbounded); prefixes eq, ne, gt, lt, ge, le, sa, eb, ap (10% of the gap to now)"},
		{Name: "status", Kind: Token, Paths: []string{"status"}, System: "http://hl7.org/fhir/encounter-status", Doc: "Encounter.status code"},
		{Name: "patient", Kind: Reference, Paths: []string{"subject"}, Target: "Patient", Doc: "Encounter.subject: Patient/<id> or <id>"},
		{Name: "appointment", Kind: Reference, Paths: []string{"appointment"}, Target: "Appointment", Doc: "Encounter.appointment: Appointment/<id> or <id>"},
	},
	"Practitioner": {
		identifier,
		{Name: "name", Kind: String, Paths: nameParts, Doc: "any part of Practitioner.name: case- and accent-insensitive prefix; :exact, :contains"},
	},
	"Location": {
		identifier,
		{Name: "name", Kind: String, Paths: []string{"name", "alias"}, Doc: "Location.name or alias: case- and accent-insensitive prefix; :exact, :contains"},
	},
	"Organization": {
		identifier,
		{Name: "name", Kind: String, Paths: []string{"name", "alias"}, Doc: "Organization.name or alias: case- and accent-insensitive prefix; :exact, :contains"},
	},
}

// Types returns the indexed resource types.
func Types() []string {
	return []string{"Appointment", "Encounter", "Location", "Organization", "Patient", "Practitioner"}
}

// Params returns the indexed parameters of typ (nil when typ is not
// indexed), without _id and _lastUpdated.
func Params(typ string) []Param { return byType[typ] }

// Lookup returns the parameter name of typ.
func Lookup(typ, name string) (Param, bool) {
	for _, p := range byType[typ] {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

// Entry is one index row of a resource.
type Entry struct {
	// Param is the parameter name.
	Param string
	// System is a token's system ("" otherwise or when absent).
	System string
	// Text is the normalised string, the token code or value, or the
	// reference "Type/id"; "" for a date.
	Text string
	// Exact is a string parameter's value as written.
	Exact string
	// Low and High are a date's range [Low, High) in Unix microseconds.
	Low, High int64
}

// Bounds on what one resource adds to the index: a value longer than
// MaxValue bytes is not indexed (a search value is bounded the same way,
// so such a value could not be matched anyway), and at most MaxEntries
// entries are kept per parameter.
const (
	MaxValue   = 512
	MaxEntries = 256
)

// Entries returns the index entries of resource v of typ, stored at
// updated: one per value of each indexed parameter (duplicates removed),
// plus _lastUpdated. A value of the wrong JSON kind or format is not
// indexed. An unindexed type has only _lastUpdated.
func Entries(typ string, v *fhir.Value, updated time.Time) []Entry {
	u := updated.UTC().Truncate(time.Microsecond).UnixMicro()
	out := []Entry{{Param: LastUpdated, Low: u, High: u + 1}}
	for _, p := range byType[typ] {
		seen := map[Entry]bool{}
		for _, path := range p.Paths {
			for _, x := range walk(v, strings.Split(path, ".")) {
				for _, e := range p.entries(x) {
					if len(seen) >= MaxEntries || seen[e] {
						continue
					}
					seen[e] = true
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// Indexable reports whether s can be an index value: 1 to MaxValue bytes
// of valid UTF-8 without NUL (which PostgreSQL text refuses). Other
// values are not indexed, and a search for one is refused.
func Indexable(s string) bool {
	return s != "" && len(s) <= MaxValue && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// walk returns the values at path under v, descending into arrays.
func walk(v *fhir.Value, path []string) []*fhir.Value {
	if v == nil {
		return nil
	}
	if v.Kind == fhir.Array {
		var out []*fhir.Value
		for _, it := range v.Items {
			out = append(out, walk(it, path)...)
		}
		return out
	}
	if len(path) == 0 {
		return []*fhir.Value{v}
	}
	return walk(v.Get(path[0]), path[1:])
}

// entries returns the entries of one element value x of p.
func (p Param) entries(x *fhir.Value) []Entry {
	switch p.Kind {
	case String:
		if x.Kind != fhir.String || !Indexable(x.Str) {
			return nil
		}
		return []Entry{{Param: p.Name, Text: FoldedKey(x.Str), Exact: x.Str}}
	case Token:
		switch x.Kind {
		case fhir.String: // a code
			if Indexable(x.Str) {
				return []Entry{{Param: p.Name, System: p.System, Text: x.Str}}
			}
		case fhir.Object: // an Identifier
			sys, val := x.GetString("system"), x.GetString("value")
			if Indexable(val) && (sys == "" || Indexable(sys)) {
				return []Entry{{Param: p.Name, System: sys, Text: val}}
			}
		}
	case Reference:
		typ, id := fhir.SplitReference(x.GetString("reference"))
		if typ == p.Target && fhir.ValidID(id) {
			return []Entry{{Param: p.Name, Text: typ + "/" + id}}
		}
	case Date:
		if x.Kind == fhir.String {
			if lo, hi, ok := DateRange(x.Str); ok {
				return []Entry{{Param: p.Name, Low: lo, High: hi}}
			}
			return nil
		}
		if x.Kind == fhir.Object { // a Period
			lo, hi := MinDate, MaxDate
			s, e := x.GetString("start"), x.GetString("end")
			if s == "" && e == "" {
				return nil
			}
			if s != "" {
				l, _, ok := DateRange(s)
				if !ok {
					return nil
				}
				lo = l
			}
			if e != "" {
				_, h, ok := DateRange(e)
				if !ok {
					return nil
				}
				hi = h
			}
			if hi <= lo {
				return nil
			}
			return []Entry{{Param: p.Name, Low: lo, High: hi}}
		}
	}
	return nil
}

// DateRange returns the instants a FHIR date, dateTime or instant value
// covers, [lo, hi) in Unix microseconds: a year, month or day (read in
// UTC, as FHIR leaves the zone of a date to the server), a minute, or a
// time at the precision of its fraction (one microsecond at most). ok is
// false for anything else, including a time without a zone.
func DateRange(s string) (lo, hi int64, ok bool) {
	if len(s) > 64 {
		return 0, 0, false
	}
	day := func(l string, step func(time.Time) time.Time) (int64, int64, bool) {
		t, err := time.Parse(l, s)
		if err != nil {
			return 0, 0, false
		}
		return t.UnixMicro(), step(t).UnixMicro(), true
	}
	switch len(s) {
	case 4:
		return day("2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) })
	case 7:
		return day("2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) })
	case 10:
		return day("2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) })
	}
	if !strings.Contains(s, "T") {
		return 0, 0, false
	}
	if t, err := time.Parse("2006-01-02T15:04Z07:00", s); err == nil {
		return t.UnixMicro(), t.Add(time.Minute).UnixMicro(), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1 || t.Year() > 9999 {
		return 0, 0, false
	}
	prec := time.Second
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := s[i+1:]
		digits := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
		for range min(digits, 6) {
			prec /= 10
		}
	}
	lo = t.Truncate(time.Microsecond).UnixMicro()
	return lo, lo + prec.Microseconds(), true
}

// MaxFolded bounds the folded text of an index entry: folding may
// lengthen a string many times (one character can decompose into 18),
// and PostgreSQL refuses index keys over about 2.7 kB. A longer folding
// is cut at a character boundary, which keeps every prefix of up to
// MaxFolded bytes searchable.
const MaxFolded = 2 * MaxValue

// FoldedKey is Normalize(s) cut to MaxFolded bytes: the value_text of a
// string entry, whose Exact is s.
func FoldedKey(s string) string {
	f := Normalize(s)
	if len(f) <= MaxFolded {
		return f
	}
	cut := MaxFolded
	for cut > 0 && !utf8.RuneStart(f[cut]) {
		cut--
	}
	return f[:cut]
}

// Normalize folds s for string search: Unicode compatibility
// decomposition, combining marks removed, lower case. "Zoë Ångström" and
// "zoe angstrom" normalise alike.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
