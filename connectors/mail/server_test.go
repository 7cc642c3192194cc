package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// fakeServer is an in-process SMTP server (go-smtp's server package) on
// 127.0.0.1: one STARTTLS listener and one implicit-TLS listener, AUTH
// PLAIN and LOGIN required (and offered only over TLS), one recipient it
// refuses with 550.
type fakeServer struct {
	startTLSPort int
	implicitPort int
	caFile       string
	user, pass   string
	refuse       string

	mu   sync.Mutex
	msgs []received
}

// received is one message the fake server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	Mech string
}

// serverOpts tunes newFakeServer.
type serverOpts struct {
	plaintext bool // no TLS at all, AUTH allowed in clear (a loopback relay)
}

func newFakeServer(t *testing.T, o serverOpts) *fakeServer {
	t.Helper()
	f := &fakeServer{user: "bridge", pass: "s3cret-pass", refuse: "nobody@clinic.example"}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, tlsOn := c.TLSConnectionState()
		return &fakeSession{srv: f, tls: tlsOn}, nil
	}))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	s.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(func() { _ = s.Close() })

	plain := listen(t)
	f.startTLSPort = port(plain)
	if o.plaintext {
		s.AllowInsecureAuth = true
		go func() { _ = s.Serve(plain) }()
		return f
	}
	cert, caPEM := selfSigned(t)
	f.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	implicit := listen(t)
	f.implicitPort = port(implicit)
	go func() { _ = s.Serve(plain) }()
	go func() { _ = s.Serve(tls.NewListener(implicit, s.TLSConfig)) }()
	return f
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func port(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// messages returns a copy of what the server accepted so far.
func (f *fakeServer) messages() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.msgs...)
}

// config returns a Config for this server in the given TLS mode.
func (f *fakeServer) config(mode string) Config {
	p := f.startTLSPort
	if mode == TLSImplicit {
		p = f.implicitPort
	}
	return Config{
		Host: "127.0.0.1", Port: p, TLS: mode, CAFile: f.caFile,
		User: f.user, Password: "s3cret-pass",
		From: "FHIR bridge <bridge@clinic.example>", Timeout: 5 * time.Second,
	}
}

// selfSigned returns a CA certificate for 127.0.0.1 and localhost and its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// fakeSession is one SMTP session of fakeServer.
type fakeSession struct {
	srv  *fakeServer
	tls  bool
	mech string
	from string
	to   []string
}

var _ smtp.AuthSession = (*fakeSession)(nil)

func (s *fakeSession) AuthMechanisms() []string { return []string{sasl.Plain, sasl.Login} }

func (s *fakeSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return smtp.ErrAuthFailed
		}
		s.mech = mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.mech == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.srv.refuse {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user " + to}
	}
	if to == "busy@clinic.example" {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.msgs = append(s.srv.msgs, received{From: s.from, To: s.to, Data: b, TLS: s.tls, Mech: s.mech})
	return nil
}

func (s *fakeSession) Reset()        { s.from, s.to = "", nil }
func (s *fakeSession) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN, which go-sasl lacks: the
// client sends the user name (as initial response or after "Username:"),
// then the password after "Password:".
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// deadPort returns a 127.0.0.1 port nothing listens on.
func deadPort(t *testing.T) int {
	t.Helper()
	l := listen(t)
	p := port(l)
	_ = l.Close()
	return p
}

// silentServer accepts connections and never speaks, to exercise timeouts.
func silentServer(t *testing.T) int {
	t.Helper()
	l := listen(t)
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return port(l)
}
