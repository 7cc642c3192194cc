package fhirpath

import (
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// kind classifies an Item.
type kind uint8

const (
	kNode     kind = iota // an element of the JSON tree
	kBool                 // System.Boolean (i: 0 or 1)
	kInt                  // System.Integer (i)
	kDec                  // System.Decimal (f, s keeps the literal when known)
	kStr                  // System.String (s)
	kDate                 // System.Date (s: text without '@')
	kDateTime             // System.DateTime (s)
	kTime                 // System.Time (s: text without "@T")
	kQty                  // System.Quantity (f value, s unit, key the value's digits when known)
	kV2Msg                // an HL7 v2 message (Env.Message); see functions_v2.go
	kV2Group              // a group of segments of it
	kV2Seg                // a segment of it
	kV2Rep                // a repetition of a field of it
)

var systemNames = [...]string{"", "System.Boolean", "System.Integer", "System.Decimal", "System.String",
	"System.Date", "System.DateTime", "System.Time", "System.Quantity"}

// Collection is a FHIRPath collection: an ordered list of items. A
// Collection returned by Eval may share memory with the compiled
// expression and with other results; treat it as read-only.
type Collection []Item

// Item is one FHIRPath value: an element of the JSON tree (with its FHIR
// type name when known) or a System value.
type Item struct {
	n      *fhir.Value // tree node, nil for System values
	parent *fhir.Value // object holding n (for _name primitive extensions)
	key    string      // member name n was reached by ("" when unknown); a quantity's digits
	typ    string      // FHIR type name when known ("" = infer from JSON)
	s      string
	f      float64
	i      int64
	idx    int32 // index in the parent's array, -1 when not in an array
	k      kind
}

// ItemOf wraps a tree node; an object with a resourceType is typed by it.
func ItemOf(v *fhir.Value) Item {
	it := Item{n: v, idx: -1}
	if v != nil && v.Kind == fhir.Object {
		it.typ = v.ResourceType()
	}
	return it
}

// String returns a System.String item.
func String(s string) Item { return Item{k: kStr, s: s} }

// Boolean returns a System.Boolean item.
func Boolean(b bool) Item {
	if b {
		return Item{k: kBool, i: 1}
	}
	return Item{k: kBool}
}

// Integer returns a System.Integer item.
func Integer(i int64) Item { return Item{k: kInt, i: i} }

// Decimal returns a System.Decimal item.
func Decimal(f float64) Item { return Item{k: kDec, f: f} }

// Node returns the tree node of the item, nil for System values.
func (it Item) Node() *fhir.Value { return it.n }

// TypeName names the item's type: the FHIR type of a tree element
// ("string", "Coding", "Patient"…; inferred from the JSON kind when no
// better name is known) or "System.X" for System values.
func (it Item) TypeName() string {
	if it.k >= kV2Msg {
		return v2TypeName(it.k)
	}
	if it.k != kNode {
		return systemNames[it.k]
	}
	if it.typ != "" {
		return it.typ
	}
	if it.n == nil {
		return ""
	}
	switch it.n.Kind {
	case fhir.Bool:
		return "boolean"
	case fhir.Number:
		if isIntLiteral(it.n.Str) {
			return "integer"
		}
		return "decimal"
	case fhir.String:
		if t := dateElements[it.key]; t != "" {
			return t
		}
		if t := elementTypes[it.key]; t != "" && t[0] >= 'a' {
			return t
		}
		return "string"
	case fhir.Object:
		if t := elementTypes[it.key]; t != "" && t[0] < 'a' {
			return t
		}
		return "Element"
	}
	return ""
}

// AsString returns a primitive as FHIRPath toString() renders it.
func (it Item) AsString() (string, bool) {
	p := it.prim()
	switch p.k {
	case kStr, kDate, kDateTime, kTime:
		return p.s, true
	case kBool:
		if p.i != 0 {
			return "true", true
		}
		return "false", true
	case kInt:
		return strconv.FormatInt(p.i, 10), true
	case kDec:
		if p.s != "" {
			return p.s, true
		}
		return formatDec(p.f), true
	case kQty:
		num := formatDec(p.f)
		if p.key != "" {
			num = p.key // the digits as written, precision kept
		}
		if _, ok := calendarUCUM[p.s]; ok {
			return num + " " + p.s, true
		}
		return num + " '" + p.s + "'", true
	}
	return "", false
}

// AsBool returns the value of a boolean item.
func (it Item) AsBool() (bool, bool) {
	p := it.prim()
	if p.k == kBool {
		return p.i != 0, true
	}
	return false, false
}

// JSON returns the item as a JSON value; System numbers stay numbers,
// booleans booleans, everything else primitive becomes a string.
func (it Item) JSON() *fhir.Value {
	if it.n != nil {
		return it.n
	}
	switch it.k {
	case kBool:
		return fhir.NewBool(it.i != 0)
	case kInt:
		return fhir.NewNumber(strconv.FormatInt(it.i, 10))
	case kDec:
		s, _ := it.AsString()
		return fhir.NewNumber(s)
	case kQty:
		o := fhir.NewObject()
		num := formatDec(it.f)
		if it.key != "" {
			num = it.key // the digits as written, precision kept
		}
		o.Set("value", fhir.NewNumber(num))
		if it.s != "" {
			u := it.s
			if cu, ok := calendarUCUM[u]; ok {
				u = cu
			}
			o.Set("unit", fhir.NewString(it.s))
			o.Set("system", fhir.NewString("http://unitsofmeasure.org"))
			o.Set("code", fhir.NewString(u))
		}
		return o
	}
	s, _ := it.AsString()
	return fhir.NewString(s)
}

// prim converts a primitive tree node to the matching System value; other
// items are returned unchanged.
func (it Item) prim() Item {
	if it.k != kNode || it.n == nil {
		return it
	}
	v := it.n
	switch v.Kind {
	case fhir.String:
		switch it.TypeName() {
		case "date":
			return Item{k: kDate, s: v.Str}
		case "dateTime", "instant":
			if !strings.Contains(v.Str, "T") {
				return Item{k: kDate, s: v.Str}
			}
			return Item{k: kDateTime, s: v.Str}
		case "time":
			return Item{k: kTime, s: v.Str}
		}
		return Item{k: kStr, s: v.Str}
	case fhir.Bool:
		return Boolean(v.Str == "true")
	case fhir.Number:
		if isIntLiteral(v.Str) {
			if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
				return Integer(n)
			}
		}
		f, _ := strconv.ParseFloat(v.Str, 64)
		return Item{k: kDec, f: f, s: v.Str}
	case fhir.Object:
		if it.TypeName() == "Quantity" {
			if q, ok := nodeQuantity(v); ok {
				return q
			}
		}
	}
	return it
}

