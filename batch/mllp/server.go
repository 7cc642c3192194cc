package mllp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/logging"
)

// Handler handles one message and returns the ACK to send back (without
// framing). A nil ACK closes the connection unanswered, so the sender
// will send the message again. ctx is cancelled when the server is
// forced down.
type Handler interface {
	Handle(ctx context.Context, msg []byte) (ack []byte)
}

// HandlerFunc lets a function be a Handler.
type HandlerFunc func(ctx context.Context, msg []byte) []byte

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, msg []byte) []byte { return f(ctx, msg) }

// Defaults of the Server's zero fields.
const (
	DefaultMaxConns     = 64
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("mllp: server closed")

// Server is an MLLP listener. Set its fields before Serve; do not change
// them after.
type Server struct {
	// Handler handles each message; required.
	Handler Handler
	// TLSConfig, when set, makes Serve speak TLS on the listener (set
	// ClientAuth and ClientCAs to require client certificates).
	TLSConfig *tls.Config
	// MaxConns bounds the connections open at once (DefaultMaxConns).
	MaxConns int
	// MaxMessageBytes bounds one message (DefaultMaxMessageBytes).
	MaxMessageBytes int
	// IdleTimeout is how long a connection may wait for the start of its
	// next message (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// ReadTimeout bounds reading one frame from its first byte, and the
	// TLS handshake (DefaultReadTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one ACK (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// Logger gets one line per connection event, with the connection id
	// and remote port only. Default slog.Default().
	Logger *slog.Logger
	// Registerer takes the metrics (a private registry when nil).
	Registerer prometheus.Registerer

	initOnce  sync.Once
	met       *metrics
	mu        sync.Mutex
	listeners map[*net.Listener]struct{} // keyed by pointer: a listener value may not be hashable
	conns     map[*conn]struct{}
	closing   bool
	done      chan struct{} // closed when the last connection ends during shutdown
	nextID    atomic.Uint64
	baseCtx   context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.met = newMetrics(s.Registerer)
		s.listeners = map[*net.Listener]struct{}{}
		s.conns = map[*conn]struct{}{}
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
	})
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// ListenAndServe listens on the TCP address addr and serves it.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("mllp: listen: %w", err)
	}
	return s.Serve(l)
}

// Serve accepts connections on l until Shutdown (then it returns
// ErrServerClosed) or an accept error. l is closed on return.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if s.Handler == nil {
		l.Close()
		return errors.New("mllp: Server.Handler is nil")
	}
	if s.TLSConfig != nil {
		l = tls.NewListener(l, s.TLSConfig)
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	key := &l
	s.listeners[key] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, key)
		s.mu.Unlock()
		l.Close()
	}()
	maxConns := orDefault(s.MaxConns, DefaultMaxConns)
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Temporary (e.g. out of file descriptors): back off.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("mllp: accept: %w", err)
		}
		delay = 0
		c := &conn{s: s, nc: nc, id: s.nextID.Add(1), port: remotePort(nc)}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return ErrServerClosed
		}
		if len(s.conns) >= maxConns {
			s.mu.Unlock()
			s.met.conns.WithLabelValues("rejected").Inc()
			s.log().Warn("mllp connection refused: too many connections",
				slog.Uint64("conn", c.id), slog.String("remote_port", c.port), slog.Int("max_conns", maxConns))
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.met.conns.WithLabelValues("accepted").Inc()
		s.met.open.Inc()
		go c.serve()
	}
}

// Shutdown stops the server gracefully: it closes the listeners and the
// idle connections, and waits for each message in hand to be acknowledged
// and its connection closed. When ctx ends first, the remaining
// connections are closed, handlers' contexts cancelled, and ctx's error
// returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		(*l).Close()
	}
	for c := range s.conns {
		c.stop()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("mllp: shutdown: %w", ctx.Err())
	}
}

// remotePort returns the port of the peer, never its host.
func remotePort(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		if _, port, err := net.SplitHostPort(a.String()); err == nil {
			return port
		}
	}
	return ""
}

// conn is one client connection.
type conn struct {
	s    *Server
	nc   net.Conn
	id   uint64
	port string

	mu       sync.Mutex
	idle     bool // waiting for the first byte of a frame
	stopping bool // Shutdown asked it to end after the message in hand
}

// stop asks the connection to end; an idle one is woken at once.
func (c *conn) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	if c.idle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// beginIdle marks the connection idle (waiting, with a read deadline d
// from now, for bytes that start something); false if it must stop
// instead. The deadline is set under the lock so that stop cannot be
// overridden.
func (c *conn) beginIdle(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return false
	}
	c.idle = true
	c.nc.SetReadDeadline(time.Now().Add(d))
	return true
}

// endIdle ends the idle state and reports whether Shutdown asked the
// connection to stop.
func (c *conn) endIdle() (stopping bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = false
	return c.stopping
}

func (c *conn) logAttrs(level slog.Level, msg string, attrs ...slog.Attr) {
	c.logCtx(context.Background(), level, msg, attrs...)
}

