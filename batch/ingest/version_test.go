package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/prometheus/client_golang/prometheus"
)

// pgDatabases numbers the PostgreSQL databases of this package's tests.
var pgDatabases atomic.Int64

// onStores runs fn against the endpoint over a fresh store on SQLite and
// on a throwaway PostgreSQL cluster (skipped with -short, or when
// PostgreSQL is missing unless CI requires it).
func onStores(t *testing.T, fn func(t *testing.T, srv *httptest.Server, st *store.Store, r *routed)) {
	run := func(t *testing.T, url string) {
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		r := &routed{}
		srv := httptest.NewServer(server.New(&Backend{Store: st, Router: r},
			server.Options{Types: []string{"Patient", "Appointment"}, Registry: prometheus.NewRegistry()}))
		t.Cleanup(srv.Close)
		fn(t, srv, st, r)
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "sqlite://"+filepath.Join(t.TempDir(), "t.db")) })
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			pgtest.Skip(t, "-short")
		}
		run(t, pgtest.CreateDatabase(t, pgtest.Start(t), fmt.Sprintf("ingest_versions_%d", pgDatabases.Add(1))))
	})
}

// call sends one request with "Name: value" headers and returns the
// status, the headers and the body.
func call(t *testing.T, method, url, body string, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// patientBody is a Patient with id and gender.
func patientBody(id, gender string) string {
	return `{"resourceType":"Patient","id":"` + id + `","gender":"` + gender + `","name":[{"family":"CANARY-V"}]}`
}

// stored is the part of a stored resource the tests look at.
type storedMeta struct {
	ID     string `json:"id"`
	Gender string `json:"gender"`
	Meta   struct {
		VersionID string `json:"versionId"`
	} `json:"meta"`
}

func decodeMeta(t *testing.T, b []byte) storedMeta {
	t.Helper()
	var m storedMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

// TestIfMatchPreventsLostUpdate: on the real store, a PUT whose If-Match
// names a stale version is refused with 412 and stores nothing; a
// transaction whose request.ifMatch is stale is refused whole; the
// matching version updates.
func TestIfMatchPreventsLostUpdate(t *testing.T) {
	onStores(t, func(t *testing.T, srv *httptest.Server, st *store.Store, r *routed) {
		base := srv.URL + "/fhir"
		if code, _, b := call(t, "PUT", base+"/Patient/p1", patientBody("p1", "female")); code != 201 {
			t.Fatalf("create: %d %s", code, b)
		}
		code, _, b := call(t, "PUT", base+"/Patient/p1", patientBody("p1", "male"), `If-Match: W/"7"`)
		if code != 412 || !strings.Contains(string(b), "OperationOutcome") || !strings.Contains(string(b), "If-Match") ||
			strings.Contains(string(b), "CANARY") {
			t.Fatalf("stale If-Match: %d %s", code, b)
		}
		if _, v, _ := st.GetResource(context.Background(), "Patient", "p1"); v != 1 {
			t.Fatalf("a refused PUT stored version %d", v)
		}
		if code, _, b := call(t, "PUT", base+"/Patient/p9", patientBody("p9", "male"), `If-Match: W/"1"`); code != 412 {
			t.Fatalf("If-Match on a missing resource: %d %s", code, b)
		}
		code, h, b := call(t, "PUT", base+"/Patient/p1", patientBody("p1", "male"), `If-Match: W/"1"`)
		if code != 200 || h.Get("ETag") != `W/"2"` {
			t.Fatalf("matching If-Match: %d ETag %q %s", code, h.Get("ETag"), b)
		}
		routedBefore := len(r.seen)
		tx := func(tag string) string {
			return `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","gender":"other"},"request":{"method":"POST","url":"Patient"}},
{"resource":` + patientBody("p1", "unknown") + `,"request":{"method":"PUT","url":"Patient/p1","ifMatch":"` + tag + `"}}]}`
		}
		code, _, b = call(t, "POST", base, tx(`W/\"1\"`))
		if code != 412 || !strings.Contains(string(b), "Bundle.entry[1].request.ifMatch") {
			t.Fatalf("stale transaction: %d %s", code, b)
		}
		var n int
		if err := st.DB().QueryRow(`SELECT COUNT(*) FROM resource_versions`).Scan(&n); err != nil || n != 2 {
			t.Errorf("after the refused transaction: %d versions stored (%v), want 2", n, err)
		}
		if len(r.seen) != routedBefore {
			t.Errorf("a refused transaction was routed: %v", r.seen[routedBefore:])
		}
		if code, _, b := call(t, "POST", base, tx(`W/\"2\"`)); code != 200 {
			t.Fatalf("matching transaction: %d %s", code, b)
		}
		if _, v, _ := st.GetResource(context.Background(), "Patient", "p1"); v != 3 {
			t.Errorf("after the matching transaction: version %d, want 3", v)
		}
	})
}

// TestVersionsOverHTTP: the Location of a create and of an update answer
// vread with that version; _history lists them newest first; reads answer
// 304 to a matching If-None-Match or If-Modified-Since.
func TestVersionsOverHTTP(t *testing.T) {
	onStores(t, func(t *testing.T, srv *httptest.Server, st *store.Store, r *routed) {
		code, h, b := call(t, "POST", srv.URL+"/fhir/Patient", `{"resourceType":"Patient","gender":"female"}`)
		loc1 := h.Get("Location")
		if code != 201 || !strings.HasSuffix(loc1, "/_history/1") {
			t.Fatalf("create: %d Location %q %s", code, loc1, b)
		}
		id := strings.Split(loc1, "/")[3]
		var created struct {
			Meta struct{ LastUpdated string } `json:"meta"`
		}
		if err := json.Unmarshal(b, &created); err != nil || created.Meta.LastUpdated == "" {
			t.Fatalf("create: no meta.lastUpdated: %s", b)
		}
		code, h, b = call(t, "PUT", srv.URL+"/fhir/Patient/"+id, patientBody(id, "male"), `If-Match: W/"1"`)
		loc2 := h.Get("Location")
		if code != 200 || loc2 != "/fhir/Patient/"+id+"/_history/2" {
			t.Fatalf("update: %d Location %q %s", code, loc2, b)
		}
		for _, c := range []struct{ loc, version, gender string }{{loc1, "1", "female"}, {loc2, "2", "male"}} {
			code, h, b := call(t, "GET", srv.URL+c.loc, "")
			if c.version == "1" && !strings.Contains(string(b), `"lastUpdated":"`+created.Meta.LastUpdated+`"`) {
				t.Errorf("vread %s does not report the create's lastUpdated %s: %s", c.loc, created.Meta.LastUpdated, b)
			}
			m := decodeMeta(t, b)
			if code != 200 || m.ID != id || m.Meta.VersionID != c.version || m.Gender != c.gender ||
				h.Get("ETag") != `W/"`+c.version+`"` || h.Get("Last-Modified") == "" {
				t.Errorf("vread %s: %d %+v ETag %q", c.loc, code, m, h.Get("ETag"))
			}
		}
		if code, _, _ := call(t, "GET", srv.URL+"/fhir/Patient/"+id+"/_history/3", ""); code != 404 {
			t.Errorf("vread of a version not stored: %d", code)
		}
		code, _, b = call(t, "GET", srv.URL+"/fhir/Patient/"+id+"/_history?_count=1", "")
		var hb struct {
			Type  string `json:"type"`
			Link  []struct{ Relation, URL string }
			Entry []struct {
				Request  struct{ Method string }
				Response struct{ Location, Etag string }
			}
		}
		if err := json.Unmarshal(b, &hb); err != nil || code != 200 || hb.Type != "history" || len(hb.Entry) != 1 ||
			hb.Entry[0].Request.Method != "PUT" || "/fhir/"+hb.Entry[0].Response.Location != loc2 || len(hb.Link) != 2 {
			t.Fatalf("history page 1: %d %s", code, b)
		}
		next := hb.Link[1].URL
		code, _, b = call(t, "GET", next, "")
		hb.Link, hb.Entry = nil, nil
		if err := json.Unmarshal(b, &hb); err != nil || code != 200 || len(hb.Entry) != 1 ||
			hb.Entry[0].Request.Method != "POST" || "/fhir/"+hb.Entry[0].Response.Location != loc1 || len(hb.Link) != 1 {
			t.Fatalf("history page 2 (%s): %d %s", next, code, b)
		}
		code, _, b = call(t, "GET", srv.URL+"/fhir/Patient/_history", "")
		if code != 200 || strings.Count(string(b), `"fullUrl"`) != 2 {
			t.Errorf("type history: %d %s", code, b)
		}
		_, h, _ = call(t, "GET", srv.URL+"/fhir/Patient/"+id, "")
		for _, hdr := range []string{`If-None-Match: W/"2"`, "If-Modified-Since: " + h.Get("Last-Modified")} {
			if code, _, b := call(t, "GET", srv.URL+"/fhir/Patient/"+id, "", hdr); code != 304 || len(b) != 0 {
				t.Errorf("%s: %d %s", hdr, code, b)
			}
		}
		if code, _, _ := call(t, "GET", srv.URL+"/fhir/Patient/"+id, "", `If-None-Match: W/"1"`); code != 200 {
			t.Errorf("If-None-Match of an older version: %d", code)
		}
	})
}

// TestIfMatchRace: two clients that read the same version race to update
// it with If-Match: exactly one gets 200, the other 412, and the stored
// resource holds the winner's body. Several rounds, each from the version
// the previous one left.
func TestIfMatchRace(t *testing.T) {
	onStores(t, func(t *testing.T, srv *httptest.Server, st *store.Store, r *routed) {
		url := srv.URL + "/fhir/Patient/race"
		if code, _, b := call(t, "PUT", url, patientBody("race", "unknown")); code != 201 {
			t.Fatalf("create: %d %s", code, b)
		}
		// Each round's bodies differ from each other and from the stored
		// one: a PUT of the current content stores no new version, and so
		// would rightly succeed after the other client's.
		body := func(round, i int) string {
			return fmt.Sprintf(`{"resourceType":"Patient","id":"race","birthDate":"20%02d-01-%02d"}`, round, i+1)
		}
		for round := 1; round <= 5; round++ {
			_, h, _ := call(t, "GET", url, "")
			tag := h.Get("ETag")
			var codes [2]int
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 2 {
				wg.Go(func() {
					<-start
					codes[i], _, _ = call(t, "PUT", url, body(round, i), "If-Match: "+tag)
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, c := range codes {
				if c == 200 {
					winner = i
				}
			}
			if winner < 0 || codes[1-winner] != 412 {
				t.Fatalf("round %d: statuses %v, want one 200 and one 412", round, codes)
			}
			code, h, b := call(t, "GET", url, "")
			m := decodeMeta(t, b)
			want := fmt.Sprintf(`"birthDate":"20%02d-01-%02d"`, round, winner+1)
			if code != 200 || !strings.Contains(string(b), want) || m.Meta.VersionID != fmt.Sprint(round+1) ||
				h.Get("ETag") != fmt.Sprintf(`W/"%d"`, round+1) {
				t.Fatalf("round %d: stored %s (ETag %s), want the winner's %s at version %d", round, b, h.Get("ETag"), want, round+1)
			}
		}
	})
}
