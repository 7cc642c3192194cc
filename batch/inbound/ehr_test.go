package inbound

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// ehrServer answers the first fail PUTs with 503, then 200, and records
// every request.
type ehrServer struct {
	mu   sync.Mutex
	fail int
	reqs []ehrRequest
}

type ehrRequest struct {
	method, path, auth, ctype string
	body                      map[string]any
}

func (s *ehrServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, ehrRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	if s.fail > 0 {
		s.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"resourceType":"OperationOutcome"}`)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// TestEHRPush: every changed Appointment is PUT to the EHR with the bearer
// token; a 503 is reported and retried on the next poll until it succeeds.
func TestEHRPush(t *testing.T) {
	srv := &ehrServer{fail: 1}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	metrics := NewMetrics()
	e := newEnv(t, Spec{}, Options{EHR: &EHR{BaseURL: hs.URL + "/fhir/", Token: "s3cret", Client: hs.Client()}, Metrics: metrics}, "a1")
	e.remote.write("cancellations_1.csv", rows("a1;;;;p;CANCELLED by USER"))
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	if len(rep.EHR) != 1 || rep.EHR[0].Status != 503 || rep.EHR[0].Err == nil || rep.EHR[0].AppointmentID != "a1" || rep.Err() == nil {
		t.Fatalf("first push: %+v", rep.EHR)
	}
	if strings.Contains(rep.EHR[0].Err.Error(), "OperationOutcome") {
		t.Error("the EHR's answer body leaked into the error")
	}
	rep = e.poll(time.Minute)
	if len(rep.EHR) != 1 || rep.EHR[0].Status != 200 || rep.EHR[0].Err != nil || rep.EHR[0].Attempts != 2 {
		t.Fatalf("retry: %+v", rep.EHR)
	}
	if rep = e.poll(time.Minute); len(rep.EHR) != 0 {
		t.Fatalf("pushed again after success: %+v", rep.EHR)
	}
	if len(srv.reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(srv.reqs))
	}
	for _, r := range srv.reqs {
		if r.method != "PUT" || r.path != "/fhir/Appointment/a1" || r.auth != "Bearer s3cret" || r.ctype != "application/fhir+json" {
			t.Errorf("request %+v", r)
		}
		if r.body["resourceType"] != "Appointment" || r.body["id"] != "a1" || r.body["status"] != "cancelled" || r.body["cancelationReason"] == nil {
			t.Errorf("body %v", r.body)
		}
	}
	if got := testutil.ToFloat64(metrics.pushes.WithLabelValues("tuotempo-cancellations", "failed")); got != 1 {
		t.Errorf("failed pushes metric %v", got)
	}
	if got := testutil.ToFloat64(metrics.files.WithLabelValues("tuotempo-cancellations", "ok")); got != 1 {
		t.Errorf("files metric %v", got)
	}
	if got := testutil.ToFloat64(metrics.rows.WithLabelValues("tuotempo-cancellations", "ok")); got != 1 {
		t.Errorf("rows metric %v", got)
	}
}

// TestEHRPushSurvivesRestart: the push queue is in the store, so a
// restarted bridge still pushes what it applied before stopping.
func TestEHRPushSurvivesRestart(t *testing.T) {
	srv := &ehrServer{fail: 1}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	e := newEnv(t, Spec{}, Options{EHR: &EHR{BaseURL: hs.URL, Token: "t"}}, "a1")
	e.remote.write("cancellations_1.csv", rows("a1;;;;p;CANCELLED by ADMIN"))
	e.poll(0)
	e.poll(2 * time.Minute)
	e.p = e.newPoller()
	if rep := e.poll(0); len(rep.EHR) != 0 {
		t.Fatalf("pushed before the backoff ended: %+v", rep.EHR)
	}
	rep := e.poll(time.Minute)
	if len(rep.EHR) != 1 || rep.EHR[0].Err != nil || rep.EHR[0].Attempts != 2 {
		t.Fatalf("after restart: %+v", rep.EHR)
	}
}

// TestEHRPushRefused: an EHR that refuses the Appointment (422) or the
// token (401) is not asked again until the Appointment changes.
func TestEHRPushRefused(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusUnprocessableEntity} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, `{"resourceType":"OperationOutcome"}`)
		}))
		defer hs.Close()
		e := newEnv(t, Spec{}, Options{EHR: &EHR{BaseURL: hs.URL, Token: "t"}}, "a1")
		e.remote.write("cancellations_1.csv", rows("a1;;;;p;CANCELLED by USER"))
		e.poll(0)
		rep := e.poll(2 * time.Minute)
		if len(rep.EHR) != 1 || rep.EHR[0].Status != status || !rep.EHR[0].Dead || rep.EHR[0].Err == nil {
			t.Fatalf("status %d: %+v", status, rep.EHR)
		}
		if rep = e.poll(24 * time.Hour); len(rep.EHR) != 0 {
			t.Fatalf("status %d: pushed again: %+v", status, rep.EHR)
		}
	}
}
