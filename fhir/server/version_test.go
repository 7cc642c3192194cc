package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// patientID is the patient fixture with id set.
func patientID(id string) string {
	return strings.Replace(patient, `{"resourceType":"Patient",`, `{"resourceType":"Patient","id":"`+id+`",`, 1)
}

// put sends PUT /fhir/Patient/{id} with the patient fixture.
func (e *env) put(id string, headers ...string) *httptest.ResponseRecorder {
	return e.do("PUT", "/fhir/Patient/"+id, strings.NewReader(patientID(id)), headers...)
}

func TestIfMatchOnPut(t *testing.T) {
	tests := []struct {
		name       string
		header     []string
		wantStatus int
		wantETag   string
		wantText   string // in the OperationOutcome
	}{
		{"no If-Match", nil, 200, `W/"2"`, ""},
		{"stale version", []string{`If-Match: W/"7"`}, 412, "", "If-Match"},
		{"current version, weak", []string{`If-Match: W/"1"`}, 200, `W/"2"`, ""},
		{"current version, strong", []string{`If-Match: "1"`}, 200, `W/"2"`, ""},
		{"unquoted", []string{`If-Match: W/1`}, 400, "", "If-Match header"},
		{"star", []string{`If-Match: *`}, 400, "", "If-Match header"},
		{"leading zero", []string{`If-Match: W/"01"`}, 400, "", "If-Match header"},
		{"zero", []string{`If-Match: W/"0"`}, 400, "", "If-Match header"},
		{"not a number", []string{`If-Match: W/"a1"`}, 400, "", "If-Match header"},
		{"list", []string{`If-Match: W/"1", W/"2"`}, 400, "", "If-Match header"},
		{"too long", []string{`If-Match: W/"` + strings.Repeat("1", 2000) + `"`}, 400, "", "If-Match header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, vf := newVersionedEnv(Options{Types: []string{"Patient"}})
			if w := e.put("p1"); w.Code != 201 {
				t.Fatalf("create: %d %s", w.Code, w.Body)
			}
			w := e.put("p1", tc.header...)
			if w.Code != tc.wantStatus || w.Header().Get("ETag") != tc.wantETag {
				t.Fatalf("status %d ETag %q, want %d %q: %s", w.Code, w.Header().Get("ETag"), tc.wantStatus, tc.wantETag, w.Body)
			}
			if tc.wantStatus >= 400 {
				oo := mustOutcome(t, w.Body.Bytes())
				if !strings.Contains(oo.Issue[0].Diagnostics+strings.Join(oo.Issue[0].Expression, ""), tc.wantText) {
					t.Errorf("outcome does not name %q: %s", tc.wantText, w.Body)
				}
				if vf.commitCount() != 1 {
					t.Errorf("%d commits, want only the create", vf.commitCount())
				}
				if strings.Contains(w.Body.String(), canaryName) {
					t.Errorf("outcome leaks patient data: %s", w.Body)
				}
			}
		})
	}
}

func TestIfMatchRepeatedHeader(t *testing.T) {
	e, _ := newVersionedEnv(Options{Types: []string{"Patient"}})
	e.put("p1")
	r := httptest.NewRequest("PUT", "/fhir/Patient/p1", strings.NewReader(patientID("p1")))
	r.Header.Set("Content-Type", "application/fhir+json")
	r.Header.Add("If-Match", `W/"1"`)
	r.Header.Add("If-Match", `W/"1"`)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != 400 || !strings.Contains(w.Body.String(), "If-Match header must appear once") {
		t.Errorf("repeated If-Match: %d %s", w.Code, w.Body)
	}
}

