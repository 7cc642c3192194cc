package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// readMessage parses a received message and returns its headers and its
// decoded body.
func readMessage(t *testing.T, raw []byte) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("received message does not parse: %v", err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatalf("body is not quoted-printable: %v", err)
	}
	return m.Header, string(body)
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestSendOneMessageHeaders(t *testing.T) {
	srv := newFakeServer(t, serverOpts{})
	s := newSender(t, srv.config(TLSStartTLS))
	at := time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))
	s.now = func() time.Time { return at }
	msg := Message{
		To:      []string{"desk@clinic.example", "Reception <front@clinic.example>"},
		Subject: "Cancellazioni — sede Verona",
		Body:    "line one\nline two with é\r\n.starts with a dot\n" + strings.Repeat("x", 200) + "\n",
	}
	if err := s.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if !r.TLS || r.Mech != "PLAIN" {
		t.Errorf("TLS=%v mech=%q, want TLS and PLAIN", r.TLS, r.Mech)
	}
	if r.From != "bridge@clinic.example" || strings.Join(r.To, ",") != "desk@clinic.example,front@clinic.example" {
		t.Errorf("envelope from %q to %q", r.From, r.To)
	}
	h, body := readMessage(t, r.Data)
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subject != msg.Subject {
		t.Errorf("Subject decodes to %q (%v), want %q", subject, err, msg.Subject)
	}
	if strings.Contains(h.Get("Subject"), "—") {
		t.Errorf("non-ASCII subject sent raw: %q", h.Get("Subject"))
	}
	if d, err := h.Date(); err != nil || !d.Equal(at) {
		t.Errorf("Date %v (%v), want %v", d, err, at)
	}
	want := map[string]string{
		"From":                      `"FHIR bridge" <bridge@clinic.example>`,
		"To":                        `<desk@clinic.example>, "Reception" <front@clinic.example>`,
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@clinic.example>") {
		t.Errorf("Message-ID %q", id)
	}
	if wantBody := normalizeNewlines(msg.Body); strings.ReplaceAll(body, "\r\n", "\n") != wantBody {
		t.Errorf("body %q, want %q", body, wantBody)
	}
	for _, line := range strings.Split(string(r.Data), "\r\n") {
		if len(line) > 998 || strings.ContainsAny(line, "\r\n") {
			t.Errorf("bad line in raw message: %q", line)
		}
	}
}

func TestSendModes(t *testing.T) {
	srv := newFakeServer(t, serverOpts{})
	for _, tc := range []struct {
		name, tls, auth, wantMech string
	}{
		{"starttls plain", TLSStartTLS, "", "PLAIN"},
		{"starttls login", TLSStartTLS, AuthLogin, "LOGIN"},
		{"implicit plain", TLSImplicit, AuthPlain, "PLAIN"},
		{"implicit login", TLSImplicit, AuthLogin, "LOGIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.config(tc.tls)
			cfg.Auth = tc.auth
			before := len(srv.messages())
			if err := newSender(t, cfg).Send(context.Background(), Message{To: []string{"desk@clinic.example"}, Subject: tc.name, Body: "hi"}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.messages()
			if len(got) != before+1 {
				t.Fatalf("server has %d messages, want %d", len(got), before+1)
			}
			if last := got[len(got)-1]; last.Mech != tc.wantMech || !last.TLS {
				t.Errorf("mech %q TLS %v, want %q over TLS", last.Mech, last.TLS, tc.wantMech)
			}
		})
	}
}

