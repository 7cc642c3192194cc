package ttsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const writeBack = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:0b6e1c7a-0000-4000-8000-000000000001",
  "resource":{"resourceType":"Patient","id":"pat-1","identifier":[{"system":"urn:fhirbridge:tuotempo:user-tid","value":"tid-9"}]},
  "request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:fhirbridge:tuotempo:user-tid|tid-9"}},
 {"resource":{"resourceType":"Appointment","id":"app-1","status":"booked",
   "participant":[{"actor":{"reference":"urn:uuid:0b6e1c7a-0000-4000-8000-000000000001"}}]},
  "request":{"method":"PUT","url":"Appointment/app-1"}},
 {"resource":{"resourceType":"Slot","id":"slot-1","status":"busy","schedule":{"reference":"Schedule/s1"},"start":"2026-03-03T09:00:00+01:00"},
  "request":{"method":"PUT","url":"Slot/slot-1"}}]}`

func do(t *testing.T, h http.Handler, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	r.Header.Set("Content-Type", "application/fhir+json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var v map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &v)
	return w.Code, v, w.Header()
}

// statuses returns a transaction-response's entry statuses and locations.
func statuses(v map[string]any) (st, loc []string) {
	for _, en := range entries(v) {
		resp, _ := en["response"].(map[string]any)
		st = append(st, str(resp, "status"))
		loc = append(loc, str(resp, "location"))
	}
	return st, loc
}

func TestEHRTransaction(t *testing.T) {
	e := NewEHR("tok")
	if err := e.Seed([]byte(`{"resourceType":"Slot","id":"slot-1","status":"free","schedule":{"reference":"Schedule/s1"},"start":"2026-03-03T09:00:00+01:00"}`)); err != nil {
		t.Fatal(err)
	}
	code, v, _ := do(t, e, "POST", "/", "tok", writeBack)
	if code != 200 || str(v, "type") != "transaction-response" {
		t.Fatalf("first: %d %v", code, v)
	}
	st, loc := statuses(v)
	if strings.Join(st, ",") != "201 Created,201 Created,200 OK" ||
		strings.Join(loc, ",") != "Patient/ehr-1/_history/1,Appointment/app-1/_history/1,Slot/slot-1/_history/2" {
		t.Errorf("first: %v %v", st, loc)
	}
	if ids := e.Find("Patient", "urn:fhirbridge:tuotempo:user-tid", "tid-9"); len(ids) != 1 || ids[0] != "ehr-1" {
		t.Errorf("Find %v", ids)
	}
	if !e.Holds("Appointment", "app-1") || !strings.Contains(string(e.Last("Appointment", "app-1")), `"reference":"Patient/ehr-1"`) {
		t.Errorf("appointment %s: the patient's fullUrl is not rewritten", e.Last("Appointment", "app-1"))
	}
	if !strings.Contains(string(e.Last("Slot", "slot-1")), `"busy"`) || e.Version("Slot", "slot-1") != 2 {
		t.Errorf("slot %s", e.Last("Slot", "slot-1"))
	}

	// the same write-back again: the patient exists (200), the others update
	code, v, _ = do(t, e, "POST", "/", "tok", strings.ReplaceAll(writeBack, `"booked"`, `"cancelled"`))
	st, loc = statuses(v)
	if code != 200 || strings.Join(st, ",") != "200 OK,200 OK,200 OK" || loc[0] != "Patient/ehr-1/_history/1" || loc[1] != "Appointment/app-1/_history/2" {
		t.Errorf("second: %d %v %v", code, st, loc)
	}
	if len(e.Find("Patient", "", "tid-9")) != 1 || !strings.Contains(string(e.Last("Appointment", "app-1")), `"cancelled"`) {
		t.Errorf("second: a patient created twice or the appointment not updated")
	}
}

func TestEHRRefuses(t *testing.T) {
	two := `{"resourceType":"Patient","id":"p%d","identifier":[{"system":"s","value":"dup"}]}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"no token", "POST", "/", "", writeBack, 401},
		{"wrong token", "POST", "/", "other", writeBack, 401},
		{"wrong token PUT", "PUT", "/Slot/slot-1", "other", `{"resourceType":"Slot","id":"slot-1"}`, 401},
		{"batch", "POST", "/", "tok", `{"resourceType":"Bundle","type":"batch","entry":[]}`, 400},
		{"not JSON", "POST", "/", "tok", `<Bundle/>`, 400},
		{"DELETE entry", "POST", "/", "tok", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Slot"},"request":{"method":"DELETE","url":"Slot/x"}}]}`, 400},
		{"PUT of another id", "POST", "/", "tok", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Slot","id":"a"},"request":{"method":"PUT","url":"Slot/b"}}]}`, 400},
		{"ifNoneExist by name", "POST", "/", "tok", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"name=x"}}]}`, 400},
		{"ifNoneExist two matches", "POST", "/", "tok", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=s|dup"}}]}`, 412},
		{"PUT body of another type", "PUT", "/Slot/slot-1", "tok", `{"resourceType":"Appointment","id":"slot-1"}`, 400},
		{"read unknown", "GET", "/Slot/none", "tok", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEHR("tok")
			for i := range 2 {
				if err := e.Seed([]byte(strings.Replace(two, "%d", string(rune('0'+i)), 1))); err != nil {
					t.Fatal(err)
				}
			}
			code, v, _ := do(t, e, tt.method, tt.path, tt.token, tt.body)
			if code != tt.status || str(v, "resourceType") != "OperationOutcome" {
				t.Errorf("%d %v, want %d with an OperationOutcome", code, v, tt.status)
			}
			if e.Holds("Appointment", "app-1") || e.Holds("Slot", "slot-1") || len(e.Find("Patient", "", "tid-9")) != 0 {
				t.Errorf("a refused request changed the EHR")
			}
		})
	}
}

