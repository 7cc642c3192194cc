package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// patientWith is a Patient holding identifier sys|val, with id when not "".
func patientWith(id, sys, val string) string {
	idm := ""
	if id != "" {
		idm = `"id":"` + id + `",`
	}
	return `{"resourceType":"Patient",` + idm + `"identifier":[{"system":"` + sys + `","value":"` + val + `"}],"active":true}`
}

// TestDelete: DELETE stores a deletion (204, ETag of the new version),
// reads then answer 410 with an OperationOutcome, deleting again is 204
// without a new version, an unknown resource is 404, and a later PUT
// revives the resource as a new version.
func TestDelete(t *testing.T) {
	e := newEnv(t, Options{})
	if w := e.do("PUT", "/fhir/Patient/p1", strings.NewReader(patientWith("p1", "urn:mrn", "1"))); w.Code != 201 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	steps := []struct {
		method, path string
		body         string
		want         int
		etag         string
	}{
		{"DELETE", "/fhir/Patient/p1", "If-Match: W/\"7\"", 412, ""},
		{"DELETE", "/fhir/Patient/p1", "If-Match: 7,8", 400, ""},
		{"DELETE", "/fhir/Patient/p1", "If-Match: W/\"1\"", 204, `W/"2"`},
		{"GET", "/fhir/Patient/p1", "", 410, ""},
		{"DELETE", "/fhir/Patient/p1", "If-Match: W/\"1\"", 412, ""},
		{"DELETE", "/fhir/Patient/p1", "", 204, `W/"2"`},
		{"DELETE", "/fhir/Patient/never", "", 404, ""},
		{"DELETE", "/fhir/Patient/bad$id", "", 404, ""},
		{"DELETE", "/fhir/Spaceship/p1", "", 404, ""},
		{"PUT", "/fhir/Patient/p1", patientWith("p1", "urn:mrn", "1"), 200, `W/"3"`},
		{"GET", "/fhir/Patient/p1", "", 200, `W/"3"`},
	}
	for i, s := range steps {
		var w *httptest.ResponseRecorder
		switch {
		case strings.HasPrefix(s.body, "If-Match: "):
			w = e.do(s.method, s.path, nil, s.body)
		case s.body != "":
			w = e.do(s.method, s.path, strings.NewReader(s.body))
		default:
			w = e.do(s.method, s.path, nil)
		}
		if w.Code != s.want {
			t.Fatalf("step %d %s %s: %d, want %d: %s", i, s.method, s.path, w.Code, s.want, w.Body)
		}
		if s.etag != "" && w.Header().Get("ETag") != s.etag {
			t.Errorf("step %d %s %s: ETag %q, want %q", i, s.method, s.path, w.Header().Get("ETag"), s.etag)
		}
		if s.want == 204 && w.Body.Len() != 0 {
			t.Errorf("step %d: 204 with a body: %s", i, w.Body)
		}
		if s.want >= 400 {
			oo := mustOutcome(t, w.Body.Bytes())
			if s.want == 410 && oo.Issue[0].Code != "deleted" {
				t.Errorf("step %d: 410 issue code %q, want deleted", i, oo.Issue[0].Code)
			}
		}
	}
	var deletes int
	for _, c := range e.fb.committed {
		if c.Method == "DELETE" {
			deletes++
		}
	}
	// the two of p1 succeed; never is the backend's 404; the bad id and
	// the unknown type are refused before the backend
	if deletes != 2 {
		t.Errorf("%d DELETE entries committed, want 2", deletes)
	}
}

