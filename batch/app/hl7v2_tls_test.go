package app

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/mllp"
)

// pemFiles writes a throwaway CA, a server certificate for 127.0.0.1 and
// a client certificate; it returns the files and the client pair.
func pemFiles(t *testing.T, dir string) (caFile, certFile, keyFile string, client tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	leaf := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	sc, sk := leaf(2, x509.ExtKeyUsageServerAuth)
	certFile, keyFile = write("server.pem", sc), write("server.key", sk)
	cc, ck := leaf(3, x509.ExtKeyUsageClientAuth)
	client, err = tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	return caFile, certFile, keyFile, client, pool
}

// TestServeHL7v2MutualTLS: with hl7v2.tls and client_ca_file the MLLP
// listener speaks TLS and acknowledges a client with a certificate of
// that CA; a client without one gets no ACK.
func TestServeHL7v2MutualTLS(t *testing.T) {
	mappingFile, err := filepath.Abs("../hl7in/testdata/adt-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile, certFile, keyFile, client, pool := pemFiles(t, dir)
	mllpAddr := freePort(t)
	c := loadConfig(t, "data_dir: "+dir+"\nserver: {listen: \"127.0.0.1:0\"}\nhl7v2:\n  listen: \""+mllpAddr+"\"\n"+
		"  tls: {cert_file: "+certFile+", key_file: "+keyFile+", client_ca_file: "+caFile+"}\n  mappings: {ADT: "+mappingFile+"}\n")
	if err := c.Preflight(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, done, err := Start(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	send := func(certs []tls.Certificate) (string, error) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", mllpAddr,
			&tls.Config{RootCAs: pool, Certificates: certs, MinVersion: tls.VersionTLS12})
		if err != nil {
			return "", err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		if err := mllp.WriteFrame(conn, []byte(serveADT)); err != nil {
			return "", err
		}
		raw, err := mllp.NewReader(bufio.NewReader(conn), 1<<20).ReadFrame()
		return string(raw), err
	}
	if ack, err := send([]tls.Certificate{client}); err != nil || !strings.Contains(ack, "MSA|AA|S1") {
		t.Fatalf("with a client certificate: %q, %v", ack, err)
	}
	if ack, err := send(nil); err == nil {
		t.Fatalf("without a client certificate an ACK came: %q", ack)
	}
}
