package sftpremote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// Open connects and logs in to the SFTP server cfg describes. Errors:
// configuration Permanent; a host key other than the pinned one
// NeedsReconnect and matching connectors.ErrHostKey; a refused login or
// unreadable key NeedsReconnect; network faults Transient.
func Open(ctx context.Context, cfg connectors.RemoteConfig) (connectors.Remote, error) {
	addr := address(cfg)
	action := "connecting to sftp " + addr
	if cfg.Host == "" || cfg.User == "" {
		return nil, connectors.Permanently(fmt.Errorf("%s: Host and User must be set", action))
	}
	if cfg.Password == "" && cfg.KeyFile == "" {
		return nil, connectors.Permanently(fmt.Errorf("%s: set Password or KeyFile", action))
	}
	p, err := newPin(cfg)
	if err != nil {
		return nil, connectors.Permanently(fmt.Errorf("%s: %w", action, err))
	}
	signers, err := loadKey(cfg)
	if err != nil {
		return nil, connectors.NeedsReconnect(fmt.Errorf("%s: %w", action, err))
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &dialer{cfg: cfg, addr: addr, pin: p, signers: signers, guard: xfer.NewGuard(timeout)}
	client, err := d.dial(ctx)
	if err != nil {
		return nil, err
	}
	end := d.guard.Begin(ctx)
	c, err := sftp.NewClient(client)
	end()
	if err != nil {
		_ = client.Close()
		return nil, connectors.Transiently(fmt.Errorf("starting the sftp subsystem on %s: %w", addr, err), 0)
	}
	return &remote{addr: addr, dir: cfg.Dir, guard: d.guard, ssh: client, c: c}, nil
}

// loadKey reads the private key file, if any.
func loadKey(cfg connectors.RemoteConfig) ([]ssh.Signer, error) {
	if cfg.KeyFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("reading KeyFile: %w", err)
	}
	var s ssh.Signer
	if cfg.KeyPassphrase != "" {
		s, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(cfg.KeyPassphrase.Reveal()))
	} else {
		s, err = ssh.ParsePrivateKey(pem)
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, fmt.Errorf("KeyFile %s is encrypted: set KeyPassphrase", cfg.KeyFile)
	case err != nil:
		// The parser's message names no key material.
		return nil, fmt.Errorf("parsing KeyFile %s: %w", cfg.KeyFile, err)
	}
	return []ssh.Signer{s}, nil
}

// dialer makes the SSH connection and remembers how far the handshake
// got, to classify its failure without matching error strings.
type dialer struct {
	cfg     connectors.RemoteConfig
	addr    string
	pin     *pin
	signers []ssh.Signer
	guard   *xfer.Guard

	keyOK     bool   // the host key passed the pin
	authTried bool   // a credential was offered
	presented string // type of a refused host key
}

// dial connects. With only a fingerprint pinned, a server with several
// host keys may present one of another type than the pinned one; dial
// then asks again without that type's algorithms, and reports the first
// mismatch when no other key matches.
func (d *dialer) dial(ctx context.Context) (*ssh.Client, error) {
	if d.pin.known != nil {
		return d.dialOnce(ctx, d.pin.algorithms(d.addr))
	}
	algos := ssh.SupportedAlgorithms().HostKeys
	client, err := d.dialOnce(ctx, algos)
	mismatch := err
	for try := 0; try < 3 && errors.Is(err, connectors.ErrHostKey); try++ {
		refused := keyAlgorithms(d.presented)
		algos = slices.DeleteFunc(algos, func(a string) bool { return slices.Contains(refused, a) })
		if len(algos) == 0 {
			break
		}
		client, err = d.dialOnce(ctx, algos)
		if err != nil && !d.keyOK && !errors.Is(err, connectors.ErrHostKey) {
			return nil, mismatch // no key of another type, or it failed before showing one
		}
	}
	if errors.Is(err, connectors.ErrHostKey) {
		return nil, mismatch
	}
	return client, err
}

// dialOnce makes one connection offering host key algorithms algos.
func (d *dialer) dialOnce(ctx context.Context, algos []string) (*ssh.Client, error) {
	d.keyOK, d.authTried, d.presented = false, false, ""
	nd := net.Dialer{Timeout: d.guard.Timeout()}
	raw, err := nd.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, connectors.Transiently(fmt.Errorf("connecting to sftp %s: %w", d.addr, err), 0)
	}
	conn := d.guard.Wrap(raw)
	config := &ssh.ClientConfig{
		User:              d.cfg.User,
		Auth:              d.auth(),
		HostKeyCallback:   d.checkHostKey,
		HostKeyAlgorithms: algos,
	}
	end := d.guard.Begin(ctx)
	c, chans, reqs, err := ssh.NewClientConn(conn, d.addr, config)
	end()
	if err != nil {
		_ = conn.Close()
		return nil, d.classify(ctx, err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}

func (d *dialer) checkHostKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if err := d.pin.check(hostname, remote, key); err != nil {
		d.presented = key.Type()
		return err
	}
	d.keyOK = true
	return nil
}

// auth offers the key first, then the password (also as the answer to
// keyboard-interactive prompts that do not echo).
func (d *dialer) auth() []ssh.AuthMethod {
	var methods []ssh.AuthMethod
	if len(d.signers) > 0 {
		methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			d.authTried = true
			return d.signers, nil
		}))
	}
	if pw := d.cfg.Password; pw != "" {
		methods = append(methods,
			ssh.PasswordCallback(func() (string, error) {
				d.authTried = true
				return pw.Reveal(), nil
			}),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				d.authTried = true
				answers := make([]string, len(questions))
				for i := range answers {
					if !echos[i] {
						answers[i] = pw.Reveal()
					}
				}
				return answers, nil
			}))
	}
	return methods
}

// classify names what failed during the handshake.
func (d *dialer) classify(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, connectors.ErrHostKey):
		return connectors.NeedsReconnect(fmt.Errorf("connecting to sftp %s: %w", d.addr, err))
	case ctx.Err() != nil:
		return fmt.Errorf("connecting to sftp %s: %w", d.addr, context.Cause(ctx))
	case d.keyOK && d.authTried && !xfer.IsNetwork(err):
		return connectors.NeedsReconnect(fmt.Errorf("logging in to sftp %s as %s: %w", d.addr, d.cfg.User, err))
	default:
		return connectors.Transiently(fmt.Errorf("connecting to sftp %s: %w", d.addr, err), 0)
	}
}
