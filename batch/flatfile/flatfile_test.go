package flatfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/gocarina/gocsv"
	"github.com/google/go-cmp/cmp"
)

// secret appears in test cells; no error message may contain it.
const secret = "Zoë-Secret"

// row is a record reduced to its line and values, for comparison.
type row struct {
	Line   int
	Values []string
}

func values(v *fhir.Value) []string {
	out := make([]string, len(v.Members))
	for i, m := range v.Members {
		out[i] = m.Value.Str
	}
	return out
}

// readAll reads every record; RecordErrors are collected, not fatal.
func readAll(t testing.TB, in string, opt ReadOptions) (header []string, rows []row, recErrs []*RecordError) {
	t.Helper()
	r, err := NewReader(strings.NewReader(in), opt)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *RecordError
		if errors.As(err, &re) {
			recErrs = append(recErrs, re)
			continue
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		for i, m := range rec.Value.Members {
			if m.Key != r.Header()[i] {
				t.Fatalf("member %d is %q, want %q", i, m.Key, r.Header()[i])
			}
		}
		rows = append(rows, row{rec.Line, values(rec.Value)})
	}
	return r.Header(), rows, recErrs
}

func object(cols []string, vals ...*fhir.Value) *fhir.Value {
	o := fhir.NewObject()
	for i, c := range cols {
		o.Set(c, vals[i])
	}
	return o
}

func strs(ss ...string) []*fhir.Value {
	out := make([]*fhir.Value, len(ss))
	for i, s := range ss {
		out[i] = fhir.NewString(s)
	}
	return out
}

func TestDelimiterDetection(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		force rune
		want  rune
		rows  []row
	}{
		{"comma", "a,b,c\n1,2,3\n", 0, ',', []row{{2, []string{"1", "2", "3"}}}},
		{"semicolon", "a;b;c\n1;2,5;3\n", 0, ';', []row{{2, []string{"1", "2,5", "3"}}}},
		{"pipe", "a|b|c\n1|2|3\n", 0, '|', []row{{2, []string{"1", "2", "3"}}}},
		{"tab", "a\tb\tc\n1\t2\t3\n", 0, '\t', []row{{2, []string{"1", "2", "3"}}}},
		{"quoted commas ignored", "\"x,y,z\";b\n1;2\n", 0, ';', []row{{2, []string{"1", "2"}}}},
		{"single column defaults to comma", "only\nv\n", 0, ',', []row{{2, []string{"v"}}}},
		{"forced", "a,b;c\n1,2;3\n", ';', ';', []row{{2, []string{"1,2", "3"}}}},
		{"blank lines before header", "\n\r\na|b\n1|2\n", 0, '|', []row{{4, []string{"1", "2"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.in), ReadOptions{Delimiter: tt.force})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Delimiter(); got != tt.want {
				t.Errorf("Delimiter() = %q, want %q", got, tt.want)
			}
			_, rows, errs := readAll(t, tt.in, ReadOptions{Delimiter: tt.force})
			if len(errs) > 0 {
				t.Fatalf("record errors: %v", errs)
			}
			if d := cmp.Diff(tt.rows, rows); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
		})
	}
}

func TestLineEndingsAndBOM(t *testing.T) {
	want := []row{{2, []string{"1", "x"}}, {3, []string{"2", "y"}}}
	tests := []struct{ name, in string }{
		{"LF", "id,name\n1,x\n2,y\n"},
		{"CRLF", "id,name\r\n1,x\r\n2,y\r\n"},
		{"mixed", "id,name\r\n1,x\n2,y\r\n"},
		{"no final line break", "id,name\n1,x\n2,y"},
		{"BOM LF", "\xEF\xBB\xBFid,name\n1,x\n2,y\n"},
		{"BOM CRLF", "\xEF\xBB\xBFid,name\r\n1,x\r\n2,y\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, rows, errs := readAll(t, tt.in, ReadOptions{})
			if len(errs) > 0 {
				t.Fatalf("record errors: %v", errs)
			}
			if d := cmp.Diff([]string{"id", "name"}, header); d != "" {
				t.Errorf("header (-want +got):\n%s", d)
			}
			if d := cmp.Diff(want, rows); d != "" {
				t.Errorf("rows (-want +got):\n%s", d)
			}
		})
	}
}

