package main

import (
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors/tyto"
)

// The TytoCare module: routes to a portal tenant, one connection test per
// tenant, and Device on the endpoint (a Tyto device, paired with the
// station of Device.location).
func init() {
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:    tyto.Name,
		Summary: "TytoCare through the Vidyo portal: stations, devices, clinicians, visits",
		New: func(cfg, _ any) (bridge.Module, error) {
			conn, err := tyto.New(cfg.(*config.Tyto).ConnectorConfig())
			if err != nil {
				return nil, err
			}
			return &tytoModule{conn: conn}, nil
		},
	})
}

// tytoModule is the configured Tyto connector.
type tytoModule struct{ conn *tyto.Connector }

// WireRoute binds the route to its tenant (params.tenant, else the
// default), waits for the visit's clinician and station (the pairing's
// station), and checks identifiers at intake with the route's
// params.identifier_system.
func (t *tytoModule) WireRoute(r bridge.Route) (bridge.Wiring, error) {
	tc, err := t.conn.ForTenant(r.Params["tenant"])
	if err != nil {
		return bridge.Wiring{}, fmt.Errorf("params.tenant: %w", err)
	}
	return bridge.Wiring{Connector: tc, Parents: tyto.Parents(r.Mapping.Name()),
		Check: tyto.RouteCheck(r.Mapping.Name(), r.Params["identifier_system"])}, nil
}

// ConnectionChecks: one check per tenant, through the connector's own
// connection test (a GET of a station that need not exist; 401 and 408
// are worded as the spec's troubleshooting words them).
func (t *tytoModule) ConnectionChecks() ([]bridge.Check, error) {
	var out []bridge.Check
	for _, name := range t.conn.TenantNames() {
		tc, err := t.conn.ForTenant(name)
		if err != nil {
			return nil, fmt.Errorf("tenants.%s: %w", name, err)
		}
		ch, ok := connectorCheck(tyto.Name, name+" "+tc.PortalURL(), tc)
		if !ok {
			return nil, fmt.Errorf("the %s connector has no connection test", tyto.Name)
		}
		out = append(out, ch)
	}
	return out, nil
}

// FHIRTypes: Device, the Tyto devices paired with stations.
func (t *tytoModule) FHIRTypes() []string { return []string{"Device"} }
