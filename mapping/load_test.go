package mapping

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

const head = "name: t/x\nversion: 1\nsource: Patient\n"

func TestLoadErrors(t *testing.T) {
	fsys := fstest.MapFS{"m/codes.csv": {Data: []byte("code,status\nA,booked\n")}}
	tests := []struct {
		name, src, want string
		params          map[string]string
	}{
		{"unknown top key", head + "colour: red\nfields: []\n", "m.yaml:4:1: unknown key \"colour\" in mapping", nil},
		{"unknown field key", head + "fields:\n  - target: A\n    from: id\n    colour: red\n", "m.yaml:7:5: unknown key \"colour\" in field", nil},
		{"wrong type version", "name: t/x\nversion: one\nsource: Patient\nfields: []\n", "m.yaml:2:10: version must be an integer", nil},
		{"wrong type required", head + "fields:\n  - target: A\n    from: id\n    required: maybe\n", "m.yaml:7:15: required must be true or false", nil},
		{"duplicate key", head + "fields:\n  - target: A\n    from: id\n    from: name\n", "m.yaml:7:5: mapping key \"from\" already defined at [6:5]", nil},
		{"yaml syntax", head + "fields: [\n", "m.yaml:4:", nil},
		{"unknown transform", head + "fields:\n  - target: A\n    from: id\n    transform: [digits, shout]\n", "m.yaml:7:25: unknown transform \"shout\"", nil},
		{"unknown transform map", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - shout: {x: 1}\n", "m.yaml:8:9: unknown transform \"shout\"", nil},
		{"bad regex", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - replace: {pattern: \"a(\", with: b}\n", "m.yaml:8:28: invalid pattern: ", nil},
		{"bad zone", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - datetime: {layout: dd/MM/yyyy, zone: Mars/Olympus}\n", "m.yaml:8:46: unknown time zone \"Mars/Olympus\"", nil},
		{"bad zone param", head + "params:\n  tz: {default: Nowhere/Land}\nfields:\n  - target: A\n    from: id\n    transform:\n      - datetime: {layout: dd/MM/yyyy, zone: \"%tz\"}\n", "m.yaml:10:46: unknown time zone \"Nowhere/Land\"", nil},
		{"bad layout", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - datetime: {layout: dd/MM/yyyy Q}\n", "m.yaml:8:28: layout: ", nil},
		{"unknown function", head + "fields:\n  - target: A\n    from: name.frobnicate()\n", "m.yaml:6:16: from: unknown function", nil},
		{"unknown function quoted", head + "fields:\n  - target: A\n    from: \"name.where(x).frob()\"\n", "m.yaml:6:26: from: unknown function", nil},
		{"syntax error", head + "fields:\n  - target: A\n    when: \"a and\"\n", "m.yaml:6:17: when: syntax error", nil},
		{"unknown variable", head + "fields:\n  - target: A\n    from: \"%nobody.id\"\n", "m.yaml:6:12: from: unknown variable", nil},
		{"duplicate target", head + "fields:\n  - target: A\n    from: id\n  - target: A\n    value: x\n", "m.yaml:7:13: duplicate target \"A\"", nil},
		{"missing source", head + "fields:\n  - target: A\n    required: true\n", "m.yaml:5:5: field \"A\" has no source", nil},
		{"two sources", head + "fields:\n  - target: A\n    from: id\n    value: x\n", "m.yaml:5:5: field \"A\" has more than one source: ", nil},
		{"missing target", head + "fields:\n  - from: id\n", "m.yaml:5:5: field has no target", nil},
		{"missing name", "version: 1\nsource: Patient\nfields: []\n", "m.yaml:1:1: mapping has no name", nil},
		{"truncate no max", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - truncate: {overflow: cut}\n", "m.yaml:8:20: truncate needs max >= 1", nil},
		{"truncate bad overflow", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - truncate: {max: 3, overflow: wrap}\n", "m.yaml:8:38: overflow must be refuse or cut", nil},
		{"bare needs arg", head + "fields:\n  - target: A\n    from: id\n    transform: [join]\n", "m.yaml:7:17: transform join needs an argument", nil},
		{"lookup csv missing", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - lookup: {csv: nope.csv}\n", "m.yaml:8:23: lookup csv: ", nil},
		{"lookup csv column", head + "fields:\n  - target: A\n    from: id\n    transform:\n      - lookup: {csv: codes.csv, key: nope}\n", "m.yaml:8:23: lookup csv codes.csv: key or value column not found", nil},
		{"bad json target", "name: t/x\nversion: 1\nsource: Patient\noutput: json\nfields:\n  - target: a..b\n    from: id\n", "m.yaml:6:13: target: invalid path", nil},
		{"bad output", head + "output: xml\nfields: []\n", "m.yaml:4:9: output must be row or json", nil},
		{"unknown param", head + "fields: []\n", "m.yaml: unknown parameter \"tz\"", map[string]string{"tz": "UTC"}},
		{"required param", head + "params:\n  room: {required: true}\nfields: []\n", "m.yaml: missing required parameter \"room\"", nil},
		{"reverse without resource", "name: t/x\nversion: 1\nsource: row\ndirection: reverse\nfields: []\n", "m.yaml:1:1: a reverse mapping needs resource", nil},
		{"row structure", head + "fields:\n  - target: A\n    each: name\n", "m.yaml:5:5: row output takes scalar fields only", nil},
		{"value not scalar", head + "fields:\n  - target: A\n    value: [1, 2]\n", "m.yaml:6:12: value must be a string, number or boolean", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tt.src), fsys, "m", tt.params)
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", tt.want)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LoadError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n got %q\nwant prefix %q", err.Error(), tt.want)
			}
		})
	}
}

func TestLoadAccessors(t *testing.T) {
	fsys := fstest.MapFS{"maps/x.yaml": {Data: []byte(head + "description: d\noutput: row\nfields:\n  - target: B\n    from: id\n  - target: A\n    value: 1\n")}}
	m, err := Load(fsys, "maps/x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "t/x" || m.Version() != 1 || m.Direction() != Forward || m.SourceType() != "Patient" ||
		m.Output() != "row" || m.Description() != "d" || strings.Join(m.Columns(), ",") != "B,A" {
		t.Errorf("accessors wrong: %q %d %v %q %q %v", m.Name(), m.Version(), m.Direction(), m.SourceType(), m.Output(), m.Columns())
	}
	if _, err := Load(fsys, "maps/none.yaml", nil); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(head + "fields:\n  - target: A\n    from: id\n    transform: [digits, {truncate: {max: 3}}]\n"))
	f.Add([]byte("name: x\nversion: 1\nsource: r\ndirection: reverse\nresource: Patient\nfields:\n  - target: a[0].b\n    items: [{value: 1}]\n"))
	f.Add([]byte("{a: [}"))
	f.Add([]byte("- &a x\n- *a\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = Parse("f.yaml", src, fstest.MapFS{}, ".", nil)
	})
}
