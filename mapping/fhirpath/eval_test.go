package fhirpath

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

func loadFixture(t testing.TB, name string) *fhir.Value {
	t.Helper()
	data, err := fixtures.FHIRPath.ReadFile("fhirpath/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fhir.Decode(data, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const miniPatient = `{"resourceType":"Patient","id":"p1",
 "contained":[{"resourceType":"Organization","id":"o1","name":"Acme"}],
 "managingOrganization":{"reference":"#o1"},
 "generalPractitioner":[{"reference":"Practitioner/9"}],
 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"value":"MRN-1"},
               {"system":"urn:ssn","value":"123"}],
 "name":[{"use":"official","family":"Doe","given":["Jane","Q"]},{"use":"nickname","given":["JJ"]}],
 "birthDate":"1980-02-29","_birthDate":{"extension":[{"url":"http://x/t","valueDateTime":"1980-02-29T10:00:00Z"}]},
 "active":true,"multipleBirthInteger":2,
 "extension":[{"url":"http://x/weight","valueQuantity":{"value":70.5,"unit":"kg","code":"kg"}}]}`

func mustDecode(t testing.TB, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func evalStrings(t *testing.T, res *fhir.Value, env *Env, expr string) ([]string, error) {
	t.Helper()
	e, err := Compile(expr, Options{Vars: []string{"who"}})
	if err != nil {
		return nil, err
	}
	if env == nil {
		env = &Env{}
	}
	env.Resource = res
	out, err := e.Eval(env, Collection{ItemOf(res)})
	if err != nil {
		return nil, err
	}
	var s []string
	for _, it := range out {
		v, ok := it.AsString()
		if !ok {
			v = "<" + it.TypeName() + ">"
		}
		s = append(s, v)
	}
	return s, nil
}

func TestEval(t *testing.T) {
	res := mustDecode(t, miniPatient)
	resolver := fhir.ResolverFunc(func(ref string) *fhir.Value {
		if ref == "Practitioner/9" {
			return mustDecode(t, `{"resourceType":"Practitioner","id":"9"}`)
		}
		return nil
	})
	env := &Env{Vars: map[string]Collection{"who": {String("Jane")}}, Resolver: resolver}
	cases := []struct{ expr, want string }{
		{"Patient.name.given", "Jane|Q|JJ"},
		{"name.given", "Jane|Q|JJ"},
		{"Observation.name", ""},
		{"name[1].given", "JJ"},
		{"name.where(use='usual' or use='official').first().family", "Doe"},
		{"identifier.where(type.coding.where(system='http://terminology.hl7.org/CodeSystem/v2-0203' and code='MR').exists()).first().value", "MRN-1"},
		{"identifier.count()", "2"},
		{"multipleBirth", "2"},
		{"multipleBirth.is(integer)", "true"},
		{"extension('http://x/weight').value.is(Quantity)", "true"},
		{"extension('http://x/weight').value > 70 'kg'", "true"},
		{"extension('http://x/weight').value.value * 2", "141"},
		{"birthDate > @1980-01-01", "true"},
		{"birthDate = @1980-02", ""},
		{"birthDate.extension('http://x/t').value", "1980-02-29T10:00:00Z"},
		{"managingOrganization.resolve().name", "Acme"},
		{"generalPractitioner.resolve().id", "9"},
		{"%who in name.given", "true"},
		{"%resource.id & '/' & %context.id", "p1/p1"},
		{"name.given.select($this.length())", "4|1|2"},
		{"name.given.where($index > 0)", "Q|JJ"},
		{"(1 | 2 | 3).aggregate($total + $this, 0)", "6"},
		{"1 + 2 * 3 - 4 / 2", "5"},
		{"7 div 2 & '-' & 7 mod 2", "3-1"},
		{"-3.5.abs()", "-3.5"},
		{"(-3.5).abs()", "3.5"},
		{"'a\\'b\\u0041' + `x`.empty().toString()", "a'bAtrue"},
		{"true implies {}", ""},
		{"false implies {}", "true"},
		{"{} or true", "true"},
		{"'abc' ~ 'ABC'", "true"},
		{"1.0 = 1", "true"},
		{"@2014-01-01T10:00 < @2014-01-01T11:00", "true"},
		{"@2019-01-31 + 1 month", "2019-03-03"},
		{"10 days = 10 'd'", "true"},
		{"1 'g' = 1000 'mg'", "true"},
		{"iif(active, 'yes', 'no')", "yes"},
		{"name.given.distinct().count() // comment", "3"},
		{"/* lead */ name.exists(use = 'nickname')", "true"},
		{"'2020-01-02'.toDate() < today()", "true"},
		{"'x,y'.split(',').join('+')", "x+y"},
		{"descendants().where($this is Coding).code", "MR"},
	}
	for _, tc := range cases {
		got, err := evalStrings(t, res, env, tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if g := strings.Join(got, "|"); g != tc.want {
			t.Errorf("%s = %q, want %q", tc.expr, g, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		expr string
		col  int
		is   error
	}{
		{"name.frobnicate()", 6, ErrUnknownFunction},
		{"name.where(x.bogus(1))", 14, ErrUnknownFunction},
		{"%nobody", 1, ErrUnknownVariable},
		{"1 +", 4, ErrSyntax},
		{"'unterminated", 1, ErrSyntax},
		{"(1", 3, ErrSyntax},
		{"a /* open", 3, ErrSyntax},
		{"1 is string1", 6, ErrSyntax},
		{"", 1, ErrSyntax},
		{"name.where()", 6, ErrSyntax},
	}
	for _, tc := range cases {
		_, err := Compile(tc.expr, Options{})
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, tc.is) {
			t.Errorf("%q: got %v, want %v", tc.expr, err, tc.is)
			continue
		}
		if e.Col != tc.col {
			t.Errorf("%q: column %d, want %d (%v)", tc.expr, e.Col, tc.col, err)
		}
	}
}

func TestEvalErrorsHideData(t *testing.T) {
	res := mustDecode(t, `{"resourceType":"Patient","name":[{"family":"SECRET1"},{"family":"SECRET2"}]}`)
	for _, expr := range []string{"name.family.single()", "name.family + 1", "name.family < 3", "name.family.substring(1)"} {
		e, err := Compile(expr, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Eval(&Env{Resource: res}, Collection{ItemOf(res)})
		if err == nil || !errors.Is(err, ErrEval) {
			t.Errorf("%s: want an evaluation error, got %v", expr, err)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: error leaks data: %v", expr, err)
		}
	}
}

func TestLexer(t *testing.T) {
	toks, err := lex("a.`b c` @2014-01-01T10:00:00.5+01:00.x @T12:00 %`vs-x` $this 5.5 'mg' <= !~")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range toks {
		got = append(got, tk.text)
	}
	want := "a|.|b c|2014-01-01T10:00:00.5+01:00|.|x|12:00|vs-x|this|5.5|mg|<=|!~|"
	if g := strings.Join(got, "|"); g != want {
		t.Errorf("tokens %q, want %q", g, want)
	}
}

func TestAPI(t *testing.T) {
	res := mustDecode(t, miniPatient)
	e, err := Compile("name.given | active | multipleBirth | extension.value", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.String() != "name.given | active | multipleBirth | extension.value" {
		t.Error("String() must return the source")
	}
	out, err := e.Eval(nil, Collection{ItemOf(res)})
	if err != nil {
		t.Fatal(err)
	}
	var types, jsons []string
	for _, it := range out {
		types = append(types, it.TypeName())
		jsons = append(jsons, string(it.JSON().JSON()))
	}
	if g := strings.Join(types, ","); g != "string,string,string,boolean,integer,Quantity" {
		t.Errorf("types %s", g)
	}
	if g := strings.Join(jsons, ","); g != `"Jane","Q","JJ",true,2,{"value":70.5,"unit":"kg","code":"kg"}` {
		t.Errorf("json %s", g)
	}
	if b, ok := out[3].AsBool(); !ok || !b {
		t.Error("AsBool")
	}
	if out[0].Node() == nil || String("x").Node() != nil {
		t.Error("Node")
	}
	if s := string(Integer(3).JSON().JSON()) + string(Boolean(false).JSON().JSON()); s != "3false" {
		t.Errorf("System JSON %s", s)
	}
	fns := Functions()
	for _, n := range []string{"where", "resolve", "extension", "toQuantity", "aggregate"} {
		if !contains(fns, n) {
			t.Errorf("Functions() lacks %s", n)
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestConcurrentEval(t *testing.T) {
	res := loadFixture(t, "patient-example.json")
	e, err := Compile("name.where(use='official').given.first() & '-' & identifier.count().toString()", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				out, err := e.Eval(&Env{Resource: res}, Collection{ItemOf(res)})
				if err != nil || len(out) != 1 {
					t.Error(err)
					return
				}
				if s, _ := out[0].AsString(); s != "Peter-1" {
					t.Errorf("got %q", s)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"name.given", "identifier.where(system='x').value", "1 + 2 * 3", "@2014-01-01T10:00 + 1 day",
		"iif(a, b, c)", "'x'.matches('[a-')", "repeat(item)", "(1|2).aggregate($total+$this, 0)", "%resource.id", "`a b`.c",
		"x is FHIR.string", "descendants().count()", "5 'mg' < 1 'g'", "a.b[0].c",
		"'Patient?identifier=' + name.family.searchValue() + '|' + ('a|b,c$d\\\\e f+g%h&i#j;k').searchValue()"} {
		f.Add(s)
	}
	res := mustDecode(f, miniPatient)
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Compile(expr, Options{Vars: []string{"who"}})
		if err != nil {
			return
		}
		_, _ = e.Eval(&Env{Resource: res}, Collection{ItemOf(res)})
	})
}

func BenchmarkEval(b *testing.B) {
	res := loadFixture(b, "patient-example.json")
	for _, bc := range []struct{ name, expr string }{
		{"simple", "birthDate"},
		{"path", "Patient.name.given"},
		{"identifierMR", "identifier.where(type.coding.where(system='http://terminology.hl7.org/CodeSystem/v2-0203' and code='MR').exists()).first().value"},
		{"nameUsual", "name.where(use='usual' or use='official').first()"},
	} {
		e, err := Compile(bc.expr, Options{})
		if err != nil {
			b.Fatal(err)
		}
		env := &Env{Resource: res}
		in := Collection{ItemOf(res)}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Eval(env, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
