package solo

import (
	"context"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestFetchVideoLinks runs the three link calls against the simulator,
// including the MS Teams call without its token (401) and an unknown
// appointment (404).
func TestFetchVideoLinks(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		said    string
		opt     VideoLinkOptions
		want    VideoLinks
		wantErr string
	}{
		{"provider and patient", "5001", VideoLinkOptions{},
			VideoLinks{Provider: "https://solo.sim/visit/5001/provider", Patient: "https://solo.sim/visit/5001"}, ""},
		{"with MS Teams", "5001", VideoLinkOptions{MSTeams: true, TeamsAuthToken: "teams"},
			VideoLinks{Provider: "https://solo.sim/visit/5001/provider", Patient: "https://solo.sim/visit/5001",
				MSTeams: "https://teams.microsoft.com/v2/?meetingjoin=true&sim=5001"}, ""},
		{"MS Teams without its token", "5001", VideoLinkOptions{MSTeams: true},
			VideoLinks{Provider: "https://solo.sim/visit/5001/provider", Patient: "https://solo.sim/visit/5001"}, "solo answered 401"},
		{"unknown appointment", "9999", VideoLinkOptions{}, VideoLinks{}, "solo answered 404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.c.FetchVideoLinks(ctx, tc.said, tc.opt)
			if got != tc.want {
				t.Errorf("links %+v, want %+v", got, tc.want)
			}
			if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestVideoLinkerDeliver: the links come back as attributes after a create
// and an update; a failed links call neither fails nor repeats the create
// and is recorded in linksError; a cancel fetches nothing.
func TestVideoLinkerDeliver(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 0)
	ctx := context.Background()
	l := WithVideoLinks(e.c, VideoLinkOptions{MSTeams: true, TeamsAuthToken: "teams"})
	if _, err := l.Deliver(ctx, patientCreate(t, true)); err != nil {
		t.Fatal(err)
	}
	res, err := l.Deliver(ctx, apptCreate(t, "pat-1", true))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"visitUrl": "https://solo.sim/visit/5001", AttrProviderLink: "https://solo.sim/visit/5001/provider",
		AttrPatientLink: "https://solo.sim/visit/5001", AttrMSTeamsLink: "https://teams.microsoft.com/v2/?meetingjoin=true&sim=5001"}
	for k, v := range want {
		if res.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, res.Attributes[k], v)
		}
	}
	if _, ok := res.Attributes[AttrLinksError]; ok {
		t.Errorf("linksError set: %v", res.Attributes)
	}

	// a second appointment whose provider-link call fails
	e.sim.Inject(solosim.Fault{Method: "GET", Path: "/qapi/v1/appointments/*/provider-link", Status: 503, Times: 1})
	d := apptCreate(t, "pat-1", true)
	d.ResourceID, d.Key = "appt-2", "Appointment/appt-2/1"
	d.Body = body(t, strings.Replace(apptJSON, `"appt-1"`, `"appt-2"`, 1))
	res, err = l.Deliver(ctx, d)
	if err != nil || res.VendorID != "5002" {
		t.Fatalf("create with a failing links call: %+v %v", res, err)
	}
	if !strings.Contains(res.Attributes[AttrLinksError], "provider link") || !strings.Contains(res.Attributes[AttrLinksError], "503") {
		t.Errorf("linksError = %q", res.Attributes[AttrLinksError])
	}
	if res.Attributes[AttrPatientLink] != "https://solo.sim/visit/5002" || res.Attributes[AttrProviderLink] != "https://solo.sim/visit/5002/provider" {
		t.Errorf("the other links are missing: %v", res.Attributes)
	}
	if n := len(e.sim.Appointments()); n != 2 {
		t.Fatalf("Solo has %d appointments, want 2", n)
	}

	// an update fetches them again; a cancel fetches nothing
	upd := apptCreate(t, "pat-1", true)
	upd.Op, upd.VendorID, upd.Key = connectors.Update, "5001", "Appointment/appt-1/2"
	if res, err = l.Deliver(ctx, upd); err != nil || res.Attributes[AttrProviderLink] == "" {
		t.Fatalf("update: %+v %v", res, err)
	}
	before := len(e.sim.Requests())
	upd.Op, upd.Key = connectors.Cancel, "Appointment/appt-1/3"
	if _, err = l.Deliver(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Requests()) - before; n != 1 {
		t.Errorf("a cancel made %d requests, want 1", n)
	}
}