func TestQuotedFields(t *testing.T) {
	in := "id,note,x\r\n" +
		"1,\"multi\r\nline, with \"\"quotes\"\"\r\n\",a\r\n" + // lines 2-4
		"\r\n" + // 5, blank
		"2,\"\",\"\"\"\"\r\n" + // 6
		"3,\"a;b|c\",\"\n\n\"\n" + // 7-9
		"4,plain,end\n" // 10
	_, rows, errs := readAll(t, in, ReadOptions{})
	if len(errs) > 0 {
		t.Fatalf("record errors: %v", errs)
	}
	want := []row{
		{2, []string{"1", "multi\nline, with \"quotes\"\n", "a"}},
		{6, []string{"2", "", `"`}},
		{7, []string{"3", "a;b|c", "\n\n"}},
		{10, []string{"4", "plain", "end"}},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

func TestBadRecordInMiddle(t *testing.T) {
	in := "id,name,dob\n" +
		"1,Ann,1990\n" + // 2
		"2,Bo\"" + secret + ",1991\n" + // 3 bare quote
		"3,\"Cy\n" + secret + "\"x,1992\n" + // 4-5 text after closing quote
		"4,Di,1993\n" + // 6
		"5," + secret + "\n" + // 7 too few fields
		"6,Ed,1994,extra\n" + // 8 too many fields
		"7,\xff" + secret + ",1995\n" + // 9 invalid UTF-8
		"8,Fa,1996\n" + // 10
		"9,\"unclosed\n" + secret + "\n" // 11-12 unclosed at EOF
	_, rows, errs := readAll(t, in, ReadOptions{})
	wantRows := []row{{2, []string{"1", "Ann", "1990"}}, {6, []string{"4", "Di", "1993"}}, {10, []string{"8", "Fa", "1996"}}}
	if d := cmp.Diff(wantRows, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	type gotErr struct {
		Line int
		Kind error
	}
	want := []gotErr{{3, ErrBareQuote}, {4, ErrQuote}, {7, ErrFieldCount}, {8, ErrFieldCount}, {9, ErrInvalidUTF8}, {11, ErrQuote}}
	var got []gotErr
	for _, e := range errs {
		got = append(got, gotErr{e.Line, e.Err})
		if !strings.Contains(e.Error(), fmt.Sprintf("line %d", e.Line)) {
			t.Errorf("error %q does not name its line", e)
		}
		if strings.Contains(e.Error(), secret) || strings.Contains(e.Error(), "Bo") {
			t.Errorf("error %q leaks cell content", e)
		}
		if !errors.Is(e, e.Err) {
			t.Errorf("errors.Is(%v, %v) = false", e, e.Err)
		}
	}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b error) bool { return a == b })); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

func TestFieldCountMessage(t *testing.T) {
	_, _, errs := readAll(t, "a,b,c\n1,2\n", ReadOptions{})
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1", len(errs))
	}
	if got, want := errs[0].Error(), "flatfile: line 2: wrong number of fields: got 2, want 3"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(errs[0], ErrFieldCount) {
		t.Error("not ErrFieldCount")
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct {
		name, in string
		opt      ReadOptions
		want     error
		msg      string
	}{
		{"empty input", "", ReadOptions{}, ErrHeader, "no header row"},
		{"only blank lines", "\n\r\n", ReadOptions{}, ErrHeader, "no header row"},
		{"empty column", "a,,c\n", ReadOptions{}, ErrHeader, "column 2 is empty"},
		{"duplicate column", "a,b,a\n", ReadOptions{}, ErrHeader, "column 3 duplicates column 1"},
		{"bare quote", "a,b\"c\n", ReadOptions{}, ErrBareQuote, "line 1"},
		{"invalid UTF-8", "a,\xff\n", ReadOptions{}, ErrInvalidUTF8, "field 2"},
		{"invalid UTF-8 that would be valid joined", "\xd2,\xa0\n", ReadOptions{}, ErrInvalidUTF8, "field 1"},
		{"bad encoding", "a\n", ReadOptions{Encoding: "latin-9"}, ErrOption, "encoding"},
		{"bad delimiter", "a\n", ReadOptions{Delimiter: '"'}, ErrOption, "delimiter"},
		{"non-ASCII delimiter", "a\n", ReadOptions{Delimiter: '§'}, ErrOption, "delimiter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(tt.in), tt.opt)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestRecordTooLarge(t *testing.T) {
	big := strings.Repeat("x", 5000)
	tests := []struct{ name, in string }{
		{"long line", "a,b\n1,2\n3," + big + "\n4,5\n"},
		{"unclosed quote swallows file", "a,b\n1,2\n3,\"" + strings.Repeat("x,y\n", 2000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.in), ReadOptions{MaxRecordSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if rec, err := r.Next(); err != nil || rec.Line != 2 {
				t.Fatalf("first record: %v, %v", rec, err)
			}
			_, err = r.Next()
			if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "line 3") {
				t.Fatalf("err = %v, want ErrRecordTooLarge at line 3", err)
			}
			var re *RecordError
			if errors.As(err, &re) {
				t.Error("too-large error must not be a RecordError (the reader cannot continue)")
			}
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("error not sticky: %v", err2)
			}
		})
	}
}

func TestWindows1252(t *testing.T) {
	// "name;city" / "José;Año €5" in Windows-1252.
	raw := "name;city\r\nJos\xe9;A\xf1o \x805\r\n"
	_, rows, errs := readAll(t, raw, ReadOptions{Encoding: "windows-1252"})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := []row{{2, []string{"José", "Año €5"}}}
	if d := cmp.Diff(want, rows); d != "" {
		t.Fatalf("rows (-want +got):\n%s", d)
	}
	// The same bytes read as UTF-8 are invalid.
	if _, _, errs := readAll(t, raw, ReadOptions{}); len(errs) != 1 || !errors.Is(errs[0], ErrInvalidUTF8) {
		t.Errorf("UTF-8 read: errors %v, want one ErrInvalidUTF8", errs)
	}

	var buf bytes.Buffer
	cols := []string{"name", "city"}
	w := NewWriter(&buf, cols, WriteOptions{Delimiter: ';', CRLF: true, Encoding: "windows-1252"})
	if err := w.Write(object(cols, strs("José", "Año €5")...)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(object(cols, strs("Ω"+secret, "x")...)); !errors.Is(err, ErrUnrepresentable) ||
		!strings.Contains(err.Error(), `row 2, column "name"`) || strings.Contains(err.Error(), secret) {
		t.Errorf("unrepresentable: err = %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != raw {
		t.Errorf("written %q, want %q", got, raw)
	}

	buf.Reset()
	w = NewWriter(&buf, cols, WriteOptions{Encoding: "windows-1252", Lossy: true})
	if err := w.Write(object(cols, strs("Ωñ", "日本")...)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "name,city\n?\xf1,??\n"; got != want {
		t.Errorf("lossy: written %q, want %q", got, want)
	}

	// Every byte decodes and encodes back to itself.
	var all []byte
	for b := 0x20; b < 0x100; b++ {
		if b != '"' && b != ',' && b != 0x7f {
			all = append(all, byte(b))
		}
	}
	in := "v\n" + string(all) + "\n"
	_, rows, _ = readAll(t, in, ReadOptions{Encoding: "cp1252"})
	buf.Reset()
	w = NewWriter(&buf, []string{"v"}, WriteOptions{Encoding: "cp1252"})
	if err := w.Write(object([]string{"v"}, strs(rows[0].Values[0])...)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if buf.String() != in {
		t.Errorf("byte round trip: got %q, want %q", buf.String(), in)
	}
}

func TestWriter(t *testing.T) {
	cols := []string{"id", "text", "n", "flag"}
	rec := func(id string, text, n, flag *fhir.Value) *fhir.Value {
		o := fhir.NewObject()
		o.Set("flag", flag) // member order differs from column order
		o.Set("id", fhir.NewString(id))
		if text != nil {
			o.Set("text", text)
		}
		o.Set("n", n)
		o.Set("ignored", fhir.NewString("x"))
		return o
	}
	rows := []*fhir.Value{
		rec("1", fhir.NewString("a,b"), fhir.NewNumber("-12.5"), fhir.NewBool(true)),
		rec("2", nil, &fhir.Value{Kind: fhir.Null}, fhir.NewBool(false)),
		rec("3", fhir.NewString("=1+1"), fhir.NewNumber("1e3"), nil),
		rec("4", fhir.NewString("say \"hi\"\nbye"), fhir.NewNumber("0"), fhir.NewBool(true)),
	}
	tests := []struct {
		name string
		opt  WriteOptions
		want string
	}{
		{"default", WriteOptions{},
			"id,text,n,flag\n1,\"a,b\",-12.5,true\n2,,,false\n3,=1+1,1e3,\n4,\"say \"\"hi\"\"\nbye\",0,true\n"},
		{"escape formulas", WriteOptions{EscapeFormulas: true},
			"id,text,n,flag\n1,\"a,b\",-12.5,true\n2,,,false\n3,'=1+1,1e3,\n4,\"say \"\"hi\"\"\nbye\",0,true\n"},
		{"quote all CRLF semicolon", WriteOptions{Quote: "all", CRLF: true, Delimiter: ';'},
			"\"id\";\"text\";\"n\";\"flag\"\r\n\"1\";\"a,b\";\"-12.5\";\"true\"\r\n\"2\";\"\";\"\";\"false\"\r\n\"3\";\"=1+1\";\"1e3\";\"\"\r\n\"4\";\"say \"\"hi\"\"\nbye\";\"0\";\"true\"\r\n"},
		{"tab", WriteOptions{Delimiter: '\t'},
			"id\ttext\tn\tflag\n1\ta,b\t-12.5\ttrue\n2\t\t\tfalse\n3\t=1+1\t1e3\t\n4\t\"say \"\"hi\"\"\nbye\"\t0\ttrue\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, cols, tt.opt)
			for _, r := range rows {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, buf.String()); d != "" {
				t.Errorf("output (-want +got):\n%s", d)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	cols := []string{"id", "name"}
	var buf bytes.Buffer
	w := NewWriter(&buf, cols, WriteOptions{})
	bad := []struct {
		name string
		v    *fhir.Value
		want error
		msg  string
	}{
		{"array", object(cols, fhir.NewString("1"), fhir.NewArray(fhir.NewString(secret))), ErrUnsupportedValue, `row 1, column "name"`},
		{"object", object(cols, object([]string{"k"}, fhir.NewString(secret)), fhir.NewString("x")), ErrUnsupportedValue, `row 2, column "id"`},
		{"not object", fhir.NewString(secret), ErrNotObject, "row 3"},
		{"nil", nil, ErrNotObject, "row 4"},
		{"invalid UTF-8", object(cols, fhir.NewString("1"), fhir.NewString("\xff"+secret)), ErrInvalidUTF8, `row 5, column "name"`},
	}
	for _, tt := range bad {
		err := w.Write(tt.v)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: err = %v, want %v mentioning %s", tt.name, err, tt.want, tt.msg)
		}
	}
	if err := w.Write(object(cols, strs("6", "ok")...)); err != nil {
		t.Fatalf("good row after bad ones: %v", err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "id,name\n6,ok\n"; got != want {
		t.Errorf("output %q, want %q (bad rows must not be written)", got, want)
	}

	for _, tt := range []struct {
		name string
		cols []string
		opt  WriteOptions
		msg  string
	}{
		{"no columns", nil, WriteOptions{}, "no columns"},
		{"empty column", []string{"a", ""}, WriteOptions{}, "column 2"},
		{"duplicate column", []string{"a", "b", "b"}, WriteOptions{}, "column 3 duplicates column 2"},
		{"bad quote", cols, WriteOptions{Quote: "some"}, "quote"},
		{"bad encoding", cols, WriteOptions{Encoding: "ebcdic"}, "encoding"},
		{"bad delimiter", cols, WriteOptions{Delimiter: '\n'}, "delimiter"},
	} {
		w := NewWriter(io.Discard, tt.cols, tt.opt)
		err := w.Flush()
		if !errors.Is(err, ErrOption) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Flush = %v", tt.name, err)
		}
		if err2 := w.Write(fhir.NewObject()); err2 != err {
			t.Errorf("%s: option error not sticky: %v", tt.name, err2)
		}
	}

	w = NewWriter(errWriter{}, cols, WriteOptions{})
	if err := w.Flush(); err == nil || !errors.Is(err, errBoom) {
		t.Errorf("write error not wrapped: %v", err)
	}
}

var errBoom = errors.New("boom")

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errBoom }

func TestEmptyExport(t *testing.T) {
	for _, tt := range []struct {
		opt  WriteOptions
		want string
	}{
		{WriteOptions{}, "id,given name\n"},
		{WriteOptions{CRLF: true, Quote: QuoteAll}, "\"id\",\"given name\"\r\n"},
	} {
		var buf bytes.Buffer
		w := NewWriter(&buf, []string{"id", "given name"}, tt.opt)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tt.want {
			t.Errorf("got %q, want %q", buf.String(), tt.want)
		}
		if err := w.Flush(); err != nil || buf.String() != tt.want {
			t.Errorf("second Flush: %v, %q", err, buf.String())
		}
	}
}

var roundTripRows = [][]string{
	{"1", "Ann", "plain"},
	{"2", "", "with,comma;semi|pipe\ttab"},
	{"3", "quote \"inside\"", "multi\nline\n"},
	{"4", " leading and trailing ", "ünï€ødé 日本"},
	{"5", "\"", ""},
	{"6", "cr\r alone", "=not escaped"},
}

func TestRoundTrip(t *testing.T) {
	cols := []string{"id", "name", "note"}
	for _, delim := range []rune{',', ';', '|', '\t'} {
		for _, quote := range []string{QuoteMinimal, QuoteAll} {
			for _, crlf := range []bool{false, true} {
				name := fmt.Sprintf("%q/%s/crlf=%v", delim, quote, crlf)
				t.Run(name, func(t *testing.T) {
					var buf bytes.Buffer
					w := NewWriter(&buf, cols, WriteOptions{Delimiter: delim, Quote: quote, CRLF: crlf})
					for _, r := range roundTripRows {
						if err := w.Write(object(cols, strs(r...)...)); err != nil {
							t.Fatal(err)
						}
					}
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
					header, rows, errs := readAll(t, buf.String(), ReadOptions{})
					if len(errs) > 0 {
						t.Fatal(errs)
					}
					if d := cmp.Diff(cols, header); d != "" {
						t.Errorf("header (-want +got):\n%s", d)
					}
					var got [][]string
					for _, r := range rows {
						got = append(got, r.Values)
					}
					if d := cmp.Diff(roundTripRows, got); d != "" {
						t.Errorf("rows (-want +got):\n%s", d)
					}
				})
			}
		}
	}
}

// TestSingleColumnEmptyValue: an empty value in a one-column file must
// not become a blank line, which readers skip.
func TestSingleColumnEmptyValue(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, []string{"v"}, WriteOptions{})
	for _, s := range []string{"a", "", "b"} {
		if err := w.Write(object([]string{"v"}, fhir.NewString(s))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	_, rows, _ := readAll(t, buf.String(), ReadOptions{})
	if d := cmp.Diff([]row{{2, []string{"a"}}, {3, []string{""}}, {4, []string{"b"}}}, rows); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

// TestInteropGocsv checks the Writer's output with an independent RFC 4180
// reader: gocsv's decoder over encoding/csv.
func TestInteropGocsv(t *testing.T) {
	cols := []string{"id", "name", "note"}
	for _, opt := range []WriteOptions{{}, {Quote: QuoteAll, CRLF: true}, {Delimiter: ';'}} {
		var buf bytes.Buffer
		w := NewWriter(&buf, cols, opt)
		for _, r := range roundTripRows {
			if err := w.Write(object(cols, strs(r...)...)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		cr := csv.NewReader(&buf)
		if opt.Delimiter != 0 {
			cr.Comma = opt.Delimiter
		}
		got, err := gocsv.NewSimpleDecoderFromCSVReader(cr).GetCSVRows()
		if err != nil {
			t.Fatal(err)
		}
		want := append([][]string{cols}, roundTripRows...)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%+v: gocsv rows (-want +got):\n%s", opt, d)
		}
	}
}

func TestStreamingMemoryFlat(t *testing.T) {
	// A reader over an endless stream of rows must not buffer it: read
	// 200,000 rows from a generator and check the allocation per row.
	const n = 200000
	pr, pw := io.Pipe()
	go func() {
		w := NewWriter(pw, []string{"id", "name"}, WriteOptions{})
		for i := range n {
			_ = w.Write(object([]string{"id", "name"}, strs(fmt.Sprint(i), "name")...))
		}
		_ = w.Flush()
		pw.Close()
	}()
	r, err := NewReader(pr, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if count != n {
		t.Fatalf("read %d rows, want %d", count, n)
	}
	if c := cap(r.recBuf) + cap(r.lineBuf) + cap(r.decodeBuf); c > 1<<16 {
		t.Errorf("reader buffers grew to %d bytes", c)
	}
}

func FuzzReader(f *testing.F) {
	seeds := []string{
		"a,b\n1,2\n",
		"a;b\r\n\"x;\"\"y\"\"\r\nz\";2\r\n",
		"\xEF\xBB\xBFa|b\n1|2|3\n\"\n",
		"a\tb\n\"unclosed\n",
		"a,b\n1,b\"c\n\xff,2\n",
		"a,a\n",
		"",
		"\"a\"x,b\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, cp1252 bool) {
		opt := ReadOptions{MaxRecordSize: 4096}
		if cp1252 {
			opt.Encoding = EncodingWindows1252
		}
		r, err := NewReader(bytes.NewReader(data), opt)
		if err != nil {
			if !errors.Is(err, ErrHeader) && !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("NewReader: untyped error %v", err)
			}
			return
		}
		header := r.Header()
		var good [][]string
		last := 0
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatal("reader does not make progress")
			}
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			var re *RecordError
			if errors.As(err, &re) {
				if re.Line <= last || re.Err == nil {
					t.Fatalf("bad RecordError %+v after line %d", re, last)
				}
				last = re.Line
				continue
			}
			if errors.Is(err, ErrRecordTooLarge) {
				break
			}
			if err != nil {
				t.Fatalf("Next: untyped error %v", err)
			}
			if rec.Line <= last || len(rec.Value.Members) != len(header) {
				t.Fatalf("record %+v after line %d, header %d columns", rec, last, len(header))
			}
			last = rec.Line
			good = append(good, values(rec.Value))
		}

		// What was read writes back and reads again unchanged, except that
		// a CR just before a line break inside a quoted field reads back
		// as part of a CRLF line break, that is as LF (as encoding/csv);
		// a run of CRs before LF shrinks by one per read, so normalise
		// all of them.
		for _, vals := range good {
			for i := range vals {
				for strings.Contains(vals[i], "\r\n") {
					vals[i] = strings.ReplaceAll(vals[i], "\r\n", "\n")
				}
			}
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, header, WriteOptions{Delimiter: r.Delimiter(), Encoding: opt.Encoding})
		for _, vals := range good {
			if err := w.Write(object(header, strs(vals...)...)); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r2, err := NewReader(&buf, ReadOptions{Delimiter: r.Delimiter(), Encoding: opt.Encoding})
		if err != nil {
			t.Fatalf("re-read header: %v", err)
		}
		var again [][]string
		for {
			rec, err := r2.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("re-read: %v", err)
			}
			again = append(again, values(rec.Value))
		}
		if d := cmp.Diff(good, again); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}

func benchData(n int) []byte {
	var buf bytes.Buffer
	cols := []string{"id", "family", "given", "birthDate", "phone", "note"}
	w := NewWriter(&buf, cols, WriteOptions{})
	for i := range n {
		_ = w.Write(object(cols, strs(fmt.Sprint(i), "García", "José", "1990-01-31", "+34 600 000 000", "note, with \"quotes\"")...))
	}
	_ = w.Flush()
	return buf.Bytes()
}

func BenchmarkRead10k(b *testing.B) {
	data := benchData(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkWrite10k(b *testing.B) {
	cols := []string{"id", "family", "given", "birthDate", "phone", "note"}
	rows := make([]*fhir.Value, 10000)
	for i := range rows {
		rows[i] = object(cols, strs(fmt.Sprint(i), "García", "José", "1990-01-31", "+34 600 000 000", "note, with \"quotes\"")...)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := NewWriter(io.Discard, cols, WriteOptions{EscapeFormulas: true})
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}
