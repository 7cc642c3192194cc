package connectors

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// pathScanRoots are the folders (relative to this package) whose code
// calls vendors or the EHR over HTTP. Simulators (folders ending in
// "sim", and simkit) serve paths rather than build them and are skipped.
var pathScanRoots = []string{"."}

// pathScanMarker on a line says a concatenation there is no URL path (a
// FHIR reference for a log line, say); the scan lets it be.
const pathScanMarker = "not a URL path"

// TestNoHandBuiltURLPaths fails when code outside urlpath.go builds a URL
// path by hand: url.PathEscape or url.JoinPath, a "/…" literal joined
// with +, a Sprintf format with "/%", or a URL's Path or RawPath
// appended to. Paths with values must come from PathOf, which escapes
// each value and refuses "." and "..".
func TestNoHandBuiltURLPaths(t *testing.T) {
	fset := token.NewFileSet()
	var found []string
	for _, root := range pathScanRoots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() {
				if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || strings.HasSuffix(name, "sim") || name == "simkit") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || path == "urlpath.go" {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
			if err != nil {
				return err
			}
			found = append(found, handBuiltPaths(fset, f)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range found {
		t.Errorf("%s: build the URL path with connectors.PathOf", f)
	}
}

// handBuiltPaths returns "file:line: what" for each hand-built path in f.
func handBuiltPaths(fset *token.FileSet, f *ast.File) []string {
	marked := map[int]bool{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.Contains(c.Text, pathScanMarker) {
				marked[fset.Position(c.Pos()).Line] = true
			}
		}
	}
	var out []string
	report := func(n ast.Node, what string) {
		pos := fset.Position(n.Pos())
		if !marked[pos.Line] {
			out = append(out, pos.Filename+":"+strconv.Itoa(pos.Line)+": "+what)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok {
					switch pkg.Name + "." + sel.Sel.Name {
					case "url.PathEscape", "url.JoinPath":
						report(n, pkg.Name+"."+sel.Sel.Name)
					case "fmt.Sprintf", "fmt.Errorf", "fmt.Fprintf":
						// Errorf and Fprintf only matter when they build a path
						// that is sent; their formats are checked alike for
						// simplicity, and messages use "%s %s", not "/%s".
						if pkg.Name+"."+sel.Sel.Name == "fmt.Sprintf" && len(n.Args) > 0 {
							if s, ok := stringLit(n.Args[0]); ok && strings.Contains(s, "/%") {
								report(n, "Sprintf format with /%")
							}
						}
					}
				}
			}
		case *ast.BinaryExpr:
			if n.Op == token.ADD && (slashLit(n.X) || slashLit(n.Y)) {
				report(n, `"/…" + …`)
				return false // one report per chain
			}
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				sel, ok := lhs.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Path" && sel.Sel.Name != "RawPath") {
					continue
				}
				if n.Tok == token.ADD_ASSIGN {
					report(n, sel.Sel.Name+" +=")
				}
			}
		}
		return true
	})
	return out
}

// slashLit reports a string literal that starts or ends with "/": one
// end of a path being glued to a value. A FHIR reference's type prefix
// ("Encounter/", ", Appointment/") builds a reference, not a URL path.
func slashLit(e ast.Expr) bool {
	s, ok := stringLit(e)
	return ok && (strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/")) && !fhirRefPrefix.MatchString(s)
}

// fhirRefPrefix is a FHIR reference's "Type/", after nothing or a separator.
var fhirRefPrefix = regexp.MustCompile(`^(.*[ ,(])?[A-Z][A-Za-z]*/$`)

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
