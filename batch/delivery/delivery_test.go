package delivery

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func allDelivered(e *env, n int) func() bool {
	return func() bool { return len(e.jobs(StateDelivered)) == n }
}

func TestPatientThenAppointment(t *testing.T) {
	e := newEnv(t, Options{})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.put(solo.FlowAppointment, "Appointment", "appt-1", apptJSON("appt-1", "pat-1"))
	e.start()
	e.waitFor("both delivered", allDelivered(e, 2))
	appts := e.sim.Appointments()
	if len(appts) != 1 || appts[0].PatientID != "pat-1" || appts[0].ExternalID != "appt-1" {
		t.Fatalf("appointments = %+v", appts)
	}
	if id, err := e.st.VendorID(context.Background(), "solo", "Appointment", "appt-1"); err != nil || id == "" {
		t.Fatalf("appointment crosswalk = %q, %v", id, err)
	}
	for _, j := range e.jobs("") {
		if j.Attempts != 1 {
			t.Errorf("job %d attempts = %d, want 1", j.ID, j.Attempts)
		}
	}
}

func TestAppointmentWaitsForPatient(t *testing.T) {
	e := newEnv(t, Options{})
	e.put(solo.FlowAppointment, "Appointment", "appt-1", apptJSON("appt-1", "pat-1"))
	e.start()
	e.waitFor("a wait recorded", func() bool {
		js := e.jobs(StatePending)
		return len(js) == 1 && strings.Contains(js[0].LastError, "waiting for Patient/pat-1")
	})
	time.Sleep(50 * time.Millisecond)
	if n := len(e.requests("POST", "/qapi/v1/patients/")); n != 0 {
		t.Fatalf("%d appointment creates before the patient", n)
	}
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.waitFor("both delivered", allDelivered(e, 2))
	if got := e.sim.Appointments(); len(got) != 1 || got[0].PatientID != "pat-1" {
		t.Fatalf("appointments = %+v", got)
	}
	for _, j := range e.jobs("") {
		if j.Attempts != 1 { // waiting spends no attempt
			t.Errorf("%s job attempts = %d, want 1", j.ResourceType, j.Attempts)
		}
	}
}

func TestTransient503ThenRecovery(t *testing.T) {
	var mu sync.Mutex
	var events []RetryEvent
	e := newEnv(t, Options{BackoffBase: 20 * time.Millisecond, BackoffMax: 160 * time.Millisecond,
		BreakerThreshold: 3, BreakerCooldown: 30 * time.Millisecond,
		OnRetry: func(ev RetryEvent) { mu.Lock(); events = append(events, ev); mu.Unlock() }})
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Status: 503, Times: 12})
	ids := []string{"p1", "p2", "p3", "p4"}
	for _, id := range ids {
		e.put(solo.FlowPatient, "Patient", id, patientJSON(id))
	}
	e.start()
	e.waitFor("all delivered", allDelivered(e, len(ids)))
	if n := len(e.sim.Patients()); n != len(ids) {
		t.Fatalf("simulator has %d patients, want %d", n, len(ids))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) < 4 {
		t.Fatalf("only %d retries recorded", len(events))
	}
	distinct := map[time.Duration]bool{}
	for _, ev := range events {
		want := backoffCap(20*time.Millisecond, 160*time.Millisecond, ev.Attempt)
		if ev.Cap != want || ev.Delay < 0 || ev.Delay > ev.Cap {
			t.Errorf("attempt %d: delay %v cap %v, want within [0, %v]", ev.Attempt, ev.Delay, ev.Cap, want)
		}
		distinct[ev.Delay] = true
	}
	if len(distinct) < len(events)/2 {
		t.Errorf("delays not jittered: %d distinct of %d", len(distinct), len(events))
	}
	if backoffCap(20*time.Millisecond, 160*time.Millisecond, 2) <= backoffCap(20*time.Millisecond, 160*time.Millisecond, 1) {
		t.Error("backoff bound does not grow")
	}
	if len(e.jobs(StateDeadLetter)) != 0 {
		t.Error("a transient failure was dead-lettered")
	}
	attempts := e.r.metrics.attempts
	if got := testutil.ToFloat64(attempts.WithLabelValues("solo", solo.FlowPatient, outcomeDelivered)); got != float64(len(ids)) {
		t.Errorf("delivered attempts metric = %v, want %d", got, len(ids))
	}
	if got := testutil.ToFloat64(attempts.WithLabelValues("solo", solo.FlowPatient, outcomeRetry)); got != float64(len(events)) {
		t.Errorf("retry attempts metric = %v, want %d (one per retry event)", got, len(events))
	}
	if n := testutil.CollectAndCount(e.r.Metrics(), "fhirbridge_delivery_latency_seconds"); n != 1 {
		t.Errorf("latency histogram series = %d, want 1", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Status: 429, RetryAfter: "1", Times: 1})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.start()
	e.waitFor("delivered", allDelivered(e, 1))
	reqs := e.sim.Requests()
	if len(reqs) < 2 || reqs[0].Status != 429 {
		t.Fatalf("requests = %+v", reqs)
	}
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < time.Second {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
}

