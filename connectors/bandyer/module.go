package bandyer

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/bandyer/bandyersim"
)

// The Bandyer module: its config is Config, decoded from
// connectors.bandyer; its routes take Appointments (mapping
// bandyer/teleconsultation) with the intake check of IntakeCheck;
// check --connect GETs a room that need not exist; serve lets the
// connector read the record last delivered from the message log and
// counts immutable-period refusals.
func init() {
	connectors.Register(connectors.Factory{
		Name:    Name,
		Summary: "Bandyer Teleconsultation Service Backend: teleconsultations, participants, access links",
		New:     connectors.Typed(Name, New),
	})
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:      Name,
		Summary:   "Bandyer Teleconsultation Service Backend: virtual Appointments as teleconsultation rooms, access links back",
		CheckHelp: "GET /teleconsultation/{roomId} of a room that need not exist\n(the spec's 404 \"Room … not found on CRUD\" counts as reached)",
		Config:    func() any { return new(Config) },
		Sandbox:   bandyersim.Command,
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

// RecommendedWhen is the route condition the README recommends for the
// virtual Appointments: the R5 virtualService extension, or a service
// type coded "virtual".
const RecommendedWhen = "extension('http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService').exists() or serviceType.coding.where(code = 'virtual').exists()"

// module is the configured Bandyer connector.
type module struct{ conn *Connector }

var (
	_ bridge.RouteWirer        = (*module)(nil)
	_ bridge.ConnectionChecker = (*module)(nil)
	_ bridge.ConfigChecker     = (*module)(nil)
	_ bridge.ServeExtender     = (*module)(nil)
)

// WireRoute binds a route of the bandyer/teleconsultation mapping (or a
// site's mapping giving the same record) to the connector, with the
// intake check.
func (m *module) WireRoute(r bridge.Route) (bridge.Wiring, error) {
	if r.Resource != "" && r.Resource != "Appointment" {
		return bridge.Wiring{}, fmt.Errorf("bandyer routes take Appointment, not %s", r.Resource)
	}
	return bridge.Wiring{Connector: m.conn, Check: m.conn.IntakeCheck()}, nil
}

// ConnectionChecks is the connector's connection test (Probe).
func (m *module) ConnectionChecks() ([]bridge.Check, error) {
	ch, ok := bridge.ConnectorCheck(Name, m.conn.BaseURL(), m.conn)
	if !ok {
		return nil, errors.New("the bandyer connector has no connection test")
	}
	return []bridge.Check{ch}, nil
}

// CheckConfig checks the tables together (New checked each key): some
// group the table gives must be a plus group, or every room would be
// refused with "no plus user in room".
func (m *module) CheckConfig() error {
	s := m.conn.s
	var keys []string
	for k, g := range s.groups {
		if s.plus[g] {
			return nil
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Errorf("connectors.bandyer.groups: no entry (%v) maps to a plus group of connectors.bandyer.plus_groups %v: every room would be refused (no plus user in room)", keys, s.plusList())
}

// Serve lets the connector read the record last delivered for a resource
// from the message log (so an update PATCHes only what changed) and
// registers fhirbridge_bandyer_immutable_refusals_total.
func (m *module) Serve(_ context.Context, env *bridge.ServeEnv) error {
	if env.Store != nil {
		m.conn.SetPrevious(LastDelivered(env.Store))
	}
	if env.Registry != nil {
		env.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "fhirbridge_bandyer_immutable_refusals_total",
			Help: "Changes to Bandyer teleconsultations refused because they fell inside the immutable period.",
		}, func() float64 { return float64(m.conn.ImmutableRefusals()) }))
	}
	return nil
}

// LastDelivered reads the record last delivered to bandyer for a resource
// from st's message log (nil when none is logged, e.g. pruned).
func LastDelivered(st *store.Store) PreviousFunc {
	return func(ctx context.Context, typ, id string) ([]byte, error) {
		msgs, err := st.Messages(ctx, store.MessageFilter{Direction: store.Out, Vendor: Name,
			ResourceType: typ, ResourceID: id, Status: store.StatusDelivered})
		if err != nil {
			return nil, fmt.Errorf("reading the bandyer messages of %s/%s: %w", typ, id, err)
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if len(msgs[i].Body) == 0 {
				continue
			}
			return msgs[i].Body, nil
		}
		return nil, nil
	}
}
