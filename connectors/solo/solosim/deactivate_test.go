package solosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestDeactivation walks a patient through the spec's update rules for
// "active": a boolean only; false deactivates (one patient:deactivated
// event with the SPID, on the change only); true reactivates; a partial
// update without active leaves it as it was.
func TestDeactivation(t *testing.T) {
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	var mu sync.Mutex
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
	}))
	defer recv.Close()
	code, wh := simCall(t, srv.URL, "POST", "/qapi/v1/webhooks", `{"endpoint":"`+recv.URL+`/hook","events":["patient:deactivated"]}`)
	if code != 200 {
		t.Fatalf("add webhook: %d", code)
	}
	steps := []struct {
		name, method, path, body string
		status                   int
		active                   bool
		events                   int // patient:deactivated deliveries so far
	}{
		{"active must be a boolean on create", "POST", "/qapi/v1/patients", `{"id":"p1","active":"false"}`, 400, false, 0},
		{"created without active is active", "POST", "/qapi/v1/patients", `{"id":"p1","mrn":"M1"}`, 200, true, 0},
		{"active must be a boolean on update", "PUT", "/qapi/v1/patients/p1", `{"active":0}`, 400, true, 0},
		{"active false deactivates", "PUT", "/qapi/v1/patients/p1", `{"mrn":"M1","active":false}`, 200, false, 1},
		{"deactivating again sends no second event", "PUT", "/qapi/v1/patients/id/type/SPID/value/1001", `{"active":false}`, 200, false, 1},
		{"an update without active keeps it inactive", "PUT", "/qapi/v1/patients/p1", `{"mrn":"M2"}`, 200, false, 1},
		{"active true reactivates", "PUT", "/qapi/v1/patients/p1", `{"active":true}`, 200, true, 1},
		{"deactivating by SPID", "PUT", "/qapi/v1/patients/id/type/SPID/value/1001", `{"active":false}`, 200, false, 2},
	}
	for _, st := range steps {
		code, _ := simCall(t, srv.URL, st.method, st.path, st.body)
		if code != st.status {
			t.Fatalf("%s: status %d, want %d", st.name, code, st.status)
		}
		ps := sim.Patients()
		if len(ps) == 1 && ps[0].Active() != st.active {
			t.Errorf("%s: active %v, want %v", st.name, ps[0].Active(), st.active)
		}
		n := 0
		for _, d := range sim.Deliveries() {
			if d.Event == "patient:deactivated" && d.Status == 200 {
				n++
			}
		}
		if n != st.events {
			t.Errorf("%s: %d patient:deactivated events delivered, want %d", st.name, n, st.events)
		}
	}
	if len(sim.Patients()) != 1 {
		t.Fatalf("%d patients, want 1", len(sim.Patients()))
	}
	mu.Lock()
	defer mu.Unlock()
	for _, b := range bodies { // the spec's patient payload: {"event":{"type"},"data":{"patientId": SPID}}
		plain, err := solo.DecryptPayload(wh["encryptionKey"].(string), b)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Event struct{ Type string }
			Data  struct{ PatientID int }
		}
		if err := json.Unmarshal(plain, &ev); err != nil || ev.Event.Type != "patient:deactivated" || ev.Data.PatientID != 1001 {
			t.Errorf("payload %s, want patient:deactivated of SPID 1001", plain)
		}
	}
}
