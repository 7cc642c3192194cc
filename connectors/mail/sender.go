package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Sender sends Messages through one SMTP server, one connection per Send.
// It is safe for concurrent use.
type Sender struct {
	cfg  Config
	addr string
	from *mail.Address
	tls  *tls.Config
	// now stamps the Date header; tests replace it.
	now func() time.Time
}

// New validates cfg, loads CAFile and returns a Sender. It does not
// connect. Errors name the field at fault, never the password.
func New(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	from, err := parseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("configuring mail: from: %w", err)
	}
	tc, err := tlsConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring mail: %w", err)
	}
	return &Sender{cfg: cfg, addr: cfg.addr(), from: from, tls: tc, now: time.Now}, nil
}

// Format prints the sender as its server address only, for every verb.
// The value receiver matters: fmt prints unexported fields by reflection,
// bypassing connectors.Secret's own Format, so a Sender value printed
// field by field would show the password.
func (s Sender) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "mail.Sender{%s}", s.addr) }

var (
	_ fmt.Formatter = Sender{}
	_ fmt.Formatter = (*Sender)(nil)
)

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		return nil, fmt.Errorf("reading ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading ca_file %s: no PEM certificate in it", cfg.CAFile)
	}
	tc.RootCAs = pool
	return tc, nil
}

// Send delivers msg in one SMTP transaction: connect (TLS as configured),
// authenticate when User is set, MAIL, one RCPT per recipient, DATA. It
// returns nil once the server accepted the message for every recipient.
// A message the server refuses for one recipient is not sent to any.
//
// Errors are classified (see the package doc): a malformed Message
// (ErrHeaderInjection among others) is Permanent and nothing is sent.
// ctx cancels the exchange; Config.Timeout bounds it.
func (s *Sender) Send(ctx context.Context, msg Message) error {
	to, err := msg.recipients()
	if err != nil {
		return connectors.Permanently(fmt.Errorf("checking mail for %s: %w", s.addr, err))
	}
	at := s.now()
	data := compose(s.from, to, msg.Subject, msg.Body, at, newMessageID(s.from, at))

	ss, _, err := s.open(ctx)
	if err != nil {
		return err
	}
	defer ss.close()
	c := ss.c
	if err := s.transact(c, to, data); err != nil {
		return s.failCtx(ss.ctx, ss.deadline, err)
	}
	_ = c.Quit() // the message is accepted; a failed QUIT changes nothing
	return nil
}

// session is one connection to the server, greeted and with TLS set up as
// configured: what Send and Check share.
type session struct {
	ctx      context.Context // bounded by Config.Timeout
	deadline time.Time
	c        *smtp.Client
	close    func()
}

// open bounds ctx by Config.Timeout, dials, and greets with TLS as
// configured. On failure it returns the step that failed (stepConnect, or
// stepGreeting for the greeting and TLS) and the error as failCtx reports
// it. Cancelling ctx closes the connection, unblocking any read or write.
func (s *Sender) open(ctx context.Context) (*session, string, error) {
	deadline := time.Now().Add(s.cfg.timeout())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	d := net.Dialer{Timeout: s.cfg.timeout()}
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		err = s.failCtx(ctx, deadline, fail(s.addr, stepConnect, 0, err))
		cancel()
		return nil, stepConnect, err
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	closeAll := func() { stop(); _ = raw.Close(); cancel() }
	c, err := s.connect(ctx, &deadlineConn{Conn: raw, limit: deadline})
	if err != nil {
		err = s.failCtx(ctx, deadline, err)
		closeAll()
		return nil, stepGreeting, err
	}
	return &session{ctx: ctx, deadline: deadline, c: c, close: closeAll}, "", nil
}

