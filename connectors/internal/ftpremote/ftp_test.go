package ftpremote

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/remotetest"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

func mustOpen(t *testing.T, cfg connectors.RemoteConfig) connectors.Remote {
	t.Helper()
	r, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err != nil {
		t.Fatalf("opening ftp: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestConformancePlain(t *testing.T) {
	srv := startServer(t, nil)
	remotetest.Run(t, func(t *testing.T) connectors.Remote {
		cfg, _ := srv.config(t)
		return mustOpen(t, cfg)
	})
}

func TestConformanceExplicitTLS(t *testing.T) {
	cert, caFile := selfSigned(t)
	srv := startServer(t, cert)
	remotetest.Run(t, func(t *testing.T) connectors.Remote {
		cfg, _ := srv.config(t)
		cfg.TLS, cfg.CAFile = true, caFile
		return mustOpen(t, cfg)
	})
}

func TestTLSRequiredByServer(t *testing.T) {
	cert, _ := selfSigned(t)
	srv := startServer(t, cert)
	cfg, _ := srv.config(t) // no TLS: the server refuses the login
	if _, err := connectors.OpenRemote(remotetest.Ctx(t), cfg); err == nil {
		t.Fatal("logged in without TLS to a server that requires it")
	}
	if n := srv.logins.Load(); n != 0 {
		t.Errorf("the password reached the server %d times in clear", n)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	cert, _ := selfSigned(t)
	_, otherCA := selfSigned(t)
	srv := startServer(t, cert)
	cfg, _ := srv.config(t)
	cfg.TLS, cfg.CAFile = true, otherCA
	_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err == nil {
		t.Fatal("connected to a server whose certificate the CA did not sign")
	}
	remotetest.IsClass(t, err, connectors.Reconnect)
	if n := srv.logins.Load(); n != 0 {
		t.Errorf("the password was sent %d times to an untrusted server", n)
	}
}

func TestWrongPassword(t *testing.T) {
	srv := startServer(t, nil)
	cfg, _ := srv.config(t)
	cfg.Password = "wrong-" + testPassword
	_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err == nil {
		t.Fatal("logged in with a wrong password")
	}
	remotetest.IsClass(t, err, connectors.Reconnect)
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q prints the password", err)
	}
	if !strings.Contains(err.Error(), "logging in to ftp 127.0.0.1:") {
		t.Errorf("error %q does not name the host", err)
	}
}

// TestFailedPutCleansUp checks on disk that a failed upload
// leaves neither the final file nor (the session being alive) the
// temporary.
func TestFailedPutCleansUp(t *testing.T) {
	srv := startServer(t, nil)
	cfg, dir := srv.config(t)
	r := mustOpen(t, cfg)
	src := &remotetest.FailingReader{Data: remotetest.Content(100_000), Err: remotetest.ErrSource}
	if _, err := r.Put(context.Background(), "x.csv", src); !errors.Is(err, remotetest.ErrSource) {
		t.Fatalf("Put from a failing reader: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("folder holds %d entries after a failed Put, want none", len(entries))
	}
	// A temporary left by a dead session is not listed.
	if err := os.WriteFile(dir+"/"+xfer.TempName("y.csv"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := remotetest.Names(t, r, ""); !slices.Equal(got, []string(nil)) {
		t.Errorf("List shows %q, want temporaries hidden", got)
	}
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	srv := startServer(t, nil)
	cfg, _ := srv.config(t)
	_ = srv.srv.Stop()
	_, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err == nil {
		t.Fatal("connected to a stopped server")
	}
	remotetest.IsClass(t, err, connectors.Transient)
}
