package fhir

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fixtures"
	"github.com/google/go-cmp/cmp"
)

// readAll reads input and returns the paths yielded and the errors
// reported per entry.
func readAll(t *testing.T, in string, opt ReadOptions) (paths []string, errs []error, err error) {
	t.Helper()
	opt.OnError = func(_ int, e error) error { errs = append(errs, e); return nil }
	err = Read(strings.NewReader(in), opt, func(e Entry) error {
		if e.Resolver == nil {
			t.Errorf("%s: nil Resolver", e.Path)
		}
		paths = append(paths, e.Path)
		return nil
	})
	return paths, errs, err
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(fixtures.R4, "r4/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFixturesReadAndValidate reads every R4 example strictly. All of them
// pass google/fhir's R4 validation and the Bundle rules; wantInvalid lists
// documented exceptions (none at present).
func TestFixturesReadAndValidate(t *testing.T) {
	wantInvalid := map[string]string{}
	files, err := fs.Glob(fixtures.R4, "r4/*.json")
	if err != nil || len(files) < 80 {
		t.Fatalf("fixtures: %d files, %v", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimPrefix(f, "r4/")
		t.Run(name, func(t *testing.T) {
			n := 0
			err := Read(bytes.NewReader(fixture(t, name)), ReadOptions{Strict: true}, func(e Entry) error { n++; return nil })
			if reason, ok := wantInvalid[name]; ok {
				if err == nil {
					t.Errorf("expected rejection (%s) but it validated", reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if n == 0 {
				t.Errorf("no entries yielded")
			}
		})
	}
}

func TestReadBundleTypes(t *testing.T) {
	tests := []struct {
		file      string
		typ       string
		entries   int
		firstPath string
		method    string // of the first entry
	}{
		{"Bundle-bundle-transaction.json", "transaction", 10, "Bundle.entry[0].resource", "POST"},
		{"Bundle-bundle-response.json", "transaction-response", 10, "Bundle.entry[0].resource", ""},
		{"Bundle-bundle-request-medsallergies.json", "batch", 5, "Bundle.entry[0].resource", "GET"},
		{"Bundle-bundle-response-medsallergies.json", "batch-response", 5, "Bundle.entry[0].resource", ""},
		{"Bundle-bundle-example.json", "searchset", 2, "Bundle.entry[0].resource", ""},
		{"Bundle-bundle-references.json", "collection", 11, "Bundle.entry[0].resource", ""},
		{"Bundle-father.json", "document", -1, "Bundle.entry[0].resource", ""},
		{"Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json", "message", -1, "Bundle.entry[0].resource", ""},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			var got []Entry
			err := Read(bytes.NewReader(fixture(t, tc.file)), ReadOptions{}, func(e Entry) error { got = append(got, e); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if tc.entries >= 0 && len(got) != tc.entries {
				t.Errorf("entries = %d, want %d", len(got), tc.entries)
			}
			if len(got) == 0 {
				t.Fatal("no entries")
			}
			e := got[0]
			if diff := cmp.Diff([]string{tc.typ, tc.firstPath, tc.method}, []string{e.Bundle.Type, e.Path, e.Method}); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			for i, e := range got {
				if e.Index != i {
					t.Errorf("entry %d has Index %d", i, e.Index)
				}
			}
		})
	}
}

func TestReadTransactionEntries(t *testing.T) {
	var got [][4]string
	err := Read(bytes.NewReader(fixture(t, "Bundle-bundle-transaction.json")), ReadOptions{Strict: true}, func(e Entry) error {
		got = append(got, [4]string{e.ResourceType, e.FullURL, e.Method, e.URL})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][4]string{
		{"Patient", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", "POST", "Patient"},
		{"Patient", "urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059", "POST", "Patient"},
		{"Patient", "http://example.org/fhir/Patient/123", "PUT", "Patient/123"},
		{"Patient", "urn:uuid:74891afc-ed52-42a2-bcd7-f13d9b60f096", "PUT", "Patient?identifier=http:/example.org/fhir/ids|456456"},
		{"Patient", "http://example.org/fhir/Patient/123a", "PUT", "Patient/123a"},
		{"", "", "DELETE", "Patient/234"},
		{"", "", "DELETE", "Patient?identifier=123456"},
		{"Parameters", "urn:uuid:79378cb8-8f58-48e8-a5e8-60ac2755b674", "POST", "ValueSet/$lookup"},
		{"", "", "GET", "Patient?name=peter"},
		{"", "", "GET", "Patient/12334"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestReadSingleResource(t *testing.T) {
	var got []Entry
	err := Read(bytes.NewReader(fixture(t, "Patient-example.json")), ReadOptions{Strict: true}, func(e Entry) error { got = append(got, e); return nil })
	if err != nil || len(got) != 1 {
		t.Fatalf("got %d entries, err %v", len(got), err)
	}
	if diff := cmp.Diff([]string{"Patient", "example", "Patient"}, []string{got[0].ResourceType, got[0].ID, got[0].Path}); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestReadNDJSON(t *testing.T) {
	in := `{"resourceType":"Patient","id":"a"}` + "\n" +
		"\n" +
		`{"resourceType":"Patient","id":"b"}` + "\r\n" +
		`{"resourceType":"Patient","id":"` + secret + `","id":"x"}` + "\n" + // line 4: duplicate key
		`{"id":"no-type"}` + "\n" + // line 5: no resourceType
		`{"resourceType":"Patient","birthDate":"` + secret + `"}` + "\n" + // line 6: invalid only when strict
		`{"resourceType":"Patient","id":"c"}`
	tests := []struct {
		name      string
		strict    bool
		wantPaths []string
		wantErrs  []string
	}{
		{"lenient", false, []string{"line 1", "line 3", "line 6", "line 7"}, []string{"reading line 4", "reading line 5"}},
		{"strict", true, []string{"line 1", "line 3", "line 7"}, []string{"reading line 4", "reading line 5", "reading line 6"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths, errs, err := readAll(t, in, ReadOptions{Strict: tc.strict})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got)\n%s", diff)
			}
			var got []string
			for _, e := range errs {
				var ee *EntryError
				if !errors.As(e, &ee) {
					t.Errorf("%T is not an *EntryError", e)
				}
				if strings.Contains(e.Error(), secret) {
					t.Errorf("error carries a value: %v", e)
				}
				got = append(got, strings.SplitN(e.Error(), ":", 2)[0])
			}
			if diff := cmp.Diff(tc.wantErrs, got); diff != "" {
				t.Errorf("errors (-want +got)\n%s", diff)
			}
		})
	}
}

func TestReadNDJSONStopsWithoutOnError(t *testing.T) {
	in := `{"resourceType":"Patient"}` + "\n" + `{bad}` + "\n" + `{"resourceType":"Patient"}` + "\n"
	n := 0
	err := Read(strings.NewReader(in), ReadOptions{}, func(Entry) error { n++; return nil })
	var ee *EntryError
	if !errors.As(err, &ee) || ee.Index != 2 || n != 1 {
		t.Fatalf("err = %v, n = %d", err, n)
	}
}

func TestReadNDJSONLineTooLong(t *testing.T) {
	long := `{"resourceType":"Patient","id":"` + strings.Repeat("x", 300) + `"}`
	in := `{"resourceType":"Patient","id":"a"}` + "\n" + long + "\n" + `{"resourceType":"Patient","id":"b"}` + "\n"
	paths, errs, err := readAll(t, in, ReadOptions{MaxLine: 100})
	if err != nil {
		t.Fatal(err)
	}
	var tl *LineTooLongError
	if len(errs) != 1 || !errors.As(errs[0], &tl) || tl.Line != 2 {
		t.Fatalf("errs = %v", errs)
	}
	if diff := cmp.Diff([]string{"line 1", "line 3"}, paths); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// TestReadNDJSONStreams reads many lines through a reader that produces
// them on demand; the reader never holds more than one line, so the test
// shows Read does not buffer the input.
func TestReadNDJSONStreams(t *testing.T) {
	const lines = 20000
	r := &lineSource{line: []byte(`{"resourceType":"Patient","id":"p","active":true}` + "\n"), n: lines}
	n := 0
	err := Read(r, ReadOptions{}, func(e Entry) error { n++; return nil })
	if err != nil || n != lines {
		t.Fatalf("n = %d, err = %v", n, err)
	}
}

type lineSource struct {
	line []byte
	n    int
	off  int
}

func (s *lineSource) Read(p []byte) (int, error) {
	if s.n == 0 {
		return 0, io.EOF
	}
	c := copy(p, s.line[s.off:])
	s.off += c
	if s.off == len(s.line) {
		s.off, s.n = 0, s.n-1
	}
	return c, nil
}

func TestReadDocumentErrors(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", "  \n "},
		{"broken bundle", "{\n\"resourceType\":\"Bundle\",\n\"type\":\"batch\",\"type\":\"x\"}"},
		{"not an object", "[1,2]"},
		{"trailing garbage", "{\"resourceType\":\"Patient\"} ]"},
		{"trailing garbage after lines", "{\n\"resourceType\":\"Patient\"\n}\n]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Read(strings.NewReader(tc.in), ReadOptions{}, func(Entry) error { t.Error("yielded"); return nil })
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("err = %v, want a syntax error", err)
			}
		})
	}
}

func FuzzDecodeBundle(f *testing.F) {
	f.Add(fixture(f, "Bundle-bundle-references.json"))
	f.Add(fixture(f, "Bundle-bundle-transaction.json"))
	f.Add([]byte(`{"resourceType":"Patient"}` + "\n" + `{"resourceType":"Patient"}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}`))
	// The strict pass (google/fhir's R4 parser) is left to
	// TestReadSurvivesMutations: under the fuzzer's coverage
	// instrumentation it runs a few inputs a minute, which starves the
	// search of the parts that are ours.
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, strict := range []bool{false} {
			opt := ReadOptions{Strict: strict, MaxLine: 1 << 16, MaxDocument: 1 << 20}
			opt.OnError = func(_ int, err error) error {
				var ee *EntryError
				if !errors.As(err, &ee) {
					t.Fatalf("untyped entry error %T", err)
				}
				return nil
			}
			err := Read(bytes.NewReader(data), opt, func(e Entry) error {
				if e.Resource != nil {
					e.Resolver.Resolve("Patient/1")
				}
				return nil
			})
			if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) && !errors.As(err, new(*EntryError)) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
		}
	})
}

// TestReadSurvivesMutations feeds randomly damaged Bundles and NDJSON to
// Read, strict and not: every call returns (no panic, no hang) with typed
// errors. It complements FuzzDecodeBundle for the strict path.
func TestReadSurvivesMutations(t *testing.T) {
	seeds := [][]byte{
		fixture(t, "Bundle-bundle-transaction.json"),
		fixture(t, "Bundle-bundle-references.json"),
		[]byte(`{"resourceType":"Patient","name":[{"family":"X"}]}` + "\n" + `{"resourceType":"Appointment","status":"booked","participant":[{"status":"accepted"}]}`),
	}
	n := 600
	if testing.Short() {
		n = 100
	}
	r := rand.New(rand.NewSource(7))
	const alphabet = "{}[]\",:0a\n"
	for i := 0; i < n; i++ {
		d := append([]byte(nil), seeds[r.Intn(len(seeds))]...)
		for k := 0; k < 1+r.Intn(4); k++ {
			switch j := r.Intn(len(d) + 1); r.Intn(3) {
			case 0:
				if j < len(d) {
					d[j] = byte(r.Intn(256))
				}
			case 1:
				if j < len(d) {
					d = append(d[:j], d[j+1:]...)
				}
			default:
				d = append(d[:j], append([]byte{alphabet[r.Intn(len(alphabet))]}, d[j:]...)...)
			}
		}
		for _, strict := range []bool{false, true} {
			done := make(chan error, 1)
			go func() {
				done <- Read(bytes.NewReader(d), ReadOptions{Strict: strict, OnError: func(_ int, err error) error {
					if !errors.As(err, new(*EntryError)) {
						t.Errorf("untyped entry error %T", err)
					}
					return nil
				}}, func(Entry) error { return nil })
			}()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) && !errors.As(err, new(*EntryError)) {
					t.Fatalf("mutation %d: untyped error %T", i, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("mutation %d (strict=%v): Read did not return within 10 s", i, strict)
			}
		}
	}
}
