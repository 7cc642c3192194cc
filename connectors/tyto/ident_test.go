package tyto_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tyto"
	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestCheckIdentifier(t *testing.T) {
	for _, tc := range []struct {
		name, v string
		max     int
		is      error
		class   string
	}{
		{"empty", "", 140, tyto.ErrEmptyIdentifier, ""},
		{"140 characters", strings.Repeat("a", 140), 140, nil, ""},
		{"141 characters", strings.Repeat("a", 141), 140, tyto.ErrIdentifierLength, ""},
		{"141 characters without a limit", strings.Repeat("a", 141), 0, nil, ""},
		{"allowed specials", "A-z_0.9", 140, nil, ""},
		{"space", "a b", 140, tyto.ErrSpecialCharacters, "space"},
		{"tab", "a\tb", 140, tyto.ErrSpecialCharacters, "space"},
		{"control", "a\x01b", 140, tyto.ErrSpecialCharacters, "control"},
		{"slash", "a/b", 140, tyto.ErrSpecialCharacters, "punctuation"},
		{"URL reserved", "a?b#c%d&e+f", 140, tyto.ErrSpecialCharacters, "punctuation"},
		{"quotes and brackets", `a"b'<c>`, 140, tyto.ErrSpecialCharacters, "punctuation"},
		{"non-ASCII letter", "José", 140, tyto.ErrNonASCII, ""},
		{"non-ASCII digit", "١٢", 140, tyto.ErrNonASCII, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tyto.CheckIdentifier(tc.v, tc.max)
			if !errors.Is(err, tc.is) || (tc.is == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			if err != nil && tc.v != "" && strings.Contains(err.Error(), tc.v) {
				t.Errorf("the error quotes the value: %v", err)
			}
			if tc.class != "" && !strings.Contains(err.Error(), tc.class) {
				t.Errorf("error %v does not name the class %s", err, tc.class)
			}
		})
	}
}

func TestRouteCheck(t *testing.T) {
	enc := func(id, extra string) *fhir.Value {
		return body(t, `{"resourceType":"Encounter","id":"`+id+`","status":"planned","class":{"code":"VR"}`+extra+`}`)
	}
	refs := `,"participant":[{"individual":{"reference":"Practitioner/dr-1"}}],"location":[{"location":{"reference":"Location/st-1"}}]`
	visitSys := func(v string) string {
		return refs + `,"identifier":[{"system":"urn:x","value":"` + v + `"}]`
	}
	for _, tc := range []struct {
		name, flow, system string
		res                *fhir.Value
		path, code         string // "" = accepted
	}{
		{"visit by id", tyto.FlowVisit, "", enc("e-1", refs), "", ""},
		{"visit without practitioner", tyto.FlowVisit, "", enc("e-1", `,"location":[{"location":{"reference":"Location/st-1"}}]`), "Encounter.participant", fhir.CodeRequired},
		{"visit without location", tyto.FlowVisit, "", enc("e-1", `,"participant":[{"individual":{"reference":"Practitioner/dr-1"}}]`), "Encounter.location", fhir.CodeRequired},
		{"visit identifier of 140", tyto.FlowVisit, "urn:x", enc("e-1", visitSys(strings.Repeat("v", 140))), "", ""},
		{"visit identifier of 141", tyto.FlowVisit, "urn:x", enc("e-1", visitSys(strings.Repeat("v", 141))), "Encounter.identifier[0].value", fhir.CodeValue},
		{"visit identifier non-ASCII", tyto.FlowVisit, "urn:x", enc("e-1", visitSys("visité")), "Encounter.identifier[0].value", fhir.CodeValue},
		{"visit identifier with a space", tyto.FlowVisit, "urn:x", enc("e-1", visitSys("v 1")), "Encounter.identifier[0].value", fhir.CodeValue},
		{"visit without the system", tyto.FlowVisit, "urn:other", enc("e-1", visitSys("v1")), "Encounter.identifier", fhir.CodeValue},
		{"station by id", tyto.FlowStation, "", body(t, `{"resourceType":"Location","id":"st-1"}`), "", ""},
		{"clinician with a bad identifier", tyto.FlowClinician, "urn:npi", body(t, `{"resourceType":"Practitioner","id":"p","identifier":[{"system":"urn:npi","value":"12/34"}]}`), "Practitioner.identifier[0].value", fhir.CodeValue},
		{"device without location", tyto.FlowDevice, "", body(t, `{"resourceType":"Device","id":"d1"}`), "Device.location", fhir.CodeRequired},
		{"device with location", tyto.FlowDevice, "", body(t, `{"resourceType":"Device","id":"d1","location":{"reference":"Location/st-1"}}`), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tyto.RouteCheck(tc.flow, tc.system)(tc.res)
			if tc.path == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var oo *fhir.OperationOutcome
			if !errors.As(err, &oo) || len(oo.Issues) == 0 {
				t.Fatalf("want an OperationOutcome, got %v", err)
			}
			is := oo.Issues[0]
			if is.Code != tc.code || len(is.Expression) == 0 || is.Expression[0] != tc.path {
				t.Fatalf("issue %+v, want %s at %s", is, tc.code, tc.path)
			}
		})
	}
	if tyto.RouteCheck("solo/patient", "") != nil {
		t.Error("a check for a flow tyto does not serve")
	}
}

