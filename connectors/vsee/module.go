package vsee

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/vsee/vseesim"
)

// The VSee Clinic module: its config is Config, decoded from
// connectors.vsee; its routes take Patients (vsee/user), Appointments
// (vsee/visit, vsee/walkin) and ServiceRequests (vsee/econsult), the
// latter under the Patient's member id; check --connect signs a test
// member on.
func init() {
	connectors.Register(connectors.Factory{
		Name:    Name,
		Summary: "VSee Clinic: patients signed on, scheduled and walk-in visits, e-consults",
		New:     connectors.Typed(Name, New),
	})
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:      Name,
		Summary:   "VSee Clinic: Patients as members, Appointments as visits (invite link back), ServiceRequests as e-consults",
		CheckHelp: "POST /users/sso of a fixed test member (code fhirbridge-connection-test)\nwith api_key and api_secret; the SSO token is dropped",
		Config:    func() any { return new(Config) },
		Sandbox:   vseesim.Command,
		Sample:    sample,
		New: func(cfg, _ any) (bridge.Module, error) {
			conn, err := New(*cfg.(*Config))
			if err != nil {
				return nil, err
			}
			return &module{conn: conn}, nil
		},
	})
}

// WalkinWhen is the route condition the README recommends for the
// vsee/walkin route (and, negated, for vsee/visit): an appointmentType
// coded WALKIN (HL7 v2 table 0276).
const WalkinWhen = "appointmentType.coding.where(code = 'WALKIN').exists()"

// module is the configured VSee connector.
type module struct{ conn *Connector }

var (
	_ bridge.RouteWirer        = (*module)(nil)
	_ bridge.ConnectionChecker = (*module)(nil)
)

// WireRoute binds a route: Patients deliver on their own, Appointments
// and ServiceRequests under their Patient's member id.
func (m *module) WireRoute(r bridge.Route) (bridge.Wiring, error) {
	switch r.Resource {
	case "Patient":
		return bridge.Wiring{Connector: m.conn}, nil
	case "Appointment", "ServiceRequest":
		return bridge.Wiring{Connector: m.conn, Parent: "Patient"}, nil
	default:
		return bridge.Wiring{}, fmt.Errorf("vsee routes take Patient, Appointment or ServiceRequest, not %q", r.Resource)
	}
}

// ConnectionChecks is the connector's connection test (Probe).
func (m *module) ConnectionChecks() ([]bridge.Check, error) {
	ch, ok := bridge.ConnectorCheck(Name, m.conn.BaseURL(), m.conn)
	if !ok {
		return nil, errors.New("the vsee connector has no connection test")
	}
	return []bridge.Check{ch}, nil
}

var _ bridge.ServeExtender = (*module)(nil)

// Serve mounts POST /vsee/links when connectors.vsee.links.tokens holds a
// token, reading patients and their visits from the store.
func (m *module) Serve(_ context.Context, env *bridge.ServeEnv) error {
	if len(m.conn.s.linkTokens) == 0 {
		return nil
	}
	if env.Store == nil {
		return errors.New("connectors.vsee.links needs the store")
	}
	env.Handle(LinkPath, m.conn.LinkHandler(StoreLookup(env.Store), env.Log))
	return nil
}

// FHIRTypes are the resource types the VSee flows take beyond the
// endpoint's defaults: ServiceRequests that become e-consults.
func (m *module) FHIRTypes() []string { return []string{"ServiceRequest"} }
