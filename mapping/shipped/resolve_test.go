package shipped

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestResolve(t *testing.T) {
	mf := &fstest.MapFile{Data: []byte("name: x\n")}
	files := fstest.MapFS{
		"srv/conf/appointment.yaml":     mf,
		"srv/conf/rooms/own.yaml":       mf,
		"home/op/local.yaml":            mf,
		"home/op/conf/appointment.yaml": mf, // shadows the config's copy from the working directory
		"opt/maps/abs.yaml":             mf,
		"srv/conf/solo/patient":         mf, // a file named as a shipped mapping wins
		"srv/conf/folder.yaml/x":        mf, // a folder is not a mapping file
	}
	const wd, conf = "/home/op", "/srv/conf"
	tests := []struct {
		name, spec        string
		dirs              []string
		wantFile, wantDir string // wantDir: a path of files the Source's FS holds File at; "" for shipped
		wantErr           []string
	}{
		{name: "shipped name", spec: "solo/appointment", dirs: []string{wd, conf}, wantFile: "solo/appointment.yaml"},
		{name: "shipped name without dirs", spec: "tuotempo/export", wantFile: "tuotempo/export.yaml"},
		{name: "file next to the config", spec: "rooms/own.yaml", dirs: []string{wd, conf}, wantFile: "own.yaml", wantDir: "srv/conf/rooms"},
		{name: "working directory first", spec: "conf/appointment.yaml", dirs: []string{wd, "/srv"}, wantFile: "appointment.yaml", wantDir: "home/op/conf"},
		{name: "relative with dot-dot", spec: "../../srv/conf/appointment.yaml", dirs: []string{wd}, wantFile: "appointment.yaml", wantDir: "srv/conf"},
		{name: "absolute file", spec: "/opt/maps/abs.yaml", dirs: []string{wd, conf}, wantFile: "abs.yaml", wantDir: "opt/maps"},
		{name: "a file shadows a shipped name", spec: "solo/patient", dirs: []string{wd, conf}, wantFile: "patient", wantDir: "srv/conf/solo"},
		{name: "missing names what was tried", spec: "nope/nothing", dirs: []string{wd, conf},
			wantErr: []string{`no mapping "nope/nothing": no file /home/op/nope/nothing or /srv/conf/nope/nothing, nor a shipped mapping (`, "solo/appointment"}},
		{name: "absolute is a file only", spec: "/solo/appointment", dirs: []string{wd, conf},
			wantErr: []string{`no file /solo/appointment, nor a shipped mapping`}},
		{name: "a folder is no file", spec: "folder.yaml", dirs: []string{conf},
			wantErr: []string{`no file /srv/conf/folder.yaml, nor`}},
		{name: "no dirs: shipped only", spec: "local.yaml",
			wantErr: []string{`no mapping "local.yaml": not a shipped mapping (`}},
		{name: "empty", spec: "", dirs: []string{wd}, wantErr: []string{`no mapping "": not a shipped mapping`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Resolve(files, tt.spec, tt.dirs...)
			if tt.wantErr != nil {
				if err == nil || !errors.Is(err, ErrNotFound) {
					t.Fatalf("Resolve = %+v, %v; want ErrNotFound", s, err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantPath := tt.spec
			if tt.wantDir != "" {
				wantPath = "/" + tt.wantDir + "/" + tt.wantFile
			}
			if s.File != tt.wantFile || s.Shipped != (tt.wantDir == "") || s.Path != wantPath {
				t.Fatalf("Resolve = %q (%s) shipped %v, want %q in %q", s.File, s.Path, s.Shipped, tt.wantFile, tt.wantDir)
			}
			want := FS.ReadFile
			if tt.wantDir != "" {
				want = func(string) ([]byte, error) { return fs.ReadFile(files, tt.wantDir+"/"+tt.wantFile) }
			}
			got, err := fs.ReadFile(s.FS, s.File)
			exp, err2 := want(s.File)
			if err != nil || err2 != nil || string(got) != string(exp) {
				t.Errorf("the Source reads %q (%v), want %q (%v)", got, err, exp, err2)
			}
		})
	}
}

// TestResolveLoad compiles a shipped mapping through its Source.
func TestResolveLoad(t *testing.T) {
	s, err := Resolve(nil, "solo/appointment")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Load(map[string]string{"waiting_room": "Telehealth"})
	if err != nil || m.Name() != "solo/appointment" {
		t.Fatalf("Load: %v %v", m, err)
	}
}