func TestCheck(t *testing.T) {
	sim, c, _ := setup(t, "")
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("check: %v", err)
	}
	tc, _ := c.ForTenant("")
	if desc, err := tc.Probe(context.Background()); err != nil || desc != "GET /api/extintegration/tyto/v1/stations/{identifier}: HTTP 404, credentials accepted" {
		t.Fatalf("probe: %q %v", desc, err)
	}
	sim.SetTytoReachable(false)
	err := c.Check(context.Background())
	if !errors.Is(err, tyto.ErrTytoUnreachable) || err.Error() != "tenant main: HTTP 408: the portal cannot reach the Tyto server" {
		t.Fatalf("408: %v", err)
	}
	_, c, _ = setup(t, "wrong")
	err = c.Check(context.Background())
	if cl, _ := connectors.Classify(err); cl != connectors.Reconnect ||
		err.Error() != "tenant main: HTTP 401: username/password incorrect or this host's IP is not whitelisted on the Tyto server" {
		t.Fatalf("401: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatal("the password in the error")
	}
	srv := httptest.NewServer(tytosim.New(tytosim.Options{}))
	url := srv.URL
	srv.Close()
	c, _ = tyto.New(tyto.Config{Tenants: map[string]tyto.Tenant{"x": {PortalURL: url, Username: "u", Password: "p"}}})
	if err := c.Check(context.Background()); err == nil {
		t.Fatal("a stopped portal passed the check")
	} else if cl, _ := connectors.Classify(err); cl != connectors.Transient || !strings.HasPrefix(err.Error(), "tenant x: cannot reach the portal: ") {
		t.Fatalf("stopped portal: %s %v", cl, err)
	}
}

func TestConfig(t *testing.T) {
	good := tyto.Tenant{PortalURL: "https://portal.example", Username: "u", Password: "p"}
	for _, tc := range []struct {
		name string
		cfg  tyto.Config
		want string
	}{
		{"no tenants", tyto.Config{}, "no tenants"},
		{"two tenants, no default", tyto.Config{Tenants: map[string]tyto.Tenant{"a": good, "b": good}}, "default_tenant is required"},
		{"unknown default", tyto.Config{Tenants: map[string]tyto.Tenant{"a": good}, DefaultTenant: "b"}, "not among"},
		{"bad url", tyto.Config{Tenants: map[string]tyto.Tenant{"a": {PortalURL: "ftp://x", Username: "u", Password: "p"}}}, "portal_url"},
		{"no password", tyto.Config{Tenants: map[string]tyto.Tenant{"a": {PortalURL: "https://x", Username: "u"}}}, "password"},
		{"path without identifier", tyto.Config{Tenants: map[string]tyto.Tenant{"a": {PortalURL: "https://x", Username: "u", Password: "p",
			Paths: tyto.Paths{Station: "/stations"}}}}, "paths.station"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tyto.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	c, err := tyto.New(tyto.Config{Tenants: map[string]tyto.Tenant{"a": good, "b": good}, DefaultTenant: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ForTenant("zz"); err == nil {
		t.Error("an unknown tenant")
	}
	f, err := connectors.Lookup(tyto.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.New(tyto.Config{Tenants: map[string]tyto.Tenant{"a": good}}); err != nil {
		t.Fatal(err)
	}
}

// TestTenants: a route bound to a tenant reaches that tenant's portal only.
func TestTenants(t *testing.T) {
	simA, simB := tytosim.New(tytosim.Options{}), tytosim.New(tytosim.Options{Password: "other"})
	srvA, srvB := httptest.NewServer(simA), httptest.NewServer(simB)
	defer srvA.Close()
	defer srvB.Close()
	c, err := tyto.New(tyto.Config{DefaultTenant: "a", Tenants: map[string]tyto.Tenant{
		"a": {PortalURL: srvA.URL, Username: tytosim.DefaultUsername, Password: tytosim.DefaultPassword},
		"b": {PortalURL: srvB.URL, Username: tytosim.DefaultUsername, Password: "other"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.ForTenant("b")
	d := connectors.Delivery{Flow: tyto.FlowStation, Op: connectors.Create, Body: body(t, `{"identifier":"st-1"}`)}
	if _, err := b.Deliver(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if len(simA.Stations()) != 0 || len(simB.Stations()) != 1 {
		t.Fatalf("a %v, b %v", simA.Stations(), simB.Stations())
	}
	if s := fmt.Sprintf("%v %+v %#v", c, b, *b); strings.Contains(s, "other") || strings.Contains(s, tytosim.DefaultPassword) {
		t.Fatalf("a password printed: %s", s)
	}
}
