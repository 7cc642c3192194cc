package report

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// variantMapping is the shipped solo/encounter-report with the Encounter
// id field replaced by idField ("" removes it).
func variantMapping(t *testing.T, idField string) *mapping.Mapping {
	t.Helper()
	p, _ := shipped.Path("solo/encounter-report")
	b, err := fs.ReadFile(shipped.FS, p)
	if err != nil {
		t.Fatal(err)
	}
	const orig = `      - target: id
        description: solo-visit-<appointmentId>; refused when it cannot be a FHIR id
        from: "iif(appointmentId.trim().matches('^[A-Za-z0-9.-]{1,53}$'), 'solo-visit-' + appointmentId.trim(), {})"
        required: true
`
	text := string(b)
	if !strings.Contains(text, orig) {
		t.Fatal("the shipped mapping's Encounter id field changed; update this test")
	}
	text = strings.Replace(text, orig, idField, 1)
	m, err := mapping.Load(fstest.MapFS{"m.yaml": {Data: []byte(text)}}, "m.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func importToStore(t *testing.T, st *store.Store, m *mapping.Mapping, csv string) {
	t.Helper()
	sink := &StoreSink{Backend: &ingest.Backend{Store: st}, Visit: SoloVisit, Batch: 4}
	if _, err := Run(context.Background(), Options{Mapping: m, In: strings.NewReader(csv), Sink: sink}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStoreReimportIsIdempotent imports the same report twice (and, where
// the first import is by another mapping, across mappings) and wants one
// Encounter per visit, each at version 1.
func TestStoreReimportIsIdempotent(t *testing.T) {
	const otherID = `      - target: id
        from: "'visit-' + appointmentId.trim()"
`
	cases := []struct {
		name          string
		first, second string // Encounter id fields; "-" is the shipped one
	}{
		{"shipped mapping", "-", "-"},
		{"mapping without an Encounter id", "", ""},
		{"shipped, then a mapping with other ids", "-", otherID},
		{"no id, then the shipped mapping", "", "-"},
	}
	csv := simReport(t, 2, 5)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			pick := func(f string) *mapping.Mapping {
				if f == "-" {
					return shippedMapping(t)
				}
				return variantMapping(t, f)
			}
			importToStore(t, st, pick(tt.first), csv)
			importToStore(t, st, pick(tt.second), csv)
			n := 0
			err = st.Current(context.Background(), "Encounter", func(id string, v int, _ []byte) error {
				n++
				if v != 1 {
					t.Errorf("Encounter %s at version %d", id, v)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 10 {
				t.Errorf("%d Encounters stored for 10 visits", n)
			}
		})
	}
}

func TestDerivedID(t *testing.T) {
	cases := []struct{ prefix, visit, want string }{
		{"solo-visit-", "205130000", "solo-visit-205130000"},
		{"solo-visit-", "a b", "solo-visit-"},
		{"solo-visit-", strings.Repeat("9", 60), "solo-visit-"},
	}
	for _, tt := range cases {
		got := derivedID(tt.prefix, tt.visit)
		if !fhir.ValidID(got) || !strings.HasPrefix(got, tt.want) || got != derivedID(tt.prefix, tt.visit) {
			t.Errorf("derivedID(%q, %q) = %q", tt.prefix, tt.visit, got)
		}
		if tt.want == tt.prefix && strings.Contains(got, tt.visit) {
			t.Errorf("derivedID(%q, %q) = %q keeps a value that is no id", tt.prefix, tt.visit, got)
		}
	}
}
