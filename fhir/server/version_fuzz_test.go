package server

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseETag checks that parseETag and parseETagList never panic, that
// an accepted tag names a positive version that renders back to the same
// tag (weak or strong), and that a list accepts only what its items do.
func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`W/"3"`, `"3"`, `W/"0"`, `W/"01"`, `W/""`, `W/"`, `"`, `*`, `W/"1", W/"2"`,
		`W/"999999999"`, `W/"9999999999"`, `W/"-1"`, `W/"+1"`, `w/"1"`, ` W/"1" `, "W/\"1\x00\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseETag(s)
		if err == nil {
			if n < 1 || (s != etag(n) && s != `"`+strconv.Itoa(n)+`"`) {
				t.Fatalf("parseETag(%q) = %d, which does not render back", s, n)
			}
		} else if n != 0 {
			t.Fatalf("parseETag(%q) = %d with error %v", s, n, err)
		}
		anyVersion, versions, err := parseETagList(s)
		if err != nil {
			return
		}
		if anyVersion {
			if strings.TrimSpace(s) != "*" {
				t.Fatalf("parseETagList(%q) = any", s)
			}
			return
		}
		if len(versions) == 0 || len(versions) > maxETags {
			t.Fatalf("parseETagList(%q) = %d versions", s, len(versions))
		}
		for _, v := range versions {
			if v < 1 {
				t.Fatalf("parseETagList(%q) holds version %d", s, v)
			}
		}
	})
}

// FuzzParseHistoryCursor checks that parseCursor never panics and that
// what it accepts encodes back to itself, and that a cursor made by
// encodeCursor always parses to the same position.
func FuzzParseHistoryCursor(f *testing.F) {
	f.Add(encodeCursor(&Version{ID: "p1", Version: 3, LastUpdated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}), "p1", 3, int64(0))
	f.Add("", "a.b", 1, int64(-1))
	f.Add("MTIzLjEuYQ", "x", 0, int64(1<<62))
	f.Add(strings.Repeat("A", 300), "", -1, int64(0))
	f.Fuzz(func(t *testing.T, s, id string, version int, ns int64) {
		if v, err := parseCursor(s); err == nil {
			if v.Version < 1 || encodeCursor(v) != s {
				t.Fatalf("parseCursor(%q) = %+v, which encodes to %q", s, v, encodeCursor(v))
			}
		}
		v := &Version{ID: id, Version: version, LastUpdated: time.Unix(0, ns).UTC()}
		got, err := parseCursor(encodeCursor(v))
		valid := version >= 1 && version <= 999999999 && len(encodeCursor(v)) <= maxCursorLen && validIDForFuzz(id)
		if valid != (err == nil) {
			t.Fatalf("cursor of %+v: err %v, want valid %v", v, err, valid)
		}
		if err == nil && (got.ID != v.ID || got.Version != v.Version || !got.LastUpdated.Equal(v.LastUpdated)) {
			t.Fatalf("cursor of %+v parsed to %+v", v, got)
		}
	})
}

// validIDForFuzz is the FHIR id rule, [A-Za-z0-9\-\.]{1,64}, less "."
// and "..", which the bridge refuses (they are path steps in a URL).
func validIDForFuzz(id string) bool {
	if len(id) < 1 || len(id) > 64 || id == "." || id == ".." {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
