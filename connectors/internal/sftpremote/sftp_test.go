package sftpremote

import (
	"errors"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/remotetest"
	"github.com/fhirbridge/fhirbridge/connectors/sftptest"
)

func TestConformance(t *testing.T) {
	srv := sftptest.NewServer(t)
	remotetest.Run(t, func(t *testing.T) connectors.Remote {
		return mustOpen(t, srv.RemoteConfig(t.TempDir()))
	})
}

func TestAtomicUpload(t *testing.T) {
	srv := sftptest.NewServer(t)
	dir := t.TempDir()
	atomicUpload(t, srv.RemoteConfig(dir), dir)
}

func TestCutUploadThenRetry(t *testing.T) {
	srv := sftptest.NewServer(t)
	dir := t.TempDir()
	cutUpload(t, srv.RemoteConfig(dir), dir, srv.CloseClientConnections)
}

func TestChangedHostKey(t *testing.T) {
	old := sftptest.NewServer(t)
	addr := old.Addr
	dir := t.TempDir()
	byFingerprint := old.RemoteConfig(dir)
	byKnownHosts := old.RemoteConfig(dir)
	byKnownHosts.HostKeyFingerprint = ""
	byKnownHosts.KnownHosts = writeKnownHosts(t, addr, old.HostKey.PublicKey())
	mustOpen(t, byKnownHosts).Close() // the pin works while the key is the same
	old.Close()

	srv := sftptest.NewServer(t, sftptest.WithAddr(addr)) // restarted with a new key
	for name, cfg := range map[string]connectors.RemoteConfig{"fingerprint": byFingerprint, "known_hosts": byKnownHosts} {
		t.Run(name, func(t *testing.T) {
			refusedHostKey(t, cfg, dir)
			if n := srv.Logins(); n != 0 {
				t.Errorf("%d credentials were offered to a server with the wrong host key", n)
			}
		})
	}
	t.Run("host not in known_hosts", func(t *testing.T) {
		cfg := byKnownHosts
		cfg.KnownHosts = writeKnownHosts(t, "127.0.0.2:1", srv.HostKey.PublicKey())
		refusedHostKey(t, cfg, dir)
	})
}

func TestWrongPassword(t *testing.T) {
	srv := sftptest.NewServer(t)
	cfg := srv.RemoteConfig(t.TempDir())
	cfg.Password = "wrong-" + testPassword
	_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err == nil {
		t.Fatal("logged in with a wrong password")
	}
	remotetest.IsClass(t, err, connectors.Reconnect)
	if errors.Is(err, connectors.ErrHostKey) {
		t.Errorf("a refused login matches ErrHostKey: %v", err)
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q prints the password", err)
	}
	if !strings.Contains(err.Error(), "logging in to sftp 127.0.0.1:") {
		t.Errorf("error %q does not name the host", err)
	}
}

func TestPublicKeyLogin(t *testing.T) {
	for _, passphrase := range []string{"", "key-passphrase"} {
		keyFile, pub := writeUserKey(t, passphrase)
		srv := sftptest.NewServer(t, sftptest.WithAuthorizedKey(pub))
		cfg := srv.RemoteConfig(t.TempDir())
		cfg.Password = ""
		cfg.KeyFile = keyFile
		cfg.KeyPassphrase = connectors.Secret(passphrase)
		r := mustOpen(t, cfg)
		remotetest.MustPut(t, r, "x.csv", []byte("a;b\n"))
		if passphrase != "" {
			cfg.KeyPassphrase = ""
			_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
			if err == nil || !strings.Contains(err.Error(), "set KeyPassphrase") {
				t.Errorf("an encrypted key without passphrase: %v", err)
			}
			remotetest.IsClass(t, err, connectors.Reconnect)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	srv := sftptest.NewServer(t)
	cases := map[string]func(*connectors.RemoteConfig){
		"no host key pin":     func(c *connectors.RemoteConfig) { c.HostKeyFingerprint = "" },
		"bad fingerprint":     func(c *connectors.RemoteConfig) { c.HostKeyFingerprint = "MD5:aa:bb" },
		"missing known_hosts": func(c *connectors.RemoteConfig) { c.HostKeyFingerprint, c.KnownHosts = "", "/nonexistent/known_hosts" },
		"no credential":       func(c *connectors.RemoteConfig) { c.Password = "" },
		"no host":             func(c *connectors.RemoteConfig) { c.Host = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := srv.RemoteConfig(t.TempDir())
			mutate(&cfg)
			_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
			if err == nil {
				t.Fatal("opened with a bad configuration")
			}
			remotetest.IsClass(t, err, connectors.Permanent)
		})
	}
	if n := srv.Logins(); n != 0 {
		t.Errorf("%d logins attempted with bad configurations", n)
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	srv := sftptest.NewServer(t)
	cfg := srv.RemoteConfig(t.TempDir())
	srv.Close()
	_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err == nil {
		t.Fatal("connected to a stopped server")
	}
	remotetest.IsClass(t, err, connectors.Transient)
}
