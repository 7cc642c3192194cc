package connectors

import (
	"errors"
	"fmt"
	"net"
	"testing"
)

func TestNetCause(t *testing.T) {
	op := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	root := errors.New("root cause")
	cases := []struct {
		name string
		in   error
		want error
	}{
		{"network error behind phrases", fmt.Errorf("checking: %w", fmt.Errorf("connecting: %w", op)), op},
		{"no network error: the root", fmt.Errorf("a: %w", fmt.Errorf("b: %w", root)), root},
		{"bare", root, root},
	}
	for _, c := range cases {
		if got := NetCause(c.in); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
