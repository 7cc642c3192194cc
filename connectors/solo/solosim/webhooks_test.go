package solosim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func simCall(t *testing.T, url, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Api-Key", solosim.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestWebhookDeliveryDecryptsWithTheConnector: the simulator's events,
// encrypted from the spec, decrypt with the connector's DecryptPayload.
func TestWebhookDeliveryDecryptsWithTheConnector(t *testing.T) {
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	var mu sync.Mutex
	var got [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	}))
	defer recv.Close()
	code, wh := simCall(t, srv.URL, "POST", "/qapi/v1/webhooks", `{"endpoint":"`+recv.URL+`/solo/webhooks/t","events":["appointment:completed","appointment:lwbs"]}`)
	if code != 200 || wh["encryptionKey"] == "" {
		t.Fatalf("add: %d %v", code, wh)
	}
	simCall(t, srv.URL, "POST", "/qapi/v1/patients", `{"id":"p1"}`)
	code, appt := simCall(t, srv.URL, "POST", "/qapi/v1/patients/p1/appointments", `{"waitingRoom":"Default Waiting Room Name 1","date":1499441179}`)
	if code != 200 {
		t.Fatalf("appointment: %d", code)
	}
	said := int(appt["id"].(float64))
	for _, tc := range []struct{ status, video, event string }{
		{"in progress.exam.progress", "on call", ""},
		{"completed", "", "appointment:completed"},
		{"", "LWBS", "appointment:lwbs"},
	} {
		ds, err := sim.SetAppointmentStatus(said, tc.status, tc.video)
		if err != nil {
			t.Fatal(err)
		}
		if tc.event == "" {
			if len(ds) != 0 {
				t.Fatalf("%s: unexpected deliveries %v", tc.status, ds)
			}
			continue
		}
		if len(ds) != 1 || ds[0].Status != 200 || ds[0].Event != tc.event {
			t.Fatalf("%s: deliveries %+v", tc.event, ds)
		}
		mu.Lock()
		last := got[len(got)-1]
		mu.Unlock()
		plain, err := solo.DecryptPayload(wh["encryptionKey"].(string), last)
		if err != nil {
			t.Fatalf("%s: %v", tc.event, err)
		}
		var ev struct {
			Event struct{ Type, ID string }
			Data  struct{ AppointmentID int }
		}
		if err := json.Unmarshal(plain, &ev); err != nil || ev.Event.Type != tc.event || ev.Data.AppointmentID != said || ev.Event.ID == "" {
			t.Fatalf("%s: payload %s", tc.event, plain)
		}
	}
	if sim.VideoCallStatus(said) != "LWBS" {
		t.Fatalf("video call status %q", sim.VideoCallStatus(said))
	}
	if _, err := sim.SetAppointmentStatus(999, "completed", ""); err == nil {
		t.Fatal("an unknown SAID was accepted")
	}
}

func TestWebhookEndpointErrors(t *testing.T) {
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
	}{
		{"endpoint not a URL", "POST", "/qapi/v1/webhooks", `{"endpoint":"nope","events":["patient:created"]}`, 400},
		{"no events", "POST", "/qapi/v1/webhooks", `{"endpoint":"https://x.example/a","events":[]}`, 400},
		{"unknown event", "POST", "/qapi/v1/webhooks", `{"endpoint":"https://x.example/a","events":["patient:eaten"]}`, 400},
		{"not JSON", "POST", "/qapi/v1/webhooks", `[`, 400},
		{"unknown id", "GET", "/qapi/v1/webhooks/nope", ``, 404},
		{"update unknown", "PUT", "/qapi/v1/webhooks/nope", `{"endpoint":"https://x.example/a","events":["patient:created"]}`, 404},
		{"delete unknown", "DELETE", "/qapi/v1/webhooks/nope", ``, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _ := simCall(t, srv.URL, tc.method, tc.path, tc.body); code != tc.want {
				t.Fatalf("got %d, want %d", code, tc.want)
			}
		})
	}
}
