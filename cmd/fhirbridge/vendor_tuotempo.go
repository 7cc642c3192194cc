package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// The tuOtempO module: the file feed (scheduled exports, cancellation
// files) on its remote, and the remote's connection test.
func init() {
	bridge.RegisterModule(bridge.ModuleInfo{
		Name:    "tuotempo",
		Summary: "tuOtempO reminders: appointment exports and cancellation files over SFTP, FTP or a folder",
		New: func(cfg, root any) (bridge.Module, error) {
			return &tuotempoModule{c: root.(*config.Config), t: cfg.(*config.TuOtempO)}, nil
		},
	})
}

// tuotempoModule is the configured tuOtempO file feed.
type tuotempoModule struct {
	c *config.Config
	t *config.TuOtempO
}

// CheckConfig compiles the export jobs (mapping, schedule, file pattern
// and format) and the cancellation mappings, which must be reverse ones.
func (m *tuotempoModule) CheckConfig() error {
	var errs []error
	if _, err := exportJobs(m.c); err != nil {
		errs = append(errs, err)
	}
	for i, cc := range m.t.Cancellations {
		mp, err := loadMapping(cc.Mapping, nil, m.c.Dir())
		if err != nil {
			errs = append(errs, fmt.Errorf("connectors.tuotempo.cancellations[%d] (%s): %w", i, cc.Name, err))
		} else if mp.Direction() != mapping.Reverse {
			errs = append(errs, fmt.Errorf("connectors.tuotempo.cancellations[%d] (%s): mapping %s is not a reverse mapping", i, cc.Name, mp.Name()))
		}
	}
	return errors.Join(errs...)
}

// ConnectionChecks: the remote (SFTP, FTP or a local folder): log in (for
// SFTP, against the pinned host key), list the base folder, then write a
// small probe file with a unique hidden name and remove it.
func (m *tuotempoModule) ConnectionChecks() ([]bridge.Check, error) {
	rc := remoteConfig(m.t.Remote, m.c.Dir())
	if rc.Timeout <= 0 || rc.Timeout > checkTimeout {
		rc.Timeout = checkTimeout
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

// Serve runs the file feed: the scheduled exports and the inbound
// cancellation pollers, with their metrics.
func (m *tuotempoModule) Serve(ctx context.Context, env *bridge.ServeEnv) error {
	feed, err := newFiles(ctx, m.c, env.Store, env.Router, env.Log)
	if err != nil || feed == nil {
		return err
	}
	env.Registry.MustRegister(feed.collectors()...)
	env.Go(func(ctx context.Context) { feed.run(ctx, env.Store) })
	return nil
}
