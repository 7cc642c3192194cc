package ftpremote

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/spf13/afero"

	"github.com/fhirbridge/fhirbridge/connectors"
)

const (
	testUser     = "bridge"
	testPassword = "s3cret-PASSWORD"
)

// testServer is an in-process FTP server (ftpserverlib) serving root on
// disk; with a certificate it requires explicit TLS.
type testServer struct {
	root   string
	cert   *tls.Certificate
	srv    *ftpserver.FtpServer
	logins atomic.Int32
}

func startServer(t *testing.T, cert *tls.Certificate) *testServer {
	t.Helper()
	s := &testServer{root: t.TempDir(), cert: cert}
	s.srv = ftpserver.NewFtpServer(s)
	if err := s.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.srv.Serve() }()
	t.Cleanup(func() { _ = s.srv.Stop() })
	return s
}

// GetSettings implements ftpserver.MainDriver.
func (s *testServer) GetSettings() (*ftpserver.Settings, error) {
	st := &ftpserver.Settings{ListenAddr: "127.0.0.1:0", IdleTimeout: 30, ConnectionTimeout: 5}
	if s.cert != nil {
		st.TLSRequired = ftpserver.MandatoryEncryption
	}
	return st, nil
}

// ClientConnected implements ftpserver.MainDriver.
func (s *testServer) ClientConnected(ftpserver.ClientContext) (string, error) {
	return "test server", nil
}

// ClientDisconnected implements ftpserver.MainDriver.
func (s *testServer) ClientDisconnected(ftpserver.ClientContext) {}

// AuthUser implements ftpserver.MainDriver.
func (s *testServer) AuthUser(_ ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	s.logins.Add(1)
	if user != testUser || pass != testPassword {
		return nil, errors.New("wrong login")
	}
	return afero.NewBasePathFs(afero.NewOsFs(), s.root), nil
}

// GetTLSConfig implements ftpserver.MainDriver.
func (s *testServer) GetTLSConfig() (*tls.Config, error) {
	if s.cert == nil {
		return nil, errors.New("no TLS")
	}
	return &tls.Config{Certificates: []tls.Certificate{*s.cert}, MinVersion: tls.VersionTLS12}, nil
}

// config returns a RemoteConfig for a fresh folder of the server and
// that folder on disk.
func (s *testServer) config(t *testing.T) (connectors.RemoteConfig, string) {
	t.Helper()
	sub, err := os.MkdirTemp(s.root, "case")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(s.srv.Addr())
	p, _ := strconv.Atoi(port)
	return connectors.RemoteConfig{
		Kind: Kind, Host: host, Port: p, User: testUser, Password: testPassword,
		Dir: "/" + filepath.Base(sub), Timeout: 10 * time.Second,
	}, sub
}

// selfSigned returns a certificate for 127.0.0.1 and a CA file holding it.
func selfSigned(t *testing.T) (*tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "ftp test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}
