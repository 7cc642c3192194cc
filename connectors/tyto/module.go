package tyto

import (
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// The TytoCare module: its config is Config, decoded from connectors.tyto;
// routes go to a portal tenant; check --connect tries every tenant; the
// endpoint takes Device (a Tyto device, paired with the station of
// Device.location).
func init() {
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:      Name,
		Summary:   "TytoCare through the Vidyo portal: stations, devices, clinicians, visits",
		CheckHelp: "one line per tenant: GET a station that need not exist\n(401 and 408 worded as the spec's troubleshooting)",
		Config:    func() any { return new(Config) },
		Sandbox:   sandboxCmd,
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

// module is the configured Tyto connector.
type module struct{ conn *Connector }

// WireRoute binds the route to its tenant (params.tenant, else the
// default), waits for the visit's clinician and station (the pairing's
// station), and checks identifiers at intake with the route's
// params.identifier_system.
func (m *module) WireRoute(r bridge.Route) (bridge.Wiring, error) {
	tc, err := m.conn.ForTenant(r.Params["tenant"])
	if err != nil {
		return bridge.Wiring{}, fmt.Errorf("params.tenant: %w", err)
	}
	return bridge.Wiring{Connector: tc, Parents: Parents(r.Mapping.Name()),
		Check: RouteCheck(r.Mapping.Name(), r.Params["identifier_system"])}, nil
}

// ConnectionChecks: one check per tenant, through the tenant's own
// connection test (a GET of a station that need not exist; 401 and 408
// are worded as the spec's troubleshooting words them).
func (m *module) ConnectionChecks() ([]bridge.Check, error) {
	var out []bridge.Check
	for _, name := range m.conn.TenantNames() {
		tc, err := m.conn.ForTenant(name)
		if err != nil {
			return nil, fmt.Errorf("tenants.%s: %w", name, err)
		}
		ch, ok := bridge.ConnectorCheck(Name, name+" "+tc.PortalURL(), tc)
		if !ok {
			return nil, fmt.Errorf("the %s connector has no connection test", Name)
		}
		out = append(out, ch)
	}
	return out, nil
}

// FHIRTypes: Device, the Tyto devices paired with stations.
func (m *module) FHIRTypes() []string { return []string{"Device"} }
