package fhir

import (
	"strconv"
	"strings"
)

// describe maps a google/fhir error Details text to an issue code and a
// description from a fixed vocabulary. Details texts are meant by
// google/fhir to be free of data, but a few interpolate parts of the input
// (an offending character, a type name), so nothing of them is copied:
// unrecognised texts become "invalid value".
func describe(details string) (code, text string) {
	if t, ok := fixedRules[details]; ok {
		return t.code, t.text
	}
	switch {
	case strings.HasPrefix(details, "missing required field "):
		return CodeRequired, "required element is missing"
	case strings.HasPrefix(details, "expected "):
		if t, ok := expectedTypes[strings.TrimPrefix(details, "expected ")]; ok {
			return CodeValue, "invalid " + t + " value"
		}
		return CodeValue, "invalid value"
	case strings.HasPrefix(details, "invalid reference to a "):
		return CodeValue, "reference to a resource type not allowed here"
	case strings.HasPrefix(details, "string contains invalid characters"):
		return CodeValue, "string contains invalid characters"
	case strings.HasPrefix(details, "cannot accept multiple values for "):
		return CodeStructure, "more than one type given for a choice element"
	case strings.HasPrefix(details, "field exceeded the maximum nesting depth"):
		return CodeStructure, "elements nested too deeply"
	case strings.HasPrefix(details, "array length mismatch"):
		return CodeStructure, "primitive value and extension arrays differ in length"
	case strings.HasPrefix(details, "invalid ") && strings.HasSuffix(details, " format"):
		if t, ok := formatTypes[strings.TrimSuffix(strings.TrimPrefix(details, "invalid "), " format")]; ok {
			return CodeValue, "invalid " + t + " format"
		}
		return CodeValue, "invalid value format"
	}
	return CodeInvalid, "invalid value"
}

type rule struct{ code, text string }

var fixedRules = map[string]rule{
	"unknown field":                                      {CodeStructure, "unknown element"},
	"invalid field":                                      {CodeStructure, "element not allowed here"},
	"invalid extension field":                            {CodeStructure, "element given twice"},
	"invalid JSON":                                       {CodeStructure, "invalid JSON"},
	"invalid resource type":                              {CodeStructure, "resourceType is not a string"},
	"unknown resource type":                              {CodeStructure, "unknown resource type"},
	"invalid reference":                                  {CodeValue, "invalid reference"},
	"unexpected reference":                               {CodeValue, "invalid reference"},
	"code type mismatch":                                 {CodeValue, "code not in the required value set"},
	"invalid time":                                       {CodeValue, "invalid time value"},
	"invalid positive integer":                           {CodeValue, "invalid positiveInt value"},
	"invalid non-negative integer":                       {CodeValue, "invalid unsignedInt value"},
	"string exceeds maximum size of 1 MB":                {CodeValue, "string longer than 1 MB"},
	"non-negative integer out of range 0..2,147,483,647": {CodeValue, "integer out of range"},
	"non-negative integer out of range 1..2,147,483,647": {CodeValue, "integer out of range"},
}

// expectedTypes maps the X of google/fhir's "expected X" to a FHIR type name.
var expectedTypes = map[string]string{
	"UTF-8 encoding":   "string",
	"binary data":      "base64Binary",
	"boolean":          "boolean",
	"code":             "code",
	"date":             "date",
	"datetime":         "dateTime",
	"decimal":          "decimal",
	"ID":               "id",
	"instant":          "instant",
	"integer":          "integer",
	"OID":              "oid",
	"positive integer": "positiveInt",
	"string":           "string",
	"uri":              "uri",
	"url":              "url",
	"canonical":        "canonical",
	"markdown":         "markdown",
	"xhtml":            "xhtml",
	"UUID":             "uuid",
	"array":            "array",
}

// formatTypes maps the proto type names of "invalid X format" to FHIR names.
var formatTypes = map[string]string{
	"Code": "code", "Id": "id", "Oid": "oid", "Uuid": "uuid", "Decimal": "decimal",
	"Date": "date", "DateTime": "dateTime", "Instant": "instant", "Time": "time",
	"Integer": "integer", "PositiveInt": "positiveInt", "UnsignedInt": "unsignedInt",
	"Uri": "uri", "Url": "url", "Canonical": "canonical", "Base64Binary": "base64Binary",
}

// removePaths returns a copy of v without the elements whose google/fhir
// path (resource type first, e.g. "Patient.name[0].given") is in drop, and
// how many it removed. v itself is not modified.
func removePaths(v *Value, drop map[string]bool) (*Value, int) {
	n := 0
	out := prune(v, v.ResourceType(), drop, &n, true)
	return out, n
}

func prune(v *Value, path string, drop map[string]bool, n *int, root bool) *Value {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case Object:
		if rt := v.ResourceType(); rt != "" && !root {
			path += "." + rt
		}
		c := &Value{Kind: Object, Members: make([]Member, 0, len(v.Members))}
		for _, m := range v.Members {
			p := path + "." + m.Key
			if drop[p] {
				*n++
				continue
			}
			c.Members = append(c.Members, Member{Key: m.Key, Value: prune(m.Value, p, drop, n, false)})
		}
		return c
	case Array:
		c := &Value{Kind: Array, Items: make([]*Value, 0, len(v.Items))}
		for i, it := range v.Items {
			p := path + "[" + strconv.Itoa(i) + "]"
			if drop[p] {
				*n++
				continue
			}
			c.Items = append(c.Items, prune(it, p, drop, n, false))
		}
		return c
	}
	return v
}
