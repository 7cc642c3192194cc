package main

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/fhirbridge/fhirbridge"

// TestLayering keeps the architecture of GUIDE §2 true: fhir imports
// nothing of ours; mapping imports only fhir and mapping; the connector
// contract and shared transports import neither batch nor cmd; a vendor
// module (connectors/<vendor>) may import batch (it registers with
// batch/bridge) but no other vendor; no package but the link-all one
// (connectors/all) imports a vendor, so cmd and batch know none; nothing
// imports cmd.
func TestLayering(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go tool not on PATH")
	}
	out, err := exec.Command("go", "list", "-deps", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
	}
	rules := []struct {
		pkg     string // prefix of the importing package
		allowed []string
	}{
		{"fhir", []string{"fhir"}},
		{"mapping", []string{"fhir", "mapping"}},
		{"connectors", []string{"fhir", "mapping", "connectors", "batch"}},
		{"batch", []string{"fhir", "mapping", "connectors", "batch"}},
		{"fixtures", nil},
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	checked := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		checked++
		for _, imp := range p.Imports {
			impRel, ours := strings.CutPrefix(imp, module+"/")
			if !ours {
				continue
			}
			if underPkg(impRel, "cmd") && !underPkg(rel, "cmd") {
				t.Errorf("%s imports %s: nothing may import cmd", rel, impRel)
			}
			for _, r := range rules {
				if !underPkg(rel, r.pkg) {
					continue
				}
				okImp := false
				for _, a := range r.allowed {
					if underPkg(impRel, a) {
						okImp = true
					}
				}
				if !okImp {
					t.Errorf("%s imports %s: not allowed by the layering", rel, impRel)
				}
			}
			if underPkg(impRel, "batch") && underPkg(rel, "connectors") && !isVendor(rel) {
				t.Errorf("%s imports %s: only vendor modules may import batch", rel, impRel)
			}
			if underPkg(rel, "batch") && isVendor(impRel) {
				t.Errorf("%s imports vendor %s: batch knows no vendor", rel, impRel)
			}
			if isVendor(impRel) && !(isVendor(rel) && vendorOf(rel) == vendorOf(impRel)) && rel != "connectors/all" {
				t.Errorf("%s imports vendor %s: only the link-all package (connectors/all) imports a vendor", rel, impRel)
			}
			if strings.HasPrefix(rel, "connectors/") && strings.HasPrefix(impRel, "connectors/") {
				a, b := vendorOf(rel), vendorOf(impRel)
				if a != b && a != "all" && isVendor(impRel) {
					t.Errorf("connector %s imports connector %s", rel, impRel)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list returned none of our packages")
	}
}

// sharedConnectors are the folders under connectors that are no vendor:
// shared transports and test servers, and the link-all package.
var sharedConnectors = map[string]bool{"internal": true, "all": true, "mail": true, "sftptest": true, "ehr": true}

// isVendor reports a package of a vendor module (connectors/<vendor>/...).
func isVendor(p string) bool {
	v := vendorOf(p)
	return strings.HasPrefix(p, "connectors/") && v != "" && !sharedConnectors[v]
}

func underPkg(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

func vendorOf(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// TestNoCreateTableInGo keeps every table in a versioned migration line
// (embedded .sql files registered with store.RegisterMigrations): no
// non-test .go file of the module may hold CREATE TABLE, which is how
// tables were once created at start-up where no migration could alter
// them. Test files may (they rebuild old schemas).
func TestNoCreateTableInGo(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	scanned := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		if bytes.Contains(bytes.ToUpper(src), []byte("CREATE TABLE")) {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s holds CREATE TABLE: create and change tables in a migration line (see store.RegisterMigrations)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("scanning the source tree: %v", err)
	}
	if scanned < 50 {
		t.Fatalf("scanned only %d .go files under %s; is the walk broken?", scanned, root)
	}
}
