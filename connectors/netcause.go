package connectors

import (
	"errors"
	"net"
)

// NetCause returns the fault at the end of err's single-wrap chain without
// the action phrases wrapped around it, stopping early at a network error
// (*net.OpError, kept whole: "dial tcp 10.0.0.5:443: connect: connection
// refused"). Connection tests use it to say why in few words.
func NetCause(err error) error {
	for {
		if _, ok := err.(*net.OpError); ok {
			return err
		}
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
