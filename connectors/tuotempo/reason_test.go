package tuotempo

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestReasonCode: the notice names the cause of a failed export, also
// when the upload gave up at its deadline (it read "deadline_passed" for
// a server that refused every connection).
func TestReasonCode(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"none", nil, "unknown"},
		{"host key", fmt.Errorf("opening: %w", connectors.ErrHostKey), "host_key_mismatch"},
		{"unreachable until the deadline", fmt.Errorf("%w after 0 attempts: %w", export.ErrDeadline, connectors.Transiently(fmt.Errorf("dialing: %w", refused), 0)), "server_unreachable"},
		{"login refused", connectors.NeedsReconnect(errors.New("ssh: unable to authenticate")), "login_refused"},
		{"deadline, other cause", fmt.Errorf("%w after 3 attempts: %w", export.ErrDeadline, errors.New("short write")), "deadline_passed"},
		{"permanent", connectors.Permanently(errors.New("permission denied")), "permanent_failure"},
		{"transient", errors.New("reset"), "transient_failure"},
	}
	for _, tc := range cases {
		if got := reasonCode(tc.err); got != tc.want {
			t.Errorf("%s: reasonCode = %q, want %q", tc.name, got, tc.want)
		}
	}
}
