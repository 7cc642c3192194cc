// Package sftpremote is the "sftp" kind of connectors.Remote: a folder on
// an SFTP server (github.com/pkg/sftp over golang.org/x/crypto/ssh).
//
// The server's host key is pinned by an OpenSSH known_hosts file or a
// SHA256 fingerprint; no setting accepts any key, and a different key
// fails with an error matching connectors.ErrHostKey before any
// credential is sent. Put uploads to a hidden temporary name in the same
// folder, compares the server's size with the bytes sent and renames with
// the posix-rename@openssh.com extension, which replaces the final name
// atomically.
package sftpremote

import (
	"fmt"
	"net"
	"path"
	"strconv"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// Kind is the RemoteConfig.Kind of an SFTP server.
const Kind = "sftp"

// DefaultTimeout bounds connecting and each operation when
// RemoteConfig.Timeout is 0.
const DefaultTimeout = 30 * time.Second

func init() { connectors.RegisterRemote(Kind, Open) }

type remote struct {
	addr  string // host:port, for errors
	dir   string // base folder on the server ("" is the login folder)
	guard *xfer.Guard
	ssh   *ssh.Client
	c     *sftp.Client
}

var _ connectors.Remote = (*remote)(nil)

// address returns host:port, defaulting the port to 22.
func address(cfg connectors.RemoteConfig) string {
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(port))
}

// path returns the server path of a checked relative name.
func (r *remote) path(name string) string {
	if name == "" {
		if r.dir == "" {
			return "."
		}
		return r.dir
	}
	return path.Join(r.dir, name)
}

// Close implements connectors.Remote.
func (r *remote) Close() error {
	err := r.c.Close()
	if cerr := r.ssh.Close(); err == nil {
		err = cerr
	}
	if err != nil && !xfer.IsNetwork(err) {
		return fmt.Errorf("closing sftp %s: %w", r.addr, err)
	}
	return nil
}