// TestConditionalUpdate: PUT /fhir/{type}?identifier=… creates when
// nothing matches (201, new id), updates the one match (200, same id,
// next version), and answers 412 when more than one resource matches,
// 400 when the body's id is not the match's.
func TestConditionalUpdate(t *testing.T) {
	e := newEnv(t, Options{})
	put := func(query, body string) (int, string, string) {
		w := e.do("PUT", "/fhir/Patient?"+query, strings.NewReader(body))
		var res struct{ ID string }
		_ = json.Unmarshal(w.Body.Bytes(), &res)
		if w.Code >= 400 {
			mustOutcome(t, w.Body.Bytes())
		}
		return w.Code, res.ID, w.Header().Get("ETag")
	}
	code, id, tag := put("identifier=urn:mrn|42", patientWith("", "urn:mrn", "42"))
	if code != 201 || id == "" || tag != `W/"1"` {
		t.Fatalf("no match: %d id %q %s, want 201 with a new id, version 1", code, id, tag)
	}
	code, id2, tag := put("identifier=urn:mrn|42", patientWith("", "urn:mrn", "42"))
	if code != 200 || id2 != id || tag != `W/"2"` {
		t.Fatalf("one match: %d id %q %s, want 200 with %q, version 2", code, id2, tag, id)
	}
	// the body may name the match's id
	if code, _, _ := put("identifier=urn:mrn|42", patientWith(id, "urn:mrn", "42")); code != 200 {
		t.Errorf("one match with its id in the body: %d, want 200", code)
	}
	if code, _, _ := put("identifier=urn:mrn|42", patientWith("other", "urn:mrn", "42")); code != 400 {
		t.Errorf("one match, another id in the body: %d, want 400", code)
	}
	if code, _, _ := put("_id="+id+"&identifier=urn:mrn|42", patientWith("other", "urn:mrn", "42")); code != 400 {
		t.Errorf("_id and another id in the body: %d, want 400", code)
	}
	code, id3, _ := put("identifier=urn:mrn|43", patientWith("", "urn:mrn", "43"))
	if code != 201 || id3 == id {
		t.Fatalf("second patient: %d %q", code, id3)
	}
	if code, _, _ := put("identifier=urn:mrn|42,urn:mrn|43", patientWith("", "urn:mrn", "42")); code != 412 {
		t.Errorf("two matches: %d, want 412", code)
	}
	if code, got, _ := put("_id="+id3, patientWith("", "urn:mrn", "43")); code != 200 || got != id3 {
		t.Errorf("_id match: %d %q, want 200 %q", code, got, id3)
	}
	// a deleted resource matches nothing: the identifier makes a new one
	if w := e.do("DELETE", "/fhir/Patient?identifier=urn:mrn|43", nil); w.Code != 204 {
		t.Fatalf("conditional DELETE: %d %s", w.Code, w.Body)
	}
	if w := e.do("GET", "/fhir/Patient/"+id3, nil); w.Code != 410 {
		t.Errorf("read after conditional DELETE: %d, want 410", w.Code)
	}
	if w := e.do("DELETE", "/fhir/Patient?identifier=urn:mrn|43", nil); w.Code != 204 || w.Header().Get("ETag") != "" {
		t.Errorf("conditional DELETE matching nothing: %d ETag %q, want 204 without ETag", w.Code, w.Header().Get("ETag"))
	}
	if code, got, _ := put("identifier=urn:mrn|43", patientWith("", "urn:mrn", "43")); code != 201 || got == id3 {
		t.Errorf("after delete: %d %q, want 201 with a new id", code, got)
	}
	if w := e.do("DELETE", "/fhir/Patient?identifier=urn:mrn|42,urn:mrn|43", nil); w.Code != 412 {
		t.Errorf("conditional DELETE with two matches: %d, want 412", w.Code)
	}
}

// TestConditionRefused: a query the server does not support is 400, names
// the parameter and never a value; the Backend sees nothing.
func TestConditionRefused(t *testing.T) {
	const secret = "CANARY-9876"
	tests := []struct {
		name, method, query string
		want                string // in the diagnostics
	}{
		{"no query", "PUT", "", "needs a condition"},
		{"no query delete", "DELETE", "", "needs a condition"},
		{"other parameter", "PUT", "family=" + secret, "parameter family is not supported"},
		{"modifier", "DELETE", "identifier:not=urn:mrn|" + secret, "parameter identifier:not is not supported"},
		{"hostile name", "PUT", url.QueryEscape(secret+"<x>") + "=1", "a parameter is not supported"},
		{"value only", "PUT", "identifier=" + secret, "system|value"},
		{"no system", "PUT", "identifier=|" + secret, "system|value"},
		{"repeated", "PUT", "identifier=a|1&identifier=b|" + secret, "may appear once"},
		{"bad id", "DELETE", "_id=" + secret + "$", "not a valid FHIR id"},
		{"too many", "DELETE", "_id=" + strings.Repeat("a,", MaxConditionValues) + "a", "more than 20"},
		{"too long", "PUT", "identifier=a|" + strings.Repeat("x", MaxConditionQuery), "longer than"},
		{"malformed", "PUT", "identifier=%zz" + secret, "malformed"},
	}
	e := newEnv(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/fhir/Patient"
			if tt.query != "" {
				path += "?" + tt.query
			}
			var w = e.do(tt.method, path, nil)
			if tt.method == "PUT" {
				w = e.do(tt.method, path, strings.NewReader(patientWith("", "urn:mrn", secret)))
			}
			if w.Code != 400 {
				t.Fatalf("%d, want 400: %s", w.Code, w.Body)
			}
			oo := mustOutcome(t, w.Body.Bytes())
			if !strings.Contains(oo.Issue[0].Diagnostics, tt.want) {
				t.Errorf("diagnostics %q, want %q in it", oo.Issue[0].Diagnostics, tt.want)
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("the response quotes a value: %s", w.Body)
			}
		})
	}
	if n := e.fb.commitCount(); n != 0 {
		t.Errorf("%d commits, want none", n)
	}
	if strings.Contains(e.log.String(), secret) {
		t.Errorf("the log quotes a value")
	}
}

