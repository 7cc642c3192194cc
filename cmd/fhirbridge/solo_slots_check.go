package main

// `fhirbridge check --config FILE --connect`: the waitingRoom lookups of the
// Solo routes, checked against the waiting rooms Solo lists once Solo's
// connection test (check_connect.go) succeeded.
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

	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// checkWaitingRooms lists Solo's waiting rooms with conn and reports every
// lookup of the config that names no existing room. It runs after Solo's
// connection test succeeded and prints a summary to out.
func checkWaitingRooms(ctx context.Context, c *config.Config, conn *solo.Connector, out io.Writer) error {
	sources, err := waitingRoomSources(c)
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
func waitingRoomSources(c *config.Config) ([]mapping.Constant, error) {
	var out []mapping.Constant
	for i, r := range c.Routes {
		if r.Connector != "solo" {
			continue
		}
		m, err := loadMapping(r.Mapping, r.Params, c.Dir())
		if err != nil {
			return nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		for _, s := range m.Constants("waitingRoom") {
			s.Where = fmt.Sprintf("routes[%d] (%s): %s", i, r.Name, s.Where)
			out = append(out, s)
		}
	}
	if sl := c.Connectors.Solo.Slots; sl != nil {
		ids := make([]string, 0, len(sl.Schedules))
		for id := range sl.Schedules {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			out = append(out, mapping.Constant{Where: "connectors.solo.slots.schedules." + id, Value: sl.Schedules[id]})
		}
	}
	return out, nil
}
