package delivery

import (
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func TestBreaker(t *testing.T) {
	b := newBreaker(2, time.Second)
	t0 := time.Unix(0, 0)
	if b.failure("v", t0, false) || b.state("v", t0) != circuitClosed {
		t.Fatal("opened before the threshold")
	}
	if !b.failure("v", t0, false) || b.state("v", t0.Add(999*time.Millisecond)) != circuitOpen {
		t.Fatal("not open at the threshold")
	}
	if b.state("v", t0.Add(time.Second)) != circuitProbe {
		t.Fatal("not probing after the cool-down")
	}
	if !b.failure("v", t0.Add(time.Second), false) || b.state("v", t0.Add(1500*time.Millisecond)) != circuitOpen {
		t.Fatal("a failed probe did not reopen")
	}
	b.success("v")
	if b.state("v", t0) != circuitClosed || b.state("other", t0) != circuitClosed {
		t.Fatal("not closed after a success")
	}
}

func TestReconnectStaysPending(t *testing.T) {
	var events []RetryEvent
	e := newEnv(t, Options{BreakerCooldown: 200 * time.Millisecond, OnRetry: func(ev RetryEvent) { events = append(events, ev) }})
	e.sim.Inject(solosim.Fault{Path: "/qapi/v1/patients", Status: 401, Times: 2})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.start()
	e.waitFor("delivered", allDelivered(e, 1))
	e.stop()
	if len(e.jobs(StateDeadLetter)) != 0 || len(events) != 2 {
		t.Fatalf("retries %+v", events)
	}
	reqs := e.sim.Requests()
	if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 200*time.Millisecond {
		t.Fatalf("retried %v after a reconnect failure, before the circuit's cool-down", gap)
	}
}