func TestPermanentDeadLetteredThenRetried(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Status: 422, Times: 1})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.start()
	e.waitFor("dead-lettered", func() bool { return len(e.jobs(StateDeadLetter)) == 1 })
	time.Sleep(50 * time.Millisecond)
	dl := e.jobs(StateDeadLetter)
	if len(dl) != 1 || dl[0].Attempts != 1 || !strings.Contains(dl[0].LastError, "422") {
		t.Fatalf("dead letters = %+v", dl)
	}
	if n := len(e.requests("POST", "/qapi/v1/patients")); n != 1 {
		t.Fatalf("%d requests for a 422, want 1", n)
	}
	q := e.r.Queue()
	ctx := context.Background()
	if err := q.Retry(ctx, dl[0].ID); err != nil {
		t.Fatal(err)
	}
	e.waitFor("delivered after retry", allDelivered(e, 1))
	if err := q.Discard(ctx, dl[0].ID); !errors.Is(err, ErrState) {
		t.Fatalf("discarding a delivered job: %v, want ErrState", err)
	}
	if _, err := q.Show(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("showing a missing job: %v", err)
	}
	if n := len(e.sim.Patients()); n != 1 {
		t.Fatalf("%d patients", n)
	}
}

func TestTimeoutAfterCommitCreatesOnce(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", TimeoutAfterCommit: true, Times: 1})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.start()
	e.waitFor("delivered", allDelivered(e, 1))
	if n := len(e.sim.Patients()); n != 1 {
		t.Fatalf("simulator has %d patients, want exactly 1", n)
	}
	if n := len(e.requests("POST", "/qapi/v1/patients")); n != 1 {
		t.Fatalf("%d creates, want 1 (a retry must look up first)", n)
	}
	if id, err := e.st.VendorID(context.Background(), "solo", "Patient", "pat-1"); err != nil || id != "pat-1" {
		t.Fatalf("crosswalk = %q, %v", id, err)
	}
}

func TestUpdatesInOrder(t *testing.T) {
	e := newEnv(t, Options{Concurrency: 4})
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Status: 503, Times: 3})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	v2 := strings.Replace(patientJSON("pat-1"), `"male"`, `"female"`, 1)
	if v := e.put(solo.FlowPatient, "Patient", "pat-1", v2); v != 2 {
		t.Fatalf("version = %d", v)
	}
	e.start()
	e.waitFor("both delivered", allDelivered(e, 2))
	var methods []string
	for _, r := range e.sim.Requests() {
		if r.Status < 300 && r.Status != 0 {
			methods = append(methods, r.Method)
		}
	}
	if strings.Join(methods, " ") != "POST PUT" {
		t.Fatalf("successful calls %v, want the v1 create then the v2 update", methods)
	}
	if p := e.sim.Patients(); len(p) != 1 || p[0].Doc["gender"] != "female" {
		t.Fatalf("patients = %d, want 1 with v2", len(p))
	}
}
