package mapping

import (
	"reflect"
	"testing"
	"testing/fstest"
)

func TestConstants(t *testing.T) {
	fsys := fstest.MapFS{
		"m/rooms.csv": {Data: []byte("service_type,room\n57,General Practice\n165,Cardiology\n999,\n")},
		"m/codes.csv": {Data: []byte("code,status\nA,booked\n")},
	}
	const room = "params:\n  room: {default: Lobby}\n  none: {default: \"\"}\n"
	tests := []struct {
		name, src, target string
		params            map[string]string
		want              []Constant
	}{
		{name: "csv rows then a param default given",
			src:    head + room + "fields:\n  - target: R\n    from: id\n    transform:\n      - lookup: {csv: rooms.csv, key: service_type, value: room, missing: omit}\n      - default: \"%room\"\n      - truncate: {max: 9}\n",
			target: "R", params: map[string]string{"room": "Telehealth"},
			want: []Constant{
				{"General Practice", "rooms.csv row 2 (service_type 57)"},
				{"Cardiology", "rooms.csv row 3 (service_type 165)"},
				{"", "rooms.csv row 4 (service_type 999)"},
				{"Telehealth", "param room"},
			}},
		{name: "a param's declared default",
			src:    head + room + "fields:\n  - target: R\n    from: id\n    transform: {default: \"%room\"}\n",
			target: "R",
			want:   []Constant{{"Lobby", "m.yaml: default of param room"}}},
		{name: "an empty param default supplies nothing",
			src:    head + room + "fields:\n  - target: R\n    from: id\n    transform: {default: \"%none\"}\n",
			target: "R"},
		{name: "an empty param given supplies nothing",
			src:    head + room + "fields:\n  - target: R\n    from: id\n    transform: {default: \"%room\"}\n",
			target: "R", params: map[string]string{"room": ""}},
		{name: "literal defaults, numbers as text, empty left out",
			src:    head + "fields:\n  - target: R\n    from: id\n    transform: [{default: Hall}, {default: 7}, {default: \"\"}]\n",
			target: "R",
			want:   []Constant{{"Hall", "m.yaml: default"}, {"7", "m.yaml: default"}}},
		{name: "inline table by key and its default",
			src:    head + "fields:\n  - target: R\n    from: id\n    transform:\n      - lookup: {table: {b: Beta, a: 1, c: Gamma}, default: Other}\n",
			target: "R",
			want: []Constant{
				{"1", "m.yaml: lookup table key a"},
				{"Beta", "m.yaml: lookup table key b"},
				{"Gamma", "m.yaml: lookup table key c"},
				{"Other", "m.yaml: lookup default"},
			}},
		{name: "value and param fields",
			src:    head + room + "fields:\n  - target: V\n    value: 12\n  - target: P\n    param: room\n",
			target: "P",
			want:   []Constant{{"Lobby", "m.yaml: default of param room"}}},
		{name: "value field",
			src:    head + "fields:\n  - target: V\n    value: 12\n",
			target: "V",
			want:   []Constant{{"12", "m.yaml: value"}}},
		{name: "nested target of json output",
			src:    "name: t/x\nversion: 1\nsource: Patient\noutput: json\nfields:\n  - target: a\n    fields:\n      - target: b\n        from: id\n        transform: [{lookup: {csv: codes.csv}}]\n",
			target: "a.b",
			want:   []Constant{{"booked", "codes.csv row 2 (code A)"}}},
		{name: "a field read from the input only",
			src:    head + "fields:\n  - target: R\n    from: id\n    transform: [upper]\n",
			target: "R"},
		{name: "no such target",
			src:    head + "fields:\n  - target: R\n    value: x\n",
			target: "S"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("m.yaml", []byte(tt.src), fsys, "m", tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Constants(tt.target); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Constants(%q)\n got %q\nwant %q", tt.target, got, tt.want)
			}
		})
	}
}

// TestConstantsCopy keeps a caller's change out of the mapping.
func TestConstantsCopy(t *testing.T) {
	m, err := Parse("m.yaml", []byte(head+"fields:\n  - target: R\n    value: x\n"), nil, ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Constants("R")[0].Value = "changed"
	if got := m.Constants("R")[0].Value; got != "x" {
		t.Errorf("Constants after a caller's change: %q", got)
	}
}
