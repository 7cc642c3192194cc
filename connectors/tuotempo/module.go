// Package tuotempo is the tuOtempO module: tuOtempO sends appointment
// reminders from files. On a schedule it exports the stored Appointments
// as A.1.1 CSV files (or the TT_RESERVATIONS and TT_RESOURCES column
// sets) to an SFTP or FTP server or a folder; it polls the A.1.2
// cancellation files tuOtempO writes back and applies them to the stored
// Appointments (which flow on to the other vendors and, with the shared
// ehr section, to the EHR); and it mails notices of failed exports,
// cancellations and files in error to the site (the shared mail section).
// It takes no routes: what it exports is what serve stored.
package tuotempo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/booking"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/sincro"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/tmpfiles"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ttsim"
	"github.com/fhirbridge/fhirbridge/mapping"

	// the remote kinds the feed opens (connectors.OpenRemote by kind)
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/ftpremote"
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/localremote"
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/sftpremote"
)

// Name is the module's name: its config section, connectors.tuotempo.
const Name = "tuotempo"

// CheckTimeout bounds the connection test of `check --connect` (and the
// remote's own timeout, when longer).
var CheckTimeout = 10 * time.Second

// The tuOtempO module: its config is Config, decoded from
// connectors.tuotempo; serve runs the file feed (scheduled exports,
// cancellation pollers, notices); check --config compiles the jobs and
// opens the remote's files; check --connect tries the remote; `export
// tuotempo` runs the exports now and `files reprocess` re-reads a
// cancellation file.
func init() {
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:      Name,
		Summary:   "tuOtempO reminders: appointment exports and cancellation files over SFTP, FTP or a folder",
		CheckHelp: "one line named after connectors.tuotempo.remote.kind\n(sftp, ftp, local): log in (SFTP: against the pinned host\nkey), list the base folder, write a small hidden probe\nfile and remove it; check --config compiles its export\njobs and cancellation mappings",
		Config:    func() any { return new(Config) },
		Sample:    sample,
		Commands: func() []*cobra.Command {
			return []*cobra.Command{sincro.Command(Name, func(section any) *sincro.Config {
				if c, ok := section.(*Config); ok {
					return c.Sincro
				}
				return nil
			})}
		},
		CommandsSummary: "tuOtempO commands (Sincro's restricted PostgreSQL role)",
		Subcommands: map[string]func() []*cobra.Command{
			"export": func() []*cobra.Command { return []*cobra.Command{exportCmd()} },
		},
		Demo: demo,
		// `fhirbridge sandbox tuotempo`: tuOtempO's login server, a fake
		// EHR and tuOtempO's web service calls (package ttsim)
		Sandbox: ttsim.Command,
		New: func(cfg, root any) (bridge.Module, error) {
			r, err := bridge.RootOf(root)
			if err != nil {
				return nil, err
			}
			return New(cfg.(*Config), r)
		},
	})
}

// Module is the configured tuOtempO file feed.
type Module struct {
	cfg  *Config
	root bridge.Root
}

// New checks the section cfg (after filling its defaults in place) with
// the shared sections of root, each error naming its key; it opens no
// file and nothing on the network.
func New(cfg *Config, root bridge.Root) (*Module, error) {
	cfg.fillDefaults()
	errs := cfg.validate(root.MailConfig() != nil)
	if cfg.Online != nil && root.EHRConfig() == nil {
		errs = append(errs, fmt.Errorf("%s.online: bookings are written back to the EHR: the ehr section is required", section))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Module{cfg: cfg, root: root}, nil
}

// CheckConfig opens the remote's files (preflight), compiles the export
// jobs (mapping, schedule, file pattern and format) and the cancellation
// mappings, which must be reverse ones.
func (m *Module) CheckConfig() error {
	errs := m.cfg.preflight(m.root.Dir())
	if _, err := exportJobs(m.cfg, m.root.Dir()); err != nil {
		errs = append(errs, err)
	}
	for i, cc := range m.cfg.Cancellations {
		mp, err := bridge.LoadMapping(cc.Mapping, nil, m.root.Dir())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.cancellations[%d] (%s): %w", section, i, cc.Name, err))
		} else if mp.Direction() != mapping.Reverse {
			errs = append(errs, fmt.Errorf("%s.cancellations[%d] (%s): mapping %s is not a reverse mapping", section, i, cc.Name, mp.Name()))
		}
	}
	return errors.Join(errs...)
}

// ConnectionChecks: the remote (SFTP, FTP or a local folder): log in (for
// SFTP, against the pinned host key), list the base folder, then write a
// small probe file with a unique hidden name and remove it. The line is
// named after the remote's kind (sftp, ftp, local).
func (m *Module) ConnectionChecks() ([]bridge.Check, error) {
	if m.cfg.Remote.Kind == "" { // online only: tuOtempO calls us
		return nil, nil
	}
	rc := remoteConfig(m.cfg.Remote, m.root.Dir())
	if rc.Timeout <= 0 || rc.Timeout > CheckTimeout {
		rc.Timeout = CheckTimeout
	}
	target := rc.Dir
	if rc.Kind != "local" {
		port := rc.Port
		if port == 0 {
			port = map[string]int{"sftp": 22, "ftp": 21}[rc.Kind]
		}
		target = net.JoinHostPort(rc.Host, strconv.Itoa(port))
	}
	return []bridge.Check{{Name: rc.Kind, Target: target, Run: func(ctx context.Context) (string, error) {
		return probeRemote(ctx, rc)
	}}}, nil
}

// Serve opens the remote's files as check --config does (a missing key
// file stops serve at start, not at the first export), then runs the
// file feed: the scheduled exports and the inbound cancellation pollers,
// with their metrics.
func (m *Module) Serve(ctx context.Context, env *bridge.ServeEnv) error {
	var booker *booking.Service
	if m.cfg.Online != nil {
		var err error
		if booker, err = m.serveOnline(ctx, env); err != nil {
			return err
		}
	}
	if m.cfg.SSO != nil {
		if err := m.serveSSO(env); err != nil {
			return err
		}
	}
	if m.cfg.Sincro != nil {
		if err := m.serveSincro(env, booker); err != nil {
			return err
		}
	}
	if m.cfg.Remote.Kind == "" { // an online-only site: no file feed
		return nil
	}
	if err := errors.Join(m.cfg.preflight(m.root.Dir())...); err != nil {
		return err
	}
	feed, err := newFiles(ctx, m.cfg, m.root, env.Store, env.Router, env.Log, env.Node)
	if err != nil {
		return err
	}
	env.Registry.MustRegister(feed.collectors()...)
	env.Go(func(ctx context.Context) { feed.run(ctx, env.Store, env.Node) })
	if booker != nil {
		ps, err := m.cfg.TmpPollers(env.Store, booker)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			env.GoSingleton("tuotempo/tmpfiles", func(ctx context.Context) { tmpfiles.Run(ctx, ps, feed.open, env.Log) })
		}
	}
	return nil
}
