package mllp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// testPKI is a throwaway CA with a server and a client certificate.
type testPKI struct {
	pool           *x509.CertPool
	server, client tls.Certificate
	stranger       tls.Certificate // signed by another CA
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newPKI(t *testing.T) testPKI {
	ca, caKey := newCA(t, "test CA")
	other, otherKey := newCA(t, "other CA")
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{pool: pool,
		server:   leaf(t, ca, caKey, 2, x509.ExtKeyUsageServerAuth),
		client:   leaf(t, ca, caKey, 3, x509.ExtKeyUsageClientAuth),
		stranger: leaf(t, other, otherKey, 4, x509.ExtKeyUsageClientAuth),
	}
}

// TestTLSClientCertRequired: a client with a certificate of the trusted
// CA gets its ACK; one without a certificate, or with another CA's, is
// refused and counted.
func TestTLSClientCertRequired(t *testing.T) {
	pki := newPKI(t)
	s := &Server{TLSConfig: &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pki.pool,
		MinVersion:   tls.VersionTLS12,
	}}
	addr, _, reg := testServer(t, s)
	send := func(certs []tls.Certificate) error {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.pool, Certificates: certs, ServerName: "127.0.0.1"})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := WriteFrame(c, hl7msg("T1")); err != nil {
			return err
		}
		b, err := NewReader(c, 0).ReadFrame()
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "MSA|AA|T1") {
			return errors.New("unexpected ACK")
		}
		return nil
	}
	if err := send([]tls.Certificate{pki.client}); err != nil {
		t.Fatalf("trusted client: %v", err)
	}
	for name, certs := range map[string][]tls.Certificate{"no certificate": nil, "other CA": {pki.stranger}} {
		if err := send(certs); err == nil {
			t.Errorf("%s: got an ACK", name)
		}
	}
	waitFor(t, "tls failures counted", func() bool {
		return counter(t, reg, "fhirbridge_mllp_connections_total", "tls_failed") == 2
	})
	// A plain TCP client speaking MLLP gets nothing.
	c := dial(t, addr)
	WriteFrame(c, hl7msg("P1"))
	if _, err := NewReader(c, 0).ReadFrame(); err == nil {
		t.Error("plain client got an ACK from the TLS listener")
	}
}

// TestTLSHandshakeStopsOnShutdown: a client that connects and never
// starts the handshake does not hold Shutdown up.
func TestTLSHandshakeStopsOnShutdown(t *testing.T) {
	pki := newPKI(t)
	s := &Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{pki.server}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry(),
		Handler: HandlerFunc(ackHandler)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	c := dial(t, l.Addr().String())
	waitFor(t, "connection accepted", func() bool { return s.Conns() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown waited on a silent TLS client: %v", err)
	}
	expectClosed(t, c, 5*time.Second)
}
