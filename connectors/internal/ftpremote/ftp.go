// Package ftpremote is the "ftp" kind of connectors.Remote: a folder on an
// FTP server (github.com/jlaffaye/ftp), with explicit TLS (AUTH TLS, RFC
// 4217) on the control and data connections when RemoteConfig.TLS is set.
//
// Put stores to a hidden temporary name in the same folder (STOR),
// compares the server's size (SIZE, or the listing) with the bytes sent
// and renames it (RNFR/RNTO) over the final name. An open file (Open)
// holds the control connection: close it before the next call.
package ftpremote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// Kind is the RemoteConfig.Kind of an FTP server.
const Kind = "ftp"

// DefaultTimeout bounds connecting and each operation when
// RemoteConfig.Timeout is 0.
const DefaultTimeout = 30 * time.Second

func init() { connectors.RegisterRemote(Kind, Open) }

type remote struct {
	addr string
	dir  string
	d    *dialer
	c    *ftp.ServerConn
}

var _ connectors.Remote = (*remote)(nil)

// Open connects and logs in to the FTP server cfg describes. A refused
// login or an untrusted TLS certificate NeedsReconnect; configuration
// errors are Permanent; network faults Transient.
func Open(ctx context.Context, cfg connectors.RemoteConfig) (connectors.Remote, error) {
	port := cfg.Port
	if port == 0 {
		port = 21
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	action := "connecting to ftp " + addr
	if cfg.Host == "" || cfg.User == "" {
		return nil, connectors.Permanently(fmt.Errorf("%s: Host and User must be set", action))
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &dialer{guard: xfer.NewGuard(timeout)}
	opts := []ftp.DialOption{ftp.DialWithDialFunc(d.dial), ftp.DialWithShutTimeout(timeout)}
	if cfg.TLS {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, connectors.Permanently(fmt.Errorf("%s: %w", action, err))
		}
		d.tls = tc
		opts = append(opts, ftp.DialWithExplicitTLS(tc))
	}
	end := d.begin(ctx)
	c, err := ftp.Dial(addr, opts...)
	if err != nil {
		end()
		return nil, classify(ctx, action, err)
	}
	err = c.Login(cfg.User, cfg.Password.Reveal())
	end()
	if err != nil {
		_ = c.Quit()
		return nil, classify(ctx, fmt.Sprintf("logging in to ftp %s as %s", addr, cfg.User), err)
	}
	return &remote{addr: addr, dir: cfg.Dir, d: d, c: c}, nil
}

// tlsConfig trusts the system roots, or CAFile's certificates instead.
func tlsConfig(cfg connectors.RemoteConfig) (*tls.Config, error) {
	tc := &tls.Config{
		ServerName:         cfg.Host,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(4), // servers may require data connections to resume the session
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading CAFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading CAFile %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// dialer makes the control connection (plain; the library upgrades it
// with AUTH TLS) and the data connections (TLS when configured), all
// under the guard.
type dialer struct {
	guard   *xfer.Guard
	tls     *tls.Config
	ctx     context.Context
	control bool // the control connection is made
}

// begin starts an operation under ctx.
func (d *dialer) begin(ctx context.Context) func() {
	d.ctx = ctx
	return d.guard.Begin(ctx)
}

func (d *dialer) dial(network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.guard.Timeout()}
	raw, err := nd.DialContext(d.ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := d.guard.Wrap(raw)
	if !d.control {
		d.control = true
		return conn, nil
	}
	if d.tls != nil {
		return tls.Client(conn, d.tls), nil
	}
	return conn, nil
}

// path returns the server path of a checked relative name.
func (r *remote) path(name string) string {
	if name == "" {
		return r.dir
	}
	return path.Join(r.dir, name)
}

// Close implements connectors.Remote.
func (r *remote) Close() error {
	if err := r.c.Quit(); err != nil && !xfer.IsNetwork(err) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("closing ftp %s: %w", r.addr, err)
	}
	return nil
}
