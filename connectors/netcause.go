package connectors

import (
	"errors"
	"net"
)

// NetCause returns the network fault in err's single-wrap chain (a
// *net.OpError such as "dial tcp 10.0.0.5:443: connect: connection
// refused") without the action phrases wrapped around it, or err itself
// when the chain holds none. Connection tests use it to say why in few
// words.
func NetCause(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(*net.OpError); ok {
			return e
		}
	}
	return err
}
