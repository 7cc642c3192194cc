package sftpremote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fhirbridge/fhirbridge/connectors"
)

const (
	testUser     = "bridge"
	testPassword = "s3cret-PASSWORD"
)

// testServer is an in-process SFTP server on 127.0.0.1 serving the real
// file system, with password and public-key login.
type testServer struct {
	ln      net.Listener
	hostKey ssh.Signer
	// logins counts credentials offered (password or key), to prove none
	// is sent to a server with the wrong host key.
	logins atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
}

func newSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	signerKeys.Store(s, priv)
	return s
}

// startServer serves on addr ("127.0.0.1:0" for any port) with hostKey,
// accepting testPassword and, when not nil, the client key userKey.
func startServer(t *testing.T, addr string, hostKey ssh.Signer, userKey ssh.PublicKey) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, hostKey: hostKey}
	config := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.logins.Add(1)
			if c.User() == testUser && string(pw) == testPassword {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			s.logins.Add(1)
			if userKey != nil && c.User() == testUser && string(k.Marshal()) == string(userKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	config.AddHostKey(hostKey)
	go s.serve(config)
	t.Cleanup(s.stop)
	return s
}

// stop closes the listener and every connection.
func (s *testServer) stop() {
	s.ln.Close()
	s.kill()
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *testServer) serve(config *ssh.ServerConfig) {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, conn)
		s.mu.Unlock()
		go s.handle(conn, config)
	}
}

func (s *testServer) handle(conn net.Conn, config *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, config)
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				_ = req.Reply(ok, nil)
				if ok {
					go func() {
						defer ch.Close()
						srv, err := sftp.NewServer(ch)
						if err == nil {
							_ = srv.Serve()
						}
					}()
				}
			}
		}()
	}
}

// kill cuts every connection from the server side.
func (s *testServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// config returns a RemoteConfig for the server pinned by fingerprint,
// logging in by password, based in dir.
func (s *testServer) config(dir string) connectors.RemoteConfig {
	return connectors.RemoteConfig{
		Kind: Kind, Host: "127.0.0.1", Port: s.port(), User: testUser,
		Password:           testPassword,
		HostKeyFingerprint: ssh.FingerprintSHA256(s.hostKey.PublicKey()),
		Dir:                dir,
	}
}

// writeKnownHosts writes a known_hosts file giving key for addr.
func writeKnownHosts(t *testing.T, addr string, key ssh.PublicKey) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if err := os.WriteFile(p, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeUserKey writes an OpenSSH private key file, encrypted when
// passphrase is not empty, and returns its path and public key.
func writeUserKey(t *testing.T, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return p, sshPub
}

// gate is a reader that yields First, signals Reached, then waits for
// Release before yielding Rest.
type gate struct {
	First, Rest []byte
	Reached     chan struct{}
	Release     chan struct{}
	passed      bool
}

func newGate(b []byte, at int) *gate {
	return &gate{First: b[:at], Rest: b[at:], Reached: make(chan struct{}), Release: make(chan struct{})}
}

func (g *gate) Read(p []byte) (int, error) {
	if len(g.First) > 0 {
		n := copy(p, g.First)
		g.First = g.First[n:]
		return n, nil
	}
	if !g.passed {
		g.passed = true
		close(g.Reached)
		<-g.Release
	}
	if len(g.Rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.Rest)
	g.Rest = g.Rest[n:]
	return n, nil
}
