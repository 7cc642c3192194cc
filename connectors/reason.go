package connectors

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxVendorReason bounds VendorReason's summary, in bytes.
const MaxVendorReason = 200

// Keys of a vendor's error body, by what their values are.
var (
	// messageKeys hold the vendor's wording, sanitised before it is kept.
	messageKeys = keySet("message msg detail details diagnostics error error_description errorMessage title description reason text")
	// codeKeys hold error codes, kept when they look like one.
	codeKeys = keySet("code errorCode error_code")
	// whereKeys hold element paths or field names, kept when they look like one.
	whereKeys = keySet("expression location field fields path param parameter")
	// skipKeys carry nothing an operator needs (or echo the status).
	skipKeys = keySet("resourceType severity status statusCode timestamp")
)

var (
	codeRe  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	whereRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\[[0-9]+\])?(\.[A-Za-z][A-Za-z0-9_]*(\[[0-9]+\])?)*$`)
	tagRe   = regexp.MustCompile(`<[^>]*>`)
	// quotedRe: text in quotes is where vendors echo what was sent. A
	// single quote opens only after a space or bracket, so "doesn't" stays.
	quotedRe = regexp.MustCompile("\"[^\"]*\"|“[^”]*”|‘[^’]*’|«[^»]*»|`[^`]*`|(^|[\\s(\\[:=,])'[^']*'")
	elideRe  = regexp.MustCompile(`…(?:[\s,;:]*…)+`)
)

func keySet(s string) map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(s) {
		m[strings.ToLower(k)] = true
	}
	return m
}

// VendorReason summarises a vendor's error answer (JSON or text) for an
// error message, a log line or a dead-letter reason: the vendor's own
// wording, field names, element paths and error codes, at most
// MaxVendorReason bytes. What may be a submitted value is replaced by
// "…": quoted text, words with digits (phone numbers, dates, ids), e-mail
// addresses, URLs, markup, and every word of every string value in sent
// (the request's JSON body, or other text the request carried), so a
// vendor that echoes a name unquoted still cannot put it in the summary.
// It is "" when nothing is left.
func VendorReason(body []byte, sent ...[]byte) string {
	echo := echoWords(sent)
	var parts []string
	var doc any
	if json.Unmarshal(body, &doc) == nil {
		collectReason(doc, "", echo, &parts)
	} else {
		parts = append(parts, sanitiseText(string(body), echo))
	}
	var kept []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && p != "…" && !contains(kept, p) {
			kept = append(kept, p)
		}
	}
	return bound(strings.Join(kept, "; "), MaxVendorReason)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// collectReason walks a JSON error body; key is the member holding v.
func collectReason(v any, key string, echo map[string]bool, out *[]string) {
	k := strings.ToLower(key)
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for name := range v {
			keys = append(keys, name)
		}
		sort.Strings(keys)
		for _, name := range keys {
			collectReason(v[name], name, echo, out)
		}
	case []any:
		for _, it := range v {
			collectReason(it, key, echo, out)
		}
	case string:
		switch {
		case skipKeys[k]:
		case codeKeys[k]:
			if codeRe.MatchString(v) && !echoed(v, echo) {
				*out = append(*out, "code "+v)
			}
		case whereKeys[k]:
			if whereRe.MatchString(v) && !echoed(v, echo) {
				*out = append(*out, "at "+v)
			}
		case messageKeys[k] || key == "":
			*out = append(*out, sanitiseText(v, echo))
		case whereRe.MatchString(key) && !echoed(key, echo): // {"errors":{"firstName":"is too long"}}
			*out = append(*out, key+": "+sanitiseText(v, echo))
		}
	case json.Number, float64:
		// numbers are values (or the status again); codes are kept only
		// when they are words
	}
}

// sanitiseText keeps the wording of a vendor message and replaces what may
// be a value with "…".
func sanitiseText(s string, echo map[string]bool) string {
	s = tagRe.ReplaceAllString(s, " ")
	s = quotedRe.ReplaceAllStringFunc(s, func(q string) string {
		if r, _ := utf8.DecodeRuneInString(q); r != '\'' && (unicode.IsSpace(r) || strings.ContainsRune("([:=,", r)) {
			return string(r) + "…"
		}
		return "…"
	})
	fields := strings.Fields(s)
	for i, tok := range fields {
		core := strings.TrimLeft(tok, `([{<"'`)
		lead := tok[:len(tok)-len(core)]
		trimmed := strings.TrimRight(core, `)]}>.,;:!?"'`)
		trail := core[len(trimmed):]
		if trimmed != "" && trimmed != "…" && !plainWord(trimmed, echo) {
			fields[i] = lead + "…" + trail
		}
	}
	return elideRe.ReplaceAllString(strings.Join(fields, " "), "…")
}

// plainWord reports a word of wording: letters, with - _ . ' / inside
// (mime-types, and/or), no digit, no @, not a URL, not an echoed value.
func plainWord(w string, echo map[string]bool) bool {
	if strings.Contains(w, "://") {
		return false
	}
	for _, r := range w {
		if !unicode.IsLetter(r) && !strings.ContainsRune("-_.'/", r) {
			return false
		}
	}
	return !echoed(w, echo)
}

// echoed reports whether a word of s is one of the request's values: a
// vendor may put a submitted value in a code, a field name or a path too.
func echoed(s string, echo map[string]bool) bool {
	for _, part := range splitWords(s) {
		if echo[part] {
			return true
		}
	}
	return false
}

// splitWords returns the lower-case letter-or-digit runs of s.
func splitWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// echoWords collects the words of every string value in sent (JSON), or
// of the whole text when an item is not JSON. Words that are also member
// names of sent are left out: those are field names, not values.
func echoWords(sent [][]byte) map[string]bool {
	words, keys := map[string]bool{}, map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys[strings.ToLower(k)] = true
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			for _, w := range splitWords(v) {
				words[w] = true
			}
		}
	}
	for _, b := range sent {
		var doc any
		if json.Unmarshal(b, &doc) == nil {
			walk(doc)
		} else {
			walk(string(b))
		}
	}
	for k := range keys {
		delete(words, k)
	}
	return words
}

// bound cuts s to at most n bytes at a rune boundary, marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
