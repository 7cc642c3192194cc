package solomod

// `fhirbridge check --config FILE --connect`: the waitingRoom lookups of the
// Solo routes, checked against the waiting rooms Solo lists once Solo's
// connection test (the module's ConnectionChecks) succeeded.
//
// For every route to the solo connector whose mapping has a waitingRoom
// field, each room name the mapping itself can produce is checked
// (mapping.Mapping.Constants: every row of a lookup CSV, reported as file
// and line, literal defaults, and %param defaults with the route's params
// applied; an empty default is "not set" and skipped). The names in
// connectors.solo.slots.schedules are checked too.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// checkWaitingRooms lists Solo's waiting rooms with conn and reports every
// lookup of the config that names no existing room. It runs after Solo's
// connection test succeeded and prints a summary to out.
func checkWaitingRooms(ctx context.Context, app bridge.Root, s *Config, conn *solo.Connector, out io.Writer) error {
	sources, err := waitingRoomSources(app, s)
	if err != nil || len(sources) == 0 {
		return err // no lookup names a room: nothing more to check
	}
	rooms, err := conn.WaitingRooms(ctx)
	if err != nil {
		return fmt.Errorf("--connect: %w", err)
	}
	known := map[string]bool{}
	var names []string
	for _, r := range rooms {
		known[r.Name] = true
		names = append(names, fmt.Sprintf("%q", r.Name))
	}
	var errs []error
	for _, src := range sources {
		if !known[src.Value] {
			errs = append(errs, fmt.Errorf("%s: waiting room %q does not exist at Solo", src.Where, src.Value))
		}
	}
	if len(errs) > 0 {
		sort.Strings(names)
		errs = append(errs, fmt.Errorf("Solo's waiting rooms: %s", strings.Join(names, ", ")))
		return errors.Join(errs...)
	}
	fmt.Fprintf(out, "ok  --connect: %d waiting rooms at Solo; all %d waitingRoom lookups name one\n", len(rooms), len(sources))
	return nil
}

// waitingRoomSources collects the room names of the Solo routes' mappings
// and of connectors.solo.slots.schedules, each with where the config names
// it, e.g. "routes[1] (appts): waiting-rooms.csv row 3 (service_type 124)".
func waitingRoomSources(app bridge.Root, s *Config) ([]mapping.Constant, error) {
	var out []mapping.Constant
	for _, r := range app.ConfiguredRoutes() {
		if r.Connector != solo.Name {
			continue
		}
		m, err := bridge.LoadMapping(r.Mapping, r.Params, app.Dir())
		if err != nil {
			return nil, fmt.Errorf("routes[%d] (%s): %w", r.Index, r.Name, err)
		}
		for _, c := range m.Constants("waitingRoom") {
			c.Where = fmt.Sprintf("routes[%d] (%s): %s", r.Index, r.Name, c.Where)
			out = append(out, c)
		}
	}
	if sl := s.Slots; sl != nil {
		for _, id := range sl.ScheduleIDs() {
			out = append(out, mapping.Constant{Where: "connectors.solo.slots.schedules." + id, Value: sl.Schedules[id]})
		}
	}
	return out, nil
}