// A relay on loopback may take AUTH in clear (tls "none").
func TestSendPlaintextLoopback(t *testing.T) {
	srv := newFakeServer(t, serverOpts{plaintext: true})
	cfg := srv.config(TLSNone)
	cfg.Host, cfg.CAFile = "localhost", ""
	if err := newSender(t, cfg).Send(context.Background(), Message{To: []string{"desk@clinic.example"}, Subject: "s", Body: "b"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.messages(); len(got) != 1 || got[0].TLS {
		t.Fatalf("got %+v, want one clear-text message", got)
	}
}

func TestSendFailures(t *testing.T) {
	srv := newFakeServer(t, serverOpts{})
	ok := Message{To: []string{"desk@clinic.example"}, Subject: "s", Body: "secret body text"}
	for _, tc := range []struct {
		name      string
		cfg       func(Config) Config
		msg       Message
		timeout   time.Duration
		class     connectors.Class
		code      int
		is        error
		wantInErr string
	}{
		{name: "wrong password", cfg: func(c Config) Config { c.Password = "wrong-pass-9"; return c },
			msg: ok, class: connectors.Reconnect, code: 535, wantInErr: "127.0.0.1"},
		{name: "wrong password login", cfg: func(c Config) Config { c.Password, c.Auth = "wrong-pass-9", AuthLogin; return c },
			msg: ok, class: connectors.Reconnect, code: 535},
		{name: "recipient refused", msg: Message{To: []string{"desk@clinic.example", "nobody@clinic.example"}, Subject: "s", Body: "secret body text"},
			class: connectors.Permanent, code: 550, wantInErr: "550"},
		{name: "recipient deferred", msg: Message{To: []string{"busy@clinic.example"}, Subject: "s", Body: "b"},
			class: connectors.Transient, code: 451},
		{name: "server down", cfg: func(c Config) Config { c.Port = deadPort(t); return c },
			msg: ok, class: connectors.Transient, wantInErr: "127.0.0.1"},
		{name: "server silent", cfg: func(c Config) Config { c.Port, c.Timeout = silentServer(t), 300*time.Millisecond; return c },
			msg: ok, class: connectors.Transient},
		{name: "ctx deadline", cfg: func(c Config) Config { c.Port = silentServer(t); return c },
			msg: ok, timeout: 200 * time.Millisecond, class: connectors.Transient, is: context.DeadlineExceeded},
		{name: "untrusted certificate", cfg: func(c Config) Config { c.CAFile = ""; return c },
			msg: ok, class: connectors.Reconnect},
		{name: "untrusted certificate implicit", cfg: func(c Config) Config {
			c = srv.config(TLSImplicit)
			c.CAFile = ""
			return c
		}, msg: ok, class: connectors.Reconnect},
		{name: "no auth", cfg: func(c Config) Config { c.User, c.Password = "", ""; return c },
			msg: ok, class: connectors.Reconnect, code: 502},
		{name: "subject injection", msg: Message{To: ok.To, Subject: "hi\r\nBcc: evil@attacker.example", Body: "b"},
			class: connectors.Permanent, is: ErrHeaderInjection},
		{name: "subject LF injection", msg: Message{To: ok.To, Subject: "hi\nBcc: evil@attacker.example", Body: "b"},
			class: connectors.Permanent, is: ErrHeaderInjection},
		{name: "recipient injection", msg: Message{To: []string{"desk@clinic.example\r\nBcc: evil@attacker.example"}, Subject: "s", Body: "b"},
			class: connectors.Permanent, is: ErrHeaderInjection},
		{name: "bad recipient", msg: Message{To: []string{"not an address"}, Subject: "s", Body: "b"},
			class: connectors.Permanent},
		{name: "no recipient", msg: Message{Subject: "s", Body: "b"}, class: connectors.Permanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.config(TLSStartTLS)
			if tc.cfg != nil {
				cfg = tc.cfg(cfg)
			}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			before := len(srv.messages())
			err := newSender(t, cfg).Send(ctx, tc.msg)
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if class, _ := connectors.Classify(err); class != tc.class {
				t.Errorf("class %v, want %v (%v)", class, tc.class, err)
			}
			var re *ReplyError
			if tc.code != 0 && (!errors.As(err, &re) || re.Code != tc.code) {
				t.Errorf("error %v, want SMTP reply %d", err, tc.code)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			t.Logf("error: %v", err)
			msg := err.Error()
			if !strings.Contains(msg, tc.wantInErr) {
				t.Errorf("error %q does not contain %q", msg, tc.wantInErr)
			}
			for _, leak := range []string{"s3cret-pass", "wrong-pass-9", "secret body text", "evil@", "nobody@"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q leaks %q", msg, leak)
				}
			}
			if got := len(srv.messages()); got != before {
				t.Errorf("server received %d new messages, want none", got-before)
			}
		})
	}
}

// A server without STARTTLS is never used in clear in starttls mode.
func TestSendNoSTARTTLS(t *testing.T) {
	srv := newFakeServer(t, serverOpts{plaintext: true})
	err := newSender(t, srv.config(TLSStartTLS)).Send(context.Background(), Message{To: []string{"desk@clinic.example"}, Subject: "s", Body: "b"})
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Reconnect {
		t.Fatalf("Send: %v (class %v), want a reconnect failure", err, class)
	}
	if n := len(srv.messages()); n != 0 {
		t.Fatalf("server received %d messages in clear", n)
	}
}

func TestClassifyReply(t *testing.T) {
	for _, tc := range []struct {
		step, enhanced string
		code           int
		want           connectors.Class
	}{
		{stepGreeting, "", 421, connectors.Transient},
		{stepRcpt, "4.2.2", 452, connectors.Transient},
		{stepData, "4.3.0", 451, connectors.Transient},
		{stepAuth, "5.7.8", 535, connectors.Reconnect},
		{stepAuth, "4.7.0", 454, connectors.Transient},
		{stepMail, "5.7.0", 530, connectors.Reconnect},
		{stepMail, "5.1.8", 553, connectors.Permanent},
		{stepRcpt, "5.1.1", 550, connectors.Permanent},
		{stepData, "5.3.4", 552, connectors.Permanent},
		{stepGreeting, "5.0.0", 554, connectors.Reconnect},
		{stepStartTLS, "5.5.1", 502, connectors.Reconnect},
	} {
		err := classifyReply(&ReplyError{Host: "h:587", Step: tc.step, Code: tc.code, Enhanced: tc.enhanced})
		if got, _ := connectors.Classify(err); got != tc.want {
			t.Errorf("%s %d: %v, want %v", tc.step, tc.code, got, tc.want)
		}
	}
}

// Cancelling ctx while the server is silent ends Send at once.
func TestSendCancel(t *testing.T) {
	cfg := newFakeServer(t, serverOpts{}).config(TLSStartTLS)
	cfg.Port = silentServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := newSender(t, cfg).Send(ctx, Message{To: []string{"desk@clinic.example"}, Subject: "s", Body: "b"})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("Send: %v after %v, want context.Canceled promptly", err, time.Since(start))
	}
	if class, _ := connectors.Classify(err); class != connectors.Transient {
		t.Errorf("class %v, want transient", class)
	}
}
