package fhirpath

import (
	"encoding/xml"
	"flag"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

var update = flag.Bool("update", false, "rewrite the README's conformance table from the conformance run")

// conformanceFloor is the number of official tests that must pass; raise
// it when the engine improves, never lower it to hide a regression.
const conformanceFloor = 933

type xmlSuite struct {
	Groups []xmlGroup `xml:"group"`
}

type xmlGroup struct {
	Name      string    `xml:"name,attr"`
	Tests     []xmlTest `xml:"test"`
	ModeTests []xmlTest `xml:"modeTest"`
}

type xmlTest struct {
	Name      string `xml:"name,attr"`
	InputFile string `xml:"inputfile,attr"`
	Predicate string `xml:"predicate,attr"`
	Mode      string `xml:"mode,attr"`
	Expr      struct {
		Text    string `xml:",chardata"`
		Invalid string `xml:"invalid,attr"`
		Mode    string `xml:"mode,attr"`
	} `xml:"expression"`
	Outputs []struct {
		Type  string `xml:"type,attr"`
		Value string `xml:",chardata"`
	} `xml:"output"`
}

func loadInput(t *testing.T, cache map[string]*fhir.Value, name string) *fhir.Value {
	name = strings.TrimSuffix(name, ".xml")
	name = strings.TrimSuffix(name, ".json") + ".json"
	if v, ok := cache[name]; ok {
		return v
	}
	data, err := fixtures.FHIRPath.ReadFile("fhirpath/" + name)
	if err != nil {
		t.Fatalf("input %s: %v", name, err)
	}
	v, err := fhir.Decode(data, fhir.DecodeOptions{})
	if err != nil {
		t.Fatalf("input %s: %v", name, err)
	}
	cache[name] = v
	return v
}

// runOfficial runs one test and reports whether it passed, with a reason.
func runOfficial(t *testing.T, cache map[string]*fhir.Value, tc xmlTest) (bool, string) {
	var res *fhir.Value
	if tc.InputFile != "" {
		res = loadInput(t, cache, tc.InputFile)
	}
	// Every expression is checked against the R4 model of its input (a
	// path R4 does not define is refused); strict-mode and semantic tests
	// check as FHIRPath's strict mode does.
	opt := Options{}
	if res != nil {
		if rt := res.Get("resourceType"); rt != nil && R4Known(rt.Str) {
			opt.Context = rt.Str
		}
	}
	opt.Strict = tc.Mode == "strict" || tc.Expr.Mode == "strict" || tc.Expr.Invalid == "semantic"
	e, err := Compile(tc.Expr.Text, opt)
	if tc.Expr.Invalid != "" {
		if err != nil {
			return true, ""
		}
		var in Collection
		if res != nil {
			in = Collection{ItemOf(res)}
		}
		_, err = e.Eval(&Env{Resource: res}, in)
		if err != nil {
			return true, ""
		}
		return false, "expected an error"
	}
	if err != nil {
		return false, "compile: " + err.Error()
	}
	var in Collection
	if res != nil {
		in = Collection{ItemOf(res)}
	}
	got, err := e.Eval(&Env{Resource: res}, in)
	if err != nil {
		return false, "eval: " + err.Error()
	}
	if tc.Predicate == "true" {
		got = boolColl(len(got) > 0)
	}
	if len(got) != len(tc.Outputs) {
		return false, fmt.Sprintf("got %d items, want %d: %s", len(got), len(tc.Outputs), render(got))
	}
	for i, o := range tc.Outputs {
		if !outputMatches(got[i], o.Type, o.Value) {
			return false, fmt.Sprintf("item %d: got %s, want %s %s", i, render(got[i:i+1]), o.Type, o.Value)
		}
	}
	return true, ""
}

func render(c Collection) string {
	var parts []string
	for _, it := range c {
		s, _ := it.AsString()
		parts = append(parts, it.TypeName()+":"+s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func outputMatches(it Item, typ, want string) bool {
	p := it.prim()
	switch typ {
	case "boolean":
		b, ok := p.AsBool()
		return ok && strconv.FormatBool(b) == want
	case "integer":
		return p.k == kInt && strconv.FormatInt(p.i, 10) == want
	case "decimal":
		w, err := strconv.ParseFloat(want, 64)
		return err == nil && isNum(p.k) && math.Abs(numOf(p)-w) < 1e-9
	case "date", "dateTime", "time":
		want = strings.TrimPrefix(strings.TrimPrefix(want, "@"), "T")
		s, ok := p.AsString()
		return ok && isTemp(p.k) && s == want
	case "Quantity":
		if p.k != kQty {
			return false
		}
		num, unit, _ := strings.Cut(want, " ")
		w, _ := strconv.ParseFloat(num, 64)
		return math.Abs(p.f-w) < 1e-9 && strings.Trim(unit, "'") == p.s
	}
	s, ok := p.AsString()
	switch p.k {
	case kDate, kDateTime:
		s = "@" + s
	case kTime:
		s = "@T" + s
	}
	return ok && s == want
}

func TestConformance(t *testing.T) {
	data, err := fixtures.FHIRPath.ReadFile("fhirpath/tests-fhir-r4.xml")
	if err != nil {
		t.Fatal(err)
	}
	var suite xmlSuite
	if err := xml.Unmarshal(data, &suite); err != nil {
		t.Fatal(err)
	}
	verbose := os.Getenv("FHIRPATH_VERBOSE") != ""
	cache := map[string]*fhir.Value{}
	var b strings.Builder
	b.WriteString("| group | passed | total |\n| --- | ---: | ---: |\n")
	pass, total := 0, 0
	for _, g := range suite.Groups {
		gp, gt := 0, 0
		for _, tc := range append(g.Tests, g.ModeTests...) {
			ok, why := runOfficial(t, cache, tc)
			gt++
			if ok {
				gp++
			} else if verbose {
				t.Logf("FAIL %s/%s: %s => %s", g.Name, tc.Name, strings.TrimSpace(tc.Expr.Text), why)
			}
		}
		pass += gp
		total += gt
		fmt.Fprintf(&b, "| %s | %d | %d |\n", g.Name, gp, gt)
	}
	fmt.Fprintf(&b, "| **total** | **%d** | **%d** (%.1f%%) |\n", pass, total, 100*float64(pass)/float64(total))
	t.Logf("conformance: %d/%d passed", pass, total)
	readmeTable(t, b.String())
	if pass < conformanceFloor {
		t.Errorf("conformance regressed: %d passed, floor is %d", pass, conformanceFloor)
	}
}

// The README publishes the table between these markers; it must match the
// run, so a change in conformance shows up as a failing test until
// `go test ./mapping/fhirpath -run TestConformance -update` rewrites it.
const (
	tableBegin = "<!-- BEGIN fhirpath-conformance: generated by go test ./mapping/fhirpath -run TestConformance -update -->\n"
	tableEnd   = "<!-- END fhirpath-conformance -->"
	readmePath = "../../README.md"
)

func readmeTable(t *testing.T, table string) {
	t.Helper()
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, tableBegin), strings.Index(s, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the conformance table markers")
	}
	if *update {
		s = s[:i+len(tableBegin)] + table + s[j:]
		if err := os.WriteFile(readmePath, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := s[i+len(tableBegin) : j]; got != table {
		t.Errorf("the README's conformance table is out of date: run go test ./mapping/fhirpath -run TestConformance -update")
	}
}
