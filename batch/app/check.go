package app

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// CheckConfig loads a serve configuration, opens every file serve would
// read (config.Preflight), tries to listen on server.listen, and checks
// each route against its mapping and connector, reporting every problem at
// once. note is a remark that is not a failure (the address is in use).
func CheckConfig(path string) (c *config.Config, note string, err error) {
	c, err = config.Load(path, os.Environ())
	if err != nil {
		return nil, "", err
	}
	var errs []error
	if err := c.Preflight(); err != nil {
		errs = append(errs, err)
	}
	note, err = probeListen(c.Server.Listen)
	if err != nil {
		errs = append(errs, err)
	}
	if c.Console.Listen != "" && c.Console.Enabled != config.ConsoleFalse {
		cnote, err := probeListenKey("console.listen", c.Console.Listen)
		if err != nil {
			errs = append(errs, err)
		}
		if cnote != "" {
			note = strings.TrimSpace(note + "\n" + cnote)
		}
	}
	mods, err := Modules(c)
	if err != nil {
		errs = append(errs, err)
	}
	if c.HL7v2.Listen != "" { // serve would refuse to start without them
		if _, err := hl7v2Translators(c); err != nil {
			errs = append(errs, err)
		}
	}
	for i, r := range c.Routes {
		where := fmt.Sprintf("routes[%d] (%s)", i, r.Name)
		m, err := bridge.LoadMapping(r.Mapping, r.Params, c.Dir())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: mapping: %w", where, err))
		} else if m.Direction() != mapping.Forward || m.SourceType() != r.Resource {
			errs = append(errs, fmt.Errorf("%s: mapping %s maps %s, not the route's resource %s", where, m.Name(), m.SourceType(), r.Resource))
		}
		if r.When != "" {
			opt := fhirpath.Options{}
			if fhirpath.R4Known(r.Resource) {
				opt.Context = r.Resource // refuse paths R4 does not define
			}
			if _, err := fhirpath.Compile(r.When, opt); err != nil {
				errs = append(errs, fmt.Errorf("%s: when: %w", where, err))
			}
		}
		if m != nil {
			_, err = mods.Wire(r.Connector, bridge.Route{Name: r.Name, Resource: r.Resource, Mapping: m, Params: r.Params})
		} else {
			err = mods.Configured(r.Connector)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if err := mods.CheckConfig(); err != nil {
		errs = append(errs, err)
	}
	return c, note, errors.Join(errs...)
}

// probeListen listens on addr and closes at once, so that an address
// serve could not bind (not an address of this machine, a port that needs
// privileges) fails check. An address in use is only a note: serve may be
// running already, with check validating its next configuration. Port 0
// (any free port) is not tried.
func probeListen(addr string) (note string, err error) { return probeListenKey("server.listen", addr) }

// probeListenKey is probeListen for the address of config key key.
func probeListenKey(key, addr string) (note string, err error) {
	if _, port, _ := net.SplitHostPort(addr); port == "0" {
		return "", nil
	}
	ln, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Sprintf("note: %s %s is in use now (serve running already?); serve needs it free", key, addr), nil
	case err != nil:
		return "", fmt.Errorf("%s %s: serve could not listen: %w", key, addr, err)
	}
	ln.Close()
	return "", nil
}
