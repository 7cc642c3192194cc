package server

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Response format negotiation. The server answers in FHIR JSON only: a
// request asking for anything else (XML, Turtle, HTML) through _format or
// Accept gets 406 with an OperationOutcome rather than a JSON body it did
// not ask for.

// verdict is the outcome of format negotiation.
type verdict int

const (
	formatJSON    verdict = iota // FHIR R4 JSON satisfies the request
	formatNotJSON                // only formats other than JSON are asked for
	formatVersion                // JSON is asked for, but only of FHIR versions other than R4
)

// jsonMediaTypes are the media types (lower case, without parameters) a
// FHIR JSON response satisfies, wildcards included.
var jsonMediaTypes = map[string]bool{
	"application/fhir+json": true,
	"application/json":      true,
	"application/json+fhir": true, // DSTU2 name, still sent by some engines
	"application/*":         true,
	"*/*":                   true,
}

// formatShortcuts are the _format values R4 defines as short names, and
// whether each means JSON.
var formatShortcuts = map[string]bool{
	"json": true,
	"xml":  false, "ttl": false, "turtle": false, "html": false,
}

// negotiate decides whether a FHIR R4 JSON response satisfies r: by the
// _format query parameters when there is one (which, as R4 says, override
// Accept), else by the Accept header. It returns nil, or the 406 to send.
func negotiate(r *http.Request) *apiError {
	var v verdict
	if formats := formatValues(r); len(formats) > 0 {
		v = formatVerdict(formats)
	} else {
		v = acceptVerdict(r.Header.Get("Accept"))
	}
	switch v {
	case formatNotJSON:
		return newError(http.StatusNotAcceptable, "", "not-supported", "",
			"only JSON is served (application/fhir+json); XML and other formats are not")
	case formatVersion:
		return newError(http.StatusNotAcceptable, "", "not-supported", "",
			"this server only answers in FHIR R4 (fhirVersion=4.0)")
	}
	return nil
}

// formatValues returns the non-empty _format values of r's query.
func formatValues(r *http.Request) []string {
	var out []string
	for _, f := range r.URL.Query()["_format"] {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// formatVerdict judges _format values: every one must name JSON (as
// "json" or a JSON media type, of FHIR R4 when it names a fhirVersion).
func formatVerdict(values []string) verdict {
	worst := formatJSON
	for _, f := range values {
		if v := formatValue(f); v > worst {
			worst = v
		}
	}
	return worst
}

// formatValue judges one _format value. A '+' of a media type written
// unescaped in a URL arrives as a space ("application/fhir json"), so a
// space in the type is read as '+'.
func formatValue(f string) verdict {
	if isJSON, ok := formatShortcuts[strings.ToLower(f)]; ok {
		if isJSON {
			return formatJSON
		}
		return formatNotJSON
	}
	typ, params, _ := strings.Cut(f, ";")
	typ = strings.ReplaceAll(strings.TrimSpace(typ), " ", "+")
	if params != "" {
		typ += ";" + params
	}
	mt, p, err := mime.ParseMediaType(typ)
	if err != nil || !jsonMediaTypes[mt] || mt == "*/*" || mt == "application/*" {
		return formatNotJSON
	}
	if v, ok := p["fhirversion"]; ok && !isR4(v) {
		return formatVersion
	}
	return formatJSON
}

// acceptVerdict judges an Accept header: JSON is acceptable when one of
// its media ranges with a non-zero q matches a JSON media type (wildcards
// included) of FHIR R4 or of no fhirVersion. An empty header, or one with
// no parsable range, accepts anything, as before this check existed.
func acceptVerdict(accept string) verdict {
	parsed, version := false, false
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		parsed = true
		if !jsonMediaTypes[mt] || zeroQ(params["q"]) {
			continue
		}
		if v, ok := params["fhirversion"]; ok && !isR4(v) {
			version = true
			continue
		}
		return formatJSON
	}
	switch {
	case version:
		return formatVersion
	case parsed:
		return formatNotJSON
	}
	return formatJSON
}

// zeroQ reports whether a q parameter says "not acceptable" (q=0). A q
// that is not a number is ignored, as if absent.
func zeroQ(q string) bool {
	if q == "" {
		return false
	}
	f, err := strconv.ParseFloat(q, 64)
	return err == nil && f <= 0
}
