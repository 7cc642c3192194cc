package mllp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// secret is in every test message; it must never reach a log line.
const secret = "TESTPATIENT"

func hl7msg(id string) []byte {
	return []byte("MSH|^~\\&|LAB|SITE|FB|TC|20260101||ADT^A04^ADT_A01|" + id + "|P|2.5.1\rPID|1||X||" + secret + "^ALPHA\r")
}

// ackHandler parses the message and acknowledges it (AR when it cannot).
func ackHandler(_ context.Context, msg []byte) []byte {
	m, err := hl7v2.Parse(msg)
	var ack *hl7v2.Message
	if err != nil {
		ack, err = hl7v2.AckForUnparsable(msg, hl7v2.AckReject, &hl7v2.AckError{Code: hl7v2.CodeDataType, Text: "unparsable"})
	} else {
		ack, err = hl7v2.Ack(m, hl7v2.AckAccept, nil)
	}
	if err != nil {
		return nil
	}
	out, err := ack.Encode()
	if err != nil {
		return nil
	}
	return out
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testServer runs s on 127.0.0.1 and returns its address, its log and
// its metrics registry; the log is checked for message content at the end.
func testServer(t *testing.T, s *Server) (string, *syncBuffer, *prometheus.Registry) {
	t.Helper()
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	s.Registerer = reg
	if s.Handler == nil {
		s.Handler = HandlerFunc(ackHandler)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
		if out := logs.String(); strings.Contains(out, secret) || strings.Contains(out, "127.0.0.1") {
			t.Errorf("log holds message content or a host address:\n%s", out)
		}
	})
	return l.Addr().String(), logs, reg
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// readAck reads one framed ACK and returns its MSA-1 and MSA-2.
func readAck(t *testing.T, r *Reader) (string, string) {
	t.Helper()
	b, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("reading ACK: %v", err)
	}
	m, err := hl7v2.Parse(b)
	if err != nil {
		t.Fatalf("ACK does not parse: %v", err)
	}
	code, _ := m.Get("MSA-1")
	id, _ := m.Get("MSA-2")
	return code, id
}

// expectClosed waits until the server closes c.
func expectClosed(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 256)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") {
			return
		}
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

// counter returns the value of a counter or gauge with the given label.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					match = true
				}
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// eventConn records ACK writes in the shared event list.
type eventConn struct {
	net.Conn
	ev func(string)
}

func (c eventConn) Write(p []byte) (int, error) {
	c.ev("write")
	return c.Conn.Write(p)
}

type eventListener struct {
	net.Listener
	ev func(string)
}

func (l eventListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return eventConn{c, l.ev}, nil
}

