package xfer

import (
	"context"
	"net"
	"sync"
	"time"
)

// Guard bounds the network I/O of a Remote's operations. Between Begin
// and its end function every connection Wrap returned must make progress
// within the timeout (each read or write renews the deadline), and
// cancelling Begin's context fails the pending I/O at once. Outside an
// operation a connection may sit idle without limit, so a session can be
// kept open between jobs' calls.
//
// A timed-out or cancelled operation usually breaks the session (an SSH
// or FTP connection cannot resume a half-read packet); the Remote is then
// closed and reopened by its caller.
type Guard struct {
	timeout time.Duration

	mu       sync.Mutex
	active   bool
	canceled bool
	conns    map[*guardedConn]struct{}
}

// NewGuard returns a Guard with the given idle timeout per operation.
func NewGuard(timeout time.Duration) *Guard {
	return &Guard{timeout: timeout, conns: map[*guardedConn]struct{}{}}
}

// Timeout returns the guard's idle timeout.
func (g *Guard) Timeout() time.Duration { return g.timeout }

// Wrap returns c with its I/O bounded by g.
func (g *Guard) Wrap(c net.Conn) net.Conn {
	gc := &guardedConn{Conn: c, g: g}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns[gc] = struct{}{}
	if g.active {
		_ = c.SetDeadline(g.deadline())
	}
	return gc
}

// Begin starts an operation under ctx; call the returned function when it
// ends. Operations of one Guard must not overlap.
func (g *Guard) Begin(ctx context.Context) (end func()) {
	g.mu.Lock()
	g.active, g.canceled = true, false
	g.setAll(g.deadline())
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.active {
			g.canceled = true
			g.setAll(time.Unix(1, 0)) // in the past: pending I/O fails now
		}
	})
	return func() {
		stop()
		g.mu.Lock()
		defer g.mu.Unlock()
		g.active = false
		if !g.canceled {
			g.setAll(time.Time{})
		}
	}
}

func (g *Guard) deadline() time.Time { return time.Now().Add(g.timeout) }

func (g *Guard) setAll(t time.Time) {
	for c := range g.conns {
		_ = c.Conn.SetDeadline(t)
	}
}

// renew pushes c's deadline forward after progress during an operation.
func (g *Guard) renew(c *guardedConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active && !g.canceled {
		_ = c.Conn.SetDeadline(g.deadline())
	}
}

func (g *Guard) forget(c *guardedConn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
}

type guardedConn struct {
	net.Conn
	g *Guard
}

func (c *guardedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.g.renew(c)
	}
	return n, err
}

func (c *guardedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.g.renew(c)
	}
	return n, err
}

func (c *guardedConn) Close() error {
	c.g.forget(c)
	return c.Conn.Close()
}
