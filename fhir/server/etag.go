package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Bounds on the conditional headers, which come from the client.
const (
	maxETagHeader = 1024 // bytes of an If-Match or If-None-Match header
	maxETags      = 32   // entity tags listed in one If-None-Match
	maxVersionLen = 9    // digits of a version in an entity tag
)

// errETag is the class of a malformed entity tag; its messages name the
// rule broken, never the value.
var errETag = errors.New("malformed entity tag")

// parseETag reads one entity tag naming a resource version, as this
// server sends them: W/"3" (weak) or "3" (strong; accepted since some
// clients strip the W/). The version is a positive decimal integer
// without sign or leading zeros, at most maxVersionLen digits. Anything
// else is an error wrapping errETag.
func parseETag(s string) (int, error) {
	q, _ := strings.CutPrefix(s, "W/")
	if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
		return 0, fmt.Errorf("%w: an entity tag is W/\"<version>\" or \"<version>\"", errETag)
	}
	d := q[1 : len(q)-1]
	if d == "" || len(d) > maxVersionLen || d[0] == '0' {
		return 0, fmt.Errorf("%w: the version must be a positive integer of at most %d digits without leading zeros",
			errETag, maxVersionLen)
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, fmt.Errorf("%w: the version must be a positive integer", errETag)
		}
	}
	n, err := strconv.Atoi(d)
	if err != nil { // unreachable: at most 9 digits
		return 0, fmt.Errorf("%w: the version is out of range", errETag)
	}
	return n, nil
}

// parseETagList reads an If-None-Match value: "*" (any version), or a
// comma-separated list of at most maxETags entity tags (see parseETag).
func parseETagList(s string) (any bool, versions []int, err error) {
	if strings.TrimSpace(s) == "*" {
		return true, nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxETags {
		return false, nil, fmt.Errorf("%w: more than %d entity tags", errETag, maxETags)
	}
	for _, p := range parts {
		v, err := parseETag(strings.TrimSpace(p))
		if err != nil {
			return false, nil, err
		}
		versions = append(versions, v)
	}
	return false, versions, nil
}

// oneHeader returns the single value of header name, or a 400 naming the
// header when it is repeated or over maxETagHeader bytes. ok is false
// when the header is absent.
func oneHeader(r *http.Request, name string) (v string, ok bool, e *apiError) {
	vals := r.Header.Values(name)
	switch {
	case len(vals) == 0:
		return "", false, nil
	case len(vals) > 1:
		return "", false, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
			"the "+name+" header must appear once")
	case len(vals[0]) > maxETagHeader:
		return "", false, newError(http.StatusBadRequest, "", "too-long", "",
			"the "+name+" header is longer than "+strconv.Itoa(maxETagHeader)+" bytes")
	}
	return vals[0], true, nil
}

// ifMatchHeader returns the version named by the If-Match header of r (0 when
// there is none), or a 400 naming the header when it is malformed.
func ifMatchHeader(r *http.Request) (int, *apiError) {
	v, ok, e := oneHeader(r, "If-Match")
	if !ok || e != nil {
		return 0, e
	}
	n, err := parseETag(strings.TrimSpace(v))
	if err != nil {
		return 0, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "", "If-Match header: "+err.Error())
	}
	return n, nil
}

// preconditionError is the 412 answer to err, which wraps
// ErrPreconditionFailed: its OperationOutcome when the chain holds one,
// else a fixed text.
func preconditionError(err error) *apiError {
	var oo *fhir.OperationOutcome
	if errors.As(err, &oo) && oo.HasErrors() {
		return &apiError{status: http.StatusPreconditionFailed, oo: oo}
	}
	return newError(http.StatusPreconditionFailed, "", "conflict", "",
		"the resource is not at the version named by If-Match (another client changed it, or it does not exist); "+
			"nothing was stored: read it again and retry")
}

// notModified decides a conditional read of a resource at version,
// stored at lastUpdated (zero when unknown): true when If-None-Match
// names version (or is "*"), or, without If-None-Match, when
// If-Modified-Since is not older than lastUpdated (compared in whole
// seconds, the precision of HTTP dates). A malformed header is a 400
// naming it.
func notModified(r *http.Request, version int, lastUpdated time.Time) (bool, *apiError) {
	inm, ok, e := oneHeader(r, "If-None-Match")
	if e != nil {
		return false, e
	}
	if ok {
		anyVersion, versions, err := parseETagList(inm)
		if err != nil {
			return false, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "", "If-None-Match header: "+err.Error())
		}
		if anyVersion {
			return true, nil
		}
		for _, v := range versions {
			if v == version {
				return true, nil
			}
		}
		return false, nil // If-Modified-Since is ignored when If-None-Match is present
	}
	ims, ok, e := oneHeader(r, "If-Modified-Since")
	if e != nil || !ok {
		return false, e
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "",
			"If-Modified-Since header: not an HTTP date (e.g. Mon, 02 Jan 2006 15:04:05 GMT)")
	}
	if lastUpdated.IsZero() {
		return false, nil
	}
	return !lastUpdated.Truncate(time.Second).After(t), nil
}

// writeNotModified answers 304 with the validators of the version.
func writeNotModified(w http.ResponseWriter, version int, lastUpdated time.Time) {
	if version > 0 {
		w.Header().Set("ETag", etag(version))
	}
	if !lastUpdated.IsZero() {
		w.Header().Set("Last-Modified", lastUpdated.UTC().Format(http.TimeFormat))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotModified)
}

// entryIfMatch returns the version named by entry.request.ifMatch (0 when
// absent), or an outcome pointing at it when it is not a string holding
// an entity tag.
func entryIfMatch(be *fhir.BundleEntry) (int, *fhir.OperationOutcome) {
	v := be.Value.Get("request").Get("ifMatch")
	if v == nil {
		return 0, nil
	}
	p := be.Path() + ".request.ifMatch"
	if v.Kind != fhir.String || len(v.Str) > maxETagHeader {
		return 0, (*fhir.OperationOutcome)(nil).Add(fhir.CodeInvalid, p,
			"ifMatch must be an entity tag string: W/\"<version>\" or \"<version>\"")
	}
	n, err := parseETag(strings.TrimSpace(v.Str))
	if err != nil {
		return 0, (*fhir.OperationOutcome)(nil).Add(fhir.CodeInvalid, p, "ifMatch: "+err.Error())
	}
	return n, nil
}