// TestInOrder pipelines 20 messages on one connection: the handler sees
// them in order, one at a time, each after the previous ACK was written,
// and the ACKs come back in order.
func TestInOrder(t *testing.T) {
	var mu sync.Mutex
	var events []string
	ev := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	var active atomic.Int32
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		if active.Add(1) != 1 {
			t.Error("two messages of one connection handled at once")
		}
		defer active.Add(-1)
		m, _ := hl7v2.Parse(msg)
		id, _ := m.Get("MSH-10")
		ev("handle " + id)
		time.Sleep(time.Millisecond)
		return ackHandler(ctx, msg)
	})}
	logs := &syncBuffer{}
	s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(eventListener{l, ev})
	defer s.Shutdown(context.Background())

	c := dial(t, l.Addr().String())
	var all bytes.Buffer
	for i := range 20 {
		WriteFrame(&all, hl7msg(fmt.Sprintf("M%02d", i)))
	}
	if _, err := c.Write(all.Bytes()); err != nil {
		t.Fatal(err)
	}
	r := NewReader(c, 0)
	for i := range 20 {
		code, id := readAck(t, r)
		if code != "AA" || id != fmt.Sprintf("M%02d", i) {
			t.Fatalf("ACK %d: %s %s", i, code, id)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range 20 {
		if events[2*i] != fmt.Sprintf("handle M%02d", i) || events[2*i+1] != "write" {
			t.Fatalf("events out of order at %d: %v", i, events)
		}
	}
}

// TestConcurrentConnections holds 8 connections in the handler at once.
func TestConcurrentConnections(t *testing.T) {
	const n = 8
	var inside sync.WaitGroup
	inside.Add(n)
	all := make(chan struct{})
	go func() { inside.Wait(); close(all) }()
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		inside.Done()
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			t.Error("handlers did not run concurrently")
		}
		return ackHandler(ctx, msg)
	})}
	addr, _, reg := testServer(t, s)
	var wg sync.WaitGroup
	for i := range n {
		c := dial(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := WriteFrame(c, hl7msg(fmt.Sprintf("C%d", i))); err != nil {
				t.Error(err)
				return
			}
			b, err := NewReader(c, 0).ReadFrame()
			if err != nil || !bytes.Contains(b, []byte(fmt.Sprintf("MSA|AA|C%d", i))) {
				t.Errorf("connection %d: ACK %q, %v", i, b, err)
			}
		}()
	}
	wg.Wait()
	// a message is counted once its ACK is written, which the client may
	// read first
	waitFor(t, "every message counted as acked", func() bool {
		return counter(t, reg, "fhirbridge_mllp_messages_total", OutcomeAcked) == n
	})
	if got := counter(t, reg, "fhirbridge_mllp_connections_open", ""); got != n {
		t.Errorf("connections open = %v, want %d", got, n)
	}
}

func TestMaxConns(t *testing.T) {
	s := &Server{MaxConns: 2}
	addr, logs, reg := testServer(t, s)
	for range 2 {
		c := dial(t, addr)
		WriteFrame(c, hl7msg("A"))
		readAck(t, NewReader(c, 0))
	}
	c := dial(t, addr)
	expectClosed(t, c, 5*time.Second)
	waitFor(t, "rejected log", func() bool { return strings.Contains(logs.String(), "too many connections") })
	if got := counter(t, reg, "fhirbridge_mllp_connections_total", "rejected"); got != 1 {
		t.Errorf("rejected = %v", got)
	}
}

