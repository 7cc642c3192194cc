package xfer

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// tempMarker sits between a file's name and the random suffix of its
// temporary upload name.
const tempMarker = ".tmp-"

// CleanName checks a file name relative to a Remote's base folder and
// returns it cleaned ("a//b.csv" becomes "a/b.csv"). It refuses empty and
// absolute names, names that climb out of the base ("../x"), backslashes,
// control characters (which would split an FTP command) and names that
// end in a folder.
func CleanName(name string) (string, error) {
	if name == "" || strings.HasSuffix(name, "/") {
		return "", fmt.Errorf("invalid file name %q: want a file relative to the base folder", name)
	}
	return clean(name)
}

// CleanDir checks a folder name relative to a Remote's base folder; ""
// and "." are the base itself, returned as "".
func CleanDir(dir string) (string, error) {
	if dir == "" || dir == "." {
		return "", nil
	}
	return clean(strings.TrimSuffix(dir, "/"))
}

func clean(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("invalid name %q: absolute, want one relative to the base folder", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return "", fmt.Errorf("invalid name %q: control character or backslash", name)
		}
	}
	c := path.Clean(name)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("invalid name %q: outside the base folder", name)
	}
	return c, nil
}

// TempName returns the name Put uploads name to before renaming it: a
// hidden file in the same folder, ".<base>.tmp-<random>", so the rename
// stays within one file system and listers skip it.
func TempName(name string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	dir, base := path.Split(name)
	return dir + "." + base + tempMarker + hex.EncodeToString(b[:])
}

// IsTemp reports whether base (a name without folder) is a temporary
// upload name made by TempName; List leaves such files out.
func IsTemp(base string) bool {
	i := strings.LastIndex(base, tempMarker)
	if !strings.HasPrefix(base, ".") || i < 2 {
		return false
	}
	suffix := base[i+len(tempMarker):]
	if len(suffix) != 16 {
		return false
	}
	_, err := hex.DecodeString(suffix)
	return err == nil
}
