package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// deleteRouted records routed versions and deletions.
type deleteRouted struct {
	mu   sync.Mutex
	seen []string
}

func (r *deleteRouted) Route(_ context.Context, _ *store.Tx, typ, id string, version int, _ *fhir.Value) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, fmt.Sprintf("put %s/%s/%d", typ, id, version))
	return nil
}

func (r *deleteRouted) RouteDelete(_ context.Context, _ *store.Tx, typ, id string, version int, last *fhir.Value) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, fmt.Sprintf("delete %s/%s/%d last=%s", typ, id, version, last.GetString("id")))
	return nil
}

func (r *deleteRouted) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

// do sends one request and returns the status, the ETag and the
// resource's id when the body holds one.
func do(t *testing.T, method, url, body string, hdr ...string) (int, string, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct{ ID string }
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, resp.Header.Get("ETag"), out.ID
}

func mrnPatient(id, mrn, family string) string {
	idm := ""
	if id != "" {
		idm = `"id":"` + id + `",`
	}
	return `{"resourceType":"Patient",` + idm + `"identifier":[{"system":"urn:mrn","value":"` + mrn + `"}],"name":[{"family":"` + family + `"}]}`
}

// TestConditionalUpdateAndDelete, on SQLite and PostgreSQL: a conditional
// PUT creates then updates through the identifier index, two matches are
// 412, a DELETE stores a deletion routed with the last body, reads answer
// 410, a deleted resource matches no condition (its identifier goes to the
// next resource), deleting again routes nothing, and a PUT revives it.
func TestConditionalUpdateAndDelete(t *testing.T) {
	storetest.Each(t, "ingest_delete", func(t *testing.T, st *store.Store) {
		r := &deleteRouted{}
		srv := httptest.NewServer(server.New(&Backend{Store: st, Router: r}, server.Options{}))
		defer srv.Close()
		base := srv.URL + "/fhir/Patient"

		code, tag, x := do(t, "PUT", base+"?identifier=urn:mrn|7", mrnPatient("", "7", "A"))
		if code != 201 || tag != `W/"1"` || x == "" {
			t.Fatalf("conditional PUT, no match: %d %s %q; want 201 W/\"1\" and an id", code, tag, x)
		}
		code, tag, got := do(t, "PUT", base+"?identifier=urn:mrn|7", mrnPatient("", "7", "B"))
		if code != 200 || tag != `W/"2"` || got != x {
			t.Fatalf("conditional PUT, one match: %d %s %q; want 200 W/\"2\" %q", code, tag, got, x)
		}
		if code, _, _ := do(t, "PUT", base+"?identifier=urn:mrn|7", mrnPatient("other", "7", "B")); code != 400 {
			t.Errorf("conditional PUT naming another id: %d, want 400", code)
		}
		code, _, y := do(t, "POST", base, mrnPatient("", "8", "C"))
		if code != 201 {
			t.Fatalf("POST: %d", code)
		}
		if code, _, _ := do(t, "PUT", base+"?identifier=urn:mrn|7,urn:mrn|8", mrnPatient("", "7", "D")); code != 412 {
			t.Errorf("conditional PUT, two matches: %d, want 412", code)
		}
		if code, _, _ := do(t, "DELETE", base+"?identifier=urn:mrn|7,urn:mrn|8", ""); code != 412 {
			t.Errorf("conditional DELETE, two matches: %d, want 412", code)
		}
		if code, _, got := do(t, "PUT", base+"?_id="+y, mrnPatient("", "8", "C2")); code != 200 || got != y {
			t.Errorf("conditional PUT by _id: %d %q, want 200 %q", code, got, y)
		}
		want := []string{"put Patient/" + x + "/1", "put Patient/" + x + "/2", "put Patient/" + y + "/1", "put Patient/" + y + "/2"}
		if got := r.take(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("routed %v, want %v", got, want)
		}

		if code, _, _ := do(t, "DELETE", base+"/"+x, "", "If-Match", `W/"1"`); code != 412 {
			t.Fatalf("DELETE with a stale If-Match: %d, want 412", code)
		}
		if code, tag, _ := do(t, "DELETE", base+"/"+x, "", "If-Match", `W/"2"`); code != 204 || tag != `W/"3"` {
			t.Fatalf("DELETE: %d %s, want 204 W/\"3\"", code, tag)
		}
		if code, _, _ := do(t, "GET", base+"/"+x, ""); code != 410 {
			t.Errorf("GET after DELETE: %d, want 410", code)
		}
		if code, _, _ := do(t, "GET", base+"/"+x+"/_history/3", ""); code != 410 {
			t.Errorf("vread of the deletion: %d, want 410", code)
		}
		if code, _, _ := do(t, "GET", base+"/"+x+"/_history/2", ""); code != 200 {
			t.Errorf("vread of the version before the deletion: %d, want 200", code)
		}
		hist := historyMethods(t, base+"/"+x+"/_history")
		if hist != "DELETE -,PUT res,POST res" {
			t.Errorf("history entries %q, want the deletion (no resource), the update and the create", hist)
		}
		if code, tag, _ := do(t, "DELETE", base+"/"+x, ""); code != 204 || tag != `W/"3"` {
			t.Errorf("second DELETE: %d %s, want 204 W/\"3\"", code, tag)
		}
		if code, _, _ := do(t, "DELETE", base+"/never-stored", ""); code != 404 {
			t.Errorf("DELETE of an unknown resource: %d, want 404", code)
		}
		if code, _, _ := do(t, "DELETE", base+"?identifier=urn:mrn|7", ""); code != 204 {
			t.Errorf("conditional DELETE matching only a deleted resource: %d, want 204", code)
		}
		if got := r.take(); fmt.Sprint(got) != fmt.Sprint([]string{"delete Patient/" + x + "/3 last=" + x}) {
			t.Errorf("routed %v, want the one deletion", got)
		}
		// the deleted resource matches nothing: a new one takes its identifier
		code, _, z := do(t, "PUT", base+"?identifier=urn:mrn|7", mrnPatient("", "7", "E"))
		if code != 201 || z == x {
			t.Errorf("conditional PUT after DELETE: %d %q, want 201 with a new id", code, z)
		}
		if code, _, got := do(t, "PUT", base+"?identifier=urn:mrn|7", mrnPatient("", "7", "F")); code != 200 || got != z {
			t.Errorf("conditional PUT after the take-over: %d %q, want 200 %q", code, got, z)
		}
		// conditional delete, then If-None-Exist creates anew
		if code, tag, _ := do(t, "DELETE", base+"?identifier=urn:mrn|8", ""); code != 204 || tag != `W/"3"` {
			t.Errorf("conditional DELETE: %d %s, want 204 W/\"3\"", code, tag)
		}
		if code, _, got := do(t, "POST", base, mrnPatient("", "8", "G"), "If-None-Exist", "identifier=urn:mrn|8"); code != 201 || got == y {
			t.Errorf("conditional create after the holder's deletion: %d %q, want 201 with a new id", code, got)
		}
		// a PUT revives the deleted resource under its id
		if code, tag, _ := do(t, "PUT", base+"/"+x, mrnPatient(x, "7", "B")); code != 200 || tag != `W/"4"` {
			t.Errorf("PUT of a deleted resource: %d %s, want 200 W/\"4\"", code, tag)
		}
		if code, _, _ := do(t, "GET", base+"/"+x, ""); code != 200 {
			t.Errorf("GET after revival: %d, want 200", code)
		}
	})
}

