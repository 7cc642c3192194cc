package tyto_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tyto"
	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuf) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// setup starts a simulator and a connector with one tenant; password ""
// means the right one.
func setup(t *testing.T, password string) (*tytosim.Sim, *tyto.Connector, *lockedBuf) {
	t.Helper()
	sim := tytosim.New(tytosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	if password == "" {
		password = tytosim.DefaultPassword
	}
	c, err := tyto.New(tyto.Config{Tenants: map[string]tyto.Tenant{
		"main": {PortalURL: srv.URL, Username: tytosim.DefaultUsername, Password: tyto.Secret(password)}}})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuf{}
	c.SetCallLogger(slog.New(slog.NewTextHandler(logs, nil)))
	return sim, c, logs
}

func body(t *testing.T, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var long141 = strings.Repeat("v", 141)

// TestErrorTable drives every row of the spec's error table through the
// simulator and checks the outcome the bridge gives it.
func TestErrorTable(t *testing.T) {
	const (
		ok        = -1 // delivered
		permanent = connectors.Permanent
		transient = connectors.Transient
		reconnect = connectors.Reconnect
	)
	withDeps := `,"dependencies":{"station":{"name":"Room 1"},"clinician":{"firstName":"Ada","lastName":"Lovelace"}}`
	for _, tc := range []struct {
		row      string // the spec's row
		prepare  func(*tytosim.Sim)
		password string
		d        connectors.Delivery
		class    connectors.Class // or ok
		is       error
		statuses string // the statuses the simulator answered, in order
		after    func(*testing.T, *tytosim.Sim, connectors.Result)
	}{
		{row: "create station: 409 Station Already Exists → success, crosswalk linked",
			prepare: func(s *tytosim.Sim) { s.AddStation("st-1") },
			d:       connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Create, Body: body(t, `{"identifier":"st-1","name":"Room 1"}`)},
			class:   ok, statuses: "409",
			after: func(t *testing.T, _ *tytosim.Sim, r connectors.Result) {
				if r.VendorID != "st-1" {
					t.Errorf("vendor id %q", r.VendorID)
				}
			}},
		{row: "create station: 400 unsupported special characters → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Create, Body: body(t, `{"identifier":"st 1"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: "400"},
		{row: "create station: 422 empty identifier → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Create, Body: body(t, `{"identifier":""}`)},
			class: permanent, is: tyto.ErrEmptyIdentifier, statuses: "422"},
		{row: "retrieve station: 404 does not exist → the station is created again",
			d:     connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Update, VendorID: "st-2", Body: body(t, `{"identifier":"st-2"}`)},
			class: ok, statuses: "404,201",
			after: func(t *testing.T, s *tytosim.Sim, _ connectors.Result) {
				if _, ok := s.Stations()["st-2"]; !ok {
					t.Error("station not created again")
				}
			}},
		{row: "retrieve station: 400 unsupported characters → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Update, VendorID: "st#2", Body: body(t, `{"identifier":"st#2"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: "400"},
		{row: "retrieve station: empty identifier (the spec answers 405) → permanent, refused before sending (a visit whose station identifier is empty)",
			prepare: func(s *tytosim.Sim) { putClinician(s) },
			d: connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Fresh: true,
				Body: body(t, `{"identifier":"v-1","clinicianIdentifier":"dr-1","stationIdentifier":""`+withDeps+`}`)},
			class: permanent, is: tyto.ErrEmptyIdentifier, statuses: "404"},
		{row: "pair device: 404 station does not exist → station created again, pairing retried",
			d: connectors.Delivery{Flow: tyto.FlowDevice, Op: connectors.Create, Parents: map[string]string{"Location": "st-3"},
				Body: body(t, `{"identifier":"dev-1","serialNumber":"SN1"`+withDeps+`}`)},
			class: ok, statuses: "404,404,201,201",
			after: func(t *testing.T, s *tytosim.Sim, r connectors.Result) {
				if st := s.Stations()["st-3"]; len(st.Devices) != 1 || st.Devices[0] != "dev-1" || r.VendorID != "dev-1" {
					t.Errorf("station %+v, result %+v", st, r)
				}
			}},
		{row: "pair device: 404 station does not exist, no record to create it → permanent",
			d: connectors.Delivery{Flow: tyto.FlowDevice, Op: connectors.Create, Parents: map[string]string{"Location": "st-3"},
				Body: body(t, `{"identifier":"dev-1"}`)},
			class: permanent, is: tyto.ErrNoDependencyRecord, statuses: "404,404"},
		{row: "pair device: 400 unsupported characters → permanent",
			d: connectors.Delivery{Flow: tyto.FlowDevice, Op: connectors.Create, Parents: map[string]string{"Location": "st*3"},
				Body: body(t, `{"identifier":"dev-1"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: "400"},
		{row: "pair device: empty identifier (the spec answers 500) → permanent, refused before sending",
			d:     connectors.Delivery{Flow: tyto.FlowDevice, Op: connectors.Create, Body: body(t, `{"identifier":"dev-1"}`)},
			class: permanent, is: tyto.ErrEmptyIdentifier, statuses: ""},
		{row: "pair device: station identifier .. → permanent, refused before sending",
			d: connectors.Delivery{Flow: tyto.FlowDevice, Op: connectors.Create, Parents: map[string]string{"Location": ".."},
				Body: body(t, `{"identifier":"dev-1"}`)},
			class: permanent, is: connectors.ErrPathSegment, statuses: ""},
		{row: "retrieve station: identifier . → permanent, refused before sending",
			d:     connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Update, VendorID: ".", Body: body(t, `{"identifier":"st-2"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: ""},
		{row: "pair device: another 500 → transient",
			prepare: func(s *tytosim.Sim) {
				s.AddStation("st-4")
				s.Inject(tytosim.Fault{Method: "POST", Status: 500, Times: 1})
			},
			d: connectors.Delivery{Flow: tyto.FlowDevice, Op: connectors.Create, Parents: map[string]string{"Location": "st-4"},
				Body: body(t, `{"identifier":"dev-1"}`)},
			class: transient, is: tyto.ErrServer, statuses: "500"},
		{row: "clinician: empty identifier (the spec answers 404 [Empty Identifier]) → permanent, refused before sending",
			d:     connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Create, Body: body(t, `{"identifier":"","lastName":"L"}`)},
			class: permanent, is: tyto.ErrEmptyIdentifier, statuses: ""},
		{row: "clinician: identifier .. → permanent, refused before sending",
			d:     connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Create, Body: body(t, `{"identifier":"..","lastName":"L"}`)},
			class: permanent, is: connectors.ErrPathSegment, statuses: ""},
		{row: "clinician: 404 [Invalid Identifier] → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Create, Body: body(t, `{"identifier":"`+long141+`"}`)},
			class: permanent, is: tyto.ErrClinicianInvalid, statuses: "404"},
		{row: "clinician: 400 unsupported special characters → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Create, Body: body(t, `{"identifier":"dr 1"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: "400"},
		{row: "clinician: created, then updated by the same PUT",
			prepare: func(s *tytosim.Sim) { putClinician(s) },
			d:       connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Update, VendorID: "dr-1", Body: body(t, `{"identifier":"dr-1"}`)},
			class:   ok, statuses: "200"},
		{row: "visit: 422 empty identifier → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Body: body(t, `{"identifier":""}`)},
			class: permanent, is: tyto.ErrEmptyIdentifier, statuses: "422"},
		{row: "visit: 400 unsupported characters → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Body: body(t, `{"identifier":"v/1"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: "400"},
		{row: "visit: 400 over 140 characters → permanent",
			d:     connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Body: body(t, `{"identifier":"`+long141+`"}`)},
			class: permanent, is: tyto.ErrInvalidIdentifier, statuses: "400"},
		{row: "visit: 404 invalid clinician → clinician created again, visit retried",
			prepare: func(s *tytosim.Sim) { s.AddStation("st-1") },
			d: connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Fresh: true,
				Parents: map[string]string{"Practitioner": "dr-9", "Location": "st-1"},
				Body:    body(t, `{"identifier":"v-2"`+withDeps+`}`)},
			class: ok, statuses: "404,200,201,201",
			after: func(t *testing.T, s *tytosim.Sim, r connectors.Result) {
				if _, ok := s.Clinicians()["dr-9"]; !ok || r.VendorID != "V-000001" || r.Attributes["status"] != "scheduled" {
					t.Errorf("clinicians %v, result %+v", s.Clinicians(), r)
				}
			}},
		{row: "visit: 404 invalid station → station created again, visit retried",
			prepare: func(s *tytosim.Sim) { putClinician(s) },
			d: connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Fresh: true,
				Parents: map[string]string{"Practitioner": "dr-1", "Location": "st-8"},
				Body:    body(t, `{"identifier":"v-3"`+withDeps+`}`)},
			class: ok, statuses: "404,404,201,200,201"},
		{row: "visit: 404 and no record to create the dependency → permanent with the reason",
			d: connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Fresh: true,
				Parents: map[string]string{"Practitioner": "dr-1", "Location": "st-8"}, Body: body(t, `{"identifier":"v-4"}`)},
			class: permanent, is: tyto.ErrNoDependencyRecord, statuses: "404,404"},
		{row: "401 → reconnect, in the spec's words",
			password: "wrong",
			d:        connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Create, Body: body(t, `{"identifier":"dr-1"}`)},
			class:    reconnect, is: tyto.ErrUnauthorized, statuses: "401"},
		{row: "401 (IP not whitelisted) → reconnect",
			prepare: func(s *tytosim.Sim) { s.SetWhitelisted(false) },
			d:       connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Create, Body: body(t, `{"identifier":"st-1"}`)},
			class:   reconnect, is: tyto.ErrUnauthorized, statuses: "401"},
		{row: "408 → transient, in the spec's words",
			prepare: func(s *tytosim.Sim) { s.SetTytoReachable(false) },
			d:       connectors.Delivery{Flow: tyto.FlowVisit, Op: connectors.Create, Body: body(t, `{"identifier":"v-1"}`)},
			class:   transient, is: tyto.ErrTytoUnreachable, statuses: "408"},
	} {
		t.Run(tc.row, func(t *testing.T) {
			sim, c, logs := setup(t, tc.password)
			if tc.prepare != nil {
				tc.prepare(sim)
			}
			before := len(sim.Requests())
			tc.d.ResourceType, tc.d.ResourceID = "X", "res-1"
			res, err := c.Deliver(context.Background(), tc.d)
			var got []string
			for _, r := range sim.Requests()[before:] {
				got = append(got, strconv.Itoa(r.Status))
			}
			if s := strings.Join(got, ","); s != tc.statuses {
				t.Errorf("simulator answered %s, want %s", s, tc.statuses)
			}
			if tc.class == ok {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
			} else {
				if err == nil {
					t.Fatalf("want a %s failure, got success %+v", tc.class, res)
				}
				if cl, _ := connectors.Classify(err); cl != tc.class {
					t.Errorf("class %s, want %s (%v)", cl, tc.class, err)
				}
				if !errors.Is(err, tc.is) {
					t.Errorf("error %v is not %v", err, tc.is)
				}
			}
			if tc.after != nil {
				tc.after(t, sim, res)
			}
			if n := strings.Count(logs.String(), "msg=\"tyto call\""); n != len(got) {
				t.Errorf("%d call log lines for %d calls:\n%s", n, len(got), logs)
			}
			for _, bad := range []string{"st 1", "st#2", "st-2 ", long141, "Lovelace"} {
				if strings.Contains(logs.String(), bad) || (err != nil && strings.Contains(err.Error(), bad)) {
					t.Errorf("a value (%q) in the log or error", bad)
				}
			}
		})
	}
}

func putClinician(s *tytosim.Sim) { s.AddClinician("dr-1") }