// logCtx logs with ctx, so that a message's lines carry its request id.
func (c *conn) logCtx(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	attrs = append([]slog.Attr{slog.Uint64("conn", c.id), slog.String("remote_port", c.port)}, attrs...)
	c.s.log().LogAttrs(ctx, level, msg, attrs...)
}

func (c *conn) serve() {
	s := c.s
	messages := 0
	reason := "closed by peer"
	defer func() {
		c.nc.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.met.open.Dec()
		c.logAttrs(slog.LevelInfo, "mllp connection closed", slog.Int("messages", messages), slog.String("reason", reason))
		s.wg.Done()
	}()
	readTimeout := orDefault(s.ReadTimeout, DefaultReadTimeout)
	if tc, ok := c.nc.(*tls.Conn); ok {
		if !c.beginIdle(readTimeout) {
			reason = "server shutdown"
			return
		}
		ctx, cancel := context.WithTimeout(s.baseCtx, readTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		c.endIdle()
		if err != nil {
			s.met.conns.WithLabelValues("tls_failed").Inc()
			reason = "tls handshake failed"
			return
		}
	}
	c.logAttrs(slog.LevelInfo, "mllp connection opened")
	br := bufio.NewReader(c.nc)
	fr := NewReader(br, orDefault(s.MaxMessageBytes, DefaultMaxMessageBytes))
	idle := orDefault(s.IdleTimeout, DefaultIdleTimeout)
	writeTimeout := orDefault(s.WriteTimeout, DefaultWriteTimeout)
	for {
		if !c.beginIdle(idle) {
			reason = "server shutdown"
			return
		}
		_, err := br.Peek(1)
		stopping := c.endIdle()
		if err != nil {
			switch {
			case stopping:
				reason = "server shutdown"
			case isTimeout(err):
				reason = "idle timeout"
			case errors.Is(err, io.EOF):
				reason = "closed by peer"
			default:
				reason = "read failed"
			}
			return
		}
		c.nc.SetReadDeadline(time.Now().Add(readTimeout))
		msg, err := fr.ReadFrame()
		if err != nil {
			outcome := outcomeOf(err)
			s.met.message(outcome, 0)
			reason = outcome
			c.logAttrs(slog.LevelWarn, "mllp frame rejected", slog.String("outcome", outcome), slog.String("error", readErrText(err, fr.Offset())))
			return
		}
		start := time.Now()
		// each message gets a request id of its own: the handler's lines,
		// the jobs it enqueues and these lines carry it
		mctx := logging.WithRequestID(context.WithValue(s.baseCtx, connIDKey{}, c.id), logging.NewRequestID())
		ack := s.Handler.Handle(mctx, msg)
		if ack == nil {
			s.met.message(OutcomeNoAck, 0)
			reason = OutcomeNoAck
			c.logCtx(mctx, slog.LevelWarn, "mllp message not acknowledged: handler gave no ACK")
			return
		}
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err := WriteFrame(c.nc, ack); err != nil {
			s.met.message(OutcomeWriteFailed, 0)
			reason = OutcomeWriteFailed
			c.logCtx(mctx, slog.LevelWarn, "mllp ACK not written", slog.String("error", errText(err)))
			return
		}
		messages++
		s.met.message(OutcomeAcked, time.Since(start))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func outcomeOf(err error) string {
	switch {
	case errors.Is(err, ErrTooLarge):
		return OutcomeTooLarge
	case errors.Is(err, ErrOutsideFrame), errors.Is(err, ErrBadEnd):
		return OutcomeBadFrame
	case errors.Is(err, ErrTruncated), errors.Is(err, io.EOF):
		return OutcomeTruncated
	case isTimeout(err):
		return OutcomeTimeout
	}
	return OutcomeReadFailed
}

// readErrText is a read error's text for the log: a *FrameError as is
// (offset and kind), a network error only as its kind and offset, for its
// text names the connection's addresses.
func readErrText(err error, off int64) string {
	var fe *FrameError
	switch {
	case errors.As(err, &fe):
		return fe.Error()
	case isTimeout(err):
		return fmt.Sprintf("mllp: byte %d: read timeout", off)
	}
	return fmt.Sprintf("mllp: byte %d: read failed", off)
}

// errText is an error's text for the log; write errors name the
// connection's addresses, so only the kind is kept for them.
func errText(err error) string {
	switch {
	case isTimeout(err):
		return "write timeout"
	case errors.Is(err, ErrBadEnd):
		return "ACK holds a block character"
	}
	return "write failed"
}

// connIDKey is the context key of the connection id.
type connIDKey struct{}

// ConnID returns the server's id of the connection a Handler's message
// came on (the id its log lines carry), or false outside a Handler.
func ConnID(ctx context.Context) (uint64, bool) {
	id, ok := ctx.Value(connIDKey{}).(uint64)
	return id, ok
}

// Conns returns the number of connections open, for tests and status.
func (s *Server) Conns() int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