// failCtx reports a cancelled or expired send as the ctx error (which
// errors.Is finds) beside the network error it caused. The connection's
// deadline and ctx's expire together, and the I/O timeout may be seen
// first, so an I/O timeout at or after the deadline counts as expiry.
func (s *Sender) failCtx(ctx context.Context, deadline time.Time, err error) error {
	if isReply(err) {
		return err
	}
	cause := ctx.Err()
	if cause == nil && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(deadline) {
		cause = context.DeadlineExceeded
	}
	if cause == nil {
		return err
	}
	var f *connectors.Failure
	if errors.As(err, &f) {
		err = f.Err // reclassified below
	}
	return connectors.Transiently(fmt.Errorf("%w: %w", cause, err), 0)
}

func isReply(err error) bool {
	var re *ReplyError
	return errors.As(err, &re)
}

// connect sets up TLS on conn and reads the greeting, returning a client
// that said EHLO over the encrypted connection. The caller closes conn.
func (s *Sender) connect(ctx context.Context, conn *deadlineConn) (*smtp.Client, error) {
	_ = conn.SetDeadline(conn.limit)
	var c *smtp.Client
	switch s.cfg.tlsMode() {
	case TLSImplicit:
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, fail(s.addr, stepTLS, 0, err)
		}
		c = smtp.NewClient(tc)
	case TLSStartTLS:
		// NewClientStartTLS refuses a server that does not offer STARTTLS.
		var err error
		c, err = smtp.NewClientStartTLS(conn, s.tls)
		if err != nil {
			return nil, fail(s.addr, stepStartTLS, 0, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = s.cfg.timeout()
	c.SubmissionTimeout = s.cfg.timeout()
	step := stepGreeting
	if s.cfg.tlsMode() == TLSStartTLS {
		step = stepTLS // the handshake runs with the first command after STARTTLS
	}
	if err := c.Hello("localhost"); err != nil {
		return nil, fail(s.addr, step, 0, err)
	}
	return c, nil
}

// transact authenticates and runs MAIL, RCPT and DATA.
func (s *Sender) transact(c *smtp.Client, to []*mail.Address, data []byte) error {
	if err := s.authenticate(c); err != nil {
		return err
	}
	if err := c.Mail(s.from.Address, nil); err != nil {
		return fail(s.addr, stepMail, 0, err)
	}
	for i, a := range to {
		if err := c.Rcpt(a.Address, nil); err != nil {
			return fail(s.addr, stepRcpt, i+1, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail(s.addr, stepData, 0, err)
	}
	if _, err := w.Write(data); err != nil {
		return fail(s.addr, stepData, 0, err)
	}
	if err := w.Close(); err != nil {
		return fail(s.addr, stepData, 0, err)
	}
	return nil
}

// errNoMechanism is returned when the server does not offer the
// configured SASL mechanism.
var errNoMechanism = errors.New("server does not offer the configured auth mechanism")

// errClearAuth guards the rule that credentials never cross an
// unencrypted connection to another host (Validate already refuses the
// configuration; this is the second lock).
var errClearAuth = errors.New("refusing to authenticate over an unencrypted connection")

func (s *Sender) authenticate(c *smtp.Client) error {
	if s.cfg.User == "" {
		return nil
	}
	if _, encrypted := c.TLSConnectionState(); !encrypted && !isLoopback(s.cfg.Host) {
		return connectors.NeedsReconnect(fmt.Errorf("authenticating to %s: %w", s.addr, errClearAuth))
	}
	var client sasl.Client
	switch s.cfg.authMech() {
	case AuthLogin:
		client = sasl.NewLoginClient(s.cfg.User, s.cfg.Password.Reveal())
	default:
		client = sasl.NewPlainClient("", s.cfg.User, s.cfg.Password.Reveal())
	}
	mech, _, _ := client.Start()
	if !c.SupportsAuth(mech) {
		return connectors.NeedsReconnect(fmt.Errorf("authenticating to %s with %s: %w", s.addr, mech, errNoMechanism))
	}
	if err := c.Auth(client); err != nil {
		return fail(s.addr, stepAuth, 0, err)
	}
	return nil
}
