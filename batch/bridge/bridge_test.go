package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// fakeConn is a connector that is never called.
type fakeConn struct{ connectors.Connector }

// fakeModule has every ability; routeless has none.
type fakeModule struct{ cfg string }

func (m *fakeModule) WireRoute(r Route) (Wiring, error) {
	if r.Params["bad"] != "" {
		return Wiring{}, errors.New("params.bad: refused")
	}
	return Wiring{Connector: fakeConn{}, Parent: "Patient"}, nil
}
func (m *fakeModule) ConnectionChecks() ([]Check, error) {
	return []Check{{Name: "testa", Target: m.cfg, Run: func(context.Context) (string, error) { return "", nil }}}, nil
}
func (m *fakeModule) CheckConfig() error  { return errors.New("connectors.testa.x: wrong") }
func (m *fakeModule) FHIRTypes() []string { return []string{"Device", "Patient"} }

type routeless struct{}

func init() {
	RegisterModule(ModuleInfo{Name: "testa", New: func(cfg, _ any) (Module, error) { return &fakeModule{cfg: cfg.(string)}, nil }})
	RegisterModule(ModuleInfo{Name: "testb", New: func(any, any) (Module, error) { return routeless{}, nil }})
	RegisterModule(ModuleInfo{Name: "testc", New: func(any, any) (Module, error) { return nil, errors.New("base_url: missing") }})
}

func TestRegisterModuleRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		info ModuleInfo
	}{
		{"empty name", ModuleInfo{New: func(any, any) (Module, error) { return nil, nil }}},
		{"upper case", ModuleInfo{Name: "Solo", New: func(any, any) (Module, error) { return nil, nil }}},
		{"no constructor", ModuleInfo{Name: "testz"}},
		{"twice", ModuleInfo{Name: "testa", New: func(any, any) (Module, error) { return nil, nil }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			RegisterModule(tc.info)
		})
	}
}

func TestInstances(t *testing.T) {
	sections := map[string]any{"testa": "A", "testb": "B", "testc": "C"}
	in, err := Build(func(name string) any { return sections[name] }, nil)
	if err == nil || !strings.Contains(err.Error(), "connectors.testc: base_url: missing") {
		t.Errorf("Build error = %v, want the failing module's, under its section", err)
	}
	if got := strings.Join(in.Names(), ","); got != "testa,testb" {
		t.Errorf("Names = %s", got)
	}
	m := mapping.Mapping{}
	cases := []struct {
		name, connector string
		params          map[string]string
		wantErr         string
	}{
		{"wired", "testa", nil, ""},
		{"module refuses", "testa", map[string]string{"bad": "1"}, "params.bad: refused"},
		{"takes no routes", "testb", nil, "connector testb takes no routes"},
		{"broken", "testc", nil, "connector testc cannot be built"},
		{"unknown", "nosuch", nil, `unknown connector "nosuch" (known: `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, err := in.Wire(tc.connector, Route{Name: "r", Resource: "Patient", Mapping: &m, Params: tc.params})
			switch {
			case tc.wantErr == "" && (err != nil || w.Connector == nil || w.Parent != "Patient"):
				t.Errorf("Wire = %+v, %v", w, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Wire error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	none, err := Build(func(string) any { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := none.Configured("testa"); err == nil || !strings.Contains(err.Error(), "connector testa is not configured (connectors.testa)") {
		t.Errorf("Configured = %v", err)
	}
	checks, err := in.ConnectionChecks()
	if err != nil || len(checks) != 1 || checks[0].Target != "A" {
		t.Errorf("ConnectionChecks = %+v, %v", checks, err)
	}
	if err := in.CheckConfig(); err == nil || !strings.Contains(err.Error(), "connectors.testa.x: wrong") {
		t.Errorf("CheckConfig = %v", err)
	}
	if got := strings.Join(in.FHIRTypes([]string{"Patient", "Appointment"}), ","); got != "Patient,Appointment,Device" {
		t.Errorf("FHIRTypes = %s", got)
	}
}

// TestSectionError: a module's error is prefixed with its section unless
// it names a key of that section already.
func TestSectionError(t *testing.T) {
	cases := []struct{ in, want string }{
		{"tenants.main: no portal_url", "connectors.x: tenants.main: no portal_url"},
		{"connectors.x.remote: local needs dir", "connectors.x.remote: local needs dir"},
		{"connectors.x: broken", "connectors.x: broken"},
		{"connectors.xy.remote: other module", "connectors.x: connectors.xy.remote: other module"},
	}
	for _, c := range cases {
		if got := sectionError("x", errors.New(c.in)).Error(); got != c.want {
			t.Errorf("sectionError(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