func TestIfMatchInTransaction(t *testing.T) {
	ifMatchEntry := func(id, tag string) string {
		return `{"resource":` + patientID(id) + `,"request":{"method":"PUT","url":"Patient/` + id + `","ifMatch":` + tag + `}}`
	}
	tests := []struct {
		name       string
		tag        string // JSON value of request.ifMatch of the second entry
		wantStatus int
		wantCommit bool
		wantExpr   string
	}{
		{"current", `"W/\"1\""`, 200, true, ""},
		{"stale", `"W/\"3\""`, 412, false, "Bundle.entry[1].request.ifMatch"},
		{"malformed", `"3"`, 400, false, "Bundle.entry[1].request.ifMatch"},
		{"not a string", `3`, 400, false, "Bundle.entry[1].request.ifMatch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, vf := newVersionedEnv(Options{Types: []string{"Patient"}})
			e.put("p1")
			b := bundle("transaction", "", entry("urn:uuid:00000000-0000-4000-8000-000000000001", "POST", "Patient", patient),
				ifMatchEntry("p1", tc.tag))
			w := e.post("/fhir", b)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			if got := vf.commitCount() == 2; got != tc.wantCommit {
				t.Errorf("committed %v, want %v (%d commits)", got, tc.wantCommit, vf.commitCount())
			}
			if tc.wantExpr != "" {
				oo := mustOutcome(t, w.Body.Bytes())
				if len(oo.Issue[0].Expression) == 0 || oo.Issue[0].Expression[0] != tc.wantExpr {
					t.Errorf("expression %v, want %s", oo.Issue[0].Expression, tc.wantExpr)
				}
			}
			if w := e.do("GET", "/fhir/Patient/p1", nil); w.Header().Get("ETag") != map[bool]string{true: `W/"2"`, false: `W/"1"`}[tc.wantCommit] {
				t.Errorf("after the transaction: ETag %s", w.Header().Get("ETag"))
			}
		})
	}
}

func TestIfMatchInBatch(t *testing.T) {
	e, _ := newVersionedEnv(Options{Types: []string{"Patient"}})
	e.put("p1")
	b := bundle("batch", "", `{"resource":`+patientID("p1")+`,"request":{"method":"PUT","url":"Patient/p1","ifMatch":"W/\"5\""}}`,
		entry("", "POST", "Patient", patient))
	w := e.post("/fhir", b)
	var rb responseBundle
	if err := json.Unmarshal(w.Body.Bytes(), &rb); err != nil || w.Code != 200 || len(rb.Entry) != 2 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if s := rb.Entry[0].Response.Status; !strings.HasPrefix(s, "412") {
		t.Errorf("stale entry: %s, want 412", s)
	}
	if s := rb.Entry[1].Response.Status; !strings.HasPrefix(s, "201") {
		t.Errorf("other entry: %s, want 201", s)
	}
}

func TestConditionalRead(t *testing.T) {
	e, vf := newVersionedEnv(Options{Types: []string{"Patient"}})
	e.put("p1")
	e.put("p1") // version 2
	cur, _ := vf.ReadVersion(t.Context(), "Patient", "p1", 0)
	lm := cur.LastUpdated.Format(http.TimeFormat)
	before := cur.LastUpdated.Add(-1e9).Format(http.TimeFormat)
	after := cur.LastUpdated.Add(3600e9).Format(http.TimeFormat)
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"unconditional", nil, 200},
		{"If-None-Match current", []string{`If-None-Match: W/"2"`}, 304},
		{"If-None-Match current, strong", []string{`If-None-Match: "2"`}, 304},
		{"If-None-Match older", []string{`If-None-Match: W/"1"`}, 200},
		{"If-None-Match list", []string{`If-None-Match: W/"1", W/"2"`}, 304},
		{"If-None-Match star", []string{`If-None-Match: *`}, 304},
		{"If-None-Match malformed", []string{`If-None-Match: 2`}, 400},
		{"If-Modified-Since lastUpdated", []string{"If-Modified-Since: " + lm}, 304},
		{"If-Modified-Since later", []string{"If-Modified-Since: " + after}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since: " + before}, 200},
		{"If-Modified-Since malformed", []string{"If-Modified-Since: yesterday"}, 400},
		{"If-None-Match wins over If-Modified-Since", []string{`If-None-Match: W/"1"`, "If-Modified-Since: " + after}, 200},
	}
	for _, tc := range tests {
		for _, path := range []string{"/fhir/Patient/p1", "/fhir/Patient/p1/_history/2"} {
			w := e.do("GET", path, nil, tc.headers...)
			if w.Code != tc.want {
				t.Errorf("%s %s: %d, want %d: %s", tc.name, path, w.Code, tc.want, w.Body)
				continue
			}
			switch w.Code {
			case 304:
				if w.Header().Get("ETag") != `W/"2"` || w.Header().Get("Last-Modified") != lm || w.Body.Len() != 0 {
					t.Errorf("%s %s: 304 with ETag %q Last-Modified %q body %q", tc.name, path,
						w.Header().Get("ETag"), w.Header().Get("Last-Modified"), w.Body)
				}
			case 400:
				if !strings.Contains(w.Body.String(), strings.SplitN(tc.headers[0], ":", 2)[0]+" header") {
					t.Errorf("%s: the outcome does not name the header: %s", tc.name, w.Body)
				}
			}
		}
	}
}

