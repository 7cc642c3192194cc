package tuotempo

import (
	"context"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/booking"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/catalog"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/results"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/sincro"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/sso"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/wsapi"
)

// Online booking: tuOtempO calls the bridge's web services (the bridge is
// its WSClient), answered from the stored FHIR Schedules, Slots and
// Appointments; bookings go back to the EHR through the delivery queue.

// WSPrefix is where serve answers tuOtempO's web services: REST at
// WSPrefix+"rest/{operation}", SOAP at WSPrefix+"soap" (WSDL at ?wsdl).
const WSPrefix = wsapi.DefaultPrefix

var (
	_ bridge.ObserverProvider = (*Module)(nil)
	_ bridge.FlowProvider     = (*Module)(nil)
	_ bridge.TypeProvider     = (*Module)(nil)
)

// FHIRTypes are the resource types the EHR posts for online booking and
// results, beyond the endpoint's defaults: the schedule (Schedule, Slot),
// the catalogue (HealthcareService, PractitionerRole, InsurancePlan) and
// the results (DiagnosticReport, DocumentReference, Binary).
func (m *Module) FHIRTypes() []string {
	var types []string
	if m.cfg.Online != nil || m.cfg.Sincro != nil || len(m.cfg.Exports) > 0 {
		types = append(types, "Schedule", "Slot", "HealthcareService", "PractitionerRole", "InsurancePlan")
	}
	if m.cfg.Results != nil {
		types = append(types, "DiagnosticReport", "DocumentReference", "Binary")
	}
	return types
}

// Observers keeps the booking index (free Slots, Schedules, Appointments)
// current on every path that stores resources, when online booking is on.
func (m *Module) Observers() []delivery.Observer {
	if m.cfg.Online == nil {
		return nil
	}
	return []delivery.Observer{booking.IndexObserver(time.Now)}
}

// Flows is the write-back of bookings, moves and cancellations to the EHR
// (flow booking.Flow), when online booking is on.
func (m *Module) Flows() (map[string]delivery.Flow, error) {
	if m.cfg.Online == nil {
		return nil, nil
	}
	return booking.Flows(m.cfg.Online, m.root.EHRConfig())
}

// serveOnline answers tuOtempO's web services under WSPrefix: booking,
// key entities and centers, and the results when that section is set. It
// returns the booking service, which also books the temporary tables'
// rows.
func (m *Module) serveOnline(_ context.Context, env *bridge.ServeEnv) (*booking.Service, error) {
	on := m.cfg.Online
	svc, err := booking.New(on, env.Store, env.Router, env.Log)
	if err != nil {
		return nil, err
	}
	ops := svc.Operations()
	cat, err := catalog.Operations(env.Store, on.Centers, env.Log)
	if err != nil {
		return nil, err
	}
	ops = append(ops, cat...)
	if m.cfg.Results != nil {
		res, err := results.Operations(*m.cfg.Results, env.Store, env.Log)
		if err != nil {
			return nil, err
		}
		ops = append(ops, res...)
	}
	var reg ws.Registry
	for _, op := range ops {
		if err := reg.Add(op); err != nil {
			return nil, fmt.Errorf("%s.online: %w", section, err)
		}
	}
	env.Handle(WSPrefix, wsapi.Handler(&reg, on.Centers, wsapi.Options{
		Prefix:               WSPrefix,
		PublicURL:            on.PublicURL,
		AllowBasicWithoutTLS: on.AllowBasicWithoutTLS,
		Registerer:           env.Registry,
		Log:                  env.Log,
	}))
	if on.Slots.Source == booking.SourceEHR { // New refused the section without the ehr one
		ep := m.root.EHRConfig()
		env.Registry.MustRegister(svc.Metrics())
		env.GoSingleton("tuotempo/slot-sync", func(ctx context.Context) { svc.SyncSlots(ctx, ep) })
	}
	env.Log.Info("tuotempo online booking", "centers", len(on.Centers), "operations", len(reg.Operations()), "path", WSPrefix)
	return svc, nil
}

// serveSSO answers the patient single sign-on at sso.Path.
func (m *Module) serveSSO(env *bridge.ServeEnv) error {
	h, err := sso.Handler(*m.cfg.SSO, env.Store, env.Log)
	if err != nil {
		return err
	}
	env.Handle("POST "+sso.Path, h)
	return nil
}

// serveSincro publishes Sincro's views and temporary tables in the
// PostgreSQL store and takes the rows tuOtempO inserts, booked through the
// online service.
func (m *Module) serveSincro(env *bridge.ServeEnv, booker *booking.Service) error {
	cfg := m.cfg.Sincro
	lids := make([]string, len(m.cfg.Online.Centers))
	for i, c := range m.cfg.Online.Centers {
		lids[i] = c.LID
	}
	if err := cfg.DefaultCenter(lids); err != nil {
		return err
	}
	s, err := sincro.New(cfg, env.Store, booker, env.Log)
	if err != nil {
		return err
	}
	env.Router.Observe(s.Observer())
	env.GoSingleton("tuotempo/sincro", s.Run)
	return nil
}
