package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/tyto"
)

// Tyto configures the TytoCare connector (connectors/tyto): the Vidyo
// portal tenants with TytoCare enabled. A route picks a tenant with its
// params.tenant, else DefaultTenant. Tenants are set in the file only (the
// environment overrides timeout and default_tenant).
type Tyto struct {
	// Tenants by name; at least one.
	Tenants map[string]*TytoTenant `yaml:"tenants"`
	// DefaultTenant is the tenant of a route that names none; optional
	// with a single tenant.
	DefaultTenant string `yaml:"default_tenant"`
	// Timeout of one call (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// TytoTenant is one portal tenant.
type TytoTenant struct {
	// PortalURL is the portal's base URL, e.g. https://portal.example.com.
	PortalURL string `yaml:"portal_url"`
	// Username and Password authenticate (HTTP Basic); Password is a
	// secret: {env: NAME} or {file: PATH}.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Paths override the API paths; each defaults to tyto.DefaultPaths
	// (only station, the retrieve path, is in the spec).
	Paths TytoPaths `yaml:"paths"`
}

// TytoPaths are the API paths of a tenant, relative to its portal URL;
// {identifier} stands for the escaped identifier.
type TytoPaths struct {
	// StationCreate, default /api/extintegration/tyto/v1/stations (POST).
	StationCreate string `yaml:"station_create"`
	// Station, default /api/extintegration/tyto/v1/stations/{identifier} (GET).
	Station string `yaml:"station"`
	// DevicePair, default /api/extintegration/tyto/v1/stations/{identifier}/devices (POST).
	DevicePair string `yaml:"device_pair"`
	// Clinician, default /api/extintegration/tyto/v1/clinicians/{identifier} (PUT).
	Clinician string `yaml:"clinician"`
	// VisitCreate, default /api/extintegration/tyto/v1/visits (POST).
	VisitCreate string `yaml:"visit_create"`
}

func (x *Tyto) fillDefaults() {
	if x.Timeout == 0 {
		x.Timeout = Duration(tyto.DefaultTimeout)
	}
	if x.DefaultTenant == "" && len(x.Tenants) == 1 {
		for name := range x.Tenants {
			x.DefaultTenant = name
		}
	}
	for _, t := range x.Tenants {
		if t == nil {
			continue
		}
		p, d := &t.Paths, tyto.DefaultPaths
		for _, f := range []struct {
			v   *string
			def string
		}{
			{&p.StationCreate, d.StationCreate}, {&p.Station, d.Station}, {&p.DevicePair, d.DevicePair},
			{&p.Clinician, d.Clinician}, {&p.VisitCreate, d.VisitCreate},
		} {
			if *f.v == "" {
				*f.v = f.def
			}
		}
	}
}

func (x *Tyto) validate() []error {
	var errs []error
	for name, t := range x.Tenants {
		if t == nil {
			errs = append(errs, fmt.Errorf("connectors.tyto.tenants.%s: empty", name))
		} else if !t.Password.Set() {
			errs = append(errs, fmt.Errorf("connectors.tyto.tenants.%s.password: missing ({env: NAME} or {file: PATH})", name))
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if _, err := tyto.New(x.ConnectorConfig()); err != nil {
		return []error{errors.New("connectors.tyto: " + err.Error())}
	}
	return nil
}

// ConnectorConfig is the section as the connector's own configuration.
func (x *Tyto) ConnectorConfig() tyto.Config {
	c := tyto.Config{Tenants: map[string]tyto.Tenant{}, DefaultTenant: x.DefaultTenant, Timeout: time.Duration(x.Timeout)}
	for name, t := range x.Tenants {
		if t == nil {
			continue
		}
		c.Tenants[name] = tyto.Tenant{PortalURL: t.PortalURL, Username: t.Username, Password: tyto.Secret(t.Password.Reveal()),
			Paths: tyto.Paths{StationCreate: t.Paths.StationCreate, Station: t.Paths.Station, DevicePair: t.Paths.DevicePair,
				Clinician: t.Paths.Clinician, VisitCreate: t.Paths.VisitCreate}}
	}
	return c
}
