package solo

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

const (
	patientJSON = `{"mrn":"MRN-CANARY-7731","name":[{"use":"usual","family":"Canaryson","firstName":"Tweety","middleName":"","lastName":"Canaryson"}],"birthDate":"1983-08-15","gender":"male","active":true,"deceased":false}`
	apptJSON    = `{"date":1499441179,"reasons":["headache"],"duration":900,"waitingRoom":"Default Waiting Room Name 1","externalId":"appt-1"}`
)

// env is a simulator served over HTTP and a connector pointing at it.
type env struct {
	sim *solosim.Sim
	srv *httptest.Server
	c   *Connector
}

func newEnv(t *testing.T, opt solosim.Options, timeout time.Duration) *env {
	t.Helper()
	sim := solosim.New(opt)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { _ = sim.Close(); srv.Close() })
	return &env{sim: sim, srv: srv, c: mustNew(t, Config{BaseURL: srv.URL, APIKey: solosim.DefaultAPIKey, Timeout: timeout})}
}

func mustNew(t *testing.T, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func body(t *testing.T, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func patientCreate(t *testing.T, fresh bool) connectors.Delivery {
	return connectors.Delivery{Flow: FlowPatient, Key: "Patient/pat-1/1", ResourceType: "Patient", ResourceID: "pat-1",
		Op: connectors.Create, Body: body(t, patientJSON), Fresh: fresh}
}

func apptCreate(t *testing.T, parent string, fresh bool) connectors.Delivery {
	return connectors.Delivery{Flow: FlowAppointment, Key: "Appointment/appt-1/1", ResourceType: "Appointment", ResourceID: "appt-1",
		Op: connectors.Create, Body: body(t, apptJSON), Parent: parent, Fresh: fresh}
}
