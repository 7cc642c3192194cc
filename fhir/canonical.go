package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// CanonicalHash is the hex SHA-256 of v's canonical form: compact JSON
// with object keys sorted, numbers kept verbatim, strings escaped as
// encoding/json escapes them, and at the top level meta.versionId and
// meta.lastUpdated left out (they belong to the server that stores v, not
// to its content). Two bodies that differ only in whitespace, key order or
// those two meta elements hash alike. It is the store's content hash of a
// resource version and the endpoint's hash of a request body kept with its
// idempotency key.
func CanonicalHash(v *Value) string {
	sum := sha256.Sum256(appendCanonical(make([]byte, 0, 1024), v, true))
	return hex.EncodeToString(sum[:])
}

// appendCanonical appends v as compact JSON with object keys sorted and,
// at the top (top), meta.versionId and meta.lastUpdated left out (and meta
// itself when nothing else is in it). Strings are escaped as encoding/json
// escapes them, HTML characters included, so the hashes equal those of the
// earlier encoding/json implementation kept in the tests.
func appendCanonical(dst []byte, v *Value, top bool) []byte {
	switch v.Kind {
	case String:
		return appendHTMLSafe(dst, v.Str)
	case Array:
		dst = append(dst, '[')
		for i, it := range v.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonical(dst, it, false)
		}
		return append(dst, ']')
	case Object:
		members := slices.Clone(v.Members)
		slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
		dst = append(dst, '{')
		first := true
		for _, m := range members {
			val := m.Value
			if top && m.Key == "meta" && val.Kind == Object {
				kept := &Value{Kind: Object}
				for _, mm := range val.Members {
					if mm.Key != "versionId" && mm.Key != "lastUpdated" {
						kept.Members = append(kept.Members, mm)
					}
				}
				if len(kept.Members) == 0 {
					continue
				}
				val = kept
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendHTMLSafe(dst, m.Key)
			dst = append(dst, ':')
			dst = appendCanonical(dst, val, false)
		}
		return append(dst, '}')
	default:
		return v.AppendJSON(dst)
	}
}

// appendHTMLSafe quotes s like encoding/json: <, > and & as \u escapes.
func appendHTMLSafe(dst []byte, s string) []byte {
	start := len(dst)
	dst = AppendQuoted(dst, s)
	if !strings.ContainsAny(s, "<>&") {
		return dst
	}
	quoted := string(dst[start:])
	dst = dst[:start]
	for i := 0; i < len(quoted); i++ {
		switch c := quoted[i]; c {
		case '<', '>', '&':
			dst = append(dst, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
