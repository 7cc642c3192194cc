package xfer

import (
	"path"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"a.csv", "a.csv", true},
		{"processed//x.csv", "processed/x.csv", true},
		{"./a.csv", "a.csv", true},
		{"a/../b.csv", "b.csv", true},
		{"", "", false},
		{"/etc/passwd", "", false},
		{"../x", "", false},
		{"a/../../x", "", false},
		{"dir/", "", false},
		{"..", "", false},
		{"x\r\nDELE y", "", false},
		{`a\b`, "", false},
	}
	for _, c := range cases {
		got, err := CleanName(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("CleanName(%q) = %q, %v; want %q, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
	if d, err := CleanDir(""); d != "" || err != nil {
		t.Errorf("CleanDir(\"\") = %q, %v", d, err)
	}
	if d, err := CleanDir("processed/"); d != "processed" || err != nil {
		t.Errorf("CleanDir(processed/) = %q, %v", d, err)
	}
}

func TestTempName(t *testing.T) {
	tmp := TempName("processed/x.csv")
	dir, base := path.Split(tmp)
	if dir != "processed/" || !strings.HasPrefix(base, ".x.csv.tmp-") {
		t.Errorf("TempName = %q, want processed/.x.csv.tmp-<random>", tmp)
	}
	if !IsTemp(base) {
		t.Errorf("IsTemp(%q) = false", base)
	}
	if TempName("x") == TempName("x") {
		t.Error("two TempNames are equal")
	}
	for _, s := range []string{"x.csv", ".hidden", ".x.tmp-zz", "x.csv.tmp-0123456789abcdef"} {
		if IsTemp(s) {
			t.Errorf("IsTemp(%q) = true", s)
		}
	}
}

// FuzzCleanName checks that an accepted name stays inside the base folder
// and is a fixed point.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"a.csv", "processed/x.csv", "../x", "/abs", "a/./b/../c", "x\ny", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := CleanName(name)
		if err != nil {
			return
		}
		if c == "" || strings.HasPrefix(c, "/") || c == ".." || strings.HasPrefix(c, "../") ||
			strings.ContainsAny(c, "\r\n\x00\\") {
			t.Fatalf("CleanName(%q) accepted %q", name, c)
		}
		if again, err := CleanName(c); err != nil || again != c {
			t.Fatalf("CleanName(%q) = %q, %v; want a fixed point", c, again, err)
		}
		if IsTemp(path.Base(c)) && !IsTemp(path.Base(name)) {
			t.Fatalf("cleaning %q made a temporary name", name)
		}
	})
}