// resourceMeta is the part of a resource the tests look at.
type resourceMeta struct {
	ID   string `json:"id"`
	Meta struct {
		VersionID   string `json:"versionId"`
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Gender string `json:"gender"`
}

func TestVreadFollowsLocation(t *testing.T) {
	e, _ := newVersionedEnv(Options{Types: []string{"Patient"}})
	w := e.post("/fhir/Patient", patient)
	loc := w.Header().Get("Location")
	if w.Code != 201 || loc != "/fhir/Patient/id1/_history/1" {
		t.Fatalf("create: %d Location %q", w.Code, loc)
	}
	up := e.do("PUT", "/fhir/Patient/id1", strings.NewReader(strings.Replace(patientID("id1"), "female", "male", 1)))
	if up.Code != 200 || up.Header().Get("Location") != "/fhir/Patient/id1/_history/2" {
		t.Fatalf("update: %d Location %q", up.Code, up.Header().Get("Location"))
	}
	for _, tc := range []struct {
		path, version, gender string
	}{{loc, "1", "female"}, {up.Header().Get("Location"), "2", "male"}, {"/fhir/Patient/id1", "2", "male"}} {
		w := e.do("GET", tc.path, nil)
		var m resourceMeta
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != 200 {
			t.Fatalf("GET %s: %d %s", tc.path, w.Code, w.Body)
		}
		if m.ID != "id1" || m.Meta.VersionID != tc.version || m.Gender != tc.gender || m.Meta.LastUpdated == "" ||
			w.Header().Get("ETag") != `W/"`+tc.version+`"` || w.Header().Get("Last-Modified") == "" {
			t.Errorf("GET %s: %+v ETag %q", tc.path, m, w.Header().Get("ETag"))
		}
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/fhir/Patient/id1/_history/3", 404},
		{"/fhir/Patient/nobody/_history/1", 404},
		{"/fhir/Patient/id1/_history/0", 400},
		{"/fhir/Patient/id1/_history/x", 400},
		{"/fhir/Patient/id1/_history/01", 400},
		{"/fhir/Patient/id1/_history/-1", 400},
		{"/fhir/Patient/id1/_history/99999999999", 400},
		{"/fhir/Observation/id1/_history/1", 404},
	} {
		if w := e.do("GET", tc.path, nil); w.Code != tc.want {
			t.Errorf("GET %s: %d, want %d: %s", tc.path, w.Code, tc.want, w.Body)
		} else {
			mustOutcome(t, w.Body.Bytes())
		}
	}
	if w := e.do("PUT", "/fhir/Patient/id1/_history/1", strings.NewReader(patientID("id1"))); w.Code != 405 {
		t.Errorf("PUT on a version: %d, want 405", w.Code)
	}
}

// historyBundle is the part of a history Bundle the tests look at.
type historyBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string       `json:"fullUrl"`
		Resource resourceMeta `json:"resource"`
		Request  struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
		Response struct {
			Status       string `json:"status"`
			Etag         string `json:"etag"`
			LastModified string `json:"lastModified"`
			Location     string `json:"location"`
		} `json:"response"`
	} `json:"entry"`
}

