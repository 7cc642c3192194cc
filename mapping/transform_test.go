package mapping

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// applyOne maps {"resourceType":"Patient","language":input} with one field A
// (from: language) and the given transform list written in YAML flow style.
func applyOne(t *testing.T, transform, input string, extra string) (string, error) {
	t.Helper()
	src := head + "output: json\nparams:\n  tz: {default: Europe/Madrid}\nfields:\n  - target: A\n    from: language\n" + extra + "    transform: " + transform + "\n"
	fsys := fstest.MapFS{"m/codes.csv": {Data: []byte("code,label,status\nA,x,booked\nC,y,cancelled\n")}}
	m, err := Parse("m.yaml", []byte(src), fsys, "m", nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	res, err := fhir.DecodeString(`{"resourceType":"Patient","language":`+input+`,"implicitRules":"2026-03-29T03:00:10+02:00"}`, fhir.DecodeOptions{})
	if err != nil {
		t.Fatalf("decode input: %v", err)
	}
	out, err := m.Apply(res, nil)
	if err != nil {
		return "", err
	}
	if a := out.Get("A"); a != nil {
		return string(a.JSON()), nil
	}
	return "absent", nil
}

func TestTransforms(t *testing.T) {
	tests := []struct {
		name, transform, input, want, err string
		extra                             string
	}{
		{"upper", "[upper]", `"abç"`, `"ABÇ"`, "", ""},
		{"lower", "[lower]", `"AB"`, `"ab"`, "", ""},
		{"trim", "[trim]", `"  a b "`, `"a b"`, "", ""},
		{"digits", "[digits]", `"+34 (600) 11-22"`, `"+346001122"`, "", ""},
		{"digits inner plus", "[digits]", `"6+00"`, `"600"`, "", ""},
		{"prefix suffix", "[{prefix: '<'}, {suffix: '>'}]", `"a"`, `"<a>"`, "", ""},
		{"csv_escape formula", "[csv_escape]", `"=SUM(A1)"`, `"'=SUM(A1)"`, "", ""},
		{"csv_escape at", "[csv_escape]", `"@cmd"`, `"'@cmd"`, "", ""},
		{"csv_escape tab", "[csv_escape]", `"\tx"`, `"'\tx"`, "", ""},
		{"csv_escape minus text", "[csv_escape]", `"-cmd"`, `"'-cmd"`, "", ""},
		{"csv_escape negative number", "[csv_escape]", `"-12.5"`, `"-12.5"`, "", ""},
		{"csv_escape phone", "[csv_escape]", `"+34600112233"`, `"+34600112233"`, "", ""},
		{"csv_escape plain", "[csv_escape]", `"ok"`, `"ok"`, "", ""},
		{"truncate cut runes", "[{truncate: {max: 3, overflow: cut}}]", `"ñañaña"`, `"ñañ"`, "", ""},
		{"truncate fits", "[{truncate: {max: 3}}]", `"abc"`, `"abc"`, "", ""},
		{"truncate refuse", "[{truncate: {max: 3, overflow: refuse}}]", `"abcd"`, "", "transform truncate: value is longer than the maximum", ""},
		{"replace", "[{replace: {pattern: '[aeiou]', with: '*'}}]", `"banana"`, `"b*n*n*"`, "", ""},
		{"replace groups", "[{replace: {pattern: '(\\d+)-(\\d+)', with: '$2/$1'}}]", `"12-34"`, `"34/12"`, "", ""},
		{"join", "[{join: ' '}]", `["Ana","María"]`, `"Ana María"`, "", ""},
		{"join empty", "[{join: ' '}]", `[]`, `absent`, "", ""},
		{"many without join", "[upper]", `["a","b"]`, "", "more than one item", ""},
		{"first", "[upper]", `["a","b"]`, `"A"`, "", "    first: true\n"},
		{"default absent", "[{default: x}]", `null`, `"x"`, "", ""},
		{"default empty", "[trim, {default: x}]", `"  "`, `"x"`, "", ""},
		{"default present", "[{default: x}]", `"y"`, `"y"`, "", ""},
		{"default param", "[{default: '%tz'}]", `null`, `"Europe/Madrid"`, "", ""},
		{"lookup table", "[{lookup: {table: {'CANCELLED by USER': cancelled, APPROVED: booked}}}]", `"CANCELLED by USER"`, `"cancelled"`, "", ""},
		{"lookup number key", "[{lookup: {table: {'1': one}}}]", `1`, `"one"`, "", ""},
		{"lookup refuse", "[{lookup: {table: {A: b}, missing: refuse}}]", `"Z"`, "", "transform lookup: value not found", ""},
		{"lookup keep", "[{lookup: {table: {A: b}, missing: keep}}]", `"Z"`, `"Z"`, "", ""},
		{"lookup default", "[{lookup: {table: {A: b}, default: d}}]", `"Z"`, `"d"`, "", ""},
		{"lookup omit", "[{lookup: {table: {A: b}, missing: omit}}]", `"Z"`, `absent`, "", ""},
		{"lookup csv", "[{lookup: {csv: codes.csv, key: code, value: status}}]", `"C"`, `"cancelled"`, "", ""},
		{"lookup csv first columns", "[{lookup: {csv: codes.csv}}]", `"C"`, `"y"`, "", ""},
		{"number", "[number]", `"12.50"`, `12.50`, "", ""},
		{"number bad", "[number]", `"12,5"`, "", "transform number: value is not a number", ""},
		{"integer", "[integer]", `"+42"`, `42`, "", ""},
		{"integer from float", "[integer]", `3.0`, `3`, "", ""},
		{"integer bad", "[integer]", `"4.5"`, "", "value is not an integer", ""},
		{"boolean", "[boolean]", `"TRUE"`, `true`, "", ""},
		{"string", "[string]", `12`, `"12"`, "", ""},
		{"type integer", "[trim]", `" 7 "`, `7`, "", "    type: integer\n"},
		{"type array", "[upper]", `["a","b"]`, `["A","B"]`, "", "    type: array\n"},
		{"unix", "[unix]", `"2026-01-01T00:00:00Z"`, `1767225600`, "", ""},
		{"unix zone date", "[{unix: {zone: Europe/Madrid}}]", `"2026-01-01"`, `1767222000`, "", ""},
		{"seconds_between", "[{seconds_between: {end: implicitRules}}]", `"2026-03-29T01:00:00Z"`, `10`, "", ""},
		{"datetime partial", "[{datetime: {layout: dd/MM/yyyy}}]", `"2026-03"`, "", "partial date", ""},
		{"datetime garbage", "[{datetime: {layout: dd/MM/yyyy}}]", `"tomorrow"`, "", "not a FHIR date", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyOne(t, tt.transform, tt.input, tt.extra)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDatetime(t *testing.T) {
	const madrid = "{layout: 'yyyy-MM-dd HH:mm', zone: Europe/Madrid}"
	tests := []struct{ name, arg, input, want string }{
		{"Z winter", madrid, "2026-01-15T10:00:00Z", "2026-01-15 11:00"},
		{"Z summer", madrid, "2026-07-15T10:00:00Z", "2026-07-15 12:00"},
		{"offset input", madrid, "2026-07-15T10:00:00-05:00", "2026-07-15 17:00"},
		{"fraction", madrid, "2026-07-15T10:00:00.123Z", "2026-07-15 12:00"},
		{"before spring forward", madrid, "2026-03-29T00:59:59Z", "2026-03-29 01:59"},
		{"after spring forward", madrid, "2026-03-29T01:00:00Z", "2026-03-29 03:00"},
		{"fall back first 02:30", madrid, "2026-10-25T00:30:00Z", "2026-10-25 02:30"},
		{"fall back second 02:30", madrid, "2026-10-25T01:30:00Z", "2026-10-25 02:30"},
		{"after fall back", madrid, "2026-10-25T02:00:00Z", "2026-10-25 03:00"},
		{"date only", madrid, "2026-10-25", "2026-10-25 00:00"},
		{"wall ignores offset", "{layout: 'dd/MM/yyyy HH:mm', zone: Europe/Madrid, input: wall}", "2026-03-29T10:15:00-05:00", "29/03/2026 10:15"},
		{"param zone", "{layout: 'dd/MM/yyyy hh:mm a', zone: '%tz'}", "2026-10-25T13:05:00Z", "25/10/2026 02:05 PM"},
		{"utc default", "{layout: 'yyyyMMdd HHmmss'}", "2026-10-25T13:05:09+01:00", "20261025 120509"},
		{"go layout", "{layout: 'go:Mon 2 Jan 2006 15:04 MST', zone: Europe/Madrid}", "2026-03-29T01:00:00Z", "Sun 29 Mar 2026 03:00 CEST"},
		{"date alias", "{layout: dd/MM/yyyy, zone: America/New_York}", "2026-03-01T03:00:00Z", "28/02/2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "datetime"
			if strings.HasPrefix(tt.name, "date alias") {
				name = "date"
			}
			got, err := applyOne(t, "[{"+name+": "+tt.arg+"}]", `"`+tt.input+`"`, "")
			if err != nil {
				t.Fatal(err)
			}
			if got != `"`+tt.want+`"` {
				t.Errorf("got %s, want %q", got, tt.want)
			}
		})
	}
}
