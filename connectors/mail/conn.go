package mail

import (
	"net"
	"time"
)

// deadlineConn keeps every deadline at or before limit. go-smtp sets a
// per-command deadline and then clears it; the clamp keeps Config.Timeout
// (or the ctx deadline) a bound on the whole Send, body writes included.
type deadlineConn struct {
	net.Conn
	limit time.Time
}

func (c *deadlineConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.limit) {
		return c.limit
	}
	return t
}

// SetDeadline sets both deadlines, no later than the limit.
func (c *deadlineConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }

// SetReadDeadline sets the read deadline, no later than the limit.
func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}

// SetWriteDeadline sets the write deadline, no later than the limit.
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

var _ net.Conn = (*deadlineConn)(nil)