// nodeQuantity reads a FHIR Quantity object as a System.Quantity.
func nodeQuantity(v *fhir.Value) (Item, bool) {
	val := v.Get("value")
	if val == nil || val.Kind != fhir.Number {
		return Item{}, false
	}
	f, err := strconv.ParseFloat(val.Str, 64)
	if err != nil {
		return Item{}, false
	}
	u := v.GetString("code")
	if u == "" {
		u = v.GetString("unit")
	}
	return Item{k: kQty, f: f, s: u, key: val.Str}, true // key: the digits as written
}

func isIntLiteral(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

func formatDec(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// elementTypes gives the FHIR type of common complex elements by name,
// a pragmatic stand-in for a full model.
var elementTypes = map[string]string{
	"name": "HumanName", "identifier": "Identifier", "telecom": "ContactPoint",
	"address": "Address", "coding": "Coding", "period": "Period", "meta": "Meta",
	"extension": "Extension", "modifierExtension": "Extension", "text": "Narrative",
	"valueQuantity": "Quantity", "quantity": "Quantity", "subject": "Reference",
	"patient": "Reference", "managingOrganization": "Reference", "performer": "Reference",
	"maritalStatus": "CodeableConcept", "category": "CodeableConcept", "type": "CodeableConcept",
	"photo": "Attachment", "contact": "BackboneElement", "communication": "BackboneElement",
	"link": "BackboneElement", "gender": "code", "status": "code", "use": "code",
	"url": "uri", "system": "uri", "language": "code", "active": "boolean", "referenceRange": "BackboneElement", "component": "BackboneElement",
}

// dateElements gives the FHIR temporal type of common string elements.
var dateElements = map[string]string{
	"birthDate": "date", "date": "dateTime", "start": "dateTime", "end": "dateTime",
	"issued": "instant", "effectiveDateTime": "dateTime", "effectiveInstant": "instant",
	"deceasedDateTime": "dateTime", "authoredOn": "dateTime", "recorded": "instant",
	"lastUpdated": "instant", "onsetDateTime": "dateTime", "abatementDateTime": "dateTime",
	"valueDate": "date", "valueDateTime": "dateTime", "valueTime": "time", "valueInstant": "instant",
	"occurrenceDateTime": "dateTime", "timestamp": "instant", "created": "dateTime",
	"lockedDate": "date", "assertedDate": "dateTime", "recordedDate": "dateTime",
	"performedDateTime": "dateTime", "whenHandedOver": "dateTime", "whenPrepared": "dateTime",
	"time": "dateTime", "dateTime": "dateTime", "instant": "instant",
}
