package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	_ "github.com/fhirbridge/fhirbridge/batch/console/ops" // Dashboard, Deliveries, Exports and files
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// consolePruneEvery is how often serve deletes expired console sessions
// and old failed-login rows.
const consolePruneEvery = 10 * time.Minute

// startConsole builds the operator console when console.enabled says so
// (auto: when a console user exists) and mounts it under /console/ on mux,
// or on its own listener at console.listen. goFunc runs background work
// (the session pruner). The returned stop shuts the own listener down
// (a no-op otherwise); addr is where the console answers ("" when off or
// on mux).
func startConsole(ctx context.Context, c *config.Config, st *store.Store, ops console.Ops, log *slog.Logger, mux *http.ServeMux,
	goFunc func(func(ctx context.Context))) (addr string, stop func(context.Context) error, err error) {
	stop = func(context.Context) error { return nil }
	switch c.Console.Enabled {
	case config.ConsoleFalse:
		return "", stop, nil
	case config.ConsoleAuto, "":
		has, err := console.HasUsers(ctx, st)
		if err != nil {
			return "", stop, fmt.Errorf("console: %w", err)
		}
		if !has {
			log.Info("console off: no console user (add one with fhirbridge console user add, or set console.enabled)")
			return "", stop, nil
		}
	}
	idle, abs := time.Duration(c.Console.IdleTimeout), time.Duration(c.Console.AbsoluteTimeout)
	opts := console.Options{Store: st, Config: c, Logger: log, IdleTimeout: idle, AbsoluteTimeout: abs, Ops: ops}
	if o := c.Console.OIDC; o != nil {
		roles := map[string]console.Role{}
		for v, name := range o.Roles {
			r, err := console.ParseRole(name)
			if err != nil {
				return "", stop, fmt.Errorf("console.oidc.roles.%s: %w", v, err)
			}
			roles[v] = r
		}
		opts.OIDC = &console.OIDCOptions{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Reveal(),
			RedirectURL: o.RedirectURL, UserClaim: o.UserClaim, RoleClaim: o.RoleClaim, Roles: roles}
	}
	srv, err := console.New(opts)
	if err != nil {
		return "", stop, err
	}
	goFunc(func(ctx context.Context) {
		t := time.NewTicker(consolePruneEvery)
		defer t.Stop()
		for {
			if err := console.PruneSessions(ctx, st, time.Now(), idle, abs); err != nil && ctx.Err() == nil {
				log.Warn("console: pruning sessions", "error", err.Error())
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	if c.Console.Listen == "" {
		mux.Handle("/console/", srv)
		log.Info("console on", "path", "/console/", "addr", c.Server.Listen)
		return "", stop, nil
	}
	own := http.NewServeMux()
	own.Handle("/console/", srv)
	own.Handle("/{$}", http.RedirectHandler("/console/", http.StatusSeeOther))
	hs := server.NewHTTPServer(c.Console.Listen, own)
	if c.Server.TLS.CertFile != "" {
		if hs.TLSConfig, err = tlsConfig(config.TLS{CertFile: c.Server.TLS.CertFile, KeyFile: c.Server.TLS.KeyFile}); err != nil {
			return "", stop, err
		}
	}
	ln, err := net.Listen("tcp", c.Console.Listen)
	if err != nil {
		return "", stop, fmt.Errorf("console.listen %s: %w", c.Console.Listen, err)
	}
	errc := make(chan error, 1)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, c.Server.TLS.CertFile, c.Server.TLS.KeyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	log.Info("console on", "path", "/console/", "addr", ln.Addr().String(), "tls", hs.TLSConfig != nil)
	return ln.Addr().String(), func(ctx context.Context) error {
		if err := hs.Shutdown(ctx); err != nil {
			return fmt.Errorf("shutting the console down: %w", err)
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("console listener: %w", err)
		}
		return nil
	}, nil
}
