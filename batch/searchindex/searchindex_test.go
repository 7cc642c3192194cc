package searchindex

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestDateRange(t *testing.T) {
	us := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	tests := []struct {
		in     string
		lo, hi string
		ok     bool
	}{
		{"1980", "1980-01-01T00:00:00Z", "1981-01-01T00:00:00Z", true},
		{"1980-02", "1980-02-01T00:00:00Z", "1980-03-01T00:00:00Z", true},
		{"1980-02-29", "1980-02-29T00:00:00Z", "1980-03-01T00:00:00Z", true},
		{"2024-05-01T10:00+02:00", "2024-05-01T08:00:00Z", "2024-05-01T08:01:00Z", true},
		{"2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", "2024-05-01T10:00:01Z", true},
		{"2024-05-01T10:00:00.25Z", "2024-05-01T10:00:00.25Z", "2024-05-01T10:00:00.26Z", true},
		{"2024-05-01T10:00:00.123456789Z", "2024-05-01T10:00:00.123456Z", "2024-05-01T10:00:00.123457Z", true},
		{"2024-05-01T10:00:00", "", "", false},
		{"1980-02-30", "", "", false},
		{"80", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		lo, hi, ok := DateRange(tt.in)
		if ok != tt.ok || (ok && (lo != us(tt.lo) || hi != us(tt.hi))) {
			t.Errorf("DateRange(%q) = %d %d %v, want %s %s %v", tt.in, lo, hi, ok, tt.lo, tt.hi, tt.ok)
		}
	}
}

func TestFoldedKeyBound(t *testing.T) {
	long := strings.Repeat("\uFDFA", MaxValue/3) // 18 characters each when folded
	got := FoldedKey(long)
	if len(got) > MaxFolded || !utf8.ValidString(got) || !strings.HasPrefix(Normalize(long), got) {
		t.Errorf("FoldedKey: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"Müller": "muller", "ZOË": "zoe", "Ångström": "angstrom", "ﬁne": "fine", "O'Brien": "o'brien"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEntries(t *testing.T) {
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		typ, body string
		want      []Entry // besides _lastUpdated
	}{
		{"Patient", `{"identifier":[{"system":"s","value":"v"},{"value":"w"},{"system":"s"}],"gender":"female","name":[{"family":"Dœ","given":["Al","Al"]}]}`,
			[]Entry{{Param: "identifier", System: "s", Text: "v"}, {Param: "identifier", Text: "w"},
				{Param: "gender", System: "http://hl7.org/fhir/administrative-gender", Text: "female"},
				{Param: "name", Text: "dœ", Exact: "Dœ"}, {Param: "name", Text: "al", Exact: "Al"},
				{Param: "family", Text: "dœ", Exact: "Dœ"}}},
		{"Patient", `{"birthDate":"bad","gender":7,"name":"not an array of objects"}`, nil},
		{"Appointment", `{"participant":[{"actor":{"reference":"Patient/p"}},{"actor":{"reference":"Practitioner/q"}},{"actor":{"reference":"#c"}},{"actor":{"reference":"Location/bad id"}}]}`,
			[]Entry{{Param: "patient", Text: "Patient/p"}, {Param: "practitioner", Text: "Practitioner/q"}}},
		{"Encounter", `{"period":{"end":"2024-05-01"}}`, []Entry{{Param: "date", Low: MinDate, High: 1714608000000000}}},
		{"Encounter", `{"period":{"start":"2024-05-02","end":"2024-05-01"}}`, nil},
		{"Slot", `{"status":"free"}`, nil},
	}
	for _, tt := range tests {
		v, err := fhir.DecodeString(tt.body, fhir.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := Entries(tt.typ, v, at)
		want := append([]Entry{{Param: LastUpdated, Low: at.UnixMicro(), High: at.UnixMicro() + 1}}, tt.want...)
		if !slices.Equal(got, want) {
			t.Errorf("Entries(%s %s)\n got %+v\nwant %+v", tt.typ, tt.body, got, want)
		}
	}
}

// FuzzEntries: indexing any JSON object as any indexed type never
// panics, keeps dates as non-empty ranges and every value within
// MaxValue bytes.
func FuzzEntries(f *testing.F) {
	f.Add(`{"identifier":[{"system":"s","value":"v"}],"name":[{"family":"Müller"}],"birthDate":"1980","period":{"start":"2024"},"participant":[{"actor":{"reference":"Patient/p"}}],"start":"2024-05-01T10:00:00Z"}`)
	f.Fuzz(func(t *testing.T, body string) {
		v, err := fhir.DecodeString(body, fhir.DecodeOptions{})
		if err != nil {
			return
		}
		for _, typ := range Types() {
			for _, e := range Entries(typ, v, time.Unix(0, 0)) {
				if e.Low >= e.High && (e.Low != 0 || e.High != 0) {
					t.Fatalf("%s %s: empty date range %d %d", typ, e.Param, e.Low, e.High)
				}
				if len(e.Exact) > MaxValue || len(e.System) > MaxValue || len(e.Text) > MaxFolded {
					t.Fatalf("%s %s: value over the bound", typ, e.Param)
				}
			}
		}
	})
}
