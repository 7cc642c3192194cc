package store

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A migration line is the versioned schema of one package, in the manner
// of River's migration lines: the package owns its tables, numbers its
// migrations 1, 2, 3, … independently of every other line, and
// schema_migrations records (line, version) for each step applied. The
// store's own tables are the line [StoreLine]; a package such as
// batch/delivery registers its line once, from an init function:
//
//	//go:embed migrations
//	var migrationFS embed.FS
//
//	func init() { store.RegisterMigrations("delivery", migrationFS, "migrations") }
//
// [Open] then brings every registered line up to date: the store's line
// first, the others in name order. A line must not depend on the tables of
// another line except the store's.

// StoreLine names the migration line of the store's own tables.
const StoreLine = "store"

// migration is one numbered schema step of a line.
type migration struct {
	version int
	name    string
	sql     string
}

// line is a parsed migration line: its steps per dialect, in version order.
type line struct {
	name  string
	steps map[dialect][]migration
}

// latest is the newest version of the line (the same for both dialects).
func (l *line) latest() int {
	ms := l.steps[sqliteDialect]
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

var (
	linesMu sync.Mutex
	lines   = map[string]*line{}
)

// lineName is what a line may be called: it is stored and appears in errors.
var lineName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// RegisterMigrations adds the migration line named name, whose files are in
// fsys under dir: one folder per dialect (dir/sqlite, dir/postgres), one
// file per version named NNNN_description.sql, versions numbered from 1
// without gaps and the same in both folders. Statements in a file end with
// a semicolon at the end of a line; a file runs in one transaction. The
// first migration of a line that takes over tables created before the line
// existed must be safe on such a database (tables and indexes created
// IF NOT EXISTS).
//
// It is meant to be called from the registering package's init function
// and panics, like [database/sql.Register], when name is malformed or
// already registered or the files break these rules: those are programming
// errors that every test of the package reveals.
func RegisterMigrations(name string, fsys fs.FS, dir string) {
	l, err := parseLine(name, fsys, dir)
	if err != nil {
		panic(err)
	}
	linesMu.Lock()
	defer linesMu.Unlock()
	if _, dup := lines[name]; dup {
		panic(fmt.Sprintf("registering migration line %q: already registered", name))
	}
	lines[name] = l
}

// registered lists the registered lines, the store's first, the others by
// name.
func registered() []*line {
	linesMu.Lock()
	defer linesMu.Unlock()
	out := make([]*line, 0, len(lines))
	for _, l := range lines {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].name == StoreLine) != (out[j].name == StoreLine) {
			return out[i].name == StoreLine
		}
		return out[i].name < out[j].name
	})
	return out
}

// parseLine reads and checks the migration files of line name.
func parseLine(name string, fsys fs.FS, dir string) (*line, error) {
	if !lineName.MatchString(name) {
		return nil, fmt.Errorf("registering migration line %q: a name is 1-40 lowercase letters, digits or '_', starting with a letter", name)
	}
	l := &line{name: name, steps: map[dialect][]migration{}}
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		ms, err := readSteps(fsys, path.Join(dir, d.String()))
		if err != nil {
			return nil, fmt.Errorf("registering migration line %q for %s: %w", name, d, err)
		}
		l.steps[d] = ms
	}
	sq, pg := l.steps[sqliteDialect], l.steps[postgresDialect]
	if len(sq) != len(pg) {
		return nil, fmt.Errorf("registering migration line %q: %d sqlite migrations but %d postgres", name, len(sq), len(pg))
	}
	return l, nil
}

// readSteps reads one dialect's folder of migration files, checking that
// versions run 1, 2, 3, … without gaps.
func readSteps(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if e.IsDir() || !ok || err != nil || len(num) != 4 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("listing migrations: malformed file name %q, want NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("listing migrations: no migration files in %s", dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("listing migrations: %s has version %d, want %d (versions run from 1 without gaps or repeats)", m.name, m.version, i+1)
		}
	}
	return out, nil
}