// TestConcurrentConditionalUpdate, on SQLite and PostgreSQL: concurrent
// conditional PUTs of one new identifier make one resource: exactly one
// creates it, every other updates it or finds it unchanged.
func TestConcurrentConditionalUpdate(t *testing.T) {
	storetest.Each(t, "ingest_cond_race", func(t *testing.T, st *store.Store) {
		srv := httptest.NewServer(server.New(&Backend{Store: st, Router: &deleteRouted{}}, server.Options{}))
		defer srv.Close()
		const n = 8
		codes, ids := make([]int, n), make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				codes[i], _, ids[i] = do(t, "PUT", srv.URL+"/fhir/Patient?identifier=urn:mrn|race", mrnPatient("", "race", "R"))
			})
		}
		wg.Wait()
		created := 0
		for i := range n {
			if codes[i] == 201 {
				created++
			} else if codes[i] != 200 {
				t.Errorf("request %d: %d", i, codes[i])
			}
			if ids[i] != ids[0] {
				t.Errorf("request %d made %q, request 0 %q", i, ids[i], ids[0])
			}
		}
		if created != 1 {
			t.Errorf("%d creates, want 1", created)
		}
		if n, err := st.CountCurrent(context.Background(), "Patient"); err != nil || n != 1 {
			t.Errorf("%d patients stored (%v), want 1", n, err)
		}
	})
}