// walkHistory follows the next links from path and returns
// "id/version method url status etag" of every entry, and the pages seen.
func walkHistory(t *testing.T, e *env, path string) (entries []string, pages int) {
	t.Helper()
	for path != "" {
		pages++
		if pages > 20 {
			t.Fatal("history paging does not end")
		}
		w := e.do("GET", path, nil)
		var hb historyBundle
		if err := json.Unmarshal(w.Body.Bytes(), &hb); err != nil || w.Code != 200 || hb.Type != "history" {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		for _, en := range hb.Entry {
			r := en.Resource
			if en.FullURL != "http://example.com/fhir/Patient/"+r.ID || en.Response.LastModified == "" ||
				en.Response.Etag != `W/"`+r.Meta.VersionID+`"` ||
				en.Response.Location != "Patient/"+r.ID+"/_history/"+r.Meta.VersionID {
				t.Errorf("entry %+v", en)
			}
			entries = append(entries, r.ID+"/"+r.Meta.VersionID+" "+en.Request.Method+" "+en.Request.URL+" "+en.Response.Status)
		}
		path = ""
		for _, l := range hb.Link {
			if l.Relation == "next" {
				u, err := url.Parse(l.URL)
				if err != nil {
					t.Fatal(err)
				}
				path = u.RequestURI()
			}
		}
	}
	return entries, pages
}

func TestHistory(t *testing.T) {
	e, _ := newVersionedEnv(Options{Types: []string{"Patient", "Appointment"}})
	e.put("a1") // 03:01
	e.put("b1") // 03:02
	e.put("a1") // 03:03
	e.put("a1") // 03:04
	e.put("b1") // 03:05
	tests := []struct {
		path  string
		want  string
		pages int
	}{
		{"/fhir/Patient/a1/_history", "[a1/3 PUT Patient/a1 200 OK a1/2 PUT Patient/a1 200 OK a1/1 POST Patient 201 Created]", 1},
		{"/fhir/Patient/a1/_history?_count=1", "[a1/3 PUT Patient/a1 200 OK a1/2 PUT Patient/a1 200 OK a1/1 POST Patient 201 Created]", 3},
		{"/fhir/Patient/a1/_history?_count=2&_since=2026-01-02T03:03:00Z", "[a1/3 PUT Patient/a1 200 OK a1/2 PUT Patient/a1 200 OK]", 1},
		{"/fhir/Patient/_history?_count=2", "[b1/2 PUT Patient/b1 200 OK a1/3 PUT Patient/a1 200 OK a1/2 PUT Patient/a1 200 OK " +
			"b1/1 POST Patient 201 Created a1/1 POST Patient 201 Created]", 3},
		{"/fhir/Patient/_history?_since=2026-01-02T03:04:00.000Z&_count=1000000", "[b1/2 PUT Patient/b1 200 OK a1/3 PUT Patient/a1 200 OK]", 1},
		{"/fhir/Appointment/_history", "[]", 1},
	}
	for _, tc := range tests {
		got, pages := walkHistory(t, e, tc.path)
		if s := "[" + strings.Join(got, " ") + "]"; s != tc.want || pages != tc.pages {
			t.Errorf("GET %s:\n got %s in %d pages\nwant %s in %d", tc.path, s, pages, tc.want, tc.pages)
		}
	}
}

func TestHistoryRefusesBadParameters(t *testing.T) {
	e, _ := newVersionedEnv(Options{Types: []string{"Patient"}})
	e.put("a1")
	e.put("b1")
	otherCursor := encodeCursor(&Version{ID: "b1", Version: 1})
	tests := []struct {
		path, want string
		status     int
	}{
		{"/fhir/Patient/nobody/_history", "not found", 404},
		{"/fhir/Patient/a1/_history?_count=0", "_count", 400},
		{"/fhir/Patient/a1/_history?_count=x", "_count", 400},
		{"/fhir/Patient/a1/_history?_count=1&_count=2", "_count", 400},
		{"/fhir/Patient/a1/_history?_since=yesterday", "_since", 400},
		{"/fhir/Patient/a1/_history?_since=2026-01-02", "_since", 400},
		{"/fhir/Patient/a1/_history?_cursor=%%%", "malformed", 400},
		{"/fhir/Patient/a1/_history?_cursor=xyz", "_cursor", 400},
		{"/fhir/Patient/a1/_history?_cursor=" + otherCursor, "another history", 400},
		{"/fhir/Patient/a1/_history?_cursor=" + strings.Repeat("A", 300), "_cursor", 400},
		{"/fhir/Patient/a1/_history?name=x", "_count, _since, _cursor", 400},
		{"/fhir/Observation/_history", "not supported", 404},
	}
	for _, tc := range tests {
		w := e.do("GET", tc.path, nil)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s: %d %s; want %d naming %q", tc.path, w.Code, w.Body, tc.status, tc.want)
		}
	}
	if w := e.do("POST", "/fhir/Patient/_history", strings.NewReader(patient)); w.Code != 405 {
		t.Errorf("POST to _history: %d, want 405", w.Code)
	}
}

