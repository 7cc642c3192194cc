package solomod

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// TestRoutesTasks: the assistance poller runs only where a route sends
// Tasks to Solo.
func TestRoutesTasks(t *testing.T) {
	for _, c := range []struct {
		routes []bridge.ConfiguredRoute
		want   bool
	}{
		{nil, false},
		{[]bridge.ConfiguredRoute{{Resource: "Patient", Connector: "solo"}, {Resource: "Task", Connector: "tyto"}}, false},
		{[]bridge.ConfiguredRoute{{Resource: "Patient", Connector: "solo"}, {Resource: "Task", Connector: "solo", Mapping: "my-assistance.yaml"}}, true},
	} {
		if got := routesTasks(c.routes); got != c.want {
			t.Errorf("routesTasks(%+v) = %v, want %v", c.routes, got, c.want)
		}
	}
}
