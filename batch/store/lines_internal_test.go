package store

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestParseLine checks the rules RegisterMigrations enforces on a line's
// name and files.
func TestParseLine(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	both := func(names ...string) fstest.MapFS {
		fsys := fstest.MapFS{}
		for _, n := range names {
			fsys["m/sqlite/"+n] = file("SELECT 1;")
			fsys["m/postgres/"+n] = file("SELECT 1;")
		}
		return fsys
	}
	dir := &fstest.MapFile{Mode: fs.ModeDir | 0o755}
	cases := []struct {
		name    string
		line    string
		fsys    fstest.MapFS
		latest  int
		wantErr string // "" for success
	}{
		{"two versions", "queue", both("0001_a.sql", "0002_b.sql"), 2, ""},
		{"order by number", "queue", both("0002_b.sql", "0001_a.sql"), 2, ""},
		{"bad name", "Queue", both("0001_a.sql"), 0, "a name is"},
		{"empty name", "", both("0001_a.sql"), 0, "a name is"},
		{"gap", "queue", both("0001_a.sql", "0003_c.sql"), 0, "want 2"},
		{"starts at 2", "queue", both("0002_b.sql"), 0, "want 1"},
		{"repeat", "queue", both("0001_a.sql", "0001_b.sql"), 0, "want 2"},
		{"malformed file", "queue", both("1_a.sql"), 0, "malformed file name"},
		{"not sql", "queue", both("0001_a.txt"), 0, "malformed file name"},
		{"no files", "queue", fstest.MapFS{"m/sqlite": dir, "m/postgres": dir}, 0, "no migration files"},
		{"missing dialect", "queue", fstest.MapFS{"m/sqlite/0001_a.sql": file("")}, 0, "for postgres"},
		{"dialects differ", "queue", func() fstest.MapFS {
			f := both("0001_a.sql")
			f["m/sqlite/0002_b.sql"] = file("SELECT 1;")
			return f
		}(), 0, "2 sqlite migrations but 1 postgres"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := parseLine(c.line, c.fsys, "m")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("parseLine = %v, want an error containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLine: %v", err)
			}
			if l.latest() != c.latest {
				t.Errorf("latest = %d, want %d", l.latest(), c.latest)
			}
		})
	}
}

// TestRegisterMigrationsDuplicate: a line name is registered once.
func TestRegisterMigrationsDuplicate(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "already registered") {
			t.Errorf("registering the store line again: recover() = %v, want an already-registered panic", r)
		}
	}()
	RegisterMigrations(StoreLine, migrationFS, "migrations")
}

// TestRegisteredOrder: the store's own line runs first.
func TestRegisteredOrder(t *testing.T) {
	ls := registered()
	if len(ls) == 0 || ls[0].name != StoreLine {
		t.Fatalf("registered() starts with %v, want the store line", ls)
	}
	for i := 2; i < len(ls); i++ {
		if ls[i-1].name >= ls[i].name {
			t.Errorf("lines after the store's not in name order: %s before %s", ls[i-1].name, ls[i].name)
		}
	}
}