func TestHistoryNeedsVersionedBackend(t *testing.T) {
	e := newEnv(t, Options{Types: []string{"Patient"}})
	e.put("p1")
	for _, path := range []string{"/fhir/Patient/p1/_history", "/fhir/Patient/_history", "/fhir/Patient/p1/_history/1"} {
		if w := e.do("GET", path, nil); w.Code != 404 {
			t.Errorf("GET %s without Versioned: %d, want 404", path, w.Code)
		}
	}
	if w := e.do("GET", "/fhir/Patient/p1", nil, `If-None-Match: W/"1"`); w.Code != 304 {
		t.Errorf("If-None-Match without Versioned: %d, want 304", w.Code)
	}
	cs := e.do("GET", "/fhir/metadata", nil).Body.String()
	if strings.Contains(cs, "vread") || strings.Contains(cs, "history-") || !strings.Contains(cs, `"conditionalRead":"not-match"`) {
		t.Errorf("CapabilityStatement claims history without Versioned: %s", cs)
	}
}

func TestCapabilityStatementVersioned(t *testing.T) {
	e, _ := newVersionedEnv(Options{Types: []string{"Patient"}})
	var cs struct {
		Rest []struct {
			Resource []struct {
				Interaction []struct {
					Code string `json:"code"`
				} `json:"interaction"`
				Versioning      string `json:"versioning"`
				ReadHistory     bool   `json:"readHistory"`
				ConditionalRead string `json:"conditionalRead"`
			} `json:"resource"`
		} `json:"rest"`
	}
	w := e.do("GET", "/fhir/metadata", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil || len(cs.Rest) != 1 || len(cs.Rest[0].Resource) != 1 {
		t.Fatalf("%v %s", err, w.Body)
	}
	r := cs.Rest[0].Resource[0]
	var codes []string
	for _, i := range r.Interaction {
		codes = append(codes, i.Code)
	}
	if got := strings.Join(codes, ","); got != "read,vread,update,delete,create,history-instance,history-type" ||
		r.Versioning != "versioned-update" || !r.ReadHistory || r.ConditionalRead != "full-support" {
		t.Errorf("interactions %s versioning %s readHistory %v conditionalRead %s", got, r.Versioning, r.ReadHistory, r.ConditionalRead)
	}
}
