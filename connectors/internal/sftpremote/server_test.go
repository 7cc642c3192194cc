package sftpremote

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fhirbridge/fhirbridge/connectors/sftptest"
)

// testPassword is the password of the in-process server (sftptest).
const testPassword = sftptest.DefaultPassword

// newSigner returns a new ed25519 host key whose private half the OpenSSH
// tests can write (see hostKeyPrivate).
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