// TestFramingFailures: each bad stream closes the connection with a log
// line naming the outcome, and the handler never sees it.
func TestFramingFailures(t *testing.T) {
	tests := []struct {
		name    string
		send    string
		close   bool // close the write side after sending
		outcome string
	}{
		{"oversize", "\x0b" + strings.Repeat(secret, 100) + "\x1c\r", false, OutcomeTooLarge},
		{"oversize unterminated", "\x0b" + strings.Repeat(secret, 100), false, OutcomeTooLarge},
		{"garbage", secret + "\r", false, OutcomeBadFrame},
		{"half frame then close", "\x0bMSH|^~\\&|" + secret, true, OutcomeTruncated},
		{"half frame then silence", "\x0bMSH|^~\\&|" + secret, false, OutcomeTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var called atomic.Bool
			s := &Server{MaxMessageBytes: 200, ReadTimeout: 200 * time.Millisecond,
				Handler: HandlerFunc(func(context.Context, []byte) []byte { called.Store(true); return []byte("x") })}
			addr, logs, reg := testServer(t, s)
			c := dial(t, addr)
			if _, err := c.Write([]byte(tc.send)); err != nil {
				t.Fatal(err)
			}
			if tc.close {
				c.(*net.TCPConn).CloseWrite()
			}
			expectClosed(t, c, 5*time.Second)
			waitFor(t, "log line", func() bool { return strings.Contains(logs.String(), "outcome="+tc.outcome) })
			if got := counter(t, reg, "fhirbridge_mllp_messages_total", tc.outcome); got != 1 {
				t.Errorf("%s = %v", tc.outcome, got)
			}
			if called.Load() {
				t.Error("handler called on a bad frame")
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	s := &Server{IdleTimeout: 100 * time.Millisecond}
	addr, logs, _ := testServer(t, s)
	c := dial(t, addr)
	WriteFrame(c, hl7msg("I1"))
	readAck(t, NewReader(c, 0))
	start := time.Now()
	expectClosed(t, c, 5*time.Second)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	waitFor(t, "idle log", func() bool { return strings.Contains(logs.String(), `reason="idle timeout"`) })
}

func TestNoAckClosesConnection(t *testing.T) {
	s := &Server{Handler: HandlerFunc(func(context.Context, []byte) []byte { return nil })}
	addr, logs, reg := testServer(t, s)
	c := dial(t, addr)
	WriteFrame(c, hl7msg("N1"))
	expectClosed(t, c, 5*time.Second)
	waitFor(t, "no ack log", func() bool { return strings.Contains(logs.String(), "handler gave no ACK") })
	if got := counter(t, reg, "fhirbridge_mllp_messages_total", OutcomeNoAck); got != 1 {
		t.Errorf("no_ack = %v", got)
	}
}

// TestUnparsableGetsAR: the test handler answers a broken message with
// an AR built from what its MSH still gives.
func TestUnparsableGetsAR(t *testing.T) {
	addr, _, _ := testServer(t, &Server{})
	c := dial(t, addr)
	WriteFrame(c, []byte("MSH|^~\\&|LAB|SITE|FB|TC|2026||ADT^A04|U1|P|2.5.1||||||UTF-16\rPID|1\r"))
	code, id := readAck(t, NewReader(c, 0))
	if code != "AR" || id != "U1" {
		t.Errorf("ACK %s %s, want AR U1", code, id)
	}
}

// TestShutdown: an idle connection is closed at once, the listener
// stops, the message in hand is acknowledged, then Shutdown returns.
func TestShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		if bytes.Contains(msg, []byte("|SLOW|")) {
			close(entered)
			<-release
		}
		return ackHandler(ctx, msg)
	})}
	logs := &syncBuffer{}
	s.Logger = slog.New(slog.NewTextHandler(logs, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	addr := l.Addr().String()

	idle := dial(t, addr)
	WriteFrame(idle, hl7msg("I1"))
	readAck(t, NewReader(idle, 0))
	busy := dial(t, addr)
	WriteFrame(busy, hl7msg("SLOW"))
	<-entered

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	expectClosed(t, idle, 5*time.Second)
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("listener still accepts after Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a message in hand", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	code, id := readAck(t, NewReader(busy, 0))
	if code != "AA" || id != "SLOW" {
		t.Errorf("ACK of the message in hand: %s %s", code, id)
	}
	expectClosed(t, busy, 5*time.Second)
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if s.Conns() != 0 {
		t.Errorf("%d connections left", s.Conns())
	}
}

// TestShutdownForced: when the context ends first, connections are
// closed, the handler's context cancelled, and the error returned.
func TestShutdownForced(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	s := &Server{Handler: HandlerFunc(func(ctx context.Context, msg []byte) []byte {
		close(entered)
		<-ctx.Done()
		close(cancelled)
		return nil
	})}
	s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	c := dial(t, l.Addr().String())
	WriteFrame(c, hl7msg("F1"))
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want deadline exceeded", err)
	}
	<-cancelled
	expectClosed(t, c, 5*time.Second)
}

// TestAcksWithCustomReader checks the client side framing helpers with
// a bufio reader shared between frames.
func TestAcksWithCustomReader(t *testing.T) {
	addr, _, _ := testServer(t, &Server{})
	c := dial(t, addr)
	r := NewReader(bufio.NewReader(c), 0)
	for i := range 3 {
		WriteFrame(c, hl7msg(fmt.Sprint("B", i)))
		if code, id := readAck(t, r); code != "AA" || id != fmt.Sprint("B", i) {
			t.Errorf("ACK %d: %s %s", i, code, id)
		}
	}
}