// TestParseCondition: alternatives, escapes and both parameters.
func TestParseCondition(t *testing.T) {
	tests := []struct {
		query string
		want  Condition
	}{
		{"identifier=urn:mrn|42", Condition{Identifiers: []Identifier{{"urn:mrn", "42"}}}},
		{"identifier=urn:a|1,urn:b|2", Condition{Identifiers: []Identifier{{"urn:a", "1"}, {"urn:b", "2"}}}},
		{`identifier=urn:a|x\,y\|z\\`, Condition{Identifiers: []Identifier{{"urn:a", `x,y|z\`}}}},
		{"identifier=http://x.org/mrn%7C7", Condition{Identifiers: []Identifier{{"http://x.org/mrn", "7"}}}},
		{"identifier=urn:a|1|2", Condition{Identifiers: []Identifier{{"urn:a", "1|2"}}}},
		{"_id=a,b", Condition{IDs: []string{"a", "b"}}},
	}
	for _, tt := range tests {
		got, err := ParseCondition(tt.query)
		if err != nil {
			t.Errorf("%s: %v", tt.query, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.query, *got, tt.want)
		}
	}
	if c, err := ParseCondition("_id=a&_format=json&_pretty=true"); err != nil || len(c.IDs) != 1 {
		t.Errorf("with _format and _pretty: %+v %v", c, err)
	}
	if _, err := ParseCondition("_format=json"); err == nil {
		t.Errorf("_format alone was accepted as a condition")
	}
	both, err := ParseCondition("_id=a&identifier=urn:a|1")
	if err != nil || len(both.IDs) != 1 || len(both.Identifiers) != 1 {
		t.Errorf("both parameters: %+v %v", both, err)
	}
}

// FuzzParseCondition: the parser never panics, its errors never quote the
// query's values, and what it accepts is within its bounds.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"identifier=urn:mrn|42", `identifier=a|x\,y\|z\\,b|c`, "_id=a,b&identifier=s|v",
		"identifier=%zz", "x=1", "identifier=|v", `identifier=\`, "_id=" + strings.Repeat("a,", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		c, err := ParseCondition(q)
		if err != nil {
			msg := conditionMessage(err)
			if vals, perr := url.ParseQuery(q); perr == nil {
				// a parameter's name is echoed when it has a name's syntax
				// (and may equal a value of the query): only values count
				for name := range vals {
					if paramName.MatchString(name) {
						msg = strings.ReplaceAll(msg, "parameter "+name, "parameter")
					}
				}
				for _, vs := range vals {
					for _, v := range vs {
						if len(v) >= 4 && strings.Contains(msg, v) && !strings.Contains(parseConditionTexts, v) {
							t.Fatalf("error %q quotes a value %q", msg, v)
						}
					}
				}
			}
			return
		}
		if len(c.IDs) > MaxConditionValues || len(c.Identifiers) > MaxConditionValues || len(c.IDs)+len(c.Identifiers) == 0 {
			t.Fatalf("accepted %d ids and %d identifiers", len(c.IDs), len(c.Identifiers))
		}
		for _, id := range c.IDs {
			if !fhir.ValidID(id) {
				t.Fatalf("accepted an invalid id")
			}
		}
		for _, i := range c.Identifiers {
			if i.System == "" || i.Value == "" {
				t.Fatalf("accepted an identifier without system or value")
			}
		}
	})
}

// parseConditionTexts are the fixed words of ParseCondition's messages: a
// fuzzed value that is one of them is not a leak.
const parseConditionTexts = "the query of a conditional update or delete is longer than bytes " +
	"the query string is malformed a conditional update or delete needs a condition: identifier=system|value or _id=id " +
	"a parameter is not supported in a conditional update or delete; use identifier=system|value or _id=id " +
	"parameter identifier _id may appear once; list alternatives with commas lists more than values " +
	"holds a value that is not a valid FHIR id must be system|value (both parts)"

// TestConditionalAllow: PUT and DELETE are allowed on the type URL, and the
// instance URL allows DELETE.
func TestConditionalAllow(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.do("PATCH", "/fhir/Patient", nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST, PUT, DELETE" {
		t.Errorf("type URL: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
	w = e.do("PATCH", "/fhir/Patient/1", nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD, PUT, DELETE" {
		t.Errorf("instance URL: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestCapabilityDelete: the CapabilityStatement declares delete,
// conditional update and conditional delete of a single match.
func TestCapabilityDelete(t *testing.T) {
	e := newEnv(t, Options{Types: []string{"Patient"}})
	var cs struct {
		Rest []struct {
			Resource []struct {
				ConditionalUpdate bool
				ConditionalDelete string
			}
		}
	}
	if err := json.Unmarshal(e.do("GET", "/fhir/metadata", nil).Body.Bytes(), &cs); err != nil {
		t.Fatal(err)
	}
	r := cs.Rest[0].Resource[0]
	if !r.ConditionalUpdate || r.ConditionalDelete != "single" {
		t.Errorf("conditionalUpdate %v, conditionalDelete %q; want true, single", r.ConditionalUpdate, r.ConditionalDelete)
	}
}

// TestBundleConditionalAndDelete: a transaction may hold conditional
// updates (PUT Type?identifier=…) and deletions (DELETE Type/id or
// Type?condition); the response entries carry 201/200 and 204 (with the
// ETag of the deletion, no location); a bad DELETE url is refused with
// the entry's path.
func TestBundleConditionalAndDelete(t *testing.T) {
	e := newEnv(t, Options{})
	if w := e.do("PUT", "/fhir/Patient/p1", strings.NewReader(patientWith("p1", "urn:mrn", "1"))); w.Code != 201 {
		t.Fatalf("PUT: %d", w.Code)
	}
	body := bundle("transaction", "",
		entry("urn:uuid:c", "PUT", "Patient?identifier=urn:mrn|2", patientWith("", "urn:mrn", "2")),
		entry("", "DELETE", "Patient/p1", ""),
		entry("", "DELETE", "Patient?identifier=urn:mrn|3", ""))
	w := e.post("/fhir", body)
	if w.Code != 200 {
		t.Fatalf("transaction: %d %s", w.Code, w.Body)
	}
	var rb struct {
		Entry []struct {
			Response struct{ Status, Location, Etag string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rb); err != nil || len(rb.Entry) != 3 {
		t.Fatalf("response %s (%v)", w.Body, err)
	}
	got := []string{rb.Entry[0].Response.Status, rb.Entry[1].Response.Status + " " + rb.Entry[1].Response.Etag + " " + rb.Entry[1].Response.Location,
		rb.Entry[2].Response.Status}
	want := []string{"201 Created", `204 No Content W/"2" `, "204 No Content"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("response entries %q, want %q", got, want)
	}
	if w := e.do("GET", "/fhir/Patient/p1", nil); w.Code != 410 {
		t.Errorf("GET after the transaction's DELETE: %d, want 410", w.Code)
	}
	for _, bad := range []string{"Patient", "Patient/a/b", "Patient/bad$id", "Spaceship/1", "Patient?identifier=x"} {
		w := e.post("/fhir", bundle("transaction", "", entry("", "DELETE", bad, "")))
		if w.Code != 400 {
			t.Errorf("DELETE %s: %d, want 400", bad, w.Code)
			continue
		}
		oo := mustOutcome(t, w.Body.Bytes())
		if len(oo.Issue[0].Expression) == 0 || oo.Issue[0].Expression[0] != "Bundle.entry[0].request.url" {
			t.Errorf("DELETE %s: issue %+v, want at Bundle.entry[0].request.url", bad, oo.Issue[0])
		}
	}
}
