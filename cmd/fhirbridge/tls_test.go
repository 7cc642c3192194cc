package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
)

// pki makes a CA and a certificate it signs, PEM files in dir.
type pki struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T, dir, name string) *pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	f := filepath.Join(dir, name+".pem")
	os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	return &pki{ca: cert, caKey: key, caFile: f}
}

// issue signs a leaf for 127.0.0.1 and returns its cert and key files and
// a tls.Certificate.
func (p *pki) issue(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (string, string, tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	os.WriteFile(cf, certPEM, 0o600)
	os.WriteFile(kf, keyPEM, 0o600)
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cf, kf, pair
}

// TestServeMutualTLS: with server.tls.client_ca_file, only clients whose
// certificate that CA signed get through; others fail the handshake.
func TestServeMutualTLS(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, rogueCA := newPKI(t, dir, "server-ca"), newPKI(t, dir, "client-ca"), newPKI(t, dir, "rogue-ca")
	crt, key, _ := serverCA.issue(t, dir, "server", x509.ExtKeyUsageServerAuth)
	_, _, good := clientCA.issue(t, dir, "engine", x509.ExtKeyUsageClientAuth)
	_, _, rogue := rogueCA.issue(t, dir, "rogue", x509.ExtKeyUsageClientAuth)
	c, err := config.Load("", []string{
		"FHIRBRIDGE_DATA_DIR=" + dir,
		"FHIRBRIDGE_SERVER__LISTEN=127.0.0.1:0",
		"FHIRBRIDGE_SERVER__TLS__CERT_FILE=" + crt,
		"FHIRBRIDGE_SERVER__TLS__KEY_FILE=" + key,
		"FHIRBRIDGE_SERVER__TLS__CLIENT_CA_FILE=" + clientCA.caFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.ca)
	get := func(certs []tls.Certificate) (int, error) {
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}, Timeout: 5 * time.Second}
		resp, err := cl.Get("https://" + addr + "/fhir/metadata")
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get([]tls.Certificate{good}); err != nil || code != 200 {
		t.Errorf("a client certificate from the configured CA: %d, %v", code, err)
	}
	if _, err := get(nil); err == nil {
		t.Error("no client certificate must fail the handshake")
	}
	if _, err := get([]tls.Certificate{rogue}); err == nil {
		t.Error("a client certificate from another CA must fail the handshake")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
