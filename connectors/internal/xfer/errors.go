package xfer

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// IsNetwork reports whether err is a fault of the connection (timeout,
// reset, refused, closed, EOF) rather than an answer of the server.
func IsNetwork(err error) bool {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ne), errors.As(err, &oe):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return true
	}
	return false
}
