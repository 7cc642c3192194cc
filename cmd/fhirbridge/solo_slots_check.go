package main

// `fhirbridge check --config FILE --connect`: the waitingRoom lookups of the
// Solo routes, checked against the waiting rooms Solo lists once Solo's
// connection test (check_connect.go) succeeded.
//
// For every route to the solo connector whose mapping has a waitingRoom
// field, each source of a room name is checked: the value column of every
// row of a lookup CSV (reported as file and line), a literal default, and
// a %param default (the route's params, else the mapping's default; an
// empty value is "not set" and skipped). The names in
// connectors.solo.slots.schedules are checked too.

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// roomSource is one place of the config that names a waiting room.
type roomSource struct {
	where string // e.g. "routes[1] (appts): waiting-rooms.csv row 3 (service_type 124)"
	name  string
}

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
		if !known[src.name] {
			errs = append(errs, fmt.Errorf("%s: waiting room %q does not exist at Solo", src.where, src.name))
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
// and of connectors.solo.slots.schedules.
func waitingRoomSources(c *config.Config) ([]roomSource, error) {
	var out []roomSource
	for i, r := range c.Routes {
		if r.Connector != "solo" {
			continue
		}
		fsys, file, err := mappingSource(c, r.Mapping)
		if err != nil {
			return nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		srcs, err := mappingRoomSources(fsys, file, r.Params)
		if err != nil {
			return nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		for _, s := range srcs {
			s.where = fmt.Sprintf("routes[%d] (%s): %s", i, r.Name, s.where)
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
			out = append(out, roomSource{where: "connectors.solo.slots.schedules." + id, name: sl.Schedules[id]})
		}
	}
	return out, nil
}

// mappingSource resolves a route's mapping as loadMapping does: a file
// (relative to the config's folder too) or a shipped name.
func mappingSource(c *config.Config, spec string) (fs.FS, string, error) {
	if !isFile(spec) && isFile(filepath.Join(c.Dir(), spec)) {
		spec = filepath.Join(c.Dir(), spec)
	}
	if isFile(spec) {
		abs, err := filepath.Abs(spec)
		if err != nil {
			return nil, "", err
		}
		return os.DirFS(filepath.Dir(abs)), filepath.Base(abs), nil
	}
	if p, ok := shipped.Path(spec); ok {
		return shipped.FS, p, nil
	}
	return nil, "", fmt.Errorf("no mapping %q", spec)
}

// mappingRoomSources reads the waitingRoom field of a mapping file: its
// lookup CSVs (every row's value), literal defaults and %param defaults.
func mappingRoomSources(fsys fs.FS, file string, params map[string]string) ([]roomSource, error) {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("reading mapping: %w", err)
	}
	var doc struct {
		Params map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"params"`
		Fields []struct {
			Target    string `yaml:"target"`
			Transform []any  `yaml:"transform"`
		} `yaml:"fields"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("reading mapping %s: %w", file, err)
	}
	var out []roomSource
	for _, f := range doc.Fields {
		if f.Target != "waitingRoom" {
			continue
		}
		for _, t := range f.Transform {
			step, _ := t.(map[string]any)
			if l, ok := step["lookup"].(map[string]any); ok {
				srcs, err := lookupRoomSources(fsys, file, l)
				if err != nil {
					return nil, err
				}
				out = append(out, srcs...)
			}
			if d, ok := step["default"].(string); ok {
				if name, isParam := strings.CutPrefix(d, "%"); isParam {
					v, set := params[name]
					where := "param " + name
					if !set {
						v, where = doc.Params[name].Default, file+": default of param "+name
					}
					if v != "" {
						out = append(out, roomSource{where: where, name: v})
					}
				} else if d != "" {
					out = append(out, roomSource{where: file + ": default", name: d})
				}
			}
		}
	}
	return out, nil
}

// lookupRoomSources reads the room names of one lookup transform: every
// row of its CSV, or every value of its inline table.
func lookupRoomSources(fsys fs.FS, file string, l map[string]any) ([]roomSource, error) {
	if csvFile, _ := l["csv"].(string); csvFile != "" {
		keyCol, _ := l["key"].(string)
		valCol, _ := l["value"].(string)
		return csvRoomSources(fsys, path.Join(path.Dir(file), csvFile), csvFile, keyCol, valCol)
	}
	table, _ := l["table"].(map[string]any)
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []roomSource
	for _, k := range keys {
		out = append(out, roomSource{where: file + ": lookup table key " + k, name: fmt.Sprint(table[k])})
	}
	return out, nil
}

// csvRoomSources reads the value column of a lookup CSV, one source per row.
func csvRoomSources(fsys fs.FS, p, name, keyCol, valCol string) ([]roomSource, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("lookup csv: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("lookup csv %s: no header row or not CSV", name)
	}
	col := func(want string, def int) int {
		if want == "" {
			return def
		}
		for i, h := range rows[0] {
			if h == want {
				return i
			}
		}
		return -1
	}
	ki, vi := col(keyCol, 0), col(valCol, 1)
	if ki < 0 || vi < 0 || vi >= len(rows[0]) {
		return nil, fmt.Errorf("lookup csv %s: key or value column not found", name)
	}
	var out []roomSource
	for i, r := range rows[1:] {
		if vi >= len(r) || ki >= len(r) {
			return nil, fmt.Errorf("lookup csv %s: row %d is short", name, i+2)
		}
		out = append(out, roomSource{where: fmt.Sprintf("%s row %d (%s %s)", name, i+2, rows[0][ki], r[ki]), name: r[vi]})
	}
	return out, nil
}
