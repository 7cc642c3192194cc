// Package sftptest provides an in-process SFTP server for tests and
// benchmarks, in the manner of net/http/httptest: NewServer listens on a
// loopback port with a freshly generated ed25519 host key, accepts one user
// by password (and optionally by public key) and serves the file system
// with github.com/pkg/sftp, relative paths resolving in a temporary folder.
//
// The server speaks SFTP version 3 with the posix-rename@openssh.com
// extension, as pkg/sftp's Server does. It confines nothing: an absolute
// path reaches the whole file system of the test process, so point it only
// at folders the test owns.
package sftptest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Default credentials of a Server.
const (
	DefaultUser     = "bridge"
	DefaultPassword = "s3cret-PASSWORD"
)

// Server is a running in-process SFTP server. Its fields are set by
// NewServer (or Start) and must not be changed.
type Server struct {
	// Addr is the listening address, "127.0.0.1:port".
	Addr string
	// Host and Port are Addr's parts.
	Host string
	Port int
	// User and Password log in.
	User, Password string
	// HostKey is the server's host key; Fingerprint is its SHA256
	// fingerprint as ssh.FingerprintSHA256 prints it ("SHA256:...").
	HostKey     ssh.Signer
	Fingerprint string
	// Dir is the folder relative paths resolve in (the login folder): a
	// temporary folder of the test unless WithDir was given.
	Dir string

	ln        net.Listener
	config    *ssh.ServerConfig
	logins    atomic.Int32
	closeOnce sync.Once

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
	wg     sync.WaitGroup

	tempDir string // the login folder Start made, removed by Close
}

// options collects what the Options set.
type options struct {
	addr          string
	hostKey       ssh.Signer
	authorizedKey ssh.PublicKey
	dir           string
	user, pass    string
}

// Option changes a default of NewServer.
type Option func(*options)

// WithAddr listens on addr instead of "127.0.0.1:0"; a test restarting a
// server on the same port passes the earlier Server's Addr.
func WithAddr(addr string) Option { return func(o *options) { o.addr = addr } }

// WithHostKey uses key as the host key instead of a generated one.
func WithHostKey(key ssh.Signer) Option { return func(o *options) { o.hostKey = key } }

// WithAuthorizedKey also lets the user log in with the private key of
// pub; nil accepts no key.
func WithAuthorizedKey(pub ssh.PublicKey) Option { return func(o *options) { o.authorizedKey = pub } }

// WithDir serves dir as the login folder instead of a temporary one.
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithLogin sets the user name and password the server accepts.
func WithLogin(user, password string) Option {
	return func(o *options) { o.user, o.pass = user, password }
}

// NewServer starts a server and stops it when the test ends (Close may be
// called earlier). It fails the test when it cannot listen.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := []Option{func(o *options) { o.dir = t.TempDir() }}
	s, err := Start(append(o, opts...)...)
	if err != nil {
		t.Fatalf("sftptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server outside a test (a simulator, a conformance
// sample): with no WithDir it serves a new temporary folder, removed by
// Close; with no WithHostKey it generates one. The caller closes it.
func Start(opts ...Option) (*Server, error) {
	o := options{addr: "127.0.0.1:0", user: DefaultUser, pass: DefaultPassword}
	for _, opt := range opts {
		opt(&o)
	}
	if o.hostKey == nil {
		key, err := newHostKey()
		if err != nil {
			return nil, err
		}
		o.hostKey = key
	}
	var tempDir string
	if o.dir == "" {
		d, err := os.MkdirTemp("", "sftptest-*")
		if err != nil {
			return nil, fmt.Errorf("making the login folder: %w", err)
		}
		o.dir, tempDir = d, d
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		if tempDir != "" {
			_ = os.RemoveAll(tempDir)
		}
		return nil, fmt.Errorf("listening: %w", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &Server{
		Addr: ln.Addr().String(), Host: host, User: o.user, Password: o.pass,
		HostKey: o.hostKey, Fingerprint: ssh.FingerprintSHA256(o.hostKey.PublicKey()),
		Dir: o.dir, ln: ln, conns: map[net.Conn]bool{}, tempDir: tempDir,
	}
	s.Port, _ = strconv.Atoi(port)
	s.config = &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.logins.Add(1)
			if c.User() == o.user && string(pw) == o.pass {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			s.logins.Add(1)
			if o.authorizedKey != nil && c.User() == o.user && string(k.Marshal()) == string(o.authorizedKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	s.config.AddHostKey(o.hostKey)
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// NewHostKey returns a new ed25519 key for WithHostKey, failing the test
// when the system has no randomness.
func NewHostKey(t testing.TB) ssh.Signer {
	t.Helper()
	s, err := newHostKey()
	if err != nil {
		t.Fatalf("sftptest: %v", err)
	}
	return s
}

// newHostKey generates an ed25519 host key.
func newHostKey() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a host key: %w", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("generating a host key: %w", err)
	}
	return s, nil
}

// RemoteConfig returns the configuration of an "sftp" Remote logging in
// to s by password, its host key pinned by fingerprint, based in dir on
// the server ("" is the login folder, Dir). Opening it needs the sftp
// kind registered (import connectors/all).
func (s *Server) RemoteConfig(dir string) connectors.RemoteConfig {
	return connectors.RemoteConfig{
		Kind: "sftp", Host: s.Host, Port: s.Port, User: s.User,
		Password: connectors.Secret(s.Password), HostKeyFingerprint: s.Fingerprint, Dir: dir,
	}
}

// Logins counts the credentials offered so far (passwords and keys, right
// or wrong): a test proves with it that a client sent none to a server
// whose host key it refused.
func (s *Server) Logins() int { return int(s.logins.Load()) }

// CloseClientConnections cuts every open connection from the server side,
// as a network fault would; the server keeps accepting new ones.
func (s *Server) CloseClientConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
	clear(s.conns)
}

// Close stops listening, cuts every connection and waits for the server's
// goroutines. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.ln.Close()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.CloseClientConnections()
		s.wg.Wait()
		if s.tempDir != "" {
			_ = os.RemoveAll(s.tempDir)
		}
	})
}
