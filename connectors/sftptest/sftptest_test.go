package sftptest_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/connectors/sftptest"
)

// dial logs in to srv by password, checking its host key by fingerprint.
func dial(t *testing.T, srv *sftptest.Server, password string) (*sftp.Client, error) {
	t.Helper()
	conf := &ssh.ClientConfig{
		User: srv.User,
		Auth: []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if ssh.FingerprintSHA256(key) != srv.Fingerprint {
				return errors.New("host key mismatch")
			}
			return nil
		},
	}
	conn, err := ssh.Dial("tcp", srv.Addr, conf)
	if err != nil {
		return nil, err
	}
	c, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c, nil
}

func TestServer(t *testing.T) {
	srv := sftptest.NewServer(t)
	c, err := dial(t, srv, srv.Password)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Create("a.tmp")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.PosixRename("a.tmp", "a.csv"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(srv.Dir, "a.csv"))
	if err != nil || !bytes.Equal(got, []byte("hello")) {
		t.Fatalf("file in Dir: %q, %v", got, err)
	}
	if srv.Logins() != 1 {
		t.Errorf("Logins() = %d, want 1", srv.Logins())
	}
	if cfg := srv.RemoteConfig("out"); cfg.Kind != "sftp" || cfg.Port != srv.Port || cfg.HostKeyFingerprint != srv.Fingerprint || cfg.Dir != "out" {
		t.Errorf("RemoteConfig = %+v", cfg)
	}

	srv.CloseClientConnections()
	if _, err := c.Stat("a.csv"); err == nil {
		t.Error("a cut connection still works")
	}
	if _, err := dial(t, srv, "wrong"); err == nil {
		t.Error("logged in with a wrong password")
	}
	if _, err := dial(t, srv, srv.Password); err != nil {
		t.Errorf("no new connection after CloseClientConnections: %v", err)
	}
	srv.Close()
	srv.Close()
	if _, err := dial(t, srv, srv.Password); err == nil {
		t.Error("connected to a closed server")
	}
}

func TestRestartWithNewKey(t *testing.T) {
	old := sftptest.NewServer(t)
	old.Close()
	srv := sftptest.NewServer(t, sftptest.WithAddr(old.Addr))
	if srv.Addr != old.Addr || srv.Fingerprint == old.Fingerprint {
		t.Fatalf("restart: %s %s, fingerprints equal: %v", old.Addr, srv.Addr, srv.Fingerprint == old.Fingerprint)
	}
	if _, err := dial(t, srv, srv.Password); err != nil {
		t.Fatal(err)
	}
}

// TestStartOutsideATest: Start serves a temporary login folder of its own
// and Close removes it.
func TestStartOutsideATest(t *testing.T) {
	s, err := sftptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		t.Fatalf("login folder %s: %v", s.Dir, err)
	}
	if s.Fingerprint == "" || s.Port == 0 {
		t.Errorf("server %+v has no fingerprint or port", s)
	}
	s.Close()
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Errorf("after Close the login folder is still there: %v", err)
	}
}
