package fhir

import (
	"strconv"
	"strings"
)

// Kind is the JSON kind of a Value.
type Kind uint8

// The JSON kinds.
const (
	Null Kind = iota
	Bool
	Number
	String
	Array
	Object
)

var kindNames = [...]string{"null", "boolean", "number", "string", "array", "object"}

// String names the kind as JSON does.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one parsed JSON value. Objects keep their members in document
// order, so a resource read and written back keeps its shape. A Value is
// immutable once Decode returns it and may be shared between goroutines.
type Value struct {
	Kind Kind
	// Str is the decoded text of a String, the literal as written of a
	// Number, and "true" or "false" of a Bool.
	Str string
	// Items holds the elements of an Array.
	Items []*Value
	// Members holds the members of an Object in document order.
	Members []Member
}

// Member is one key and value of a JSON object.
type Member struct {
	Key   string
	Value *Value
}

// Get returns the member named key of an object, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i := range v.Members {
		if v.Members[i].Key == key {
			return v.Members[i].Value
		}
	}
	return nil
}

// GetString returns the string member named key, or "" when it is absent
// or not a string.
func (v *Value) GetString(key string) string {
	if m := v.Get(key); m != nil && m.Kind == String {
		return m.Str
	}
	return ""
}

// True reports whether v is the boolean true.
func (v *Value) True() bool { return v != nil && v.Kind == Bool && v.Str == "true" }

// ResourceType returns the resourceType of an object, or "".
func (v *Value) ResourceType() string { return v.GetString("resourceType") }

// NewString returns a String value.
func NewString(s string) *Value { return &Value{Kind: String, Str: s} }

// NewBool returns a Bool value.
func NewBool(b bool) *Value {
	if b {
		return &Value{Kind: Bool, Str: "true"}
	}
	return &Value{Kind: Bool, Str: "false"}
}

// NewNumber returns a Number value from its JSON literal; the caller
// guarantees the literal is a valid JSON number.
func NewNumber(literal string) *Value { return &Value{Kind: Number, Str: literal} }

// NewObject returns an empty Object value.
func NewObject() *Value { return &Value{Kind: Object} }

// NewArray returns an Array value holding items.
func NewArray(items ...*Value) *Value { return &Value{Kind: Array, Items: items} }

// Set replaces the member named key, or appends it when absent.
// Only for values under construction; Values from Decode are shared.
func (v *Value) Set(key string, val *Value) {
	for i := range v.Members {
		if v.Members[i].Key == key {
			v.Members[i].Value = val
			return
		}
	}
	v.Members = append(v.Members, Member{Key: key, Value: val})
}

// JSON returns the compact JSON text of v.
func (v *Value) JSON() []byte { return v.AppendJSON(nil) }

// AppendJSON appends the compact JSON text of v to dst.
func (v *Value) AppendJSON(dst []byte) []byte {
	if v == nil {
		return append(dst, "null"...)
	}
	switch v.Kind {
	case Null:
		return append(dst, "null"...)
	case Bool, Number:
		return append(dst, v.Str...)
	case String:
		return AppendQuoted(dst, v.Str)
	case Array:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = it.AppendJSON(dst)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i, m := range v.Members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendQuoted(dst, m.Key)
			dst = append(dst, ':')
			dst = m.Value.AppendJSON(dst)
		}
		return append(dst, '}')
	}
}

const hexDigits = "0123456789abcdef"

// AppendQuoted appends s as a JSON string literal, escaping as
// encoding/json does (HTML-safe characters are left as they are).
func AppendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[s[i+2]&0xf])
				i += 2
				start = i + 1
			}
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Path is a FHIR element path under construction, such as
// "Bundle.entry[1].resource". It never holds a value from the resource.
type Path string

// Field returns the path of member name.
func (p Path) Field(name string) Path {
	if p == "" {
		return Path(name)
	}
	return Path(string(p) + "." + name)
}

// Index returns the path of element i.
func (p Path) Index(i int) Path {
	var b strings.Builder
	b.WriteString(string(p))
	b.WriteByte('[')
	b.WriteString(strconv.Itoa(i))
	b.WriteByte(']')
	return Path(b.String())
}