// TestDeleteNeedsDeleteRouter: a Router that cannot take deletions makes
// the Backend refuse them (422) and keep the resource.
func TestDeleteNeedsDeleteRouter(t *testing.T) {
	srv, _, _ := newBridge(t)
	code, _, id := do(t, "POST", srv.URL+"/fhir/Patient", mrnPatient("", "1", "A"))
	if code != 201 {
		t.Fatalf("POST: %d", code)
	}
	if code, _, _ := do(t, "DELETE", srv.URL+"/fhir/Patient/"+id, ""); code != 422 {
		t.Errorf("DELETE: %d, want 422", code)
	}
	if code, _, _ := do(t, "GET", srv.URL+"/fhir/Patient/"+id, ""); code != 200 {
		t.Errorf("GET after the refused DELETE: %d, want 200", code)
	}
}

// TestTransactionConditionalAndDelete: in a transaction, a conditional
// update's fullUrl resolves to the id it matched or made, and a DELETE
// entry is stored and routed as a deletion.
func TestTransactionConditionalAndDelete(t *testing.T) {
	st := storetest.Open(t, mrnPatient("old", "5", "O"))
	r := &deleteRouted{}
	srv := httptest.NewServer(server.New(&Backend{Store: st, Router: r}, server.Options{}))
	defer srv.Close()
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"fullUrl":"urn:uuid:p","resource":` + mrnPatient("", "9", "N") + `,"request":{"method":"PUT","url":"Patient?identifier=urn:mrn|9"}},
	 {"resource":{"resourceType":"Encounter","status":"planned","class":{"code":"VR"},"subject":{"reference":"urn:uuid:p"}},
	  "request":{"method":"POST","url":"Encounter"}},
	 {"request":{"method":"DELETE","url":"Patient/old"}}]}`
	code, resp := post(t, srv.URL+"/fhir", bundle)
	if code != 200 {
		t.Fatalf("transaction: %d %v", code, resp)
	}
	entries := resp["entry"].([]any)
	status := func(i int) string {
		return entries[i].(map[string]any)["response"].(map[string]any)["status"].(string)
	}
	if status(0) != "201 Created" || status(2) != "204 No Content" {
		t.Errorf("statuses %q, %q", status(0), status(2))
	}
	loc := entries[1].(map[string]any)["response"].(map[string]any)["location"].(string)
	encID := strings.Split(loc, "/")[1]
	body, _, err := st.GetResource(context.Background(), "Encounter", encID)
	if err != nil {
		t.Fatal(err)
	}
	var enc struct{ Subject struct{ Reference string } }
	_ = json.Unmarshal(body, &enc)
	ploc := entries[0].(map[string]any)["response"].(map[string]any)["location"].(string)
	if want := strings.Join(strings.Split(ploc, "/")[:2], "/"); enc.Subject.Reference != want {
		t.Errorf("Encounter.subject = %q, want %q", enc.Subject.Reference, want)
	}
	if _, _, err := st.GetResource(context.Background(), "Patient", "old"); !errors.Is(err, store.ErrDeleted) {
		t.Errorf("Patient/old after the transaction: %v, want deleted", err)
	}
	seen := strings.Join(r.take(), ";")
	if !strings.Contains(seen, "delete Patient/old/2 last=old") {
		t.Errorf("routed %s, want the deletion of Patient/old", seen)
	}
}

// historyMethods returns the request methods of a history Bundle's
// entries, each followed by "res" when the entry has a resource, else "-".
func historyMethods(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Entry []struct {
			Resource json.RawMessage
			Request  struct{ Method string }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 {
		t.Fatalf("history: %d %v", resp.StatusCode, err)
	}
	var out []string
	for _, e := range b.Entry {
		has := "-"
		if len(e.Resource) > 0 {
			has = "res"
		}
		out = append(out, e.Request.Method+" "+has)
	}
	return strings.Join(out, ",")
}
