package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

// Instances are the modules of one configuration: one instance per
// registered vendor whose section is present.
type Instances struct {
	names  []string // configured, sorted
	byName map[string]Module
	broken map[string]bool // configured, but New failed
}

// Build makes the instance of every registered module whose config section
// section(name) returns non-nil. root is the whole application
// configuration (see ModuleInfo.New). Every module's error is reported,
// each prefixed with its section, connectors.<name>, unless it names a
// key of that section already.
func Build(section func(name string) any, root any) (*Instances, error) {
	in := &Instances{byName: map[string]Module{}, broken: map[string]bool{}}
	var errs []error
	for _, info := range Modules() {
		cfg := section(info.Name)
		if cfg == nil {
			continue
		}
		m, err := info.New(cfg, root)
		if err != nil {
			errs = append(errs, sectionError(info.Name, err))
			in.broken[info.Name] = true
			continue
		}
		in.names = append(in.names, info.Name)
		in.byName[info.Name] = m
	}
	return in, errors.Join(errs...)
}

// Names lists the configured modules, sorted.
func (in *Instances) Names() []string { return slices.Clone(in.names) }

// Get returns the instance of a configured module.
func (in *Instances) Get(name string) (Module, bool) {
	m, ok := in.byName[name]
	return m, ok
}

// Wire wires route r to the connector it names: an error says whether the
// connector is unknown (naming the known ones), not configured (naming its
// section), or takes no routes.
func (in *Instances) Wire(connector string, r Route) (Wiring, error) {
	if err := in.Configured(connector); err != nil {
		return Wiring{}, err
	}
	w, ok := in.byName[connector].(RouteWirer)
	if !ok {
		return Wiring{}, fmt.Errorf("connector %s takes no routes", connector)
	}
	wiring, err := w.WireRoute(r)
	if err != nil {
		return Wiring{}, err
	}
	if wiring.Connector == nil {
		return Wiring{}, fmt.Errorf("connector %s gave no connector for route %s", connector, r.Name)
	}
	return wiring, nil
}

// Configured reports why routes cannot name connector: it is unknown
// (naming the known ones) or not configured (naming its section); nil
// when it is configured.
func (in *Instances) Configured(connector string) error {
	if _, err := Lookup(connector); err != nil {
		return err
	}
	if in.broken[connector] {
		return fmt.Errorf("connector %s cannot be built (see the connectors.%s errors)", connector, connector)
	}
	if _, ok := in.byName[connector]; !ok {
		return fmt.Errorf("connector %s is not configured (connectors.%s)", connector, connector)
	}
	return nil
}

// Observers gathers the router observers of every configured module, in
// name order.
func (in *Instances) Observers() []delivery.Observer {
	var out []delivery.Observer
	for _, name := range in.names {
		if o, ok := in.byName[name].(ObserverProvider); ok {
			out = append(out, o.Observers()...)
		}
	}
	return out
}

// ConnectionChecks gathers the connection tests of every configured
// module, in name order.
func (in *Instances) ConnectionChecks() ([]Check, error) {
	var out []Check
	for _, name := range in.names {
		c, ok := in.byName[name].(ConnectionChecker)
		if !ok {
			continue
		}
		cs, err := c.ConnectionChecks()
		if err != nil {
			return nil, fmt.Errorf("connectors.%s: %w", name, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// CheckConfig runs every configured module's own config checks and
// reports all problems.
func (in *Instances) CheckConfig() error {
	var errs []error
	for _, name := range in.names {
		if c, ok := in.byName[name].(ConfigChecker); ok {
			if err := c.CheckConfig(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// FHIRTypes adds the resource types the configured modules take to base
// (the endpoint's defaults), each once, in order.
func (in *Instances) FHIRTypes(base []string) []string {
	out := slices.Clone(base)
	for _, name := range in.names {
		if p, ok := in.byName[name].(TypeProvider); ok {
			for _, t := range p.FHIRTypes() {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// Flows collects the configured modules' own flows (FlowProvider); a
// name two modules give is an error.
func (in *Instances) Flows() (map[string]delivery.Flow, error) {
	out := map[string]delivery.Flow{}
	for _, name := range in.names {
		p, ok := in.byName[name].(FlowProvider)
		if !ok {
			continue
		}
		fl, err := p.Flows()
		if err != nil {
			return nil, sectionError(name, err)
		}
		for k, f := range fl {
			if _, dup := out[k]; dup {
				return nil, sectionError(name, fmt.Errorf("flow %q is another module's", k))
			}
			out[k] = f
		}
	}
	return out, nil
}

// Serve runs every configured module's serve extension.
func (in *Instances) Serve(ctx context.Context, env *ServeEnv) error {
	for _, name := range in.names {
		if s, ok := in.byName[name].(ServeExtender); ok {
			if err := s.Serve(ctx, env); err != nil {
				return sectionError(name, err)
			}
		}
	}
	return nil
}