func TestEHRPutAndSearch(t *testing.T) {
	e := NewEHR("")
	base, err := e.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	seed := `{"resourceType":"Bundle","type":"collection","entry":[
	 {"resource":{"resourceType":"Schedule","id":"s1","actor":[{"reference":"Practitioner/res-1"}]}},
	 {"resource":{"resourceType":"Schedule","id":"s2","actor":[{"reference":"Practitioner/res-2"}]}},
	 {"resource":{"resourceType":"Slot","id":"a","status":"free","schedule":{"reference":"Schedule/s1"},"start":"2026-03-03T09:00:00+01:00"}},
	 {"resource":{"resourceType":"Slot","id":"b","status":"free","schedule":{"reference":"Schedule/s1"},"start":"2026-03-04T09:00:00+01:00"}},
	 {"resource":{"resourceType":"Slot","id":"c","status":"busy","schedule":{"reference":"Schedule/s2"},"start":"2026-03-03T10:00:00+01:00"}}]}`
	if err := e.Seed([]byte(seed)); err != nil {
		t.Fatal(err)
	}
	put := func(body string) (int, string) {
		req, _ := http.NewRequest("PUT", base+"/Slot/b", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+DefaultEHRToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if code, loc := put(`{"resourceType":"Slot","id":"b","status":"busy","schedule":{"reference":"Schedule/s1"},"start":"2026-03-04T09:00:00+01:00"}`); code != 200 || loc != "Slot/b/_history/2" {
		t.Errorf("PUT: %d %s", code, loc)
	}
	tests := []struct {
		query string
		want  string // ids in entry order
	}{
		{"", "Slot/a,Slot/b,Slot/c"},
		{"status=free&_include=Slot:schedule", "Slot/a,Schedule/s1"},
		{"start=ge2026-03-03&start=lt2026-03-04&_include=Slot:schedule", "Slot/a,Slot/c,Schedule/s1,Schedule/s2"},
		{"schedule=Schedule/s2", "Slot/c"},
		{"start=gt2026-03-03T09:30:00%2B01:00&_count=10", "Slot/b,Slot/c"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", base+"/Slot?"+tt.query, nil)
		req.Header.Set("Authorization", "Bearer "+DefaultEHRToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil || str(v, "type") != "searchset" {
			t.Fatalf("%s: %d %s", tt.query, resp.StatusCode, b)
		}
		var got []string
		for _, en := range entries(v) {
			res, _ := en["resource"].(map[string]any)
			got = append(got, str(res, "resourceType")+"/"+str(res, "id"))
			if !strings.HasPrefix(str(en, "fullUrl"), base+"/") {
				t.Errorf("fullUrl %s", str(en, "fullUrl"))
			}
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("?%s: %v, want %s", tt.query, got, tt.want)
		}
	}
	if n := len(e.Requests()); n != 1+len(tests) {
		t.Errorf("%d requests logged", n)
	}
}

func TestEHRStatus(t *testing.T) {
	e := NewEHR("tok")
	if code, _, _ := do(t, e, "POST", "/", "tok", writeBack); code != 200 {
		t.Fatal(code)
	}
	if e.Status("Appointment", "app-1") != "booked" || e.Status("Slot", "slot-1") != "busy" || e.Status("Slot", "none") != "" {
		t.Errorf("statuses %q %q", e.Status("Appointment", "app-1"), e.Status("Slot", "slot-1"))
	}
}

// FuzzEHRTransaction: any body POSTed or PUT is answered without a panic,
// and a refused one changes nothing.
func FuzzEHRTransaction(f *testing.F) {
	f.Add(writeBack, "/")
	f.Add(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=%zz"}}]}`, "/")
	f.Add(`{"resourceType":"Bundle","type":"transaction","entry":[null,1,{"request":{}}]}`, "/")
	f.Add(`{"resourceType":"Slot","id":"x","status":"free"}`, "/Slot/x")
	f.Add(`[]`, "/Slot?start=ge2026-01-01")
	f.Fuzz(func(t *testing.T, body, path string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") || len(path) > 200 {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // not a request a client can send
		}
		e := NewEHR("tok")
		for _, m := range []string{"POST", "PUT", "GET"} {
			before := len(e.res)
			code, _, _ := do(t, e, m, path, "tok", body)
			if code >= 300 && len(e.res) != before {
				t.Fatalf("%s %s answered %d and changed the EHR", m, path, code)
			}
		}
	})
}

// TestEHRConcurrentConditionalCreate: write-backs of one new patient sent
// at once create it once.
func TestEHRConcurrentConditionalCreate(t *testing.T) {
	e := NewEHR("tok")
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Go(func() {
			r := httptest.NewRequest("POST", "/", strings.NewReader(writeBack))
			r.Header.Set("Authorization", "Bearer tok")
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			codes[i] = w.Code
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("write-back %d: %d", i, c)
		}
	}
	if ids := e.Find("Patient", "urn:fhirbridge:tuotempo:user-tid", "tid-9"); len(ids) != 1 {
		t.Errorf("patients %v, want one", ids)
	}
	if v := e.Version("Appointment", "app-1"); v != 20 {
		t.Errorf("appointment version %d, want 20", v)
	}
}
