package inbound

import (
	"testing"
	"time"
)

// TestStableBeforeRead: a file is read only once its size and modification
// time held across two polls and it is older than MinAge, or once its done
// marker exists.
func TestStableBeforeRead(t *testing.T) {
	const name = "cancellations_1.csv"
	type step struct {
		advance time.Duration
		do      func(r *fakeRemote)
		taken   bool
	}
	cases := []struct {
		name   string
		marker string
		steps  []step
	}{
		{
			name: "appended slowly over several polls",
			steps: []step{
				{0, func(r *fakeRemote) { r.write(name, header+"a1;;;;p;CANCELLED by USER\n") }, false},
				{10 * time.Second, func(r *fakeRemote) { r.append(name, "a2;;;;p;CANCEL") }, false},
				{10 * time.Second, func(r *fakeRemote) { r.append(name, "LED by ADMIN\n") }, false},
				{10 * time.Second, nil, false}, // unchanged, but only 10 s old
				{30 * time.Second, nil, false}, // unchanged, 40 s old
				{30 * time.Second, nil, true},  // unchanged, 70 s old
			},
		},
		{
			name: "unchanged but touched (mtime moves) is not stable",
			steps: []step{
				{0, func(r *fakeRemote) { r.write(name, rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;CANCELLED by ADMIN")) }, false},
				{2 * time.Minute, func(r *fakeRemote) { r.write(name, rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;CANCELLED by ADMIN")) }, false},
				{2 * time.Minute, nil, true},
			},
		},
		{
			name:   "done marker taken at once",
			marker: ".done",
			steps: []step{
				{0, func(r *fakeRemote) { r.write(name, rows("a1;;;;p;CANCELLED by USER")) }, false},
				{time.Second, func(r *fakeRemote) { r.append(name, "a2;;;;p;CANCELLED by ADMIN\n") }, false},
				{time.Second, func(r *fakeRemote) { r.write(name+".done", "") }, true},
			},
		},
		{
			name:   "done marker seen with the file on the first poll",
			marker: ".done",
			steps: []step{
				{0, func(r *fakeRemote) {
					r.write(name, rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;CANCELLED by ADMIN"))
					r.write(name+".done", "")
				}, true},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, Spec{DoneMarker: c.marker}, Options{}, "a1", "a2")
			for i, s := range c.steps {
				e.clock.Advance(s.advance)
				if s.do != nil {
					s.do(e.remote)
				}
				rep := e.poll(0)
				if got := len(rep.Files) == 1; got != s.taken {
					t.Fatalf("step %d: taken = %v, want %v (report %+v)", i, got, s.taken, rep)
				}
				if !s.taken {
					if len(e.entries()) != 0 || !e.remote.has(name) || len(rep.Waiting) != 1 {
						t.Fatalf("step %d: file read before it was stable: ledger %+v, waiting %v", i, e.entries(), rep.Waiting)
					}
					if a, v := e.appointment("a1"); v != 1 || a.GetString("status") != "booked" {
						t.Fatalf("step %d: a1 changed before the file was stable", i)
					}
					continue
				}
				f := rep.Files[0]
				if f.Err != nil || f.Outcome != "ok" || f.RowsOK != 2 || f.MovedTo != "processed/"+name {
					t.Fatalf("step %d: %+v", i, f)
				}
			}
			for _, id := range []string{"a1", "a2"} {
				if a, v := e.appointment(id); a.GetString("status") != "cancelled" || v != 2 {
					t.Errorf("%s: status %q version %d, want cancelled at version 2", id, a.GetString("status"), v)
				}
			}
			if e.remote.has(name) || !e.remote.has("processed/"+name) || !e.remote.has("processed/"+name+ReportSuffix) {
				t.Errorf("file not moved with its report: %v", e.remote.moves)
			}
			if c.marker != "" && e.remote.has(name+c.marker) {
				t.Error("done marker left behind")
			}
		})
	}
}

// TestPatternAndFolders: only matching files of Dir are taken; reports,
// markers and other files are left alone; moves stay below Dir.
func TestPatternAndFolders(t *testing.T) {
	e := newEnv(t, Spec{Dir: "in"}, Options{}, "a1")
	e.remote.write("in/cancellations_1.csv", rows("a1;;;;p;CANCELLED by USER"))
	e.remote.write("in/other.csv", rows("a1;;;;p;APPROVED"))
	e.remote.write("cancellations_2.csv", rows("a1;;;;p;APPROVED"))
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	if len(rep.Files) != 1 || rep.Files[0].Path != "in/cancellations_1.csv" || rep.Files[0].MovedTo != "in/processed/cancellations_1.csv" {
		t.Fatalf("files %+v", rep.Files)
	}
	if !e.remote.has("in/other.csv") || !e.remote.has("cancellations_2.csv") {
		t.Error("a file outside the pattern or folder was touched")
	}
}

func TestSpecDefaults(t *testing.T) {
	m := cancellationMapping(t)
	s, err := Spec{Name: "j", Pattern: "*.csv", Mapping: m}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if s.MinAge != time.Minute || s.ProcessedDir != "processed" || s.ErrorDir != "error" || s.MaxFileSize != 256<<20 {
		t.Errorf("defaults %+v", s)
	}
	for _, bad := range []Spec{
		{Pattern: "*.csv", Mapping: m},
		{Name: "j", Mapping: m},
		{Name: "j", Pattern: "*.csv"},
		{Name: "j", Pattern: "[", Mapping: m},
		{Name: "j", Pattern: "*.csv", Mapping: m, ProcessedDir: "x", ErrorDir: "x"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
